"""Stories as review reads them: flagged stories, one article with its evidence, exports.

A story is its cluster and is dated by its published time, or by when wirewatch found it
(monitor.archive.story spells both once). Every query that review, show and export run is
here; their callers get rows back as dicts keyed by column.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.archive.labels import LABELS
from monitor.archive.marks import latest_label
from monitor.archive.sanctions import SANCTIONED_STORY
from monitor.archive.story import dated, story_of
from monitor.timeutil import to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive


@dataclass(frozen=True)
class Filters:
    """What an analyst narrows a list of stories by; every field is optional."""

    topic: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    language: str | None = None
    min_score: float | None = None
    unreviewed: bool = False
    label: str | None = None
    not_label: str | None = None  # leave out the stories whose latest mark is this
    sanctioned: bool = False  # only stories that name an entry of a sanctions list

    @property
    def by_label(self) -> bool:
        """True when the filters pick stories by their latest mark."""
        return self.unreviewed or self.label is not None or self.not_label is not None


def where(filters: Filters) -> tuple[str, list[Any]]:
    """Return the SQL conditions of *filters* on article ``a`` (its source, language and
    date), with their parameters; the topic and score are in :func:`flagged_by`."""
    clauses: list[str] = ["1"]
    params: list[Any] = []
    for condition, value in (
        ("a.source = ?", filters.source),
        ("a.language = ?", filters.language),
        (f"{dated('a')} >= ?", to_text(filters.since) if filters.since else None),
        (f"{dated('a')} < ?", to_text(filters.until) if filters.until else None),
    ):
        if value is not None:
            clauses.append(condition)
            params.append(value)
    return " AND ".join(clauses), params


def flagged_by(filters: Filters, *, flagged_only: bool) -> tuple[str, list[Any]]:
    """Return the condition that article ``a`` has a flag of the filters' topic and score
    (or any flag, with *flagged_only*), with its parameters; ``1`` when nothing asks."""
    if not (flagged_only or filters.topic or filters.min_score is not None):
        return "1", []
    conditions: list[str] = ["1"]
    params: list[Any] = []
    if filters.topic:
        conditions.append("topic = ?")
        params.append(filters.topic)
    if filters.min_score is not None:
        conditions.append("score >= ?")
        params.append(filters.min_score)
    return f"a.id IN (SELECT article_id FROM flags WHERE {' AND '.join(conditions)})", params


def label_filter(filters: Filters) -> str:
    """Return the SQL condition on a ``label`` column that the filters ask for."""
    for label in (filters.label, filters.not_label):
        if label is not None and label not in LABELS:
            raise ValueError(f"unknown label {label!r}")
    # The narrowest wins: an unreviewed story has no label, a labelled one just the one.
    if filters.unreviewed:
        return "label IS NULL"
    if filters.label is not None:
        return f"label = '{filters.label}'"
    if filters.not_label is not None:
        return f"(label IS NULL OR label != '{filters.not_label}')"
    return "1"


def rows(archive: Archive, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Return the rows of *sql* as dicts keyed by column name."""
    cursor = archive.conn.execute(sql, params)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def flagged_topics(archive: Archive) -> list[str]:
    """Return the topics that have flagged at least one article, in name order."""
    found = archive.conn.execute("SELECT DISTINCT topic FROM flags ORDER BY topic").fetchall()
    return [row[0] for row in found]


# The order of every list of flagged stories, and of the walk from one story to the next.
NEWEST_FIRST = "ORDER BY v.date DESC, v.id DESC"


