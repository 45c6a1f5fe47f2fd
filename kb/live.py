"""The served knowledge base of a long-running process: reloaded when an ingest publishes, with its readiness."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kb.errors import RegkbError
from kb.index_files import published_paths, read_state
from kb.knowledge_base import KnowledgeBase, open_knowledge_base

__all__ = ["LiveKnowledgeBase", "Readiness"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    """What `/readyz` reports: no document or chunk counts (it is unauthenticated; counts would reveal
    internal material)."""

    ready: bool
    reason: str = ""
    corpus_snapshot: str = ""
    generation: str = ""
    published_generation: str = ""  # set while the published generation is not the one answering
    reloading: bool = False
    reload_error: str = ""

    def as_dict(self) -> dict[str, object]:
        if not self.ready:
            return {"status": "not_ready", "reason": self.reason}
        body: dict[str, object] = {
            "status": "ready",
            "corpus_snapshot": self.corpus_snapshot,
            "generation": self.generation,
        }
        if self.published_generation:
            body |= {"published_generation": self.published_generation, "reloading": self.reloading}
            if self.reload_error:
                body["reload_error"] = self.reload_error
        return body


class LiveKnowledgeBase:
    """The knowledge base of the published generation, for a long-running server.

    `current()` looks at state.json at most every `check_seconds`; when an ingest has published a new
    generation, a background thread opens it (the model and checkpoint map are reused) while requests
    go on being answered from the loaded one, which stays on disk until the ingest after next; the new
    one replaces it once complete. A failed reload keeps the loaded one and is reported by `status()`.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        opener: Callable[[KnowledgeBase], KnowledgeBase] | None = None,
        check_seconds: float = 1.0,
    ) -> None:
        self._kb = kb
        self._open = opener or _reopen
        self._check_seconds = check_seconds
        self._checked = time.monotonic()
        self._seen = _stat(kb.paths.state)
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self.reload_error = ""

    def current(self) -> KnowledgeBase:
        now = time.monotonic()
        if now - self._checked >= self._check_seconds:
            self._checked = now
            self._maybe_reload()
        return self._kb

    def status(self) -> Readiness:
        """Ready when the loaded index is complete on disk and is the published one or being replaced by it."""
        kb = self.current()
        try:
            published, _ = published_paths(kb.settings)
        except RegkbError as exc:
            return Readiness(ready=False, reason=str(exc))
        if not kb.paths.folder.is_dir():
            reason = (
                f"the loaded index generation {kb.generation} is gone from disk and no reload succeeded: "
                f"{self.reload_error or 'none tried yet'}"
            )
            return Readiness(ready=False, reason=reason)
        ready = Readiness(ready=True, corpus_snapshot=kb.corpus_snapshot, generation=kb.generation)
        if published.generation == kb.generation:
            return ready
        # Still answering, from the complete previous index, while the published one loads.
        return Readiness(
            ready=True,
            corpus_snapshot=kb.corpus_snapshot,
            generation=kb.generation,
            published_generation=published.generation,
            reloading=not self.reload_error,
            reload_error=self.reload_error,
        )

    def wait_for_reload(self, timeout: float = 60.0) -> None:
        """Tests and the CLI: block until a reload in progress has finished."""
        loading = self._loading
        if loading is not None:
            loading.join(timeout)

    def _maybe_reload(self) -> None:
        seen = _stat(self._kb.paths.state)
        if seen == self._seen:
            return
        with self._lock:
            if self._loading is not None and self._loading.is_alive():
                return
            self._seen = seen
            state = read_state(self._kb.paths)
            if state is None or state.generation == self._kb.generation:
                return
            self._loading = threading.Thread(target=self._reload, name="regkb-reload", daemon=True)
            self._loading.start()

    def _reload(self) -> None:
        began = time.perf_counter()
        try:
            fresh = self._open(self._kb)
        except Exception as exc:  # keep serving the loaded generation; readiness reports the failure
            self.reload_error = f"{type(exc).__name__}: {exc}"
            self._seen = None  # try again at the next check
            log.warning("reload of the published index failed, still serving %s: %s", self._kb.generation, exc)
            return
        old, self._kb, self.reload_error = self._kb.generation, fresh, ""
        log.info("index reloaded: generation %s -> %s in %.1f s", old, fresh.generation, time.perf_counter() - began)


def _stat(path: os.PathLike[str] | str) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def _reopen(kb: KnowledgeBase) -> KnowledgeBase:
    return open_knowledge_base(
        kb.settings,
        embedder=kb.embedder,
        checkpoint_map=kb.checkpoint_map,
        checkpoints=kb.checkpoint_map is not None,
        catalogue=kb.catalogue,
    )
