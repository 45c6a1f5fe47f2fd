"""The shells stay thin: api/ never touches a backend library, and the core never imports a shell."""

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ("chromadb", "langchain", "langchain_core", "langchain_text_splitters", "sentence_transformers", "pypdf")


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {(path.name, alias.name.split(".")[0]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((path.name, node.module.split(".")[0]))
    return found


def test_api_imports_no_backend_library():
    assert sorted((f, m) for f, m in _imports("api") if m in BACKENDS) == []


def test_core_never_imports_the_shells():
    assert sorted((f, m) for pkg in ("kb", "ingest") for f, m in _imports(pkg) if m == "api") == []


def test_kb_does_not_depend_on_ingest():
    assert sorted((f, m) for f, m in _imports("kb") if m == "ingest") == []
