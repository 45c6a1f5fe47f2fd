import pytest

from kb.errors import FilterError
from kb.filters import Filters, agency_key, chroma_where, record_matches, validate_filters
from kb.models import DocumentRecord

pytestmark = pytest.mark.unit


def _record(doc_id: str, agency: str, jurisdiction: str, status: str = "final") -> DocumentRecord:
    return DocumentRecord(
        id=doc_id,
        title=doc_id,
        agency=agency,
        jurisdiction=jurisdiction,
        doc_type="guideline",  # type: ignore[arg-type]
        reference="",
        version="",
        status=status,
        url="https://example.org",  # type: ignore[arg-type]
    )


RECORDS = [_record("ich-q9", "ICH", "ICH", "superseded"), _record("fda-pv", "FDA (CDER/CBER/CVM)", "US")]


def test_agency_key_takes_the_issuer():
    assert agency_key("FDA (CDER/CBER)") == "FDA"
    assert agency_key("European Commission") == "EC"
    assert agency_key("ich") == "ICH"


def test_validate_normalises_case_and_matches_records():
    filters = validate_filters(Filters(agency=("fda",), jurisdiction=("us",)), RECORDS)
    assert filters.agency == ("FDA",) and filters.jurisdiction == ("US",)
    assert [r.id for r in RECORDS if record_matches(r, filters)] == ["fda-pv"]


def test_unknown_doc_id_names_the_known_ones():
    with pytest.raises(FilterError, match=r"no indexed document has doc id 'nope'; use one of: fda-pv, ich-q9"):
        validate_filters(Filters(doc_id=("nope",)), RECORDS)


def test_unknown_status_is_rejected():
    with pytest.raises(FilterError, match="no indexed document has status 'old'"):
        validate_filters(Filters(status=("old",)), RECORDS)


def test_chroma_where_combines_clauses():
    assert chroma_where(Filters()) is None
    assert chroma_where(Filters(agency=("FDA",))) == {"agency": {"$in": ["FDA"]}}
    assert chroma_where(Filters(agency=("FDA",), status=("final",))) == {
        "$and": [{"agency": {"$in": ["FDA"]}}, {"status": {"$in": ["final"]}}]
    }