def flagged_stories(
    archive: Archive,
    filters: Filters,
    *,
    limit: int | None = None,
    offset: int = 0,
    match: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Return flagged stories, newest first, and how many match in all.

    One row per story and topic, shown by its earliest flagged copy, with its number of
    outlets, its first report, its best score and its latest label. The rows come from
    the ``flagged_stories`` view that ``serve`` shows, so a story is ranked once, over all
    its flags, and the filters then pick stories by that copy (its source, language and
    date) and by the best score: filtering never changes which copy stands for a story.
    *match*, an FTS5 expression (monitor.wordforms.to_fts), keeps the stories whose copy's
    words match it; *offset* skips that many rows, for the next page of a list.
    """
    conditions, params = story_conditions(filters, match)
    page = f"SELECT v.topic, v.story FROM flagged_stories v WHERE {conditions} {NEWEST_FIRST}"
    if limit:
        page += f" LIMIT {int(limit)} OFFSET {max(0, int(offset))}"
    # The page's rows are picked first, reading only the columns the filters need; only
    # then are their outlets, first report and article read: a search that matched ten
    # thousand stories no longer reads each of them to show fifty.
    sql = f"""
        SELECT v.id, v.url, v.title, v.source, a.published, a.fetched, v.language, v.topic,
               v.score, v.snippet, v.story, v.outlets,
               (SELECT min({dated("o")}) FROM articles o
                WHERE {story_of("o")} = +v.story) AS first_report,
               v.label
        FROM ({page}) page
        JOIN flagged_stories v ON v.topic = page.topic AND v.story = page.story
        JOIN articles a ON a.id = v.id
        {NEWEST_FIRST}
    """
    total = archive.conn.execute(
        f"SELECT count(*) FROM flagged_stories v WHERE {conditions}", params
    ).fetchone()[0]
    return rows(archive, sql, params), int(total)


def story_conditions(filters: Filters, match: str | None = None) -> tuple[str, list[Any]]:
    """Return the SQL conditions of *filters* (and an FTS5 *match*) on a row ``v`` of the
    ``flagged_stories`` view, with their parameters."""
    clauses: list[str] = [label_filter(filters)]
    params: list[Any] = []
    for condition, value in (
        ("v.topic = ?", filters.topic),
        ("v.source = ?", filters.source),
        ("v.language = ?", filters.language),
        ("v.date >= ?", to_text(filters.since) if filters.since else None),
        ("v.date < ?", to_text(filters.until) if filters.until else None),
        ("v.score >= ?", filters.min_score),
        ("v.id IN (SELECT rowid FROM flag_stories_fts WHERE flag_stories_fts MATCH ?)", match),
    ):
        if value is not None:
            clauses.append(condition)
            params.append(value)
    if filters.sanctioned:
        clauses.append(SANCTIONED_STORY)
    return " AND ".join(clauses), params


def neighbour_stories(
    archive: Archive, filters: Filters, article_id: int, *, match: str | None = None
) -> tuple[int | None, int | None]:
    """Return the stories listed just before and just after *article_id* in the list that
    *filters* (and *match*) give, newest first: (None, None) when it is not a story's
    article, None for an end. Only the two neighbours are read, however long the list.

    The article need not be in the list any more: once marked, it leaves the list of
    unreviewed stories, and its neighbours are still the stories around its place.
    """
    place = archive.conn.execute(
        "SELECT max(date) FROM flag_stories WHERE article_id = ?", [article_id]
    ).fetchone()[0]
    if place is None:
        return None, None
    conditions, params = story_conditions(filters, match)
    found = []
    for beyond, order in (("v.date > ? OR (v.date = ? AND v.id > ?)", "ASC"),
                          ("v.date < ? OR (v.date = ? AND v.id < ?)", "DESC")):  # fmt: skip
        row = archive.conn.execute(
            f"SELECT v.id FROM flagged_stories v WHERE ({beyond}) AND {conditions} "
            f"ORDER BY v.date {order}, v.id {order} LIMIT 1",
            [place, place, article_id, *params],
        ).fetchone()
        found.append(int(row[0]) if row else None)
    return found[0], found[1]


def has_article(archive: Archive, article_id: int) -> bool:
    """Return True when the archive holds an article with this ID."""
    found = archive.conn.execute("SELECT 1 FROM articles WHERE id = ?", [article_id]).fetchone()
    return found is not None


def article_row(archive: Archive, article_id: int) -> dict[str, Any] | None:
    """Return every column of one article, or None when there is no such article."""
    found = rows(archive, "SELECT * FROM articles WHERE id = ?", [article_id])
    return found[0] if found else None


def page_facts(archive: Archive, article_id: int) -> dict[str, Any] | None:
    """Return the SHA-256 and size of the page an article was extracted from, as stored
    (its evidence), or None when no page was kept."""
    found = rows(archive, "SELECT sha256, size FROM pages WHERE article_id = ?", [article_id])
    return found[0] if found else None


def flags_of(archive: Archive, article_id: int) -> list[dict[str, Any]]:
    """Return the flags of one article by topic, with their evidence as stored (JSON text)."""
    return rows(
        archive,
        "SELECT topic, score, threshold, rule, rules, terms, snippet, created FROM flags "
        "WHERE article_id = ? ORDER BY topic",
        [article_id],
    )


def outlets(archive: Archive, story: int) -> list[dict[str, Any]]:
    """Return the articles of a story, earliest first: the outlets that carried it."""
    return rows(
        archive,
        f"SELECT id, source, title, url, {dated()} AS date FROM articles "
        f"WHERE {story_of()} = ? ORDER BY date, source, id",
        [story],
    )


def export_rows(
    archive: Archive, filters: Filters, *, flagged_only: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield articles oldest first, each with its story, the topics that flagged it (JSON
    text), its best snippet and its story's latest label."""
    conditions, params = where(filters)
    flagged, extra = flagged_by(filters, flagged_only=flagged_only)
    sql = f"""
        SELECT * FROM (
          SELECT a.id, a.url, a.source, a.title, a.published, a.fetched, a.language,
                 a.summary, a.body, a.guid, a.content_hash, a.extract_error,
                 {story_of("a")} AS story,
                 (SELECT json_group_array(topic) FROM flags WHERE article_id = a.id) AS topics,
                 (SELECT max(snippet) FROM flags WHERE article_id = a.id) AS snippet,
                 {latest_label(story_of("a"))} AS label,
                 {dated("a")} AS date
          FROM articles a WHERE {conditions} AND {flagged}
        ) WHERE {label_filter(filters)} ORDER BY date, id
    """
    cursor = archive.conn.execute(sql, [*params, *extra])
    columns = [column[0] for column in cursor.description]
    for row in cursor:
        record = dict(zip(columns, row, strict=True))
        record.pop("date")
        yield record
