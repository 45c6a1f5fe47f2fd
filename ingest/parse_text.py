"""Markdown and HTML documents (internal lessons, web-page guidance) as one-page ParsedDocuments.

They have no pages: the whole text is page 1, so a citation reads "p. 1". Headings become sections:
Markdown `#` lines, and HTML h1-h4 elements (turned into `#` lines while the tags are stripped).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from kb.errors import IngestError
from kb.models import Heading, ParsedDocument

__all__ = ["parse_markdown", "parse_html", "markdown_headings", "split_front_matter"]

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)


def split_front_matter(text: str) -> tuple[str, str]:
    """(YAML front matter, body); the front matter is "" when there is none."""
    match = _FRONT_MATTER.match(text)
    return (match.group(1), text[match.end() :]) if match else ("", text)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(path, f"cannot be read as UTF-8 text ({exc})", "save it as UTF-8") from exc


def parse_markdown(path: Path, doc_id: str, *, title: str = "") -> ParsedDocument:
    """The body without its front matter; `title` (if given) opens the page so it can be found and quoted."""
    _, body = split_front_matter(_read(path))
    text = (f"# {title}\n\n" if title else "") + body.strip()
    if not text.strip():
        raise IngestError(path, "has no text", "write the document's body below its front matter")
    return ParsedDocument(doc_id=doc_id, pages=(text,))


class _TextExtractor(HTMLParser):
    _BLOCKS = {"p", "div", "li", "tr", "br", "section", "article", "table", "ul", "ol", "h1", "h2", "h3", "h4"}
    _SKIP = {"script", "style", "nav", "header", "footer"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in {"h1", "h2", "h3", "h4"}:
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BLOCKS and tag != "li":  # the next item opens its own line
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def parse_html(path: Path, doc_id: str) -> ParsedDocument:
    extractor = _TextExtractor()
    extractor.feed(_read(path))
    lines = [line.strip() for line in "".join(extractor.parts).splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        raise IngestError(path, "has no text outside its markup", "check that it is the document, not a login page")
    return ParsedDocument(doc_id=doc_id, pages=(text,))


def markdown_headings(doc: ParsedDocument) -> list[Heading]:
    """`#` headings as sections: the number is empty, the title is the heading text, `#` depth is the level."""
    return [
        Heading(number="", title=m.group(2), level=len(m.group(1)), start=m.start())
        for m in _HEADING.finditer(doc.text)
    ]
