"""Read RSS, Atom and JSON Feed documents from bytes, safely.

The bytes are first made into UTF-8 that says so (crawler.parsing.encoding), then stripped of
any internal DTD subset, where entity-expansion attacks live, and only then given to
feedparser, always as a file object: given a string, feedparser may open it as a path or URL.
"""

from __future__ import annotations

import calendar
import html
import io
import re
from datetime import UTC, datetime
from typing import Any

import feedparser
from w3lib.html import remove_tags

import crawler.parsing.dates  # noqa: F401 - registers the date handlers with feedparser
from crawler.parsing.encoding import TooLarge, gunzip, to_utf8_xml
from crawler.parsing.jsonfeed import looks_like_json, parse_json_feed
from crawler.parsing.model import Feed, FeedEntry, FeedProblem

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.IGNORECASE | re.DOTALL)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF|channel)[\s>]")
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)


def parse_feed(
    body: bytes, *, url: str, content_type: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Feed:
    """Parse a feed document; never raises for bad input, it reports a FeedProblem instead."""
    try:
        body = gunzip(body, max_bytes)
    except TooLarge as error:
        return Feed([], FeedProblem("too_large", str(error)))
    if not body.strip():
        return Feed([], FeedProblem("empty", "the server sent an empty document"))
    if looks_like_json(body):
        return parse_json_feed(body, url=url)
    document = to_utf8_xml(body, _charset(content_type)).body
    if _HTML_START.match(document[:4096]) and not _FEED_ROOT.search(document[:65536]):
        return Feed([], FeedProblem("not_a_feed", "the server sent an HTML page, not a feed"))
    document = _INTERNAL_SUBSET.sub(b"", document, count=1)
    if _ENTITY.search(document):
        return Feed(
            [], FeedProblem("malformed", "the feed declares XML entities outside a DOCTYPE")
        )
    # The media type is fixed: the document is UTF-8 and says so, and feedparser would
    # otherwise read text/xml without a charset as US-ASCII.
    headers = {"content-location": url, "content-type": "application/xml"}
    parsed: Any = feedparser.parse(io.BytesIO(document), response_headers=headers)
    entries = [entry for entry in (_entry(raw) for raw in parsed.entries) if entry is not None]
    problem = _describe(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    if skipped := len(parsed.entries) - len(entries):
        empty = f"{skipped} entries had no link, title or text and were skipped"
        problem = f"{problem}; {empty}" if problem else empty
    ttl = _ttl(parsed.feed.get("ttl"))
    if entries:
        return Feed(entries, None, problem, ttl)
    if not parsed.get("version"):
        detail = f" ({problem})" if problem else ""
        return Feed([], FeedProblem("not_a_feed", f"not an RSS, Atom or JSON feed{detail}"))
    if parsed.get("bozo"):
        return Feed([], FeedProblem("malformed", f"malformed feed with no entries: {problem}"))
    return Feed([], None, problem or "the feed has no entries", ttl)


def _charset(content_type: str | None) -> str | None:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def _ttl(value: Any) -> float | None:
    """RSS ``<ttl>`` is minutes."""
    try:
        minutes = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes * 60 if minutes > 0 else None


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
