import pytest

from kb.errors import ConfigError
from kb.glossary import Glossary, GlossaryTerm, load_glossary
from kb.settings import Settings

pytestmark = pytest.mark.unit

GLOSSARY = Glossary(
    (
        GlossaryTerm("CPV", ("continued process verification",)),
        GlossaryTerm("PV", ("process validation",)),
        GlossaryTerm("CAR-T", ("CAR T", "chimeric antigen receptor")),
        GlossaryTerm("hospital exemption", ()),
    )
)


def test_acronyms_are_spelled_out_once():
    assert GLOSSARY.expand("CPV trending") == "CPV trending (continued process verification)"
    assert GLOSSARY.expand("CPV (continued process verification) data") == "CPV (continued process verification) data"
    assert GLOSSARY.expand("PV and CPV") == "PV and CPV (continued process verification; process validation)"
    assert GLOSSARY.expand("no acronym here") == "no acronym here"


def test_two_letter_acronyms_match_only_in_capitals_and_whole_words():
    assert [t.term for t in GLOSSARY.mentioned("is PV needed")] == ["PV"]
    assert GLOSSARY.mentioned("pv or spv or PVC") == []


def test_hyphen_and_space_forms_are_the_same_term():
    assert [t.term for t in GLOSSARY.mentioned("a CAR T product")] == ["CAR-T"]
    assert [t.term for t in GLOSSARY.mentioned("car-t cells")] == ["CAR-T"]


def test_absent_terms_are_those_no_text_mentions():
    texts = ["Stage 3 continued process verification", "Process validation is ..."]
    assert GLOSSARY.absent_from(texts) == {"CAR-T", "hospital exemption"}


def test_the_shipped_glossary_loads_and_bad_entries_are_refused(tmp_path):
    assert len(load_glossary(Settings().glossary_path).terms) > 50
    bad = tmp_path / "g.yaml"
    bad.write_text("terms:\n  - {forms: [x]}\n")
    with pytest.raises(ConfigError, match="entry 0 needs a term"):
        load_glossary(bad)
