"""Read the archive for analysts: flagged stories, one article with its evidence, exports.

A story's date is its published time, or the time wirewatch found it when the source gave
none; ``--since`` and the newest-first order use that date.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from monitor.archive import Archive, SourceStatus, health, stories
from monitor.archive.labels import LABELS, Label
from monitor.archive.marks import add_mark, story_marks
from monitor.archive.stories import Filters
from monitor.errors import NotFoundError, UsageError
from monitor.timeutil import from_text, to_text, utcnow

__all__ = ["LABELS", "Filters", "Label"]


def topics_in(archive: Archive) -> list[str]:
    """Return the topics that have flagged at least one article."""
    return stories.flagged_topics(archive)


def flagged(
    archive: Archive,
    filters: Filters | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
    match: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Return flagged stories, newest first, and how many match in all.

    One row per story and topic: the same wire story carried by several outlets is one
    row, shown by its earliest flagged copy, with its number of outlets, its first report,
    its best score and its latest label. *match* (an FTS5 expression of
    monitor.wordforms.to_fts) keeps the stories whose words match; *offset* pages on.
    """
    return stories.flagged_stories(
        archive, filters or Filters(), limit=limit, offset=offset, match=match
    )


def _no_article(archive: Archive, article_id: int) -> NotFoundError:
    return NotFoundError(
        f"no article with ID {article_id} in {archive.path} (IDs are in 'wirewatch flagged')"
    )


def mark(
    archive: Archive, article_id: int, label: str, *, note: str | None, by: str, now: datetime
) -> dict[str, Any]:
    """Record an analyst's label for a story; earlier marks stay, as its history."""
    if label not in LABELS:
        raise UsageError(f"{label!r} is not a label (use one of: {', '.join(LABELS)})")
    if not stories.has_article(archive, article_id):
        raise _no_article(archive, article_id)
    add_mark(archive, article_id, Label(label), note=note, by=by, now=now)
    return {"id": article_id, "label": label, "note": note, "by": by, "created": to_text(now)}


def article(archive: Archive, article_id: int) -> dict[str, Any]:
    """Return one article with its flags and their evidence, its marks (oldest first), and
    the other outlets that carried the same story; raise NotFoundError if absent."""
    record = stories.article_row(archive, article_id)
    if record is None:
        raise _no_article(archive, article_id)
    for internal in ("run_id", "search"):
        record.pop(internal, None)
    flags = stories.flags_of(archive, article_id)
    for flag in flags:
        flag["terms"] = json.loads(flag["terms"] or "[]")
        flag["rules"] = json.loads(flag["rules"] or "[]")
        # The matcher keeps its notes (an enumeration ignored, say) on lines after the rule.
        flag["rule"], *flag["notes"] = (flag["rule"] or "").split("\n")
    record["flags"] = flags
    story = record.get("cluster_id") or article_id
    # A mark labels the story, so the marks of every copy are this article's history too.
    record["marks"] = [dict(one) for one in story_marks(archive, story)]
    record["outlets"] = [outlet for outlet in outlets(archive, story) if outlet["id"] != article_id]
    return record


def outlets(archive: Archive, story: int) -> list[dict[str, Any]]:
    """Return the articles of a story, earliest first: the outlets that carried it."""
    return stories.outlets(archive, story)


def export(
    archive: Archive, filters: Filters | None = None, *, flagged_only: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield articles oldest first, each with the topics that flagged it and its latest label."""
    for record in stories.export_rows(archive, filters or Filters(), flagged_only=flagged_only):
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

    A source is ``failing`` after a failure; ``interrupted`` when its last crawl was
    stopped before the source was done (what it read is kept, and it is due again at once);
    ``silent`` when it usually publishes but has had nothing new for SILENT_FACTOR times
    its usual gap; else ``ok``, or ``never read`` before its first crawl ends.
    """
    rows = health.source_rows(archive)
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
        elif row["last_outcome"] == SourceStatus.INTERRUPTED:
            # Not "never read": an interrupted crawl keeps the articles it archived (issue 13).
            row["state"] = "interrupted"
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
    times = [from_text(text) for text in health.new_story_times(archive, source, 30)]
    if len(times) < SILENT_MINIMUM:
        return False
    gaps = sorted((a - b).total_seconds() for a, b in itertools.pairwise(times))
    usual = gaps[len(gaps) // 2]
    return (now - times[0]).total_seconds() > SILENT_FACTOR * max(usual, 1.0)


def daemon(archive: Archive, now: datetime | None = None) -> dict[str, Any]:
    """Return what the archive knows of ``wirewatch run``: PID, host, since, heartbeat, and
    whether it runs (its heartbeat is recent and, on this host, its process is alive)."""
    row = health.daemon_row(archive)
    if row is None:
        return {"running": False, "pid": None, "host": None, "since": None, "heartbeat": None}
    pid, host, started, heartbeat, stopped = row
    fresh = heartbeat is not None and (now or utcnow()) - from_text(heartbeat) < timedelta(
        minutes=2
    )
    alive = fresh and stopped is None
    # os.uname() names the host as socket.gethostname() does, without loading socket.
    if alive and host == os.uname().nodename:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            alive = False
        except PermissionError:
            pass  # another user's process: it exists
    return {"running": alive, "pid": pid, "host": host, "since": started,
            "heartbeat": heartbeat, "stopped": stopped}  # fmt: skip


def sanctions_named(archive: Archive, article_id: int) -> list[dict[str, Any]]:
    """Return the entries of the loaded sanctions lists that the article's story names (any
    copy), each once: its list, kind, name, programs, and the words that matched."""
    from monitor.archive import sanctions

    return sanctions.hits_of(archive, article_id)
