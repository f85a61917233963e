"""Alert records: which flagged stories are owed an alert, and what became of each one.

One row per topic, story and target (a unique index), so the outlets that carry one wire
story make one alert. A row is ``pending`` when queued, ``sent`` once delivered (never sent
again), and ``failed`` after a failed attempt, to be tried again after the next crawl.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from monitor.archive.story import dated
from monitor.timeutil import to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive


class AlertStatus(StrEnum):
    """Where an alert stands; the text is what the ``alerts.status`` column holds."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class FlaggedStory(NamedTuple):
    """A story a topic flagged, and the copy that stands for it in an alert."""

    cluster_id: int
    article_id: int


@dataclass(frozen=True)
class PendingAlert:
    """An alert not yet delivered, with what its message says about the story."""

    id: int
    topic: str
    target: str
    article_id: int
    title: str
    url: str
    source: str
    date: str  # the copy's date as stored: published, or fetched without one
    snippet: str | None
    score: float | None
    outlets: int  # how many sources carry the story


@dataclass(frozen=True)
class FailedAlert:
    """The latest alert that could not be delivered."""

    topic: str
    target: str
    attempts: int
    error: str | None


@dataclass(frozen=True)
class AlertCounts:
    """How many alerts stand in each status, and the latest failure."""

    sent: int
    pending: int
    failed: int
    last_failure: FailedAlert | None


def flagged_since(
    archive: Archive, topic: str, since: datetime, min_score: float = 0.0
) -> list[FlaggedStory]:
    """Return the clustered stories *topic* flagged from *since* on with a copy scored
    *min_score* or more, each by its first such copy."""
    rows = archive.conn.execute(
        """
        SELECT a.cluster_id, min(a.id) FROM flags f JOIN articles a ON a.id = f.article_id
        WHERE f.topic = ? AND f.created >= ? AND f.score >= ? AND a.cluster_id IS NOT NULL
        GROUP BY a.cluster_id
        """,
        [topic, to_text(since), min_score],
    ).fetchall()
    return [FlaggedStory(int(cluster), int(article)) for cluster, article in rows]


def queue(
    archive: Archive,
    topic: str,
    stories: Iterable[FlaggedStory],
    targets: Iterable[str],
    now: datetime,
) -> int:
    """Queue an alert for each story and target that has none yet; return how many were new."""
    stories = list(stories)
    created = to_text(now)
    queued = 0
    with archive.writing() as db:
        for target in targets:
            before = db.conn.total_changes
            db.conn.executemany(
                "INSERT OR IGNORE INTO alerts (topic, cluster_id, article_id, target, "
                "status, attempts, created) VALUES (?, ?, ?, ?, ?, 0, ?)",
                [
                    (topic, story.cluster_id, story.article_id, target, AlertStatus.PENDING,
                     created)
                    for story in stories
                ],
            )  # fmt: skip
            queued += db.conn.total_changes - before
    return queued


def retarget(archive: Archive, topic: str, old: str, new: str) -> int:
    """Make the alerts of *topic* to *old* alerts to *new*; return how many rows changed.

    Archives written before alert URLs were kept as written hold them with their secrets
    filled in; this puts the written form back. A row that *new* already has is dropped.
    Called after every crawl: it reads first, and takes the write lock only when an old
    row is there.
    """
    found = archive.conn.execute(
        "SELECT 1 FROM alerts WHERE topic = ? AND target = ? LIMIT 1", (topic, old)
    ).fetchone()
    if found is None:
        return 0
    with archive.writing() as db:
        before = db.conn.total_changes
        db.conn.execute(
            "UPDATE OR IGNORE alerts SET target = ? WHERE topic = ? AND target = ?",
            (new, topic, old),
        )
        db.conn.execute("DELETE FROM alerts WHERE topic = ? AND target = ?", (topic, old))
        return db.conn.total_changes - before


def undelivered(archive: Archive) -> list[PendingAlert]:
    """Return every alert not yet sent, oldest first, with its story's details."""
    rows = archive.conn.execute(
        f"""
        SELECT al.id, al.topic, al.target, al.article_id, a.title, a.url, a.source,
               {dated("a")}, f.snippet, f.score,
               (SELECT count(DISTINCT o.source) FROM articles o WHERE o.cluster_id = al.cluster_id)
        FROM alerts al JOIN articles a ON a.id = al.article_id
        LEFT JOIN flags f ON f.article_id = al.article_id AND f.topic = al.topic
        WHERE al.status != ? ORDER BY al.id
        """,
        [AlertStatus.SENT],
    ).fetchall()
    return [PendingAlert(*row) for row in rows]


def mark_sent(archive: Archive, alert_id: int, now: datetime) -> None:
    """Record that an alert was delivered at *now*; it is never sent again."""
    with archive.writing() as db:
        db.execute(
            "UPDATE alerts SET status = ?, attempts = attempts + 1, sent = ?, "
            "last_error = NULL WHERE id = ?",
            [AlertStatus.SENT, to_text(now), alert_id],
        )


def mark_failed(archive: Archive, alert_id: int, error: str) -> None:
    """Record a failed attempt to deliver an alert, and why."""
    with archive.writing() as db:
        db.execute(
            "UPDATE alerts SET status = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
            [AlertStatus.FAILED, error, alert_id],
        )


def counts(archive: Archive) -> AlertCounts:
    """Return how many alerts stand in each status, and the latest failure (for status)."""
    by_status = dict(
        archive.conn.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall()
    )
    failing = archive.conn.execute(
        "SELECT topic, target, attempts, last_error FROM alerts WHERE status = ? "
        "ORDER BY id DESC LIMIT 1",
        [AlertStatus.FAILED],
    ).fetchone()
    return AlertCounts(
        sent=by_status.get(AlertStatus.SENT, 0),
        pending=by_status.get(AlertStatus.PENDING, 0),
        failed=by_status.get(AlertStatus.FAILED, 0),
        last_failure=None if failing is None else FailedAlert(*failing),
    )
