"""What the tables of episode alerts share: ``health_alerts`` (the sources' failures) and
``coverage_alerts`` (a role's silence or spike). Each keeps one row per episode and target;
these read the rows still owed to a target and record each attempt to send one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.archive.alerts import AlertStatus
from monitor.timeutil import to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive

TABLES = ("health_alerts", "coverage_alerts")
NO_TARGET = ""  # a row that records an episode for status, sent to no one


@dataclass(frozen=True)
class PendingAlert:
    """An episode's alert not yet delivered to its target."""

    id: int
    target: str
    title: str
    body: str


def _table(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"{table!r} is not a table of episode alerts")
    return table


def undelivered(archive: Archive, table: str) -> list[PendingAlert]:
    """Return the alerts of open episodes not yet sent to their target, oldest first."""
    rows = archive.conn.execute(
        f"SELECT id, target, title, body FROM {_table(table)} "
        "WHERE status != ? AND cleared IS NULL AND target != ? ORDER BY id",
        [AlertStatus.SENT, NO_TARGET],
    ).fetchall()
    return [PendingAlert(*row) for row in rows]


def mark_sent(archive: Archive, table: str, alert_id: int, now: datetime) -> None:
    """Record that an alert was delivered at *now*; it is never sent again."""
    with archive.writing() as db:
        db.execute(
            f"UPDATE {_table(table)} SET status = ?, attempts = attempts + 1, sent = ?, "
            "last_error = NULL WHERE id = ?",
            [AlertStatus.SENT, to_text(now), alert_id],
        )


def mark_failed(archive: Archive, table: str, alert_id: int, error: str) -> None:
    """Record a failed attempt to deliver an alert, and why."""
    with archive.writing() as db:
        db.execute(
            f"UPDATE {_table(table)} SET status = ?, attempts = attempts + 1, last_error = ? "
            "WHERE id = ?",
            [AlertStatus.FAILED, error, alert_id],
        )


def exists(archive: Archive, table: str) -> bool:
    """Return True when the archive has the table (an archive no wirewatch with it wrote
    has not)."""
    found = archive.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [_table(table)]
    ).fetchone()
    return found is not None
