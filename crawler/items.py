"""The item the spider yields and the pipelines match and archive."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ArticleItem:
    """One story: text and metadata from its feed entry and its page, plus the topics' verdicts."""

    source: str
    key: str  # the archive's identity of the story, see crawler.identity
    url: str  # canonical
    guid: str | None
    title: str
    summary: str
    body: str
    published: str | None  # UTC text, see monitor.timeutil.to_text
    published_raw: str | None
    fetched: str
    language: str | None
    extract_error: str | None
    flags: list[dict[str, Any]] = field(default_factory=list)
    # Not columns of the articles table:
    declared_language: str | None = None
    page_html: bytes | None = field(default=None, repr=False)  # the evidence, if kept
    full_text: bool = False  # the body was extracted from the story's own page

    def identifiers(self) -> tuple[str, ...]:
        """Return what this story is known by: its key, and its URL when that identifies it.

        A story keyed by GUID or text (see crawler.identity) shares its link with others,
        so the link says nothing about which story it is.
        """
        return (self.key,) if self.key.startswith("entry:") else (self.key, self.url)

    def record(self) -> dict[str, Any]:
        """Return the columns of the ``articles`` table."""
        columns = asdict(self)
        for extra in ("flags", "page_html", "full_text"):
            del columns[extra]
        return columns
