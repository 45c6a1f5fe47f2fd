"""One real index for the integration tests: the 18 PDFs of ../shared/corpus, the real MiniLM model
and an embedded Chroma, built once per session (about two minutes on 2 cores)."""

from __future__ import annotations

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
