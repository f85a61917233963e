"""Turn a fetched article page into text and metadata, and a feed entry into an Article."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import htmldate
import lxml.html
import trafilatura
from lxml import etree

from crawler.identity import Identity
from crawler.items import ArticleItem
from crawler.language import choose
from crawler.parsing.dates import clamp_future
from crawler.parsing.model import FeedEntry
from crawler.urls import choose_url
from monitor.matcher.normalize import nfkc
from monitor.timeutil import to_text

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


@dataclass(frozen=True)
class Page:
    """What an article page gave: its text, or why there is none, and its metadata."""

    text: str | None
    error: str | None = None
    canonical: str | None = None
    published: datetime | None = None
    language: str | None = None
    html: bytes | None = None  # the page as fetched, kept as evidence
    title: str | None = None  # the page's own headline


def extract_page(html: str, *, url: str, raw: bytes = b"", want_date: bool = False) -> Page:
    """Extract the article text (without reader comments) and metadata from a page.

    *raw* is the page as fetched, kept as evidence. The page's own date is looked for only
    with *want_date* (when the feed gave none): it is the costliest part of the metadata.
    """
    evidence = raw or None
    try:
        return _extract(html, url, evidence, want_date)
    except (MemoryError, RecursionError, ValueError) as error:
        # Hostile markup: nesting past the stack, a page past crawl.memory_mb, a value no
        # library accepts. The article keeps its feed summary, with this as the reason.
        if isinstance(error, MemoryError):
            reason = "the page needs more memory than crawl.memory_mb allows"
        elif isinstance(error, RecursionError):
            reason = "not a readable HTML page (nested too deep)"
        else:
            reason = f"not a readable HTML page ({type(error).__name__}: {error})"
        return Page(None, reason, html=evidence)


def _extract(html: str, url: str, evidence: bytes | None, want_date: bool) -> Page:
    """Do extract_page's work; it raises only on markup hostile enough to break a library."""
    try:
        tree = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError) as error:
        return Page(None, f"not a readable HTML page ({error})", html=evidence)
    canonical = _first(tree.xpath("//link[@rel='canonical']/@href"))
    language = _language(_first(tree.xpath("/html/@lang")))
    headlines = [
        " ".join(text.split())
        for text in (
            _first(tree.xpath("//meta[@property='og:title']/@content")),
            _first(tree.xpath("//h1"), text=True),
            _first(tree.xpath("//title/text()")),
        )
        if text and text.strip()
    ]
    published = _page_date(tree) if want_date else None
    try:
        document: Any = trafilatura.bare_extraction(
            tree, url=url, fast=True, with_metadata=False, include_comments=False
        )
    except Exception as error:
        reason = f"extraction failed: {type(error).__name__}: {error}"
        return Page(None, reason, canonical, published, language, evidence)
    if document is None or not (document.text or "").strip():
        reason = "no article text found on the page"
        return Page(None, reason, canonical, published, language, evidence)
    text = _without_headline(document.text, headlines)
    title = headlines[0] if headlines else None
    return Page(text, None, canonical, published, language, evidence, title)


def build_article(
    entry: FeedEntry,
    identity: Identity,
    page: Page | None,
    *,
    source: str,
    language: str | None,
    fetched: datetime,
    response_url: str | None = None,
    error: str | None = None,
) -> ArticleItem:
    """Combine a feed entry and, when fetched, its page into the article wirewatch archives.

    Without page text the feed summary stands in as the body, and the reason is recorded.
    """
    url = identity.url
    if page is not None and response_url:
        url = choose_url(response_url, page.canonical)
    full_text = page is not None and bool(page.text)
    body = page.text if page is not None and page.text else entry.summary
    reason = error or (page.error if page is not None else None)
    published = clamp_future(
        entry.published or (page.published if page is not None else None), fetched
    )
    page_language = page.language if page is not None else None
    return ArticleItem(
        source=source,
        key=identity.key,
        url=url,
        guid=entry.guid,
        title=nfkc(entry.title or (page and page.title) or _first_words(body) or url),
        summary=nfkc(entry.summary),
        body=nfkc(body or ""),
        published=to_text(published) if published else None,
        published_raw=entry.published_raw,
        fetched=to_text(fetched),
        language=choose(f"{entry.title}\n{body}", language, entry.language, page_language),
        extract_error=reason,
        declared_language=language or entry.language or page_language,
        page_html=page.html if page is not None else None,
        full_text=full_text,
    )


def _first_words(text: str | None, limit: int = 80) -> str:
    """Return the start of *text* as a stand-in headline for an entry that has none."""
    words = (text or "").split()
    headline = ""
    for word in words:
        if len(headline) + len(word) + 1 > limit:
            return headline + " …"
        headline = f"{headline} {word}".strip()
    return headline


def _without_headline(text: str, headlines: list[str]) -> str:
    """Drop the headline when the extractor kept it as the body's first line.

    The page title often carries the site's name ("Headline - Site.com"), so a first line
    that is a long enough part of a headline counts too.
    """
    first, _, rest = text.partition("\n")
    line = " ".join(first.split()).casefold()
    for headline in (headline.casefold() for headline in headlines):
        if rest and line and (line == headline or (len(line) >= 15 and line in headline)):
            return rest.strip()
    return text.strip()


def _first(values: list[Any], *, text: bool = False) -> str | None:
    if not values:
        return None
    value = values[0]
    return str(value.text_content() if text else value).strip() or None


def _language(code: str | None) -> str | None:
    match = re.match(r"^([A-Za-z]{2,3})\b", code or "")
    return match.group(1).lower() if match else None


def _page_date(tree: Any) -> datetime | None:
    try:
        found = htmldate.find_date(
            tree, original_date=True, extensive_search=False, outputformat=DATE_FORMAT
        )
    except Exception:  # a date is optional; a page that confuses htmldate has none
        return None
    return _date(found)


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"):
        try:
            when = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return None
