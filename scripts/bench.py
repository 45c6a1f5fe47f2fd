"""Speed figures for regkb on this machine: prints a Markdown table. A script, not a test.

    python scripts/bench.py [--corpus ../shared/corpus]

Builds a fresh index in a temporary folder from the corpus folder (read in place), then measures:
full ingest time and chunks/s; the pipeline's embedding-stage throughput against raw
SentenceTransformer.encode on the same chunk texts in the same run; a no-op re-ingest through the
real `regkb` command; ask latency p50/p95 over 50 questions after warm-up; peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest.chunk import embedding_text  # noqa: E402
from ingest.pipeline import ingest_corpus  # noqa: E402
from kb.embedder import bundled_model_path  # noqa: E402
from kb.knowledge_base import open_knowledge_base  # noqa: E402
from kb.settings import Settings  # noqa: E402


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="regkb-bench-"))
    settings = Settings(data_dir=data_dir, corpus_dir=args.corpus.resolve())
    rows: list[tuple[str, str]] = []

    report = ingest_corpus(settings, progress=False)
    chunks = report.chunks_embedded
    rows += [
        ("documents ingested", f"{len(report.added)} ({len(report.skipped)} skipped)"),
        ("chunks", str(chunks)),
        ("full ingest", f"{report.seconds:.1f} s ({chunks / report.seconds:.1f} chunks/s)"),
    ]

    kb = open_knowledge_base(settings)
    texts = [
        embedding_text(c, kb.records[c.doc_id], kb.embedder, settings.embedding.max_tokens) for c in kb.chunks.values()
    ]
    from sentence_transformers import SentenceTransformer

    raw_model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    began = time.perf_counter()
    raw_model.encode(texts)
    raw_seconds = time.perf_counter() - began
    pipeline_rate, raw_rate = chunks / report.embed_seconds, len(texts) / raw_seconds
    rows += [
        ("pipeline embedding stage", f"{report.embed_seconds:.1f} s ({pipeline_rate:.1f} chunks/s)"),
        ("raw SentenceTransformer.encode, same texts", f"{raw_seconds:.1f} s ({raw_rate:.1f} chunks/s)"),
        ("pipeline / raw embedding throughput", f"{pipeline_rate / raw_rate:.0%}"),
    ]

    env = {**os.environ, "REGKB_DATA_DIR": str(data_dir), "REGKB_CORPUS_DIR": str(args.corpus.resolve())}
    began = time.perf_counter()
    noop = subprocess.run(["regkb", "ingest", "--quiet"], env=env, capture_output=True, text=True, check=True)
    rows.append(("no-op re-ingest (`regkb ingest`, new process)", f"{time.perf_counter() - began:.2f} s"))
    assert "0 added, 0 replaced, 0 removed" in noop.stdout, noop.stdout

    questions = (REPO / "scripts" / "bench_questions.txt").read_text().splitlines()
    for question in questions[:5]:
        kb.ask(question)
    latencies = []
    for question in questions:
        began = time.perf_counter()
        kb.ask(question)
        latencies.append((time.perf_counter() - began) * 1000)
    rows += [
        (f"ask latency p50 ({len(questions)} questions, warm)", f"{_percentile(latencies, 0.5):.0f} ms"),
        ("ask latency p95", f"{_percentile(latencies, 0.95):.0f} ms"),
        # RUSAGE_CHILDREN is not reported: a forked child's peak counts the parent's pages before exec.
        ("peak memory (this process: ingest, raw encode, ask)", f"{_maxrss_mib():.0f} MiB"),
    ]
    print("| measure | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows))
    print(f"\n{os.cpu_count()} CPUs; index in {data_dir}")


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


if __name__ == "__main__":
    main()
