"""The evaluation report: a Markdown file and a PNG chart under evals/reports/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from evals.gold import KINDS
from evals.metrics import METRICS, QuestionScore, Summary, summarise
from evals.runner import EvalRun

__all__ = ["write_report", "markdown_table"]

CHART_METRICS = ("doc_hit@1", "doc_hit@5", "page_hit@5", "answer_nugget_recall", "citation_precision")


def _cell(value: float | None, metric: str) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if metric.startswith("latency") else f"{value:.3f}"


def markdown_table(rows: Sequence[tuple[str, Summary]], first: str = "system") -> str:
    header = f"| {first} | n | " + " | ".join(METRICS) + " |"
    rule = "|---|---|" + "---|" * len(METRICS)
    lines = [f"| {name} | {s.count} | " + " | ".join(_cell(s.values[m], m) for m in METRICS) + " |" for name, s in rows]
    return "\n".join([header, rule, *lines])


def _portion(scores: list[QuestionScore], split: str) -> list[QuestionScore]:
    return [s for s in scores if split == "all" or s.question.split == split]


def write_report(run: EvalRun, out_dir: Path, *, settings_note: str = "") -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown, chart = out_dir / "latest.md", out_dir / "latest.png"
    sections = [
        "# regkb evaluation",
        f"{dt.date.today().isoformat()} · corpus snapshot `{run.corpus_snapshot}` · run took {run.seconds:.0f} s"
        + (f" · {settings_note}" if settings_note else ""),
        "Latencies in ms. Retrieval metrics over answerable questions; refusal accuracy over unanswerable ones. "
        "MRR@10 counts a passage on a gold page. Baselines never refuse, so their refusal accuracy is 0. "
        "Checkpoint metrics: recall and precision of the checklist's checkpoint ids on questions that expect "
        "some; spurious_checklist on questions that expect none (the baselines have no checkpoint map).",
    ]
    portions = (
        ("hard", "Hard test portion (pre-registered, headline; never tuned on)"),
        ("test", "Test portion (never tuned on)"),
        ("dev", "Dev portion"),
        ("all", "All questions"),
    )
    present = {s.question.split for scores in run.scores.values() for s in scores}
    for split, title in portions:
        if split != "all" and split not in present:
            continue
        rows = [(name, summarise(_portion(scores, split))) for name, scores in run.scores.items()]
        sections += [f"## {title}", markdown_table(rows)]
    regkb = run.scores.get("regkb", [])
    for split in [p for p in ("hard", "test") if p in present] + ["all"]:
        rows = [(kind, summarise([s for s in _portion(regkb, split) if s.question.kind == kind])) for kind in KINDS]
        sections += [f"## regkb by kind ({split})", markdown_table([r for r in rows if r[1].count], first="kind")]
    markdown.write_text("\n\n".join(sections) + "\n")
    _chart(run, chart)
    return markdown, chart


def _chart(run: EvalRun, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(run.scores)
    present = {s.question.split for scores in run.scores.values() for s in scores}
    headline = "hard" if "hard" in present else "test"
    summaries = {name: summarise(_portion(run.scores[name], headline)) for name in names}
    width = 0.8 / len(names)
    figure, axes = plt.subplots(figsize=(10, 4.5))
    for i, name in enumerate(names):
        heights = [summaries[name].values[m] or 0.0 for m in CHART_METRICS]
        axes.bar([x + i * width for x in range(len(CHART_METRICS))], heights, width, label=name)
    axes.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(CHART_METRICS))], CHART_METRICS)
    axes.set_ylim(0, 1.05)
    axes.set_title(f"regkb vs baselines, {'hard ' if headline == 'hard' else ''}test portion")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(names), frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
