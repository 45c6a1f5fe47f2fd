"""One ingest at a time per data dir: an exclusive advisory lock on DATA_DIR/ingest.lock.

The kernel releases the lock when its holder dies, however it dies, so a lock left by a killed ingest
is simply taken by the next one; the holder's pid and start time are written into the file only to
name it in the message a second ingest gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.errors import IngestBusyError

__all__ = ["ingest_lock"]


@contextmanager
def ingest_lock(path: Path, *, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the lock for the block; wait up to `wait_seconds` for another holder, then refuse."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IngestBusyError(_busy_message(path)) from None
                time.sleep(0.2)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(
                json.dumps({"pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            )
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _busy_message(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    who = f" (pid {holder['pid']}, started {holder['started']})" if "pid" in holder and "started" in holder else ""
    return (
        f"another ingest{who} is writing {path.parent}; wait for it to finish, "
        "or run `regkb ingest --wait SECONDS` to queue behind it"
    )
