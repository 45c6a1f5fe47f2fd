"""A small real knowledge base for API tests: two real PDFs, the fake embedder, an in-memory vector store,
and the repo's checkpoint map; served through FastAPI's TestClient (no network, seconds)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.pipeline import IngestDependencies, ingest_corpus
from kb.catalog import load_checkpoints
from kb.knowledge_base import KnowledgeBase, open_knowledge_base
from kb.settings import AccessSettings, Settings
from tests.conftest import SHARED_CORPUS
from tests.fakes import FakeEmbedder, MemoryCatalog, manifest_entry

SOURCES = {
    "cpg": ("fda/fda-cpg-490-100-process-validation-2004.pdf", {"agency": "FDA"}),
    "q5c": ("ich/ich-q5c-stability-biotechnological-products-1995.pdf", {"agency": "ICH", "jurisdiction": "ICH"}),
}


def _lesson(lesson_id: str, title: str, visibility: str, happened: str) -> str:
    return (
        f'---\nid: {lesson_id}\ntitle: "{title}"\ndate: 2024-05-01\nillustrative: true\n'
        "product_type: autologous-cells\nstage: first-gmp-batch\nthemes: [cryopreservation]\nseverity: high\n"
        f'visibility: {visibility}\nowner: "MSAT lead"\nrelated: []\n---\n\n'
        f"## What happened\n\n{happened}\n\n## Why it mattered\n\nThree patient batches were delayed.\n\n"
        "## Root cause\n\nThe freezing profile was never tested at bag scale.\n\n"
        "## What we changed\n\n- A bag-scale engineering run before every scale change.\n\n"
        "## What to check next time\n\n- Post-thaw viability at the final fill volume.\n"
    )


# Internal and confidential lessons with words no public document has (Quasar-7, Zephyr-9), to detect leaks.
LESSONS = {
    "freezer-bag-crack": _lesson(
        "freezer-bag-crack",
        "Cryopreservation bags cracked after scale-up in the Quasar-7 freezer",
        "internal",
        "When cryopreservation was scaled up from vials to 50 mL bags in the Quasar-7 freezer, two bags cracked "
        "and post-thaw viability fell from 92% to 61%.",
    ),
    "secret-vector-lot": _lesson(
        "secret-vector-lot",
        "Zephyr-9 vector lot failed stability during cryopreservation storage",
        "confidential",
        "The Zephyr-9 lentiviral vector lot lost 40% titre after six months of cryopreservation storage at -80 C.",
    ),
}


@pytest.fixture(scope="session")
def small_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("api-kb")
    (root / "corpus").mkdir()
    entries = []
    for doc_id, (source, overrides) in SOURCES.items():
        target = root / "corpus" / f"{doc_id}.pdf"
        shutil.copyfile(SHARED_CORPUS / source, target)
        sha = hashlib.sha256(target.read_bytes()).hexdigest()
        entries.append(manifest_entry(doc_id, target.name, sha, **overrides))
    (root / "manifest.yaml").write_text(yaml.safe_dump({"version": 1, "documents": entries}))
    (root / "lessons").mkdir()
    for lesson_id, lesson in LESSONS.items():
        (root / "lessons" / f"{lesson_id}.md").write_text(lesson)
    settings = Settings(
        data_dir=root / "data",
        corpus_dir=root / "corpus",
        manifest_path=root / "manifest.yaml",
        lessons_dir=root / "lessons",
        access=AccessSettings(auth_disabled=True, anonymous_scopes=["public"]),
    )
    embedder, catalog = FakeEmbedder(), MemoryCatalog()
    deps = IngestDependencies(tokenizer=lambda: embedder, embedder=lambda: embedder, catalog=lambda: catalog)
    ingest_corpus(settings, deps=deps, progress=False)
    cmap = load_checkpoints(Settings())  # the repo's map; its references resolve against the repo manifest
    return open_knowledge_base(settings, embedder=embedder, store=catalog.served(settings), checkpoint_map=cmap)


@pytest.fixture
def client(small_kb: KnowledgeBase) -> TestClient:
    with TestClient(create_app(kb=small_kb)) as test_client:
        yield test_client


@pytest.fixture
def data_dir(small_kb: KnowledgeBase) -> Path:
    return small_kb.settings.data_dir
