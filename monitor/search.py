"""``wirewatch search``: full-text search (FTS5) over the archive, in every language it holds.

The query is translated by monitor.searchtext and run against the normalised copy of each
article's words, so Пхеньян finds Пхеньяне and 북한 finds 북한은; the snippet is cut from
the article's own text, around the first word that matched.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from monitor.archive import Archive
from monitor.errors import UsageError
from monitor.review import _STORY_DATE, _STORY_LABEL, Filters, _label_filter, _rows
from monitor.searchtext import QueryError, normalise_word, to_fts

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
    """Return the articles that match *query* (best match first) and how many match in all."""
    try:
        expression = f"search : ({to_fts(query)})"
    except QueryError as error:
        raise SearchError(f"search query {query!r}: {error}") from None
    filters = filters or Filters()
    where, params = filters.where(flags=False)
    if flagged_only or filters.topic or filters.min_score is not None:
        topic = " AND topic = ?" if filters.topic else ""
        score = " AND score >= ?" if filters.min_score is not None else ""
        where += f" AND a.id IN (SELECT article_id FROM flags WHERE 1{topic}{score})"
        params += [p for p in (filters.topic, filters.min_score) if p is not None]
    label = _STORY_LABEL.format(story="coalesce(a.cluster_id, a.id)")
    sql = f"""
        SELECT * FROM (
          SELECT a.id, a.url, a.title, a.source, a.published, a.fetched, a.language, a.body,
                 (SELECT json_group_array(topic) FROM flags WHERE article_id = a.id) AS topics,
                 {label} AS label, {_STORY_DATE} AS date, articles_fts.rank AS rank
          FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
          WHERE articles_fts MATCH ? AND {where}
        ) WHERE {_label_filter(filters)}
    """
    try:
        total = archive.db.execute(f"SELECT count(*) FROM ({sql})", [expression, *params])
        (count,) = total.fetchone()
        ordered = sql + " ORDER BY rank, date DESC" + (f" LIMIT {int(limit)}" if limit else "")
        rows = _rows(archive, ordered, [expression, *params])
    except sqlite3.OperationalError as error:
        raise SearchError(f"search query {query!r} cannot be run: {error}") from None
    wanted = {normalise_word(word) for word in _WORD.findall(query)} - {"and", "or", "not"}
    for row in rows:
        row["snippet"] = snippet(row.pop("body") or "", wanted)
        row.pop("rank")
        row.pop("date")
    return rows, int(count)


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
