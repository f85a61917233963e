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
_TIES = 20  # matches ranked beyond the last shown, to find those tied with it


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
    columns = f"""
        a.id, a.url, a.title, a.source, a.published, a.fetched, a.language, a.body,
        (SELECT json_group_array(topic) FROM flags WHERE article_id = a.id) AS topics,
        {label} AS label, {_STORY_DATE} AS date
    """
    try:
        if filters.unreviewed or filters.label is not None or not limit:
            # Whether a match counts may depend on its story's label: every match is read.
            sql = f"""
                SELECT * FROM (
                  SELECT {columns}, articles_fts.rank AS rank
                  FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
                  WHERE articles_fts MATCH ? AND {where}
                ) WHERE {_label_filter(filters)} ORDER BY rank, date DESC
            """
            bound = [expression, *params]
            (count,) = archive.db.execute(f"SELECT count(*) FROM ({sql})", bound).fetchone()
            rows = _rows(archive, sql + (f" LIMIT {int(limit)}" if limit else ""), bound)
        else:
            count, best = _best(archive, expression, where, params, int(limit))
            values = ", ".join("(?, ?)" for _ in best) or "(NULL, NULL)"
            sql = f"""
                WITH best(id, rank) AS (VALUES {values})
                SELECT {columns}, best.rank AS rank FROM best JOIN articles a ON a.id = best.id
                ORDER BY best.rank, date DESC LIMIT {int(limit)}
            """
            rows = _rows(archive, sql, [value for pair in best for value in pair])
    except sqlite3.OperationalError as error:
        raise SearchError(f"search query {query!r} cannot be run: {error}") from None
    wanted = {normalise_word(word) for word in _WORD.findall(query)} - {"and", "or", "not"}
    for row in rows:
        row["snippet"] = snippet(row.pop("body") or "", wanted)
        row.pop("rank")
        row.pop("date")
    return rows, int(count)


def _best(
    archive: Archive, expression: str, where: str, params: list[Any], limit: int
) -> tuple[int, list[tuple[int, float]]]:
    """Return how many articles match, and the (ID, rank) of those ranked up to the last
    one shown, ties with it included, so that ordering them by rank and date gives the
    same first *limit* rows as ordering every match.

    A broad query matches a large part of a big archive, so the matches are counted and
    ranked in the FTS index alone (joined to the articles only when a filter needs them),
    and ranked once: only the rows shown have their text, topics and label read.
    """
    matching = "FROM articles_fts"
    if where != "1":
        matching += " JOIN articles a ON a.id = articles_fts.rowid"
    matching += f" WHERE articles_fts MATCH ? AND {where}"
    bound = [expression, *params]
    (count,) = archive.db.execute(f"SELECT count(*) {matching}", bound).fetchone()
    ranked = f"SELECT articles_fts.rowid, articles_fts.rank {matching}"
    wanted = limit + _TIES
    best = archive.db.execute(f"{ranked} ORDER BY articles_fts.rank LIMIT {wanted}", bound)
    found: list[tuple[int, float]] = best.fetchall()
    if len(found) == wanted and found[-1][1] == found[limit - 1][1]:
        # More copies of one text than _TIES share the last rank shown: take all of them.
        found = archive.db.execute(
            f"{ranked} AND articles_fts.rank <= ?", [*bound, found[limit - 1][1]]
        ).fetchall()
    return int(count), found


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
