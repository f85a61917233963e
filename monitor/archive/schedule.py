"""The daemon's book in the archive: its start, heartbeat and stop, and each source's schedule.

``wirewatch status`` reads these rows to say whether ``wirewatch run`` is alive and when it
polls each source next; the daemon reads back when the archive says each source is due
(after backoff or a server hint) to decide what to crawl.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from monitor.timeutil import from_text, to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive


class PlannedPoll(NamedTuple):
    """When the daemon's schedule polls a source next, and by which trigger."""

    source: str
    next_run: datetime | None  # None until the scheduler has started
    trigger: str  # how the trigger describes itself, e.g. "every 600s"


def record_start(archive: Archive, *, pid: int, host: str, config: Path, now: datetime) -> None:
    """Record that a daemon started: who it is, since when, with which config."""
    when = to_text(now)
    with archive.writing() as db:
        db.execute(
            "INSERT INTO daemon (id, pid, host, started, heartbeat, stopped, config) "
            "VALUES (1, ?, ?, ?, ?, NULL, ?) ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, "
            "host = excluded.host, started = excluded.started, heartbeat = excluded.heartbeat, "
            "stopped = NULL, config = excluded.config",
            [pid, host, when, when, str(config)],
        )


def record_beat(archive: Archive, now: datetime) -> None:
    """Record that the daemon is still alive at *now*."""
    with archive.writing() as db:
        db.execute("UPDATE daemon SET heartbeat = ? WHERE id = 1", [to_text(now)])


def record_stop(archive: Archive, now: datetime) -> None:
    """Record that the daemon stopped at *now*."""
    with archive.writing() as db:
        db.execute(
            "UPDATE daemon SET stopped = ?, heartbeat = ? WHERE id = 1",
            [to_text(now), to_text(now)],
        )


def replace_schedule(archive: Archive, polls: Iterable[PlannedPoll]) -> None:
    """Replace the recorded schedule with *polls*, in one transaction."""
    rows = [
        (poll.source, to_text(poll.next_run) if poll.next_run else None, poll.trigger)
        for poll in polls
    ]
    with archive.writing() as db:
        db.execute("DELETE FROM schedule")
        db.conn.executemany(
            "INSERT INTO schedule (source, next_run, trigger) VALUES (?, ?, ?)", rows
        )


def forget_schedule(archive: Archive, source: str) -> None:
    """Drop a source removed from the config from the recorded schedule."""
    with archive.writing() as db:
        db.execute("DELETE FROM schedule WHERE source = ?", [source])


def next_due(archive: Archive, names: Iterable[str]) -> Mapping[str, datetime | None]:
    """Return when the archive says each of *names* is due; a source never seen is left out.

    None means the archive knows the source but has no due time for it (never finished).
    """
    wanted = list(names)
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = archive.conn.execute(
        f"SELECT name, next_due FROM sources WHERE name IN ({marks})", wanted
    ).fetchall()
    return {name: from_text(due) if due else None for name, due in rows}


def articles_fetched_since(archive: Archive, source: str, since: datetime) -> int:
    """Return how many articles of *source* were fetched from *since* on (adaptive polling)."""
    (count,) = archive.conn.execute(
        "SELECT count(*) FROM articles WHERE source = ? AND fetched >= ?", [source, to_text(since)]
    ).fetchone()
    return int(count)
