"""A server's knowledge base follows the published generation without a failed request."""

from __future__ import annotations

import pytest

from kb.index_files import IndexPaths, IndexState, new_generation_id, read_state, write_state
from kb.live import LiveKnowledgeBase

pytestmark = pytest.mark.unit


class FakeKB:
    """Only what LiveKnowledgeBase reads: the paths and the generation."""

    def __init__(self, paths: IndexPaths, generation: str) -> None:
        self.paths, self.generation = paths, generation


def _publish(root, generation: str) -> None:
    write_state(IndexPaths(root), IndexState(fingerprint={"x": 1}, generation=generation))


def test_a_new_publication_is_loaded_in_the_background_and_then_served(tmp_path):
    _publish(tmp_path, "g1")
    opened = []

    def opener(old):
        state = read_state(old.paths)
        opened.append(state.generation)
        return FakeKB(old.paths, state.generation)

    live = LiveKnowledgeBase(FakeKB(IndexPaths(tmp_path), "g1"), opener=opener, check_seconds=0.0)
    assert live.current().generation == "g1" and opened == []  # nothing published since: nothing reopened
    _publish(tmp_path, "g2")
    served = live.current().generation  # answered at once, from whichever generation is loaded
    live.wait_for_reload()
    assert served in {"g1", "g2"} and live.current().generation == "g2" and opened == ["g2"]


def test_a_failed_reload_keeps_serving_and_is_retried(tmp_path):
    _publish(tmp_path, "g1")
    failures = [RuntimeError("chroma down")]

    def opener(old):
        if failures:
            raise failures.pop()
        return FakeKB(old.paths, read_state(old.paths).generation)

    live = LiveKnowledgeBase(FakeKB(IndexPaths(tmp_path), "g1"), opener=opener, check_seconds=3600)
    _publish(tmp_path, "g2")
    live._check_seconds = 0.0
    live.current()  # notices g2; the reload fails in the background
    live.wait_for_reload()
    live._check_seconds = 3600
    assert live.current().generation == "g1" and "chroma down" in live.reload_error
    live._check_seconds = 0.0
    live.current()  # the next check tries again, though state.json has not changed since
    live.wait_for_reload()
    assert live.current().generation == "g2" and live.reload_error == ""


def test_checks_are_rate_limited(tmp_path):
    _publish(tmp_path, "g1")
    opened = []
    live = LiveKnowledgeBase(
        FakeKB(IndexPaths(tmp_path), "g1"), opener=lambda old: opened.append(1) or old, check_seconds=3600
    )
    _publish(tmp_path, "g2")
    live.current()
    live.wait_for_reload()
    assert opened == []


def test_generation_ids_sort_by_time_and_never_repeat():
    ids = [new_generation_id() for _ in range(50)]
    assert len(set(ids)) == 50 and all(i.startswith("g2") and len(i) == 23 for i in ids)
