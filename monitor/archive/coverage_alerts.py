"""Coverage alert records: which episodes of a role falling silent, or spiking, on a topic
were raised, and their delivery to each alert target.

An episode is known by its topic, role, condition and when it began. It has one row per
target, so it is sent once to each, and one row with the empty target, which records it for
``status`` even where no alert is configured. It stays open (``cleared`` NULL) while the
condition lasts, which is what keeps the next crawl and a restarted daemon quiet.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from monitor.archive import episode_alerts
from monitor.archive.alerts import AlertStatus
from monitor.archive.episode_alerts import NO_TARGET
from monitor.timeutil import from_text, to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive

TABLE = "coverage_alerts"


class Episode(NamedTuple):
    """One stretch of a role's silence or spike on a topic, and when it began."""

    topic: str
    role: str
    condition: str
    since: datetime


def open_episodes(archive: Archive) -> set[Episode]:
    """Return every episode raised and not yet cleared."""
    return {
        Episode(topic, role, condition, from_text(since))
        for topic, role, condition, since in archive.conn.execute(
            "SELECT DISTINCT topic, role, condition, since FROM coverage_alerts "
            "WHERE cleared IS NULL"
        )
    }


def raise_episode(
    archive: Archive,
    episode: Episode,
    title: str,
    body: str,
    targets: Iterable[str],
    now: datetime,
) -> None:
    """Record an episode, pending for each target and noted for status."""
    rows = [(NO_TARGET, AlertStatus.SENT)] + [(target, AlertStatus.PENDING) for target in targets]
    with archive.writing() as db:
        db.conn.executemany(
            "INSERT OR IGNORE INTO coverage_alerts (topic, role, condition, since, target, "
            "title, body, status, attempts, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
            [
                (episode.topic, episode.role, episode.condition, to_text(episode.since),
                 target, title, body, status, to_text(now))
                for target, status in rows
            ],
        )  # fmt: skip


def clear_episodes(archive: Archive, episodes: Iterable[Episode], now: datetime) -> None:
    """Close episodes that ended; an alert of theirs not yet sent never is."""
    episodes = list(episodes)
    if not episodes:
        return
    with archive.writing() as db:
        db.conn.executemany(
            "UPDATE coverage_alerts SET cleared = ? WHERE topic = ? AND role = ? "
            "AND condition = ? AND since = ? AND cleared IS NULL",
            [(to_text(now), e.topic, e.role, e.condition, to_text(e.since)) for e in episodes],
        )


def active(archive: Archive) -> list[tuple[str, str]]:
    """Return the message and start of each open episode, oldest first (for status)."""
    if not episode_alerts.exists(archive, TABLE):
        return []  # an archive no wirewatch with coverage alerts has written yet
    return [
        (body.split("\n", 1)[0], since)
        for body, since in archive.conn.execute(
            "SELECT body, since FROM coverage_alerts WHERE cleared IS NULL AND target = ? "
            "ORDER BY since, id",
            [NO_TARGET],
        )
    ]
