"""Conversation turns in SQLite: ordered, bounded, shared by every store on the same file."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from kb.conversations import ConversationStore, Turn
from kb.errors import FilterError

pytestmark = pytest.mark.unit


def test_turns_come_back_in_order_and_bounded(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite", max_turns=2)
    cid = store.new_id()
    for n in range(3):
        store.append(cid, Turn(f"m{n}", f"q{n}", "answered"))
    assert [t.question for t in store.turns(cid)] == ["q1", "q2"]
    assert [t.message for t in ConversationStore(tmp_path / "c.sqlite").turns(cid)] == ["m0", "m1", "m2"]


def test_unknown_conversation_is_a_clear_error(tmp_path):
    with pytest.raises(FilterError, match="conversation 'nope' is unknown .* omit conversation_id to start a new one"):
        ConversationStore(tmp_path / "c.sqlite").require("nope")


def test_concurrent_appends_never_collide(tmp_path):
    stores = [ConversationStore(tmp_path / "c.sqlite") for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: stores[n % 4].append("one", Turn(str(n), str(n), "answered")), range(40)))
    assert sorted(int(t.message) for t in ConversationStore(tmp_path / "c.sqlite", max_turns=100).turns("one")) == list(
        range(40)
    )
