"""The `regkb` command: parses options, calls the core, renders the result, maps errors to one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from kb.errors import RegkbError
from kb.filters import Filters
from kb.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Regulatory knowledge base for ATMP development.")
corpus_app = typer.Typer(no_args_is_help=True, help="The document corpus.")
app.add_typer(corpus_app, name="corpus")
keys_app = typer.Typer(no_args_is_help=True, help="API keys for the HTTP API (stored hashed).")
app.add_typer(keys_app, name="keys")
lessons_app = typer.Typer(no_args_is_help=True, help="Internal lessons learned (corpus/lessons).")
app.add_typer(lessons_app, name="lessons")

EXIT_ERROR = 1
EXIT_SKIPPED = 3  # fetch or ingest finished, but some documents could not be fetched or read

# Document, lesson and user text is printed as it is: never read as rich markup ("[/...]" in a lesson).
out = Console(markup=False)
err = Console(stderr=True, soft_wrap=True, markup=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of formatted text.")]
KOpt = Annotated[int | None, typer.Option("--k", min=1, max=50, help="Passages to use (default: settings).")]
AgencyOpt = Annotated[
    list[str] | None, typer.Option("--agency", help="Only this issuer (FDA, ICH, EMA, EC); repeatable.")
]
JurisdictionOpt = Annotated[list[str] | None, typer.Option("--jurisdiction", help="EU, US or ICH; repeatable.")]
DocTypeOpt = Annotated[list[str] | None, typer.Option("--doc-type", help="guideline, guidance, regulation, ...")]
StatusOpt = Annotated[list[str] | None, typer.Option("--status", help="final, draft or superseded; repeatable.")]
DocIdOpt = Annotated[list[str] | None, typer.Option("--doc-id", help="Only this document id; repeatable.")]


@app.callback()
def _checked_settings() -> None:
    """Every command starts by checking the REGKB_ environment: one line naming a bad variable, exit 1."""
    from kb.settings import load_settings

    try:
        load_settings()
    except RegkbError as exc:
        raise _fail(exc) from exc


def _local(settings: Settings):  # type: ignore[no-untyped-def]
    """The principal the CLI runs as (REGKB_ACCESS__LOCAL_SCOPES)."""
    from kb.access import principal

    return principal("local", settings.access.local_scopes)


def _fail(exc: RegkbError) -> typer.Exit:
    err.print(Text.assemble(("regkb: error:", "red"), f" {exc}"), highlight=False)
    return typer.Exit(EXIT_ERROR)


def _filters(agency, jurisdiction, doc_type, status, doc_id) -> Filters:  # type: ignore[no-untyped-def]
    return Filters.from_user(agency=agency, jurisdiction=jurisdiction, doc_type=doc_type, status=status, doc_id=doc_id)


@corpus_app.command("fetch")
def corpus_fetch(
    mirror: Annotated[Path | None, typer.Option(help="Folder holding the documents (e.g. ../shared/corpus).")] = None,
    verbose: Annotated[bool, typer.Option(help="Also list the documents that are not available offline.")] = False,
) -> None:
    """Fill the corpus folder from a mirror folder or the official URLs, checking sha256."""
    from ingest.fetch import fetch_corpus
    from kb.manifest import load_manifest

    settings = Settings()
    try:
        report = fetch_corpus(load_manifest(settings.manifest_path), settings.corpus_path, mirror=mirror)
    except RegkbError as exc:
        raise _fail(exc) from exc
    for result in report.results:
        if result.outcome == "failed" or (verbose and result.outcome == "not_offline"):
            err.print(f"{result.outcome:12} {result.doc_id}: {result.reason}", highlight=False)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in report.counts.items() if n)
    out.print(f"corpus folder {settings.corpus_path}: {counts}", highlight=False, soft_wrap=True)
    if report.counts.get("not_offline") and not verbose:
        out.print("not_offline documents are listed for reference (URL in `regkb docs --json`; --verbose lists them)")
    if report.counts.get("failed"):
        raise typer.Exit(EXIT_SKIPPED)


@app.command()
def ingest(
    rebuild: Annotated[bool, typer.Option(help="Rebuild every index from scratch.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for another ingest of the same data dir to finish.")
    ] = 0.0,
) -> None:
    """Parse, chunk and index the corpus; only what changed since the last run.

    The new index is built beside the served one and published at the end in one step: a server keeps
    answering throughout, and an interrupted ingest leaves the previous index whole."""
    from ingest.pipeline import ingest_corpus

    settings = Settings()
    try:
        report = ingest_corpus(settings, rebuild=rebuild, progress=False if quiet else None, wait_seconds=wait)
    except RegkbError as exc:
        raise _fail(exc) from exc
    for skip in report.skipped:
        err.print(f"skipped {skip.doc_id}: {skip.path}: {skip.reason}", highlight=False)
    if report.repaired:
        err.print(f"repaired: {', '.join(report.repaired)} (the stored index lacked them; redone)", highlight=False)
    out.print(
        f"ingest: {len(report.added)} added, {len(report.replaced)} replaced, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped; "
        f"{report.chunks_embedded} chunks embedded in {report.seconds:.1f} s; corpus snapshot {report.snapshot}",
        highlight=False,
        soft_wrap=True,
    )
    if report.skipped:
        raise typer.Exit(EXIT_SKIPPED)


@app.command()
def docs(as_json: JsonOpt = False) -> None:
    """The corpus: status, pages, chunks, and whether each document is present and indexed."""
    from api.render import documents_json, print_documents
    from kb.catalog import list_documents

    try:
        settings = Settings()
        rows = list_documents(settings, _local(settings))
    except RegkbError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(documents_json(rows), indent=2))
    else:
        print_documents(rows, out)


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question (omit with --jsonl).")] = None,
    as_json: JsonOpt = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="One question per stdin line, one JSON answer per line.")
    ] = False,
    k: KOpt = None,
    agency: AgencyOpt = None,
    jurisdiction: JurisdictionOpt = None,
    doc_type: DocTypeOpt = None,
    status: StatusOpt = None,
    doc_id: DocIdOpt = None,
) -> None:
    """Answer a question with verbatim, checked citations (checkpoint questions: the checklist first)."""
    from api.render import answer_json, print_answer
    from kb.knowledge_base import open_knowledge_base

    if (question is None) == (not jsonl):
        raise typer.BadParameter("give a question, or --jsonl to read questions from stdin")
    filters = _filters(agency, jurisdiction, doc_type, status, doc_id)
    try:
        settings = Settings()
        kb = open_knowledge_base(settings)
        if jsonl:
            for line in sys.stdin:
                if line.strip():
                    print(json.dumps(_ask_line(kb, line.strip(), filters, k, _local(settings))), flush=True)
            return
        answer = kb.ask(question or "", filters=filters, k=k, principal=_local(settings))
    except RegkbError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(answer_json(answer), indent=2, ensure_ascii=False))
    else:
        print_answer(answer, out)


def _ask_line(kb, question: str, filters: Filters, k: int | None, caller) -> dict:  # type: ignore[no-untyped-def]
    from api.render import answer_json

    try:
        return answer_json(kb.ask(question, filters=filters, k=k, principal=caller))
    except RegkbError as exc:
        return {"question": question, "error": str(exc)}


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    as_json: JsonOpt = False,
    k: KOpt = None,
    agency: AgencyOpt = None,
    jurisdiction: JurisdictionOpt = None,
    doc_type: DocTypeOpt = None,
    status: StatusOpt = None,
    doc_id: DocIdOpt = None,
) -> None:
    """Ranked passages for a query."""
    from api.render import print_passages, search_json
    from kb.knowledge_base import open_knowledge_base

    try:
        settings = Settings()
        kb = open_knowledge_base(settings)
        filters = _filters(agency, jurisdiction, doc_type, status, doc_id)
        passages = kb.search(query, filters=filters, k=k, principal=_local(settings))
    except RegkbError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(search_json(query, passages), indent=2, ensure_ascii=False))
    else:
        print_passages(passages, out)


@app.command()
def checkpoints(
    jurisdiction: Annotated[str, typer.Option(help="EU, US or both.")] = "both",
    stage: Annotated[list[str] | None, typer.Option(help="Stage id (see --list); repeatable.")] = None,
    product_type: Annotated[list[str] | None, typer.Option(help="Product type id (see --list); repeatable.")] = None,
    role: Annotated[list[str] | None, typer.Option(help="sponsor or cdmo; repeatable.")] = None,
    item: Annotated[
        list[str] | None, typer.Option(help="Evidence item id: its maturity across checkpoints; repeatable.")
    ] = None,
    checkpoint: Annotated[list[str] | None, typer.Option("--id", help="Checkpoint id; repeatable.")] = None,
    output: Annotated[str, typer.Option("--format", help="table, md, csv or json.")] = "table",
    list_ids: Annotated[bool, typer.Option("--list", help="List stage, product type and item ids.")] = False,
    verify: Annotated[bool, typer.Option(help="Check every local quote on the indexed page text.")] = False,
) -> None:
    """The checkpoint map: what evidence each development checkpoint expects, with references."""
    from api.render_checkpoints import checklist_csv, checklist_json, checklist_markdown, print_checklist
    from kb.catalog import load_checkpoints, stored_page_text
    from kb.checkpoint_map import verify_quotes
    from kb.checkpoint_query import checklist_for_options
    from kb.errors import FilterError

    settings = Settings()
    try:
        cmap = load_checkpoints(settings)
    except RegkbError as exc:
        raise _fail(exc) from exc
    if list_ids:
        _print_vocabulary(cmap)
        return
    page_text = stored_page_text(settings)
    if verify:
        if page_text is None:
            raise _fail(RegkbError("nothing is indexed yet; run `regkb ingest` first, then --verify"))
        problems = verify_quotes(cmap, page_text)
        for problem in problems:
            err.print(problem, highlight=False)
        out.print(f"checkpoint map: {len(problems)} quote problem(s)", highlight=False)
        raise typer.Exit(EXIT_ERROR if problems else 0)
    if output not in ("table", "md", "csv", "json"):
        raise typer.BadParameter(f"format {output!r}: use table, md, csv or json")
    options = {
        "stages": stage,
        "product_types": product_type,
        "roles": role,
        "items": item,
        "checkpoint_ids": checkpoint,
    }
    try:
        checklist = checklist_for_options(
            cmap, page_text=page_text, jurisdiction=jurisdiction, **{k: tuple(v or ()) for k, v in options.items()}
        )
    except FilterError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if output == "json":
        print(json.dumps(checklist_json(checklist), indent=2, ensure_ascii=False))
    elif output == "md":
        print(checklist_markdown(checklist), end="")
    elif output == "csv":
        print(checklist_csv(checklist), end="")
    else:
        print_checklist(checklist, out)


def _print_vocabulary(cmap) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table("kind", "id", "title")
    for kind, entries in (("stage", cmap.stages), ("product type", cmap.product_types), ("item", cmap.items)):
        for entry in entries:
            table.add_row(kind, entry.id, entry.title)
    for c in cmap.checkpoints:
        table.add_row(f"checkpoint ({c.jurisdiction})", c.id, c.title)
    out.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes, each with its own model.")] = 1,
) -> None:
    """The HTTP API and the web chat page (http://HOST:PORT/); the index must exist (`regkb ingest`)."""
    import logging

    import uvicorn

    from api.slack import slack_configured
    from kb.catalog import check_servable

    settings = Settings()
    try:  # fail here with one line, not in every worker's start-up
        check_servable(settings)
        slack_on = slack_configured(settings.slack)
    except RegkbError as exc:
        raise _fail(exc) from exc
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the API logs one JSON object per line
    slack_note = "Slack events at /slack/events" if slack_on else "Slack off (no tokens)"
    out.print(
        f"regkb: serving http://{host}:{port}/ ({workers} worker(s)); API docs at /docs; {slack_note}", highlight=False
    )
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        http="api.http_protocol:BoundedH11Protocol",  # request heads capped, 431 as JSON
        h11_max_incomplete_event_size=settings.api.max_header_bytes,
    )


