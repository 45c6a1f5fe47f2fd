"""Quote fidelity of regkb's answers, checked by an independent pypdf reading of each cited PDF page.

    python scripts/pdf_fidelity.py [--split hard|test|dev|all]

Asks every question of the portion as a public caller against the index in REGKB_DATA_DIR (build it with
`regkb ingest`) and looks for each citation's quote on its cited pages as pypdf extracts them, in plain and
layout mode (evals.pdf_check), not in the page text regkb stored. Prints the count and every miss. A
script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evals.gold import load_gold  # noqa: E402
from evals.pdf_check import on_pdf_pages  # noqa: E402
from kb.knowledge_base import open_knowledge_base  # noqa: E402
from kb.manifest import resolve_document_path  # noqa: E402
from kb.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("hard", "test", "dev", "all"), default="hard")
    args = parser.parse_args()
    settings = Settings()
    kb = open_knowledge_base(settings)
    questions = [q for q in load_gold() if args.split == "all" or q.split == args.split]
    checked, misses = 0, []
    for question in questions:
        for citation in kb.ask(question.question).citations:
            record = kb.records[citation.doc_id]
            if not record.file:
                continue  # an internal lesson: no PDF to read
            checked += 1
            if not on_pdf_pages(citation.quote, resolve_document_path(record, settings.corpus_path), citation.pages):
                misses.append((question.id, citation.doc_id, citation.pages, citation.quote))
    found = checked - len(misses)
    print("| portion | questions | quotes checked | on the PDF page (pypdf) |\n|---|---|---|---|")
    print(f"| {args.split} | {len(questions)} | {checked} | {found} ({found / max(checked, 1):.3f}) |")
    for question_id, doc_id, pages, quote in misses:
        print(f"- miss {question_id}: {doc_id} p. {', '.join(map(str, pages))}: {quote[:160]!r}")


if __name__ == "__main__":
    main()
