"""Read RSS and Atom feeds from bytes with feedparser, safely."""

from __future__ import annotations

import calendar
import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
from w3lib.html import remove_tags

# An internal DTD subset is where entity-expansion attacks live; real feeds never need one.
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.IGNORECASE | re.DOTALL)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed, as wirewatch keeps it."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None
    published_raw: str | None


@dataclass(frozen=True)
class FeedProblem:
    """Why a feed could not be read; ``error_class`` is one of not_a_feed, malformed."""

    error_class: str
    message: str


@dataclass(frozen=True)
class Feed:
    """What a feed document gave: its entries, or the problem that stopped it."""

    entries: list[FeedEntry]
    problem: FeedProblem | None = None
    warning: str | None = None  # a recoverable defect (feedparser's "bozo") worth recording


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> Feed:
    """Parse a feed document; never raises for bad input, it reports a FeedProblem instead."""
    if _HTML_START.match(body[:2048]):
        return Feed([], FeedProblem("not_a_feed", "the server sent an HTML page, not a feed"))
    body = _INTERNAL_SUBSET.sub(b"", body, count=1)
    if _ENTITY.search(body):
        return Feed(
            [], FeedProblem("malformed", "the feed declares XML entities outside a DOCTYPE")
        )
    # The media type is fixed to application/xml: feedparser would let a wrong HTTP charset
    # override the document's own declaration and garble the text (PITFALLS: Charset), and it
    # reads text/xml without a charset as US-ASCII. The server's charset is only a fallback.
    parsed = _feedparser(body, url, None)
    charset = _charset(content_type)
    if not parsed.entries and charset:
        parsed = _feedparser(body, url, charset)
    entries = [entry for entry in (_entry(raw) for raw in parsed.entries) if entry is not None]
    problem = _describe(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    if skipped := len(parsed.entries) - len(entries):
        empty = f"{skipped} entries had no link, title or text and were skipped"
        problem = f"{problem}; {empty}" if problem else empty
    if entries:
        return Feed(entries, None, problem)
    if not parsed.get("version"):
        detail = f" ({problem})" if problem else ""
        return Feed([], FeedProblem("not_a_feed", f"not an RSS or Atom feed{detail}"))
    if parsed.get("bozo"):
        return Feed([], FeedProblem("malformed", f"malformed feed with no entries: {problem}"))
    return Feed([], None, problem)


def _feedparser(body: bytes, url: str, charset: str | None) -> Any:
    media_type = f"application/xml; charset={charset}" if charset else "application/xml"
    headers = {"content-location": url, "content-type": media_type}
    return feedparser.parse(io.BytesIO(body), response_headers=headers)


def _charset(content_type: str | None) -> str | None:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def _describe(error: object) -> str:
    message = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {message}" if message != type(error).__name__ else message


def _entry(raw: Any) -> FeedEntry | None:
    link = (raw.get("link") or "").strip() or None
    guid = (raw.get("id") or "").strip() or None
    title = _text(raw.get("title", ""))
    summary = _text(raw.get("summary", ""))
    if not (link or guid or title or summary):
        return None
    parsed_time = raw.get("published_parsed") or raw.get("updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(parsed_time), UTC) if parsed_time else None
    raw_date = raw.get("published") or raw.get("updated") or None
    return FeedEntry(guid, link, title, summary, published, raw_date)


def _text(markup: str) -> str:
    """Return the plain text of a feed's HTML snippet, with its spacing collapsed."""
    return " ".join(html.unescape(remove_tags(markup)).split())
