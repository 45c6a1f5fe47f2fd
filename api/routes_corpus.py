"""The corpus over HTTP: documents with status and presence, stored page text for the source viewer, checkpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from api.render import documents_json
from api.render_checkpoints import checklist_csv, checklist_json, checklist_markdown
from api.routes_answers import KB
from ingest.catalog import list_documents, stored_page_text
from kb.checkpoint_query import checklist_for_options
from kb.errors import NotFoundError

__all__ = ["router"]

router = APIRouter()


@router.get("/v1/documents", tags=["corpus"], summary="Every manifest document: status, presence, indexing")
def documents(kb: KB) -> list[dict[str, Any]]:
    return documents_json(list_documents(kb.settings))


@router.get("/v1/documents/{doc_id}/pages/{page}", tags=["corpus"], summary="Stored text of one page (source viewer)")
def page(kb: KB, doc_id: Annotated[str, Path(max_length=200)], page: Annotated[int, Path(ge=1)]) -> dict[str, Any]:
    record = kb.records.get(doc_id)
    if record is None:
        raise NotFoundError(f"document {doc_id!r} is not indexed; GET /v1/documents lists the corpus")
    text = kb.page_text(doc_id, page)
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
        "url": f"{record.url.split('#', 1)[0]}#page={page}",
    }


@router.get("/v1/checkpoints", tags=["corpus"], summary="The checkpoint map as a checklist (JSON, Markdown or CSV)")
def checkpoints(
    kb: KB,
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
        page_text=stored_page_text(kb.settings),
        jurisdiction=jurisdiction,
        **{k: tuple(v or ()) for k, v in options.items()},
    )
    if format == "md":
        return PlainTextResponse(checklist_markdown(checklist), media_type="text/markdown")
    if format == "csv":
        return PlainTextResponse(checklist_csv(checklist), media_type="text/csv")
    return checklist_json(checklist)
