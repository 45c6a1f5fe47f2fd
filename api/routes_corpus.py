"""The corpus over HTTP: documents with status and presence, stored page text for the source viewer, checkpoints."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from api.render import documents_json
from api.render_checkpoints import checklist_csv, checklist_json, checklist_markdown
from api.routes_answers import KB, Caller
from ingest.catalog import list_documents
from kb.checkpoint_query import checklist_for_options
from kb.errors import NotFoundError

__all__ = ["router"]

router = APIRouter()


@router.get("/v1/documents", tags=["corpus"], summary="Every manifest document: status, presence, indexing")
def documents(kb: KB, caller: Caller) -> list[dict[str, Any]]:
    """The manifest's documents and the indexed lessons the caller may see; nothing else is named or counted."""
    rows = [r for r in list_documents(kb.settings) if caller.can_see(r.record)]
    listed = {r.record.id for r in rows}
    lessons = [
        {**dataclasses.asdict(record), "present": True, "indexed": True, "chunks": kb.state.documents[doc_id].chunks}
        for doc_id, record in sorted(kb.visible_records(caller).items())
        if doc_id not in listed
    ]
    return documents_json(rows) + lessons


@router.get("/v1/documents/{doc_id}/pages/{page}", tags=["corpus"], summary="Stored text of one page (source viewer)")
def page(
    kb: KB, caller: Caller, doc_id: Annotated[str, Path(max_length=200)], page: Annotated[int, Path(ge=1)]
) -> dict[str, Any]:
    text = kb.page_for(caller, doc_id, page)  # a document the caller may not see is "not indexed"
    record = kb.records[doc_id]
    return {
        "doc_id": doc_id,
        "page": page,
        "pages": kb.state.documents[doc_id].pages,
        "text": text,
        "title": record.title,
        "reference": record.reference,
        "agency": record.agency,
        "status": record.status,
        "superseded_by": record.superseded_by,
        "version_note": record.version_note,
        "url": f"{record.url.split('#', 1)[0]}#page={page}",
        "doc_type": record.doc_type,
        "visibility": record.visibility,
    }


@router.get("/v1/checkpoints", tags=["corpus"], summary="The checkpoint map as a checklist (JSON, Markdown or CSV)")
def checkpoints(
    kb: KB,
    caller: Caller,
    jurisdiction: Annotated[str, Query(description="EU, US or both")] = "both",
    stage: Annotated[list[str] | None, Query()] = None,
    product_type: Annotated[list[str] | None, Query()] = None,
    role: Annotated[list[str] | None, Query()] = None,
    item: Annotated[list[str] | None, Query()] = None,
    checkpoint_id: Annotated[list[str] | None, Query(alias="id")] = None,
    format: Annotated[Literal["json", "md", "csv"], Query()] = "json",
) -> Any:
    cmap = kb.checkpoint_map
    if cmap is None:
        raise NotFoundError("no checkpoint map is loaded (REGKB_CHECKPOINTS_DIR)")
    options = {
        "stages": stage,
        "product_types": product_type,
        "roles": role,
        "items": item,
        "checkpoint_ids": checkpoint_id,
    }
    checklist = checklist_for_options(
        cmap,
        page_text=kb.stored_page,  # the loaded index's pages, not a re-read of the data dir per request
        jurisdiction=jurisdiction,
        **{k: tuple(v or ()) for k, v in options.items()},
    )
    if format == "md":
        return PlainTextResponse(checklist_markdown(checklist), media_type="text/markdown")
    if format == "csv":
        return PlainTextResponse(checklist_csv(checklist), media_type="text/csv")
    return checklist_json(checklist)
