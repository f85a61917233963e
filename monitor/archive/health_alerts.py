"""Health alert records: how each source's failures stand, and which episodes were alerted.

An episode is one stretch of a condition (every source failing, or one source failing too
long), known by its condition, its subject (the source's name, or "" for every source) and
when it began. It has one row per target, so it is sent once to each; it stays open
(``cleared`` NULL) until the condition ends, which is what keeps a restarted daemon quiet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from monitor.archive import episode_alerts
from monitor.archive.alerts import AlertStatus
from monitor.archive.runs import SourceStatus
from monitor.timeutil import from_text, to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive

TABLE = "health_alerts"


@dataclass(frozen=True)
class SourceHealth:
    """How a source's latest finished attempts went, as the health check reads them."""

    name: str
    failing_since: datetime | None  # when its failures in a row began; None if not failing
    failures: int
    error_class: str | None
    error: str | None


class Episode(NamedTuple):
    """One stretch of a health condition: what, about which source, and since when."""

    condition: str
    subject: str
    since: datetime


def source_health(archive: Archive, names: Sequence[str]) -> list[SourceHealth]:
    """Return the health of each source of *names*, in that order.

    A failing source's streak began with the first failed run after its latest success
    (or ever, if it never had one), at that run's start. A source never crawled is not
    failing: until each has had its chance, not every source has failed.
    """
    wanted = set(names)
    rows = {
        row[0]: row
        for row in archive.conn.execute(
            "SELECT name, failures, last_error_class, last_error, last_attempt FROM sources"
        )
        if row[0] in wanted
    }
    found = []
    for name in names:
        row = rows.get(name)
        if row is None:
            found.append(SourceHealth(name, None, 0, None, None))  # not failing, so far
            continue
        failures = int(row[1] or 0)
        since = None
        if failures:
            # Without the runs that failed (an archive pieced together by hand), its
            # latest attempt is the one known failure.
            since = _failing_since(archive, name) or (from_text(row[4]) if row[4] else None)
        found.append(SourceHealth(name, since, failures, row[2], row[3]))
    return found


def _failing_since(archive: Archive, source: str) -> datetime | None:
    row = archive.conn.execute(
        """
        SELECT min(ru.started) FROM run_sources r JOIN runs ru ON ru.id = r.run_id
        WHERE r.source = ? AND r.status = ? AND r.run_id > coalesce(
            (SELECT max(run_id) FROM run_sources WHERE source = ? AND status IN (?, ?)), 0)
        """,
        [source, SourceStatus.FAILED, source, SourceStatus.OK, SourceStatus.NOT_MODIFIED],
    ).fetchone()
    return from_text(row[0]) if row and row[0] else None


def open_episodes(archive: Archive) -> set[Episode]:
    """Return every episode raised and not yet cleared."""
    return {
        Episode(condition, subject, from_text(since))
        for condition, subject, since in archive.conn.execute(
            "SELECT DISTINCT condition, subject, since FROM health_alerts WHERE cleared IS NULL"
        )
    }


def raise_episode(
    archive: Archive,
    episode: Episode,
    title: str,
    body: str,
    targets: Iterable[str],
    now: datetime,
) -> int:
    """Record an episode's alert, pending, for each target without one; return how many."""
    with archive.writing() as db:
        before = db.conn.total_changes
        db.conn.executemany(
            "INSERT OR IGNORE INTO health_alerts (condition, subject, since, target, title, "
            "body, status, attempts, created) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
            [
                (episode.condition, episode.subject, to_text(episode.since), target, title,
                 body, AlertStatus.PENDING, to_text(now))
                for target in targets
            ],
        )  # fmt: skip
        return db.conn.total_changes - before


def clear_episodes(archive: Archive, episodes: Iterable[Episode], now: datetime) -> None:
    """Close episodes whose condition ended; an alert of theirs not yet sent never is."""
    episodes = list(episodes)
    if not episodes:
        return
    with archive.writing() as db:
        db.conn.executemany(
            "UPDATE health_alerts SET cleared = ? "
            "WHERE condition = ? AND subject = ? AND since = ? AND cleared IS NULL",
            [(to_text(now), e.condition, e.subject, to_text(e.since)) for e in episodes],
        )


def active(archive: Archive) -> list[tuple[str, str]]:
    """Return the title and start of each open episode, oldest first (for status)."""
    if not episode_alerts.exists(archive, TABLE):
        return []  # an archive no wirewatch with health alerts has written yet
    return [
        (title, since)
        for title, since in archive.conn.execute(
            "SELECT title, min(since) FROM health_alerts WHERE cleared IS NULL "
            "GROUP BY condition, subject, since ORDER BY min(since), min(id)"
        )
    ]
