"""Full-text search (FTS5) over the articles: matching, counting and ranking, by story.

The caller hands an FTS5 expression over the ``search`` column (see monitor.wordforms);
the stories come back best match first, each with its copy's body for a snippet.
"""

from __future__ import annotations

import json
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
    """Return the stories that match *expression*, best first, and how many articles match.

    One row per story, as ``flagged`` lists them: a wire story that several outlets ran is
    one row, shown by its best-matching copy (the earliest of those that match equally
    well), with its number of outlets. Each row has that article's ID, address, title,
    source, dates, language and body, the topics that flagged it (JSON text), its story
    and its story's latest label.
    """
    conditions, params = where(filters)
    flagged, extra = flagged_by(filters, flagged_only=flagged_only)
    if flagged != "1":
        conditions += f" AND {flagged}"
        params += extra
    with archive.reading():  # the steps below must all see the same articles
        return _matches(archive, expression, conditions, params, filters, limit)


def _matches(
    archive: Archive,
    expression: str,
    conditions: str,
    params: list[Any],
    filters: Filters,
    limit: int | None,
) -> tuple[list[dict[str, Any]], int]:
    try:
        if filters.by_label or not limit:
            # Whether a match counts may depend on its story's label: every match is read.
            sql = f"""
                SELECT a.id, articles_fts.rank AS rank, {story_of("a")} AS story,
                       {dated("a")} AS date, {latest_label(story_of("a"))} AS label
                FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
                WHERE articles_fts MATCH ? AND {conditions}
            """
            bound = [expression, *params]
            kept = f"SELECT id, rank FROM ({sql}) WHERE {label_filter(filters)}"
            found: list[tuple[int, float]] = archive.conn.execute(kept, bound).fetchall()
            count = len(found)
        else:
            count, found = _best(archive, expression, conditions, params, int(limit))
        stories = rows(
            archive,
            f"""
            WITH best(id, rank) AS (
              SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)
            ), copies AS (
              SELECT best.id, best.rank, {story_of("a")} AS story, {dated("a")} AS date,
                     row_number() OVER (PARTITION BY {story_of("a")}
                                        ORDER BY best.rank, {dated("a")}, a.id) AS copy
              FROM best JOIN articles a ON a.id = best.id
            ), shown AS (
              SELECT id, rank, story, date FROM copies WHERE copy = 1
              ORDER BY rank, date DESC, id DESC {f"LIMIT {int(limit)}" if limit else ""}
            )
            SELECT a.id, a.url, a.title, a.source, a.published, a.fetched, a.language, a.body,
                   (SELECT json_group_array(topic) FROM flags WHERE article_id = a.id) AS topics,
                   {latest_label("s.story")} AS label, s.story,
                   (SELECT count(DISTINCT o.source) FROM articles o
                    WHERE {story_of("o")} = s.story) AS outlets
            FROM shown s JOIN articles a ON a.id = s.id
            ORDER BY s.rank, s.date DESC, s.id DESC
            """,
            [json.dumps(found)],
        )
    except sqlite3.OperationalError as error:
        raise QueryFailed(str(error)) from None
    return stories, int(count)


def _best(
    archive: Archive, expression: str, conditions: str, params: list[Any], limit: int
) -> tuple[int, list[tuple[int, float]]]:
    """Return how many articles match, and the (ID, rank) of every match ranked up to the
    best match of the last story shown, so that grouping them by story and ordering the
    stories by rank and date gives the same first *limit* stories as grouping every match.

    A broad query matches a large part of a big archive, so the matches are counted and
    ranked in the FTS index alone (joined to the articles only when a filter needs them),
    and only as many are looked up by story as it takes to find *limit* stories: the
    copies of a story that many outlets ran come one after the other, ranked alike.
    """
    matching = "FROM articles_fts"
    if conditions != "1":
        matching += " JOIN articles a ON a.id = articles_fts.rowid"
    matching += f" WHERE articles_fts MATCH ? AND {conditions}"
    bound = [expression, *params]
    (count,) = archive.conn.execute(f"SELECT count(*) {matching}", bound).fetchone()
    ranked = f"SELECT articles_fts.rowid, articles_fts.rank {matching}"
    wanted = limit + _TIES
    while True:
        found: list[tuple[int, float]] = archive.conn.execute(
            f"{ranked} ORDER BY articles_fts.rank LIMIT {wanted}", bound
        ).fetchall()
        last = _rank_of_story(archive, found, limit)
        if last is not None:
            # Every copy ranked as well as the last story shown: the ties with it, and the
            # equally good copies that may stand for a story shown.
            found = archive.conn.execute(
                f"{ranked} AND articles_fts.rank <= ?", [*bound, last]
            ).fetchall()
            return int(count), found
        if len(found) < wanted:
            return int(count), found  # every match, in fewer than limit stories
        wanted *= 4


def _rank_of_story(archive: Archive, found: list[tuple[int, float]], number: int) -> float | None:
    """Return the rank of the best match of the *number*-th story among the ranked matches
    *found*, or None when they hold fewer stories."""
    story = dict(
        archive.conn.execute(
            f"SELECT id, {story_of()} FROM articles WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps([article_id for article_id, _ in found])],
        ).fetchall()
    )
    seen: set[int] = set()
    for article_id, rank in found:
        seen.add(story[article_id])
        if len(seen) == number:
            return rank
    return None
