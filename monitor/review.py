"""Read the archive for analysts: flagged stories, one article with its evidence, exports.

A story's date is its published time, or the time wirewatch found it when the source gave
none; ``--since`` and the newest-first order use that date.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.archive import Archive
from monitor.errors import NotFoundError, UsageError
from monitor.timeutil import from_text, to_text, utcnow

_STORY_DATE = "coalesce(a.published, a.fetched)"


def topics_in(archive: Archive) -> list[str]:
    """Return the topics that have flagged at least one article."""
    rows = archive.db.execute("SELECT DISTINCT topic FROM flags ORDER BY topic").fetchall()
    return [row[0] for row in rows]


LABELS = ("relevant", "irrelevant", "follow-up")


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

    def where(self, *, flags: bool = True) -> tuple[str, list[Any]]:
        """Return the SQL conditions on ``a`` (articles) and ``f`` (flags), with parameters."""
        clauses: list[str] = ["1"]
        params: list[Any] = []
        for column, value in (
            ("f.topic", self.topic if flags else None),
            ("a.source", self.source),
            ("a.language", self.language),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.since is not None:
            clauses.append(f"{_STORY_DATE} >= ?")
            params.append(to_text(self.since))
        if self.until is not None:
            clauses.append(f"{_STORY_DATE} < ?")
            params.append(to_text(self.until))
        if self.min_score is not None and flags:
            clauses.append("f.score >= ?")
            params.append(self.min_score)
        return " AND ".join(clauses), params


# The latest mark of any article of a story (a story is its cluster, or the article alone).
_STORY_LABEL = """
    (SELECT m.label FROM marks m JOIN articles x ON x.id = m.article_id
     WHERE coalesce(x.cluster_id, x.id) = {story} ORDER BY m.created DESC, m.id DESC LIMIT 1)
"""


def flagged(
    archive: Archive, filters: Filters | None = None, *, limit: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Return flagged stories, newest first, and how many match in all.

    One row per story and topic: the same wire story carried by several outlets is one
    row, shown by its earliest flagged copy, with its number of outlets, its first report,
    its best score and its latest label.
    """
    filters = filters or Filters()
    where, params = filters.where()
    if filters.since is not None and _few_since(archive, filters.since):
        # Start from the period's articles (the date index) rather than from every flag.
        where += " AND a.id IN (SELECT id FROM articles WHERE coalesce(published, fetched) >= ?)"
        params.append(to_text(filters.since))
    story_label = _STORY_LABEL.format(story="s.story")
    sql = f"""
        WITH hits AS (
          SELECT a.id, a.url, a.title, a.source, a.published, a.fetched, a.language,
                 {_STORY_DATE} AS date, coalesce(a.cluster_id, a.id) AS story,
                 f.topic, f.score, f.snippet,
                 row_number() OVER (PARTITION BY f.topic, coalesce(a.cluster_id, a.id)
                                    ORDER BY {_STORY_DATE}, a.id) AS rank,
                 max(f.score) OVER (PARTITION BY f.topic, coalesce(a.cluster_id, a.id)) AS best
          FROM flags f JOIN articles a ON a.id = f.article_id
          WHERE {where}
        ),
        stories AS (
          SELECT s.*, {story_label} AS label,
                 (SELECT count(DISTINCT o.source) FROM articles o
                  WHERE coalesce(o.cluster_id, o.id) = s.story) AS outlets,
                 (SELECT min(coalesce(o.published, o.fetched)) FROM articles o
                  WHERE coalesce(o.cluster_id, o.id) = s.story) AS first_report
          FROM hits s WHERE s.rank = 1
        )
        SELECT id, url, title, source, published, fetched, language, topic, best AS score,
               snippet, story, outlets, first_report, label
        FROM stories
        WHERE {_label_filter(filters)}
    """
    total = archive.db.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    ordered = sql + " ORDER BY date DESC, id DESC" + (f" LIMIT {int(limit)}" if limit else "")
    return _rows(archive, ordered, params), int(total)


