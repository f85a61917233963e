"""Read JSON Feed (https://jsonfeed.org) 1.0 and 1.1, which feedparser 6 does not read at all."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

from w3lib.html import remove_tags

from crawler.parsing.model import Feed, FeedEntry, FeedProblem


def looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] == b"{"


def parse_json_feed(body: bytes, *, url: str) -> Feed:
    """Parse a JSON Feed document; report a FeedProblem rather than raise."""
    try:
        data = json.loads(body)
    except ValueError as error:
        return Feed([], FeedProblem("malformed", f"invalid JSON: {error}"))
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


def _entry(item: Any) -> FeedEntry | None:
    if not isinstance(item, dict):
        return None
    link = _text(item.get("url") or item.get("external_url")) or None
    guid = _text(item.get("id")) or None
    title = _text(item.get("title"))
    summary = _text(item.get("summary")) or _text(item.get("content_text"))
    if not summary and item.get("content_html"):
        summary = " ".join(html.unescape(remove_tags(str(item["content_html"]))).split())
    if not (link or guid or title or summary):
        return None
    raw_date = _text(item.get("date_published") or item.get("date_modified")) or None
    return FeedEntry(guid, link, title, summary, _rfc3339(raw_date), raw_date)


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _rfc3339(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
