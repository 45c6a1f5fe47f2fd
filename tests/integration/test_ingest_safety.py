"""The index survives SIGKILL at any moment of an ingest, and a running server answers through ingests:
the real model, an embedded Chroma, real PDFs, `regkb` run as users run it (a separate process)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
import yaml

from kb.access import SCOPES, principal
from kb.catalog import list_documents
from kb.index_files import IndexPaths, read_state
from kb.knowledge_base import open_knowledge_base
from kb.quotes import verify_quote
from kb.settings import Settings
from tests.conftest import SHARED_CORPUS
from tests.integration.conftest import _free_port

pytestmark = pytest.mark.integration

# Documents of the repo's manifest, so that the repo's checkpoint map (which the server loads) resolves,
# and a question each answers.
SOURCES = {
    "fda-cpg-490-100-2004": "What are the stages of process validation?",
    "ich-q5c-1995": "How should the stability of biotechnological products be tested?",
    "fda-part11-2003": "What is the scope of Part 11 for electronic records?",
}
CPG, Q5C, PART11 = SOURCES
REPO_MANIFEST = yaml.safe_load(Settings().manifest_path.read_text())


class Site:
    """A data dir and corpus of its own, and the environment that points `regkb` at them."""

    def __init__(self, root: Path) -> None:
        self.root, self.corpus, self.manifest = root, root / "corpus", root / "manifest.yaml"
        self.corpus.mkdir()
        # The repo's manifest with nothing available offline until `add` puts a document in the corpus.
        self.entries = [{**e, "available_offline": False, "file": None} for e in REPO_MANIFEST["documents"]]
        self.write()
        self.env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "REGKB_DATA_DIR": str(root / "data"),
            "REGKB_CORPUS_DIR": str(self.corpus),
            "REGKB_MANIFEST_PATH": str(self.manifest),
            "REGKB_LESSONS_DIR": str(root / "no-lessons"),
        }
        self.settings = Settings(
            data_dir=root / "data", corpus_dir=self.corpus, manifest_path=self.manifest, lessons_dir=root / "no-lessons"
        )

    def entry(self, doc_id: str) -> dict:
        return next(e for e in self.entries if e["id"] == doc_id)

    def write(self) -> None:
        self.manifest.write_text(yaml.safe_dump({"version": 1, "documents": self.entries}))

    def add(self, doc_id: str) -> None:
        source = next(e for e in REPO_MANIFEST["documents"] if e["id"] == doc_id)["file"]
        target = self.corpus / Path(source).name
        shutil.copyfile(SHARED_CORPUS / source, target)
        self.entry(doc_id).update(file=target.name, available_offline=True)
        self.write()

    def retitle(self, doc_id: str) -> None:
        """A metadata change: the document is re-indexed by the next ingest, the others carried over."""
        entry = self.entry(doc_id)
        entry["title"] = f"{entry['title']} (retitled {time.monotonic_ns()})"
        self.write()

    def regkb(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "api.cli", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def run(self, *args: str, timeout: float = 300) -> str:
        process = self.regkb(*args)
        output, _ = process.communicate(timeout=timeout)
        assert process.returncode == 0, output.decode()[-3000:]
        return output.decode()

    def generations(self) -> set[str]:
        folder = self.root / "data" / "generations"
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    def published(self) -> str:
        state = read_state(IndexPaths(self.root / "data"))
        return state.generation if state else ""


def _assert_serves_whole(site: Site) -> set[str]:
    """`regkb ask` answers from a complete index with quotes found on their pages, and `regkb docs`
    lists as indexed exactly what the index holds. Returns the indexed document ids."""
    kb = open_knowledge_base(site.settings, checkpoints=False)
    assert kb.store.count() == len(kb.chunks) == sum(d.chunks for d in kb.state.documents.values())
    for doc_id in kb.records:
        answer = kb.ask(SOURCES[doc_id])
        assert answer.status == "answered", (doc_id, answer.answer)
        assert any(c.doc_id == doc_id for c in answer.citations), (doc_id, [c.doc_id for c in answer.citations])
        for citation in answer.citations:
            pages = [kb.page_text(citation.doc_id, p) for p in citation.pages]
            assert verify_quote(citation.quote, pages), citation.quote
    listed = {row.record.id for row in list_documents(site.settings, principal("all", SCOPES)) if row.indexed}
    assert listed == set(kb.records)
    return listed


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = Site(tmp_path)
    site.add(CPG)
    site.add(Q5C)
    site.run("ingest", "--quiet")
    return site


@contextlib.contextmanager
def _serving(site: Site, *, auth: bool = False) -> Iterator[str]:
    """`regkb serve`'s app and protocol under uvicorn on loopback, in this process (the repo's checkpoint map
    cites documents this small corpus lacks, so the app is given its index without one)."""
    from api.app import create_app
    from kb.settings import AccessSettings

    settings = site.settings.model_copy(update={"access": AccessSettings(auth_disabled=not auth)})
    kb = open_knowledge_base(settings, checkpoints=False)
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, kb=kb),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http="api.http_protocol:BoundedH11Protocol",
        h11_max_incomplete_event_size=settings.api.max_header_bytes,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _kill_when(process: subprocess.Popen, condition, delay: float) -> bool:
    """SIGKILL the process `delay` seconds after `condition()` first holds; False if it ended first."""
    while process.poll() is None:
        if condition():
            time.sleep(delay)
            if process.poll() is not None:
                return False
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            return True
        time.sleep(0.01)
    return False


def test_sigkill_at_any_moment_of_an_ingest_never_breaks_the_served_index(site):
    assert _assert_serves_whole(site) == {CPG, Q5C}
    site.add(PART11)
    # When to kill: seconds after the start (model load, parsing, embedding), as soon as the new
    # generation's files appear, and just after its publication (before the old ones are cleaned up).
    moments = [
        ("rebuild", "start", 4.0),
        ("rebuild", "start", 8.0),
        ("rebuild", "new_generation", 0.0),
        ("add", "new_generation", 0.0),
        ("add", "published", 0.0),
    ]
    killed = 0
    for kind, trigger, delay in moments:
        if kind == "add":
            site.retitle(PART11)  # so that this ingest has work whether or not part11 is indexed yet
        before, started, began = site.published(), site.generations(), time.monotonic()
        conditions = {
            "start": lambda: True,
            "new_generation": lambda started=started: bool(site.generations() - started),
            "published": lambda before=before: site.published() != before,
        }
        process = site.regkb("ingest", "--quiet", *(["--rebuild"] if kind == "rebuild" else []))
        killed += _kill_when(process, conditions[trigger], delay)
        assert time.monotonic() - began < 300
        assert _assert_serves_whole(site) in ({CPG, Q5C}, {CPG, Q5C, PART11})
    assert killed >= 3, "the ingests finished before they could be killed: the test did not test"
    output = site.run("ingest", "--quiet")
    assert "0 skipped" in output
    assert _assert_serves_whole(site) == {CPG, Q5C, PART11}
    state = read_state(IndexPaths(site.root / "data"))
    assert state is not None and site.generations() <= {state.generation, state.previous}


def test_a_second_ingest_is_refused_with_the_holder_named(site):
    site.add(PART11)
    first = site.regkb("ingest", "--quiet")
    deadline = time.monotonic() + 60
    lock = site.root / "data" / "ingest.lock"
    while time.monotonic() < deadline and not lock.read_text().strip():
        time.sleep(0.05)
    second = site.regkb("ingest", "--quiet")
    output, _ = second.communicate(timeout=120)
    first.communicate(timeout=300)
    assert second.returncode == 1
    assert f"another ingest (pid {first.pid}" in output.decode() and "--wait" in output.decode()
    assert len(output.decode().strip().splitlines()) == 1
    assert first.returncode == 0


def test_a_server_answers_through_an_incremental_ingest_and_a_rebuild_then_serves_the_new_index(site):
    results: list[tuple[int, str]] = []
    stop = threading.Event()
    with _serving(site) as url:

        def client() -> None:  # one bounded client asking without pause, as a busy team would
            with httpx.Client(base_url=url, timeout=30) as http:
                while not stop.is_set():
                    try:
                        response = http.post("/v1/ask", json={"question": SOURCES[CPG]})
                        results.append((response.status_code, response.text[:300]))
                    except httpx.TransportError as exc:
                        results.append((0, repr(exc)))

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        try:
            site.add(PART11)
            site.run("ingest", "--quiet")
            _wait_for_generation(url, site.published())
            site.run("ingest", "--quiet", "--rebuild")
            _wait_for_generation(url, site.published())
        finally:
            stop.set()
            thread.join(timeout=60)
        failed = [r for r in results if r[0] != 200]
        assert len(results) > 20 and failed == [], failed[:3]
        answer = httpx.post(f"{url}/v1/ask", json={"question": SOURCES[PART11]}, timeout=30).json()
        assert any(c["doc_id"] == PART11 for c in answer["citations"])


def _wait_for_generation(url: str, generation: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready = httpx.get(f"{url}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        if ready.json()["generation"] == generation:
            return
        time.sleep(0.2)
    pytest.fail(f"the server did not move to generation {generation}: {json.dumps(ready.json())}")


def test_a_30_mb_body_is_refused_at_once_without_growing_the_server(site):
    import psutil

    with _serving(site, auth=True) as url:  # API keys on: the body must be refused before the key is looked at
        port = int(url.rsplit(":", 1)[1])
        before = psutil.Process().memory_info().rss
        began = time.monotonic()
        # A client announcing 30 MB and sending the first 1 MB of it, over a raw socket: the answer must come
        # from the announced length, before the body is read.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            head = (
                "POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {30_000_000}\r\n\r\n"
            )
            raw.sendall(head.encode() + b'{"question": "' + b"x" * 1_000_000)
            reply = b""
            while not reply.rstrip().endswith(b"}"):
                piece = raw.recv(65536)
                if not piece:
                    break
                reply += piece
        elapsed = time.monotonic() - began
        grown = psutil.Process().memory_info().rss - before
    status_line, _, rest = reply.partition(b"\r\n")
    error = json.loads(rest.split(b"\r\n\r\n", 1)[1])["error"]
    assert b" 413 " in status_line, reply[:300]
    assert error["request_id"] and "REGKB_API__MAX_BODY_BYTES" in error["message"]
    assert elapsed < 1.0, elapsed
    assert grown < 5_000_000, grown
