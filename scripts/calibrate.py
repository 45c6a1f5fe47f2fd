"""Sweep the no_evidence thresholds over evals/calibration.yaml and print how each setting does.

    python scripts/calibrate.py          # uses the index in REGKB_DATA_DIR (build it with `regkb ingest`)

For every question it records the best passage's dense similarity and the top-3 term coverage (what
kb.answer.assess_evidence looks at), then reports refusal accuracy on unanswerable questions and
false refusals on answerable ones for a grid of thresholds, and the current settings' result.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

os.environ["HF_HUB_OFFLINE"] = "1"
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kb.answer import term_coverage  # noqa: E402
from kb.knowledge_base import open_knowledge_base  # noqa: E402
from kb.settings import Settings  # noqa: E402

EVIDENCE_PASSAGES = 3


def _signals(kb, question: str) -> tuple[float, float, str]:  # type: ignore[no-untyped-def]
    passages = kb.search(question)
    similarity = passages[0].dense_similarity or 0.0
    return similarity, term_coverage(question, passages[:EVIDENCE_PASSAGES]), passages[0].document.id


def main() -> None:
    settings = Settings()
    kb = open_knowledge_base(settings)
    data = yaml.safe_load((REPO / "evals" / "calibration.yaml").read_text())
    answerable = [(item["q"], *_signals(kb, item["q"]), item["doc"]) for item in data["answerable"]]
    unanswerable = [(q, *_signals(kb, q), "") for q in data["unanswerable"]]
    print("| kind | similarity | coverage | top doc | question |\n|---|---|---|---|---|")
    for kind, rows in (("answerable", answerable), ("unanswerable", unanswerable)):
        for q, sim, cov, top, gold in rows:
            mark = "" if not gold or top == gold else f" (gold {gold})"
            print(f"| {kind} | {sim:.3f} | {cov:.2f} | {top}{mark} | {q} |")
    print("\n| min similarity | min coverage | refusal accuracy | false refusals |\n|---|---|---|---|")
    current = (settings.answer.min_dense_similarity, settings.answer.min_term_coverage)
    grid = sorted({current} | {(s / 100, c / 100) for s in range(30, 61, 5) for c in (0, 25, 34, 50, 60, 67)})
    for min_sim, min_cov in grid:
        refused = sum(not (sim >= min_sim and cov >= min_cov) for _, sim, cov, _, _ in unanswerable)
        false = sum(not (sim >= min_sim and cov >= min_cov) for _, sim, cov, _, _ in answerable)
        star = "  <- current" if (min_sim, min_cov) == current else ""
        rates = f"{refused / len(unanswerable):.2f} | {false / len(answerable):.2f}"
        print(f"| {min_sim:.2f} | {min_cov:.2f} | {rates}{star} |")


if __name__ == "__main__":
    main()
