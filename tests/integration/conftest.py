"""One real index for the integration tests: the 18 PDFs of ../shared/corpus, the real MiniLM model
and an embedded Chroma, built once per session (about two minutes on 2 cores)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import IngestReport, ingest_corpus
from kb.knowledge_base import KnowledgeBase, open_knowledge_base
from kb.settings import Settings
from tests.conftest import SHARED_CORPUS


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    if not (SHARED_CORPUS / "manifest.tsv").is_file():
        pytest.fail(f"{SHARED_CORPUS} is missing: the integration tests need ../shared/corpus beside the repo")
    return Settings(data_dir=tmp_path_factory.mktemp("regkb-data"), corpus_dir=SHARED_CORPUS)


@pytest.fixture(scope="session")
def first_ingest(real_settings: Settings) -> IngestReport:
    return ingest_corpus(real_settings, progress=False)


@pytest.fixture(scope="session")
def real_kb(real_settings: Settings, first_ingest: IngestReport) -> KnowledgeBase:
    return open_knowledge_base(real_settings)


@pytest.fixture
def regkb_env(real_settings: Settings, first_ingest: IngestReport, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGKB_DATA_DIR", str(real_settings.data_dir))
    monkeypatch.setenv("REGKB_CORPUS_DIR", str(real_settings.corpus_path))
    return real_settings.data_dir


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(real_kb: KnowledgeBase) -> Iterator[str]:
    """The real app (real index, the repo's checkpoint map) under uvicorn on loopback; yields its base URL."""
    import dataclasses
    import threading
    import time

    import httpx
    import uvicorn

    from api.app import create_app
    from kb.catalog import load_checkpoints
    from kb.settings import AccessSettings

    kb = dataclasses.replace(real_kb, checkpoint_map=load_checkpoints(Settings()))
    port = _free_port()
    local = kb.settings.model_copy(update={"access": AccessSettings(auth_disabled=True, anonymous_scopes=["public"])})
    app = create_app(local, kb=kb)  # the browser and SDK tests run as a local, public caller without keys
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        pytest.fail(f"the test server on {url} did not start within 30 s")
    yield url
    server.should_exit = True
    thread.join(timeout=10)