def _few_since(archive: Archive, since: datetime) -> bool:
    """Return True when fewer articles are dated from *since* than twice the flags.

    Going through the articles of the period is then cheaper than reading the article of
    every flag; for a long period it is the other way round. Both counts come from indexes.
    """
    (flags,) = archive.db.execute("SELECT count(*) FROM flags").fetchone()
    (recent,) = archive.db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM articles WHERE coalesce(published, fetched) >= ? "
        "LIMIT ?)",
        [to_text(since), 2 * flags + 1],
    ).fetchone()
    return bool(recent <= 2 * flags)


def _label_filter(filters: Filters) -> str:
    if filters.unreviewed:
        return "label IS NULL"
    if filters.label is not None:
        if filters.label not in LABELS:
            raise ValueError(f"unknown label {filters.label!r}")
        return f"label = '{filters.label}'"
    return "1"


def mark(
    archive: Archive, article_id: int, label: str, *, note: str | None, by: str, now: datetime
) -> dict[str, Any]:
    """Record an analyst's label for a story; earlier marks stay, as its history."""
    if label not in LABELS:
        raise UsageError(f"{label!r} is not a label (use one of: {', '.join(LABELS)})")
    found = archive.db.execute("SELECT id FROM articles WHERE id = ?", [article_id]).fetchone()
    if found is None:
        raise NotFoundError(
            f"no article with ID {article_id} in {archive.path} (IDs are in 'wirewatch flagged')"
        )
    with archive.writing() as db:
        db.execute(
            "INSERT INTO marks (article_id, label, note, marked_by, created) "
            "VALUES (?, ?, ?, ?, ?)",
            [article_id, label, note, by, to_text(now)],
        )
    return {"id": article_id, "label": label, "note": note, "by": by, "created": to_text(now)}


def article(archive: Archive, article_id: int) -> dict[str, Any]:
    """Return one article with its flags and their evidence, its marks (oldest first), and
    the other outlets that carried the same story; raise NotFoundError if absent."""
    rows = _rows(archive, "SELECT * FROM articles WHERE id = ?", [article_id])
    if not rows:
        raise NotFoundError(
            f"no article with ID {article_id} in {archive.path} (IDs are in 'wirewatch flagged')"
        )
    record = rows[0]
    for internal in ("run_id", "search"):
        record.pop(internal, None)
    flags = _rows(
        archive,
        "SELECT topic, score, threshold, rule, rules, terms, snippet, created FROM flags "
        "WHERE article_id = ? ORDER BY topic",
        [article_id],
    )
    for flag in flags:
        flag["terms"] = json.loads(flag["terms"] or "[]")
        flag["rules"] = json.loads(flag["rules"] or "[]")
    record["flags"] = flags
    story = record.get("cluster_id") or article_id
    # A mark labels the story, so the marks of every copy are this article's history too.
    record["marks"] = _rows(
        archive,
        "SELECT m.article_id, m.label, m.note, m.marked_by, m.created FROM marks m "
        "JOIN articles x ON x.id = m.article_id WHERE coalesce(x.cluster_id, x.id) = ? "
        "ORDER BY m.created, m.id",
        [story],
    )
    record["outlets"] = [outlet for outlet in outlets(archive, story) if outlet["id"] != article_id]
    return record


def outlets(archive: Archive, story: int) -> list[dict[str, Any]]:
    """Return the articles of a story, earliest first: the outlets that carried it."""
    return _rows(
        archive,
        "SELECT id, source, title, url, coalesce(published, fetched) AS date FROM articles "
        "WHERE coalesce(cluster_id, id) = ? ORDER BY date, source, id",
        [story],
    )


