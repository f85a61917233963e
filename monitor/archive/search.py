"""Full-text search (FTS5) over the articles: matching, counting and ranking.

The caller hands an FTS5 expression over the ``search`` column (see monitor.wordforms);
the rows come back best match first, with the article's body for a snippet.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from monitor.archive.marks import latest_label
from monitor.archive.stories import Filters, flagged_by, label_filter, rows, where
from monitor.archive.story import dated, story_of

if TYPE_CHECKING:
    from monitor.archive.store import Archive

_TIES = 20  # matches ranked beyond the last shown, to find those tied with it


class QueryFailed(Exception):
    """Raised by matches when SQLite cannot run the search expression; says why."""


def matches(
    archive: Archive,
    expression: str,
    filters: Filters,
    *,
    flagged_only: bool = False,
    limit: int | None = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Return the articles that match *expression*, best first, and how many match in all.

    Each row has the article's ID, address, title, source, dates, language and body, the
    topics that flagged it (JSON text) and its story's latest label.
    """
    conditions, params = where(filters)
    flagged, extra = flagged_by(filters, flagged_only=flagged_only)
    if flagged != "1":
        conditions += f" AND {flagged}"
        params += extra
    columns = f"""
        a.id, a.url, a.title, a.source, a.published, a.fetched, a.language, a.body,
        (SELECT json_group_array(topic) FROM flags WHERE article_id = a.id) AS topics,
        {latest_label(story_of("a"))} AS label, {dated("a")} AS date
    """
    try:
        if filters.by_label or not limit:
            # Whether a match counts may depend on its story's label: every match is read.
            sql = f"""
                SELECT * FROM (
                  SELECT {columns}, articles_fts.rank AS rank
                  FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
                  WHERE articles_fts MATCH ? AND {conditions}
                ) WHERE {label_filter(filters)} ORDER BY rank, date DESC
            """
            bound = [expression, *params]
            (count,) = archive.conn.execute(f"SELECT count(*) FROM ({sql})", bound).fetchone()
            found = rows(archive, sql + (f" LIMIT {int(limit)}" if limit else ""), bound)
        else:
            count, best = _best(archive, expression, conditions, params, int(limit))
            values = ", ".join("(?, ?)" for _ in best) or "(NULL, NULL)"
            sql = f"""
                WITH best(id, rank) AS (VALUES {values})
                SELECT {columns}, best.rank AS rank FROM best JOIN articles a ON a.id = best.id
                ORDER BY best.rank, date DESC LIMIT {int(limit)}
            """
            found = rows(archive, sql, [value for pair in best for value in pair])
    except sqlite3.OperationalError as error:
        raise QueryFailed(str(error)) from None
    for row in found:
        row.pop("rank")
        row.pop("date")
    return found, int(count)


def _best(
    archive: Archive, expression: str, conditions: str, params: list[Any], limit: int
) -> tuple[int, list[tuple[int, float]]]:
    """Return how many articles match, and the (ID, rank) of those ranked up to the last
    one shown, ties with it included, so that ordering them by rank and date gives the
    same first *limit* rows as ordering every match.

    A broad query matches a large part of a big archive, so the matches are counted and
    ranked in the FTS index alone (joined to the articles only when a filter needs them),
    and ranked once: only the rows shown have their text, topics and label read.
    """
    matching = "FROM articles_fts"
    if conditions != "1":
        matching += " JOIN articles a ON a.id = articles_fts.rowid"
    matching += f" WHERE articles_fts MATCH ? AND {conditions}"
    bound = [expression, *params]
    (count,) = archive.conn.execute(f"SELECT count(*) {matching}", bound).fetchone()
    ranked = f"SELECT articles_fts.rowid, articles_fts.rank {matching}"
    wanted = limit + _TIES
    best = archive.conn.execute(f"{ranked} ORDER BY articles_fts.rank LIMIT {wanted}", bound)
    found: list[tuple[int, float]] = best.fetchall()
    if len(found) == wanted and found[-1][1] == found[limit - 1][1]:
        # More copies of one text than _TIES share the last rank shown: take all of them.
        found = archive.conn.execute(
            f"{ranked} AND articles_fts.rank <= ?", [*bound, found[limit - 1][1]]
        ).fetchall()
    return int(count), found
