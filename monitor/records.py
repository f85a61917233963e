"""What the crawler hands the archive: one article's columns and the flags it earned.

Plain records with no behaviour and no imports from the rest of wirewatch, so the crawler,
the matcher and the archive can all speak them. The archive writes exactly these fields:
a caller cannot add a column by adding a key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ArticleRecord:
    """The columns of one ``articles`` row as the crawler knows them."""

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
    language: str | None  # identified from the text, see crawler.language
    extract_error: str | None
    declared_language: str | None = None  # what the source, the feed or the page said
    run_id: int | None = None

    def columns(self) -> dict[str, Any]:
        """Return the record as column names and values."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> ArticleRecord:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class FlagRecord:
    """A topic's flag on one article, and the evidence for it."""

    topic: str
    score: float
    threshold: float
    rule: str  # the rules that fired, as written
    rules: tuple[str, ...]  # their names
    terms: tuple[Mapping[str, Any], ...]  # the hits that made the rules true
    snippet: str  # the best sentence
