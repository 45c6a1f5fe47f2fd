"""`regkb serve --workers 2` as users run it: both workers answer, and a conversation started on one worker
continues on the other (conversations live in SQLite under the data dir)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.integration.conftest import _free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def two_workers(regkb_env, monkeypatch):
    monkeypatch.setenv("REGKB_ACCESS__AUTH_DISABLED", "true")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_both_ready(url, process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _wait_until_both_ready(url: str, process: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline, seen = time.monotonic() + timeout_s, set()
    while time.monotonic() < deadline and len(seen) < 2:
        if process.poll() is not None:
            pytest.fail(f"regkb serve exited with {process.returncode}: {process.stdout.read().decode()[-2000:]}")
        try:
            response = httpx.get(f"{url}/readyz", timeout=5)
            if response.status_code == 200:
                seen.add(response.headers["X-Regkb-Worker"])
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    if len(seen) < 2:
        pytest.fail(f"only {len(seen)} of 2 workers became ready within {timeout_s} s")


def _post(url: str, body: dict) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=60) as client:  # a new connection each time: either worker may take it
        return client.post("/v1/chat", json=body)


def test_a_conversation_continues_across_workers(two_workers):
    first = _post(two_workers, {"message": "When must the potency assay be validated in the EU?"})
    cid, workers = first.json()["conversation_id"], {first.headers["X-Regkb-Worker"]}
    # The kernel hands each new connection to whichever worker accepts first, so a sequential client can
    # land on one worker many times in a row: ask until both have answered (at least 12 follow-ups).
    for turn in range(60):
        follow = _post(two_workers, {"conversation_id": cid, "message": "and in the US?"})
        assert follow.status_code == 200, follow.text
        assert follow.json()["question"] == "When must the potency assay be validated in the US?"
        workers.add(follow.headers["X-Regkb-Worker"])
        if turn >= 11 and len(workers) == 2:
            break
    assert len(workers) == 2, "all requests went to one worker; the cross-worker path was not exercised"