@app.command()
def slack() -> None:
    """The Slack bot in Socket Mode (no public HTTP endpoint needed); HTTP mode runs inside `regkb serve`."""
    from api.slack import build_slack_app, socket_mode_handler
    from kb.knowledge_base import open_knowledge_base
    from kb.stores import open_conversations, open_feedback

    settings = Settings()
    try:
        conversations = open_conversations(settings)
        feedback_store = open_feedback(settings)
        handler = socket_mode_handler(  # refuses to start without the tokens, before loading anything
            settings,
            lambda: build_slack_app(
                lambda: kb,
                settings,
                conversations=conversations,
                feedback=feedback_store,
                signing_secret_required=False,
            ),
        )
        kb = open_knowledge_base(settings)
    except RegkbError as exc:
        raise _fail(exc) from exc
    out.print("regkb: Slack bot connected in Socket Mode; Ctrl-C stops it", highlight=False)
    handler.start()


@app.command()
def feedback(
    rating: Annotated[str | None, typer.Option(help="Only helpful, not_helpful or wrong_citation.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Newest N only.")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Feedback given on answers (Slack buttons), with the question, answer, citations and corpus snapshot."""
    from api.render import feedback_csv, feedback_json, print_feedback
    from kb.feedback import RATINGS
    from kb.stores import open_feedback

    if rating is not None and rating not in RATINGS:
        raise typer.BadParameter(f"rating {rating!r}: use {', '.join(RATINGS)}")
    if output not in ("table", "json", "csv"):
        raise typer.BadParameter(f"format {output!r}: use table, json or csv")
    rows = open_feedback(Settings()).rows(rating=rating, limit=limit)
    if output == "json":
        print(json.dumps(feedback_json(rows), indent=2, ensure_ascii=False))
    elif output == "csv":
        print(feedback_csv(rows), end="")
    else:
        print_feedback(rows, out)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for, e.g. 'qa-team' or 'partner-x'.")],
    scopes: Annotated[list[str], typer.Option("--scopes", help="public, internal or confidential; repeatable.")],
) -> None:
    """Create an API key; the secret is printed once and stored only as a hash."""
    from kb.stores import open_keys

    try:
        key, token = open_keys(Settings()).create(name, scopes)
    except RegkbError as exc:
        raise _fail(exc) from exc
    out.print(
        f"key {key.key_id} for {key.name}, scopes {', '.join(key.scopes)}; the secret (shown once):", highlight=False
    )
    print(token)


@keys_app.command("list")
def keys_list() -> None:
    """API keys with their scopes and state (never the secrets)."""
    import datetime as dt

    from rich.table import Table

    from kb.stores import open_keys

    table = Table("id", "name", "scopes", "created", "state")
    for key in open_keys(Settings()).list_keys():
        created = dt.datetime.fromtimestamp(key.created, dt.UTC).strftime("%Y-%m-%d %H:%M")
        table.add_row(key.key_id, key.name, ", ".join(key.scopes), created, "revoked" if key.revoked else "active")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="Key id or name.")]) -> None:
    """Revoke a key (by id, or every active key of a name)."""
    from kb.stores import open_keys

    try:
        count = open_keys(Settings()).revoke(key)
    except RegkbError as exc:
        raise _fail(exc) from exc
    out.print(f"revoked {count} key(s)")


@lessons_app.command("new")
def lessons_new(
    lesson_id: Annotated[str, typer.Argument(help="lowercase-kebab-case id; the file is ID.md")],
    title: Annotated[str, typer.Option(help="One-line title.")] = "Title of the lesson",
    confidential: Annotated[bool, typer.Option(help="visibility: confidential instead of internal.")] = False,
) -> None:
    """Scaffold a lesson (Markdown with YAML front matter) in the lessons folder."""
    import re

    from ingest.lessons import lesson_template

    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", lesson_id):
        raise typer.BadParameter(f"id {lesson_id!r}: use lowercase letters, digits and hyphens, e.g. cryo-bag-scale-up")
    settings = Settings()
    path = settings.lessons_dir / f"{lesson_id}.md"
    if path.exists():
        raise _fail(RegkbError(f"{path} exists already; choose another id or edit that file"))
    settings.lessons_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(lesson_template(lesson_id, title, visibility="confidential" if confidential else "internal"))
    out.print(f"wrote {path}; fill it in, then `regkb lessons check`", highlight=False)


@lessons_app.command("check")
def lessons_check() -> None:
    """Validate every lesson: front matter, ids against the manifest and the checkpoint map, sections."""
    from ingest.lessons import load_lessons
    from kb.catalog import load_checkpoints
    from kb.manifest import load_manifest

    settings = Settings()
    try:
        cmap = load_checkpoints(settings)
        known = {r.id for r in load_manifest(settings.manifest_path)}
    except RegkbError as exc:
        raise _fail(exc) from exc
    lessons, problems = load_lessons(
        settings.lessons_dir,
        known_docs=known,
        stages=[s.id for s in cmap.stages],
        product_types=[p.id for p in cmap.product_types],
        checkpoints=[c.id for c in cmap.checkpoints],
    )
    for problem in problems:
        err.print(f"{problem.path}: {problem.reason}", highlight=False)
    out.print(
        f"lessons: {len(lessons)} valid, {len(problems)} with problems in {settings.lessons_dir}", highlight=False
    )
    if problems:
        raise typer.Exit(EXIT_ERROR)


@app.command("eval")
def evaluate(
    split: Annotated[
        str, typer.Option(help="Questions to run: all, dev, test or hard (the pre-registered hard set).")
    ] = "all",
    baselines: Annotated[bool, typer.Option(help="Also run BM25-only, dense-only and the LangChain recipe.")] = True,
    report_dir: Annotated[Path | None, typer.Option("--out", help="Report folder (default: evals/reports).")] = None,
) -> None:
    """Run the gold question set and write the report (Markdown and a PNG chart)."""
    from evals.gold import load_gold
    from evals.report import write_report
    from evals.runner import run_eval, write_question_log

    if split not in ("all", "dev", "test", "hard"):
        raise typer.BadParameter(f"split {split!r}: use all, dev, test or hard")
    settings = Settings()
    try:
        questions = [q for q in load_gold() if split == "all" or q.split == split]
        run = run_eval(settings, questions=questions, baselines=baselines)
    except RegkbError as exc:
        raise _fail(exc) from exc
    folder = report_dir or Path(__file__).resolve().parent.parent / "evals" / "reports"
    markdown, chart = write_report(run, folder)
    write_question_log(run, settings.data_dir / "eval-questions.jsonl")
    out.print(f"eval: {len(questions)} questions in {run.seconds:.0f} s; report {markdown}, chart {chart}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