def export(
    archive: Archive, filters: Filters | None = None, *, flagged_only: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield articles oldest first, each with the topics that flagged it and its latest label."""
    filters = filters or Filters()
    where, params = filters.where(flags=False)
    if flagged_only or filters.topic or filters.min_score is not None:
        conditions: list[str] = ["1"]
        extra: list[Any] = []
        if filters.topic:
            conditions.append("topic = ?")
            extra.append(filters.topic)
        if filters.min_score is not None:
            conditions.append("score >= ?")
            extra.append(filters.min_score)
        where += f" AND a.id IN (SELECT article_id FROM flags WHERE {' AND '.join(conditions)})"
        params += extra
    label = _STORY_LABEL.format(story="coalesce(a.cluster_id, a.id)")
    sql = f"""
        SELECT * FROM (
          SELECT a.id, a.url, a.source, a.title, a.published, a.fetched, a.language,
                 a.summary, a.body, a.guid, a.content_hash, a.extract_error,
                 coalesce(a.cluster_id, a.id) AS story,
                 (SELECT json_group_array(topic) FROM flags WHERE article_id = a.id) AS topics,
                 (SELECT max(snippet) FROM flags WHERE article_id = a.id) AS snippet,
                 {label} AS label,
                 {_STORY_DATE} AS date
          FROM articles a WHERE {where}
        ) WHERE {_label_filter(filters)} ORDER BY date, id
    """
    cursor = archive.db.execute(sql, params)
    columns = [column[0] for column in cursor.description]
    for row in cursor:
        record = dict(zip(columns, row, strict=True))
        record.pop("date")
        record["topics"] = sorted(json.loads(record["topics"] or "[]"))
        yield record


SILENT_FACTOR = 4  # no new story for this many times the usual gap: "silent"
SILENT_MINIMUM = 5  # rounds with new stories needed before a usual gap is known


def sources_status(
    archive: Archive, names: list[str] | None = None, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Return each source's health: state, last success, next due time (by backoff and
    server hints), failures, last error, articles, and the next run of a running daemon,
    in the order of *names* (the config's order) when given.

    A source is ``failing`` after a failure, ``silent`` when it usually publishes but has
    had nothing new for SILENT_FACTOR times its usual gap, else ``ok`` (or ``never read``).
    """
    rows = _rows(
        archive,
        """
        SELECT s.name, s.kind, s.url, s.last_attempt, s.last_success, s.next_due, s.failures,
               s.last_error_class, s.last_error,
               (SELECT count(*) FROM articles a WHERE a.source = s.name) AS articles,
               (SELECT next_run FROM schedule WHERE source = s.name) AS next_run
        FROM sources s ORDER BY s.name
        """,
        [],
    )
    now = now or utcnow()
    running = daemon(archive, now)["running"]
    for row in rows:
        error = row.pop("last_error")
        error_class = row.pop("last_error_class")
        row["last_error"] = f"{error_class}: {error}" if error_class else None
        if not running:
            row["next_run"] = None
        if row["failures"]:
            row["state"] = "failing"
        elif not row["last_success"]:
            row["state"] = "never read"
        else:
            row["state"] = "silent" if _silent(archive, row["name"], now) else "ok"
    if names is not None:
        order = {name: index for index, name in enumerate(names)}
        rows = [row for row in rows if row["name"] in order]
        rows.sort(key=lambda row: order[row["name"]])
    return rows


def _silent(archive: Archive, source: str, now: datetime) -> bool:
    """Return True when *source* usually brings new stories but has not for a long while."""
    times = [
        from_text(row[0])
        for row in archive.db.execute(
            "SELECT max(fetched) FROM articles WHERE source = ? GROUP BY run_id "
            "ORDER BY max(fetched) DESC LIMIT 30",
            [source],
        )
    ]
    if len(times) < SILENT_MINIMUM:
        return False
    gaps = sorted((a - b).total_seconds() for a, b in itertools.pairwise(times))
    usual = gaps[len(gaps) // 2]
    return (now - times[0]).total_seconds() > SILENT_FACTOR * max(usual, 1.0)


def daemon(archive: Archive, now: datetime | None = None) -> dict[str, Any]:
    """Return what the archive knows of ``wirewatch run``: PID, host, since, heartbeat, and
    whether it runs (its heartbeat is recent and, on this host, its process is alive)."""
    row = archive.db.execute(
        "SELECT pid, host, started, heartbeat, stopped FROM daemon WHERE id = 1"
    ).fetchone()
    if row is None:
        return {"running": False, "pid": None, "host": None, "since": None, "heartbeat": None}
    pid, host, started, heartbeat, stopped = row
    fresh = heartbeat is not None and (now or utcnow()) - from_text(heartbeat) < timedelta(
        minutes=2
    )
    alive = fresh and stopped is None
    if alive and host == socket.gethostname():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            alive = False
        except PermissionError:
            pass  # another user's process: it exists
    return {"running": alive, "pid": pid, "host": host, "since": started,
            "heartbeat": heartbeat, "stopped": stopped}  # fmt: skip


def _rows(archive: Archive, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = archive.db.execute(sql, params)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
