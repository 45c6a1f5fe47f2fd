"""The corpus over HTTP: documents with status and presence, stored page text for the source viewer, checkpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from api.render import documents_json
from api.render_checkpoints import checklist_csv, checklist_json, checklist_markdown
from api.routes_answers import KB, Caller

__all__ = ["router"]

router = APIRouter()


@router.get("/v1/documents", tags=["corpus"], summary="Every manifest document: status, presence, indexing")
def documents(kb: KB, caller: Caller) -> list[dict[str, Any]]:
    """The manifest's documents and the indexed lessons the caller may see; nothing else is named or counted."""
    return documents_json(kb.documents(caller))


@router.get("/v1/documents/{doc_id}/pages/{page}", tags=["corpus"], summary="Stored text of one page (source viewer)")
def page(
    kb: KB, caller: Caller, doc_id: Annotated[str, Path(max_length=200)], page: Annotated[int, Path(ge=1)]
) -> dict[str, Any]:
    view = kb.page(caller, doc_id, page)  # a document the caller may not see is "not indexed"
    record = view.record
    return {
        "doc_id": doc_id,
        "page": view.page,
        "pages": view.pages,
        "text": view.text,
        "title": record.title,
        "reference": record.reference,
        "agency": record.agency,
        "status": record.status,
        "superseded_by": record.superseded_by,
        "version_note": record.version_note,
        "url": view.url,
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
    checklist = kb.checklist_for(  # quotes checked on the loaded index's pages
        jurisdiction=jurisdiction,
        stages=tuple(stage or ()),
        product_types=tuple(product_type or ()),
        roles=tuple(role or ()),
        items=tuple(item or ()),
        checkpoint_ids=tuple(checkpoint_id or ()),
    )
    if format == "md":
        return PlainTextResponse(checklist_markdown(checklist), media_type="text/markdown")
    if format == "csv":
        return PlainTextResponse(checklist_csv(checklist), media_type="text/csv")
    return checklist_json(checklist)
