"""Turn a fetched article page into text and metadata, and a feed entry into an Article."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import trafilatura

from crawler.identity import Identity
from crawler.items import ArticleItem
from crawler.parsing.feeds import FeedEntry
from crawler.urls import choose_url
from monitor.matcher.normalize import nfkc
from monitor.timeutil import to_text

_HTML_LANG = re.compile(rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][\w-]+)?", re.I)


@dataclass(frozen=True)
class Page:
    """What an article page gave: its text, or why there is none, and its metadata."""

    text: str | None
    error: str | None = None
    canonical: str | None = None
    published: datetime | None = None
    language: str | None = None


def extract_page(html: str, *, url: str, head: bytes = b"") -> Page:
    """Extract the article text (without reader comments) and metadata from a page.

    *head* is the start of the raw page, where the ``<html lang>`` attribute is read from.
    """
    language_match = _HTML_LANG.search(head[:4096])
    language = language_match.group(1).decode().lower() if language_match else None
    try:
        document: Any = trafilatura.bare_extraction(
            html,
            url=url,
            fast=True,
            with_metadata=True,
            include_comments=False,
            date_extraction_params={
                "original_date": True,
                "extensive_search": False,
                "outputformat": "%Y-%m-%dT%H:%M:%S%z",
            },
        )
    except Exception as error:
        return Page(
            None, f"extraction failed: {type(error).__name__}: {error}", None, None, language
        )
    if document is None or not (document.text or "").strip():
        return Page(None, "no article text found on the page", None, None, language)
    text = _without_headline(document.text, document.title)
    return Page(text, None, document.url, _date(document.date), language)


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
    body = page.text if page is not None and page.text else entry.summary
    reason = error or (page.error if page is not None else None)
    published = entry.published or (page.published if page is not None else None)
    return ArticleItem(
        source=source,
        key=identity.key,
        url=url,
        guid=entry.guid,
        title=nfkc(entry.title or _first_words(body) or url),
        summary=nfkc(entry.summary),
        body=nfkc(body or ""),
        published=to_text(published) if published else None,
        published_raw=entry.published_raw,
        fetched=to_text(fetched),
        language=language or (page.language if page is not None else None),
        extract_error=reason,
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


def _without_headline(text: str, title: str | None) -> str:
    """Drop the headline when the extractor kept it as the body's first line."""
    first, _, rest = text.partition("\n")
    if title and rest and first.strip() == title.strip():
        return rest.strip()
    return text.strip()


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
