"""What ``wirewatch status`` reads of the sources' health and of the running daemon."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from monitor.archive.runs import SourceStatus
from monitor.archive.stories import rows

if TYPE_CHECKING:
    from monitor.archive.store import Archive


class DaemonRow(NamedTuple):
    """The archive's record of ``wirewatch run``: who, since when, its last heartbeat."""

    pid: int
    host: str | None
    started: str | None
    heartbeat: str | None
    stopped: str | None


def source_rows(archive: Archive) -> list[dict[str, Any]]:
    """Return each source's record, by name, with its article count, scheduled next run,
    and how its latest finished run ended (``last_outcome``: ok, not_modified, failed or
    interrupted; None before its first)."""
    return rows(
        archive,
        """
        SELECT s.name, s.kind, s.url, s.last_attempt, s.last_success, s.next_due, s.failures,
               s.last_error_class, s.last_error,
               (SELECT count(*) FROM articles a WHERE a.source = s.name) AS articles,
               (SELECT next_run FROM schedule WHERE source = s.name) AS next_run,
               (SELECT r.status FROM run_sources r
                WHERE r.source = s.name AND r.status NOT IN (?, ?)
                ORDER BY r.run_id DESC LIMIT 1) AS last_outcome
        FROM sources s ORDER BY s.name
        """,
        [SourceStatus.RUNNING, SourceStatus.FETCHED],  # states during a run, not outcomes
    )


def new_story_times(archive: Archive, source: str, rounds: int) -> list[str]:
    """Return when *source* last brought new articles, newest first: the latest fetch time
    of each of its last *rounds* runs that brought any."""
    return [
        row[0]
        for row in archive.conn.execute(
            "SELECT max(fetched) FROM articles WHERE source = ? GROUP BY run_id "
            "ORDER BY max(fetched) DESC LIMIT ?",
            [source, rounds],
        )
    ]


def daemon_row(archive: Archive) -> DaemonRow | None:
    """Return the archive's record of the daemon, or None when none ever ran."""
    row = archive.conn.execute(
        "SELECT pid, host, started, heartbeat, stopped FROM daemon WHERE id = 1"
    ).fetchone()
    return None if row is None else DaemonRow(*row)
