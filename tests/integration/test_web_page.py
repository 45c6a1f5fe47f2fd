"""The web chat page in a real browser: Debian's chromium, driven by Playwright, against the real app on loopback.

No browser download: Playwright launches /usr/bin/chromium (scripts/install-browser.sh installs it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright

from kb.filters import agency_key

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STAGES = "What are the three stages of process validation?"
FIRST_BATCH = "What must be in place before the first GMP batch for autologous CAR-T?"
TIMEOUT_MS = 20_000


def _squeezed(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _api_answer(base_url: str, question: str) -> dict[str, Any]:
    """What the API answers, to compare the page with."""
    response = httpx.post(f"{base_url}/v1/ask", json={"question": question}, timeout=30)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def web_driver() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(web_driver: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh (installs Debian's chromium)")
    browser = web_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@contextmanager
def _opened(browser: Browser, base_url: str, **context_options: Any) -> Iterator[Page]:
    """A fresh browser context (no shared storage or permissions) with the page loaded; fails on JS errors."""
    context = browser.new_context(base_url=base_url, **context_options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/")
        yield page
    finally:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    with _opened(browser, live_server, viewport={"width": 1280, "height": 800}) as page:
        yield page


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Page]:
    options = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}
    with _opened(browser, live_server, **options) as page:
        yield page


def ask(page: Page, question: str) -> Locator:
    """Types the question, presses Enter and waits for the answer to finish streaming; returns its block."""
    before = page.get_by_test_id("answer").count()
    page.get_by_test_id("question").fill(question)
    page.get_by_test_id("question").press("Enter")
    answer = page.get_by_test_id("answer").nth(before)
    expect(answer).to_have_attribute("data-status", re.compile(r"^(answered|no_evidence|error)$"))
    return answer


def test_a_question_streams_an_answer_with_numbered_citation_chips(page, live_server):
    answer = ask(page, STAGES)
    expected = _api_answer(live_server, STAGES)
    expect(answer).to_have_attribute("data-status", "answered")
    expect(answer.get_by_test_id("status")).to_have_text(re.compile(r"^Answered"))
    text = answer.get_by_test_id("answer-text")
    expect(text).to_contain_text("three stages")
    assert _squeezed(text.text_content()) == _squeezed(expected["answer"])  # every delta arrived, in order
    chips = answer.get_by_test_id("citation-chip")
    expect(chips).to_have_count(len(expected["citations"]))
    first = expected["citations"][0]
    expect(chips.first).to_contain_text(f"[1] {first['title']}")
    expect(chips.first).to_contain_text(f"§ {first['section']} p. {first['pages'][0]}")
    expect(chips.first).to_have_attribute("data-doc-id", first["doc_id"])
    expect(answer.locator("button.marker[data-marker='1']")).to_have_text("[1]")
    expect(page.get_by_test_id("user-question")).to_have_text(STAGES)
    expect(page.get_by_test_id("resolved-question")).to_be_hidden()  # a standalone question is not restated


def test_a_citation_chip_opens_its_page_with_the_quote_highlighted(page, live_server):
    first = _api_answer(live_server, STAGES)["citations"][0]
    answer = ask(page, STAGES)
    viewer = page.get_by_test_id("source-viewer")
    expect(viewer).to_be_hidden()
    answer.get_by_test_id("citation-chip").first.click()
    expect(viewer).to_be_visible()
    mark = page.get_by_test_id("source-text").locator("mark")
    expect(mark).to_have_count(1)
    assert _squeezed(mark.text_content()) == _squeezed(first["quote"])
    page_text = _squeezed(page.get_by_test_id("source-text").text_content())
    assert _squeezed(mark.text_content()) in page_text and len(page_text) > len(_squeezed(first["quote"]))
    expect(page.get_by_test_id("viewer-title")).to_have_text(first["title"])
    expect(page.get_by_test_id("viewer-section")).to_have_text(f"§ {first['section']} {first['section_title']}")
    expect(page.get_by_test_id("viewer-page")).to_contain_text(f"p. {first['pages'][0]} of ")
    expect(page.get_by_test_id("viewer-url")).to_have_attribute("href", re.compile(r"^https://.*#page="))
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    answer.locator("button.marker[data-marker='1']").click()  # the [1] in the answer text opens the same page
    expect(viewer).to_be_visible()
    expect(mark).to_have_count(1)
    assert _squeezed(mark.text_content()) == _squeezed(first["quote"])
    page.get_by_test_id("close-viewer").click()
    expect(viewer).to_be_hidden()


def test_a_follow_up_stays_in_the_conversation_and_shows_the_checklist(page):
    first = ask(page, FIRST_BATCH)
    expect(first.get_by_test_id("checklist")).to_be_visible()
    second = ask(page, "and for allogeneic products?")
    resolved = page.get_by_test_id("resolved-question").nth(1)
    expect(resolved).to_be_visible()
    expect(resolved).to_contain_text("allogeneic")
    expect(resolved).to_contain_text("first GMP batch")  # the follow-up was read with the first question
    checklist = second.get_by_test_id("checklist")
    expect(checklist).to_be_visible()
    expect(checklist.locator("[data-jurisdiction]")).to_have_count(2)
    expect(checklist.locator("[data-jurisdiction]").first).to_have_attribute("data-jurisdiction", "EU")
    expect(checklist.locator("[data-jurisdiction]").last).to_have_attribute("data-jurisdiction", "US")
    expect(checklist).to_contain_text("GMP readiness before the first batch")

    checkpoint = checklist.locator("details.checkpoint").first
    expect(checkpoint).to_have_attribute("open", "")  # unfolded on a laptop
    expect(checkpoint.locator("li.row").first).to_be_visible()
    offline = checkpoint.locator("a.ref-chip[data-check='not_offline']").first
    expect(offline).to_contain_text("not available offline — not checked against local text")
    expect(offline).to_have_attribute("href", re.compile(r"^https://"))
    checkpoint.locator("button.ref-chip[data-check='verified']").first.click()
    expect(page.get_by_test_id("source-viewer")).to_be_visible()
    mark = page.get_by_test_id("source-text").locator("mark")
    expect(mark).to_have_count(1)
    assert len(_squeezed(mark.text_content())) > 20

    page.keyboard.press("Escape")
    page.get_by_test_id("new-conversation").click()
    expect(page.get_by_test_id("answer")).to_have_count(0)
    ask(page, "and for allogeneic products?")  # a new conversation has nothing to resolve the follow-up with
    expect(page.get_by_test_id("resolved-question")).to_be_hidden()


def test_the_agency_filter_keeps_only_that_agencys_documents(page, live_server):
    question = "What is continued process verification?"
    unfiltered = ask(page, question).get_by_test_id("citation-chip")
    agencies = {unfiltered.nth(i).get_attribute("data-agency") for i in range(unfiltered.count())}
    assert "FDA" in agencies and agencies - {"FDA"}, agencies  # without the filter, ICH documents answer too

    documents = httpx.get(f"{live_server}/v1/documents", timeout=30).json()
    page.get_by_test_id("filters").locator("summary").click()
    for agency in ("FDA", "ICH", "EMA", "EC"):  # a value without indexed documents cannot be ticked
        box = page.get_by_test_id(f"filter-agency-{agency}")
        if any(d["indexed"] and agency_key(d["agency"]) == agency for d in documents):
            expect(box).to_be_enabled()
        else:
            expect(box).to_be_disabled()
    page.get_by_test_id("filter-agency-FDA").check()
    expect(page.locator("#filter-summary")).to_have_text("FDA")
    page.get_by_test_id("new-conversation").click()
    chips = ask(page, question).get_by_test_id("citation-chip")
    expect(chips.first).to_be_visible()
    for i in range(chips.count()):
        expect(chips.nth(i)).to_have_attribute("data-agency", "FDA")
        expect(chips.nth(i)).to_have_attribute("data-doc-id", re.compile(r"^fda-"))


def test_an_api_error_is_shown_with_its_message(page):
    page.get_by_test_id("filters").locator("summary").click()
    page.get_by_test_id("filter-agency-EMA").evaluate("box => { box.disabled = false; box.checked = true; }")
    answer = ask(page, STAGES)
    expect(answer).to_have_attribute("data-status", "error")
    expect(answer.get_by_test_id("error")).to_contain_text("no indexed document has agency 'EMA'")
    expect(page.get_by_test_id("ask")).to_be_enabled()


def test_no_evidence_is_a_notice_with_the_closest_documents(page):
    answer = ask(page, "How should a hospital pharmacy store wine?")
    expect(answer).to_have_attribute("data-status", "no_evidence")
    expect(answer.get_by_test_id("status")).to_have_text(re.compile(r"^No evidence"))
    expect(answer.locator(".answer-text.notice")).to_contain_text("No evidence found.")
    expect(answer.get_by_test_id("citation-chip")).to_have_count(0)
    expect(answer.get_by_test_id("closest-document").first).to_be_visible()


def test_draft_superseded_and_internal_material_is_badged(page):
    # A question naming no version is answered from Q9(R1); naming the 2005 text brings the old one.
    chips = ask(page, "What are the principles of quality risk management?").get_by_test_id("citation-chip")
    expect(chips.and_(page.locator("[data-status='superseded']"))).to_have_count(0)
    chips = ask(page, "Under the 2005 Q9, what were the principles of quality risk management?").get_by_test_id(
        "citation-chip"
    )
    superseded = chips.and_(page.locator("[data-status='superseded']")).first
    expect(superseded.locator(".badge.superseded")).to_have_text("SUPERSEDED")
    expect(superseded.locator(".chip-version")).to_have_text(re.compile(r"^Superseded by ICH Q9\(R1\), Step 4"))
    superseded.click()
    expect(page.locator("#viewer-badges")).to_have_text(re.compile(r"^\s*SUPERSEDED$"))
    expect(page.locator("#viewer-superseded")).to_have_text(re.compile(r"^Superseded by ICH Q9\(R1\)"))
    page.keyboard.press("Escape")
    chips = ask(page, "What does a BIMO inspection of a clinical investigator cover?").get_by_test_id("citation-chip")
    expect(chips.first.locator(".badge.draft")).to_have_text("DRAFT")
    expect(chips.first.locator(".chip-version")).to_have_text("Draft, June 2024: not for implementation")
    lesson = {"marker": 1, "doc_id": "lesson-1", "title": "Lesson", "status": "final", "doc_type": "internal_lesson"}
    chip = page.evaluate("c => citationChip({...c, jurisdiction: 'internal', pages: [1]}).outerHTML", lesson)
    assert 'class="badge internal">INTERNAL<' in chip and "DRAFT" not in chip


def test_the_copy_button_copies_the_answer_with_its_citations(browser, live_server):
    expected = _api_answer(live_server, STAGES)
    with _opened(browser, live_server, permissions=["clipboard-read", "clipboard-write"]) as page:
        answer = ask(page, STAGES)
        answer.get_by_test_id("copy").click()
        expect(answer.get_by_test_id("copy")).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == answer.get_attribute("data-copied")
    first = expected["citations"][0]
    assert "[1]" in copied and first["title"] in copied and first["quote"] in copied and first["url"] in copied
    assert copied.index("three stages") < copied.index(f"- [1] {first['title']}")  # the answer, then the sources


def test_on_a_phone_nothing_scrolls_sideways_and_the_viewer_is_full_screen(phone):
    answer = ask(phone, STAGES)
    checkpoint = ask(phone, FIRST_BATCH).get_by_test_id("checklist").locator("details.checkpoint").first
    expect(checkpoint.locator("li.row").first).to_be_hidden()  # a long checklist starts folded on a phone
    checkpoint.locator("summary").click()
    expect(checkpoint.locator("li.row").first).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    answer.get_by_test_id("citation-chip").first.click()
    viewer = phone.get_by_test_id("source-viewer")
    expect(phone.get_by_test_id("source-text").locator("mark")).to_have_count(1)
    box = viewer.bounding_box()
    assert box is not None and box["x"] == 0 and box["width"] == 375 and box["height"] == 740
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.get_by_test_id("close-viewer").click()
    expect(viewer).to_be_hidden()


def test_the_api_key_is_sent_when_given(live_server, browser):
    """A key typed in the page is kept in the browser and sent as a Bearer token with every API call."""
    context = browser.new_context()
    page = context.new_page()
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.headers.get("authorization", "")))
    page.goto(live_server)
    page.get_by_test_id("filters").locator("summary").click()
    page.get_by_test_id("api-key").fill("rk_test_key")
    page.get_by_test_id("api-key").dispatch_event("change")
    page.get_by_test_id("question").fill("What is a design space?")
    page.get_by_test_id("ask").click()
    page.wait_for_selector("[data-testid=citation-chip]", timeout=20000)
    assert "Bearer rk_test_key" in seen
    assert page.evaluate("localStorage.getItem('regkb-api-key')") == "rk_test_key"
    context.close()
