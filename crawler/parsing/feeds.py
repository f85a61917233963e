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
from w3lib.html import remove_tags, remove_tags_with_content

import crawler.parsing.dates  # noqa: F401 - registers the date handlers with feedparser
from crawler.parsing.encoding import to_utf8_xml, unpack
from crawler.parsing.jsonfeed import looks_like_json, parse_json_feed
from crawler.parsing.model import Feed, FeedEntry, FeedProblem, reports_problems
from crawler.parsing.prolog import UnclosedDoctype, starts_like_html, without_internal_subset

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF|channel)[\s>]")
_CHAR_REF = re.compile(rb"&#([xX][0-9a-fA-F]+|[0-9]+);")
_REPLACEMENT = b"&#xFFFD;"
_WITH_CONTENT = ("script", "style", "applet")  # elements whose text is no text to read


@reports_problems
def parse_feed(
    body: bytes, *, url: str, content_type: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Feed:
    """Parse a feed document; never raises for bad input, it reports a FeedProblem instead."""
    unpacked = unpack(body, max_bytes)
    if isinstance(unpacked, FeedProblem):
        return Feed([], unpacked)
    body = unpacked
    if looks_like_json(body):
        return parse_json_feed(body, url=url)
    document = to_utf8_xml(body, _charset(content_type)).body
    if starts_like_html(document[:4096]) and not _FEED_ROOT.search(document[:65536]):
        return Feed([], FeedProblem("not_a_feed", "the server sent an HTML page, not a feed"))
    try:
        document = without_internal_subset(document)
    except UnclosedDoctype as error:
        return Feed([], FeedProblem("malformed", f"not readable XML: {error}"))
    if _ENTITY.search(document):
        return Feed(
            [], FeedProblem("malformed", "the feed declares XML entities outside a DOCTYPE")
        )
    document = _CHAR_REF.sub(_valid_char_ref, document)
    # The media type is fixed: the document is UTF-8 and says so, and feedparser would
    # otherwise read text/xml without a charset as US-ASCII.
    headers = {"content-location": url, "content-type": "application/xml"}
    # No HTML sanitising nor link resolving inside the entries' markup: _text strips all of
    # it, scripts and styles with their content, and the markup is never kept. Sanitising
    # took half of feedparser's time on the corpus's real feeds.
    parsed: Any = feedparser.parse(
        io.BytesIO(document),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
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


def _valid_char_ref(match: re.Match[bytes]) -> bytes:
    """Return a character reference as it is, or U+FFFD's when it names no character.

    feedparser's fallback parser raised on ``&#xD800;`` (a surrogate) and would on a code
    point past U+10FFFF, losing the whole feed to one reference.
    """
    digits = match.group(1)
    if len(digits) > 8:
        return _REPLACEMENT
    code = int(digits[1:], 16) if digits[:1] in b"xX" else int(digits)
    return match.group() if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else _REPLACEMENT


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
    # dict.get: FeedParserDict maps a missing "updated" to "published" with a
    # DeprecationWarning, which happens whenever a published date was there but unreadable.
    published = _utc(dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed"))
    raw_date = dict.get(raw, "published") or dict.get(raw, "updated") or None
    return FeedEntry(guid, link, title, summary, published, raw_date)


def _utc(parsed_time: Any) -> datetime | None:
    """Return feedparser's UTC struct_time as a datetime; None for none, or one out of range."""
    if not parsed_time:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed_time), UTC)
    except (OverflowError, OSError, ValueError):  # e.g. year 0, which a datetime cannot hold
        return None


def _text(markup: str) -> str:
    """Return the plain text of a feed's HTML snippet, with its spacing collapsed.

    Scripts, styles and applets go with their content, as feedparser's sanitiser took them.
    """
    if "<" in markup:
        markup = remove_tags(remove_tags_with_content(markup, _WITH_CONTENT))
    return " ".join(html.unescape(markup).split())
