"""``wirewatch search``: full-text search (FTS5) over the archive, in every language it holds.

The query is translated by monitor.wordforms and run against the normalised copy of each
article's words, so Пхеньян finds Пхеньяне and 북한 finds 북한은; the snippet is cut from
the article's own text, around the first word that matched.
"""

from __future__ import annotations

import json
import re
from typing import Any

from monitor.archive import Archive
from monitor.archive.search import QueryFailed, matches
from monitor.archive.stories import Filters
from monitor.errors import UsageError
from monitor.wordforms import QueryError, normalise_word, to_fts

_WORD = re.compile(r"\w+")
SNIPPET_WORDS = 24


class SearchError(UsageError):
    """Raised by search for a query that cannot be run; the message says why."""


def search(
    archive: Archive,
    query: str,
    filters: Filters | None = None,
    *,
    flagged_only: bool = False,
    limit: int | None = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Return the stories that match *query*, best match first, one row per story with
    its number of outlets (as ``flagged`` lists them), and how many articles match in all."""
    try:
        expression = f"search : ({to_fts(query)})"
    except QueryError as error:
        raise SearchError(f"search query {query!r}: {error}") from None
    try:
        rows, count = matches(
            archive, expression, filters or Filters(), flagged_only=flagged_only, limit=limit
        )
    except QueryFailed as error:
        raise SearchError(f"search query {query!r} cannot be run: {error}") from None
    wanted = {normalise_word(word) for word in _WORD.findall(query)} - {"and", "or", "not"}
    for row in rows:
        row["topics"] = sorted(json.loads(row["topics"] or "[]"))  # a list, as export gives
        row["snippet"] = snippet(row.pop("body") or "", wanted)
    return rows, count


def snippet(text: str, wanted: set[str], words: int = SNIPPET_WORDS) -> str:
    """Return about *words* words of *text* around the first word whose normal form is wanted."""
    found = list(_WORD.finditer(text))
    at = next(
        (
            index
            for index, match in enumerate(found)
            if any(normalise_word(match.group()).startswith(w) for w in wanted if w)
        ),
        0,
    )
    first = max(0, at - words // 3)
    last = min(len(found), first + words) - 1
    if not found:
        return ""
    piece = text[found[first].start() : found[last].end()]
    return ("…" if first else "") + " ".join(piece.split()) + ("…" if last < len(found) - 1 else "")
