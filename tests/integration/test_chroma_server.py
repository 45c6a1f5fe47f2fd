"""REGKB_CHROMA_URL: the same ingestion and search against a real `chroma run` server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from ingest.fetch import file_sha256
from ingest.pipeline import IngestDependencies, ingest_corpus
from kb.knowledge_base import open_knowledge_base
from kb.settings import Settings
from kb.vector_store import ChromaCatalog
from tests.conftest import SHARED_CORPUS
from tests.fakes import FakeEmbedder, manifest_entry

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    if shutil.which("chroma") is None:
        pytest.fail("the `chroma` command (installed with chromadb) is missing")
    port = _free_port()
    server = subprocess.Popen(
        ["chroma", "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma server did not start within 30 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_ingest_and_search_through_a_chroma_server(tmp_path, chroma_url):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(SHARED_CORPUS / "ich/ich-q5c-stability-biotechnological-products-1995.pdf", corpus / "q5c.pdf")
    entry = manifest_entry("q5c", "q5c.pdf", file_sha256(corpus / "q5c.pdf"), agency="ICH", jurisdiction="ICH")
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump({"version": 1, "documents": [entry]}))
    settings = Settings(
        data_dir=tmp_path / "data",
        corpus_dir=corpus,
        manifest_path=tmp_path / "manifest.yaml",
        lessons_dir=tmp_path / "no-lessons",
        chroma_url=chroma_url,
    )
    embedder = FakeEmbedder()
    deps = IngestDependencies(
        tokenizer=lambda: embedder,
        embedder=lambda: embedder,
        catalog=lambda: ChromaCatalog(data_dir=settings.data_dir, url=chroma_url),
    )
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.added == ["q5c"]
    assert not (settings.data_dir / "chroma").exists()  # vectors live in the server, not in the data dir

    kb = open_knowledge_base(settings, embedder=embedder, checkpoints=False)  # opens the server collection by URL
    assert kb.store.count() == report.chunks_embedded
    passages = kb.search("stability-indicating profile potency", k=3)
    assert passages and passages[0].chunk.doc_id == "q5c" and passages[0].dense_similarity is not None
