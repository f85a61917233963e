"""Read the archive for analysts: flagged stories, one article with its evidence, exports.

A story's date is its published time, or the time wirewatch found it when the source gave
none; ``--since`` and the newest-first order use that date.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from monitor.archive import Archive
from monitor.errors import NotFoundError
from monitor.timeutil import to_text

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


def sources_status(archive: Archive, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Return each source's health: last success, next due time, failures, last error, and
    how many articles it has, in the order of *names* (the config's order) when given."""
    rows = _rows(
        archive,
        """
        SELECT s.name, s.kind, s.url, s.last_attempt, s.last_success, s.next_due, s.failures,
               s.last_error_class, s.last_error,
               (SELECT count(*) FROM articles a WHERE a.source = s.name) AS articles
        FROM sources s ORDER BY s.name
        """,
        [],
    )
    for row in rows:
        error = row.pop("last_error")
        error_class = row.pop("last_error_class")
        row["last_error"] = f"{error_class}: {error}" if error_class else None
        row["state"] = (
            "failing" if row["failures"] else "ok" if row["last_success"] else "never read"
        )
    if names is not None:
        order = {name: index for index, name in enumerate(names)}
        rows = [row for row in rows if row["name"] in order]
        rows.sort(key=lambda row: order[row["name"]])
    return rows


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
