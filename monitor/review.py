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
from datetime import datetime, timedelta
from typing import Any

from monitor.archive import Archive
from monitor.errors import NotFoundError
from monitor.timeutil import from_text, to_text, utcnow

_STORY_DATE = "coalesce(a.published, a.fetched)"


def topics_in(archive: Archive) -> list[str]:
    """Return the topics that have flagged at least one article."""
    rows = archive.db.execute("SELECT DISTINCT topic FROM flags ORDER BY topic").fetchall()
    return [row[0] for row in rows]


def flagged(
    archive: Archive,
    *,
    topic: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Return flagged articles, newest first, one row per flag, and how many match in all."""
    where, params = _filters(topic=topic, since=since)
    base = f"FROM flags f JOIN articles a ON a.id = f.article_id WHERE {where}"
    total = archive.db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
    sql = (
        "SELECT a.id, a.url, a.title, a.source, a.published, a.fetched, a.language, "
        f"f.topic, f.score, f.snippet {base} ORDER BY {_STORY_DATE} DESC, a.id DESC"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    return _rows(archive, sql, params), int(total)


def article(archive: Archive, article_id: int) -> dict[str, Any]:
    """Return one article with its flags and their evidence; raise NotFoundError if absent."""
    rows = _rows(archive, "SELECT * FROM articles WHERE id = ?", [article_id])
    if not rows:
        raise NotFoundError(
            f"no article with ID {article_id} in {archive.path} (IDs are in 'wirewatch flagged')"
        )
    record = rows[0]
    record.pop("run_id", None)
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
    return record


def export(
    archive: Archive,
    *,
    flagged_only: bool = False,
    topic: str | None = None,
    since: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield articles oldest first, each with the list of topics that flagged it."""
    where, params = _filters(topic=None, since=since)
    if flagged_only or topic:
        where += " AND a.id IN (SELECT article_id FROM flags"
        if topic:
            where += " WHERE topic = ?"
            params.append(topic)
        where += ")"
    sql = f"""
        SELECT a.id, a.url, a.source, a.title, a.published, a.fetched, a.language,
               a.summary, a.body, a.guid, a.content_hash, a.extract_error,
               (SELECT json_group_array(topic) FROM flags WHERE article_id = a.id) AS topics
        FROM articles a WHERE {where} ORDER BY {_STORY_DATE}, a.id
    """
    cursor = archive.db.execute(sql, params)
    columns = [column[0] for column in cursor.description]
    for row in cursor:
        record = dict(zip(columns, row, strict=True))
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


def _filters(*, topic: str | None, since: datetime | None) -> tuple[str, list[Any]]:
    clauses, params = ["1"], []
    if topic:
        clauses.append("f.topic = ?")
        params.append(topic)
    if since is not None:
        clauses.append(f"{_STORY_DATE} >= ?")
        params.append(to_text(since))
    return " AND ".join(clauses), params


def _rows(archive: Archive, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = archive.db.execute(sql, params)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
