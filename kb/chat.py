"""One chat turn: resolve a follow-up against the conversation, answer it, remember it.

A conversation is either kept by the server (`conversation_id`, in the ConversationStore) or sent
whole by the client (the earlier user messages, as OpenAI-style clients do). Either way the answer is
`KnowledgeBase.ask` on the standalone question, so chat, the CLI and the API answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kb.access import PUBLIC, Principal
from kb.conversations import ConversationStore, Turn
from kb.errors import FilterError
from kb.filters import Filters
from kb.followup import standalone_question
from kb.knowledge_base import KnowledgeBase, checked_question, checked_text
from kb.models import Answer

__all__ = ["ChatResult", "chat_turn", "resolve_history"]


@dataclass(frozen=True)
class ChatResult:
    conversation_id: str | None
    question: str  # the standalone question that was answered
    answer: Answer


def _product_aliases(kb: KnowledgeBase) -> list[str]:
    cmap = kb.checkpoint_map
    return [alias for p in cmap.product_types for alias in (p.title.split(" (")[0], *p.aliases)] if cmap else []


def resolve_history(kb: KnowledgeBase, messages: Sequence[str]) -> list[str]:
    """Earlier user messages, each made standalone against the ones before it."""
    resolved: list[str] = []
    for message in messages:
        resolved.append(standalone_question(resolved, message, product_type_aliases=_product_aliases(kb)))
    return resolved


def chat_turn(
    kb: KnowledgeBase,
    message: str,
    *,
    store: ConversationStore | None = None,
    conversation_id: str | None = None,
    earlier_messages: Sequence[str] = (),
    filters: Filters | None = None,
    k: int | None = None,
    start_if_unknown: bool = False,
    principal: Principal = PUBLIC,
) -> ChatResult:
    """Answer `message` in its conversation: the stored one (`conversation_id`) or `earlier_messages`.

    `start_if_unknown` lets a caller name a new conversation itself (a Slack thread); otherwise an
    unknown `conversation_id` is an error.
    """
    limits = kb.settings.api
    message = checked_question(message, kb.settings)
    if len(earlier_messages) + 1 > limits.max_messages:
        raise FilterError(
            f"the conversation has {len(earlier_messages) + 1} messages; the limit is {limits.max_messages} "
            "(REGKB_API__MAX_MESSAGES): send the recent ones, or start a new conversation"
        )
    if store is not None and conversation_id is not None:
        key = _owned(principal, conversation_id)
        turns = store.turns(key) if start_if_unknown else store.require(key, shown_as=conversation_id)
        history = [t.question for t in turns]
    else:
        # Only the turns a follow-up can draw on (REGKB_API__CONVERSATION_TURNS), each checked like a question.
        recent = earlier_messages[-limits.conversation_turns :]
        history = resolve_history(kb, [checked_text(m, "an earlier message") for m in recent])
    question = _bounded_standalone(kb, history, message)
    answer = kb.ask(question, filters=filters, k=k, principal=principal)
    if store is not None:
        conversation_id = conversation_id or store.new_id()
        store.append(_owned(principal, conversation_id), Turn(message.strip(), question, answer.status))
    return ChatResult(conversation_id, question, answer)


def _bounded_standalone(kb: KnowledgeBase, history: Sequence[str], message: str) -> str:
    """The standalone question, within REGKB_API__MAX_QUESTION_CHARS: the oldest turns are dropped
    until it fits (the message alone always does, having passed the same limit)."""
    limit = kb.settings.api.max_question_chars
    for start in range(len(history) + 1):
        question = standalone_question(history[start:], message, product_type_aliases=_product_aliases(kb))
        if len(question) <= limit:
            return question
    return message


def _owned(principal: Principal, conversation_id: str) -> str:
    """Conversations are stored per owner (an API key's id, not its name, which another key may reuse
    after a revocation): someone else's conversation id finds nothing."""
    return f"{principal.owner_id}/{conversation_id}"
