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
from kb.filters import Filters
from kb.followup import standalone_question
from kb.knowledge_base import KnowledgeBase
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
    if store is not None and conversation_id is not None:
        key = _owned(principal, conversation_id)
        turns = store.turns(key) if start_if_unknown else store.require(key, shown_as=conversation_id)
        history = [t.question for t in turns]
    else:
        history = resolve_history(kb, earlier_messages)
    question = standalone_question(history, message, product_type_aliases=_product_aliases(kb))
    answer = kb.ask(question, filters=filters, k=k, principal=principal)
    if store is not None:
        conversation_id = conversation_id or store.new_id()
        store.append(_owned(principal, conversation_id), Turn(message.strip(), question, answer.status))
    return ChatResult(conversation_id, question, answer)


def _owned(principal: Principal, conversation_id: str) -> str:
    """Conversations are stored per principal: someone else's conversation id finds nothing."""
    return f"{principal.name}/{conversation_id}"
