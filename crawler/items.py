"""The item the spider yields and the pipelines match and archive."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from monitor.records import ArticleRecord, FlagRecord


@dataclass
class ArticleItem:
    """One story: text and metadata from its feed entry and its page, plus the topics' verdicts."""

    source: str
    key: str  # the archive's identity of the story, see crawler.identity
    url: str  # canonical
    guid: str | None
    title: str
    # Kept out of repr: Scrapy logs a whole item when a pipeline raises, and a story's text,
    # page and verdicts would put kilobytes of a (possibly hostile) page in the log per item.
    summary: str = field(repr=False)
    body: str = field(repr=False)
    published: str | None  # UTC text, see monitor.timeutil.to_text
    published_raw: str | None
    fetched: str
    language: str | None
    extract_error: str | None
    declared_language: str | None = None
    # Not columns of the articles table (the fields above are: see record()):
    flags: list[FlagRecord] = field(default_factory=list, repr=False)
    page_html: bytes | None = field(default=None, repr=False)  # the evidence, if kept
    full_text: bool = False  # the body was extracted from the story's own page

    def identifiers(self) -> tuple[str, ...]:
        """Return what this story is known by: its key, and its URL when that identifies it.

        A story keyed by GUID or text (see crawler.identity) shares its link with others,
        so the link says nothing about which story it is.
        """
        return (self.key,) if self.key.startswith("entry:") else (self.key, self.url)

    def record(self, run_id: int | None) -> ArticleRecord:
        """Return what the archive stores of this story, for the crawl run *run_id*."""
        columns = {name: getattr(self, name) for name in RECORD_FIELDS if name != "run_id"}
        return ArticleRecord(**columns, run_id=run_id)


# The item's fields that are columns of the archive's record (all of them but run_id).
RECORD_FIELDS = tuple(field.name for field in fields(ArticleRecord))
