"""Answers as Slack Block Kit messages, within Slack's limits.

Slack refuses a section text over 3000 characters and a message over 50 blocks; long answers are cut
at line ends into several sections, and blocks beyond 50 go to follow-on messages in the same thread.
Works from the answer's JSON (api.render.answer_json), so a stored answer renders the same later.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["answer_messages", "checklist_blocks", "escape", "MAX_BLOCKS", "MAX_SECTION_CHARS", "help_blocks"]

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
_QUOTE_CHARS = 300
_BADGES = {"draft": "`DRAFT`", "superseded": "`SUPERSEDED`"}
_INTERNAL = "`INTERNAL LESSON: not regulatory guidance`"
_CHECKS = {
    "verified": "quote verified",
    "not_offline": "not available offline, not checked against local text",
    "not_checked": "quote not checked",
    "quote_not_found": "quote not found, withheld",
}


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sections(text: str, limit: int) -> Iterator[dict[str, Any]]:
    """Section blocks of at most `limit` characters, cut at line ends (or spaces) where possible."""
    while text:
        piece = text if len(text) <= limit else text[: max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit), 1)]
        yield {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        text = text[len(piece) :].lstrip("\n ")


def _badges(item: dict[str, Any]) -> str:
    internal = item.get("doc_type") == "internal_lesson" or item.get("jurisdiction") == "internal"
    return " ".join(b for b in (_BADGES.get(str(item.get("status")), ""), _INTERNAL if internal else "") if b)


def _citation(c: dict[str, Any]) -> str:
    quote = c["quote"] if len(c["quote"]) <= _QUOTE_CHARS else c["quote"][: _QUOTE_CHARS - 1].rstrip() + "…"
    section = f"§ {c['section']} {c.get('section_title', '')}".strip() if c.get("section") else "front matter"
    pages = ", ".join(map(str, c["pages"]))
    linked = c["url"].startswith(("http://", "https://"))  # internal lessons have no web address
    title = f"<{c['url']}|{escape(c['title'])}>" if linked else escape(c["title"])
    head = f"*[{c['marker']}] {title}* {_badges(c)}".rstrip()
    version = f"\n_{escape(c['version_note'])}_" if c.get("version_note") else ""
    return f"{head}\n{escape(c['reference'])} · {escape(section)} · p. {pages}{version}\n> {escape(quote)}"


def checklist_blocks(checklist: dict[str, Any], limit: int = MAX_SECTION_CHARS) -> list[dict[str, Any]]:
    """The checkpoint map's rows, grouped by jurisdiction and checkpoint, with their references."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "From the checkpoint map"}}
    ]
    for checkpoint in checklist["checkpoints"]:
        rows = [r for r in checklist["rows"] if r["checkpoint_id"] == checkpoint["id"]]
        lines = [f"*{checkpoint['jurisdiction']} · {escape(checkpoint['title'])}* ({checkpoint['requirement']})"]
        for row in rows:
            refs = "; ".join(_map_reference(r) for r in row["references"])
            level = f"{row['level_title']} ({row['level_rank']}/{row['level_count']})"
            lines.append(f"• *{escape(row['item_title'])}*: {escape(level)}. {escape(row['expectation'])}")
            if refs:
                lines.append(f"   _{refs}_")
        blocks += list(_sections("\n".join(lines), limit))
    return blocks


def _map_reference(ref: dict[str, Any]) -> str:
    where = " ".join(
        p for p in (f"§ {ref['section']}" if ref["section"] else "", f"p. {ref['page']}" if ref["page"] else "") if p
    )
    version = f" _{escape(ref['version_note'])}_" if ref.get("version_note") else ""
    line = f"<{ref['url']}|{escape(ref['reference'])}> {escape(where)}{version} ({_CHECKS[ref['check']]})"
    return line.replace("  ", " ")


def _feedback(answer_id: str, share: bool) -> dict[str, Any]:
    buttons = [
        ("helpful", "Helpful"),
        ("not_helpful", "Not helpful"),
        ("wrong_citation", "Wrong citation"),
    ]
    elements = [
        {
            "type": "button",
            "action_id": f"feedback_{rating}",
            "value": answer_id,
            "text": {"type": "plain_text", "text": label},
        }
        for rating, label in buttons
    ]
    if share:
        share_button = {"type": "plain_text", "text": "Share in channel"}
        elements.insert(
            0,
            {
                "type": "button",
                "action_id": "share_answer",
                "value": answer_id,
                "style": "primary",
                "text": share_button,
            },
        )
    return {"type": "actions", "block_id": f"feedback-{answer_id}", "elements": elements}


def answer_messages(
    payload: dict[str, Any], answer_id: str, *, share: bool = False, limit: int = MAX_SECTION_CHARS
) -> list[dict[str, Any]]:
    """Slack messages (`text` fallback + `blocks`) for one answer; usually one, more when blocks exceed 50."""
    if payload["status"] != "answered":
        status = ":warning: No passage in the local documents answers this closely enough"
    elif payload.get("confidence") == "low":
        status = ":grey_question: Answered with low confidence"
    else:
        status = ":white_check_mark: Answered"
    blocks: list[dict[str, Any]] = []
    if payload.get("checklist"):
        blocks += checklist_blocks(payload["checklist"], limit)
        blocks.append({"type": "divider"})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{status} · _{escape(payload['question'])}_"}]}
    )
    blocks += list(_sections(escape(payload["answer"]), limit))
    for citation in payload["citations"]:
        blocks += list(_sections(_citation(citation), limit))
    blocks.append(_feedback(answer_id, share))
    text = f"{payload['answer'][:300]}"  # the notification text; the blocks carry the answer
    chunks = [blocks[i : i + MAX_BLOCKS] for i in range(0, len(blocks), MAX_BLOCKS)]
    return [
        {"text": text if n == 0 else f"(continued {n + 1}/{len(chunks)})", "blocks": chunk}
        for n, chunk in enumerate(chunks)
    ]


def help_blocks() -> list[dict[str, Any]]:
    text = (
        "*regkb* answers ATMP regulatory questions from EMA, EC, FDA and ICH guidance with verified citations.\n"
        "• Mention me in a channel or write to me directly; follow-ups in the thread keep the context.\n"
        "• `/regkb <question>`: an answer only you see, with a button to share it in the channel.\n"
        "• `/regkb checkpoints <stage>`: the checkpoint checklist for a stage "
        "(classification, early-advice, first-gmp-batch, first-in-human, development, confirmatory, "
        "marketing-authorisation, post-authorisation).\n"
        "• `/regkb help`: this message.\n"
        "Rate answers with the buttons under them: it is stored with the answer and its citations."
    )
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
