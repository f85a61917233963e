"""Read JSON Feed (https://jsonfeed.org) 1.0 and 1.1, which feedparser 6 does not read at all."""

from __future__ import annotations

import html
import json
import re
from itertools import accumulate
from typing import Any

from w3lib.html import remove_tags

from crawler.parsing.dates import parse_rfc3339
from crawler.parsing.model import Feed, FeedEntry, FeedProblem, reports_problems

# A JSON Feed nests five levels deep (feed, items, item, authors, author); the json module
# recurses once per level and raised RecursionError at 100,000 (issue 10), so the nesting is
# measured before decoding.
MAX_DEPTH = 64
# A string, or an unterminated one running to the end: the possessive loop never backtracks
# and a string always matches, so the scan is linear even for ``"\"\"\"...`` unclosed.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_SURROGATE = re.compile("[\ud800-\udfff]")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] == b"{"


@reports_problems
def parse_json_feed(body: bytes, *, url: str) -> Feed:
    """Parse a JSON Feed document; report a FeedProblem rather than raise."""
    if (depth := nesting(body)) > MAX_DEPTH:
        return Feed([], FeedProblem("malformed", f"JSON nested {depth} levels deep"))
    try:
        data = json.loads(body)
    except ValueError as error:
        return Feed([], FeedProblem("malformed", f"invalid JSON: {error}"))
    except RecursionError:  # only with a stack already deep: the depth was measured above
        return Feed([], FeedProblem("malformed", "JSON nested too deep to decode"))
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        return Feed(
            [], FeedProblem("not_a_feed", "JSON, but not a JSON Feed (no jsonfeed.org version)")
        )
    items = data.get("items")
    if not isinstance(items, list):
        return Feed([], FeedProblem("malformed", "a JSON Feed without an items list"))
    entries = [entry for entry in (_entry(item) for item in items) if entry is not None]
    skipped = len(items) - len(entries)
    warning = (
        f"{skipped} items had no id, link, title or text and were skipped" if skipped else None
    )
    return Feed(entries, None, warning)


def nesting(body: bytes) -> int:
    """Return how deep the arrays and objects of a JSON document nest, brackets in strings
    not counted; in linear time, at the speed of the regex engine and ``bytes.translate``."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _entry(item: Any) -> FeedEntry | None:
    if not isinstance(item, dict):
        return None
    link = _text(item.get("url") or item.get("external_url")) or None
    guid = _text(item.get("id")) or None
    title = _text(item.get("title"))
    summary = _text(item.get("summary")) or _text(item.get("content_text"))
    if not summary and item.get("content_html"):
        summary = _text(html.unescape(remove_tags(str(item["content_html"]))))
    if not (link or guid or title or summary):
        return None
    raw_date = _text(item.get("date_published") or item.get("date_modified")) or None
    return FeedEntry(guid, link, title, summary, parse_rfc3339(raw_date), raw_date)


def _text(value: Any) -> str:
    """Return *value* as one line of text; a lone surrogate (``"\\ud800"`` is valid JSON, but
    no UTF-8 text can hold it, nor the archive) becomes U+FFFD."""
    if value is None:
        return ""
    return _SURROGATE.sub("\ufffd", " ".join(str(value).split()))
