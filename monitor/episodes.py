"""Delivering alerts that the archive owes: each owed alert is tried once per check and
recorded as sent or failed, so a failed one is tried again after the next crawl (or round
of re-checks) and a sent one never again. The alerts of episodes (a source failing, a
role falling silent) and of a story's changes are sent this way."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from monitor.alerts import Notifier, apprise_notifier, redact
from monitor.archive import Archive, episode_alerts

logger = logging.getLogger(__name__)

EpisodeT = TypeVar("EpisodeT")


@dataclass(frozen=True)
class Alarm(Generic[EpisodeT]):
    """An episode to alert (a health or a coverage episode), with what its message says."""

    episode: EpisodeT
    title: str
    body: str


@dataclass(frozen=True)
class Owed:
    """One alert to send: its row, its target and its message."""

    id: int
    target: str
    title: str
    body: str


def deliver(
    owed: Sequence[Owed],
    sent: Callable[[int], None],
    failed: Callable[[int, str], None],
    notify: Notifier | None = None,
    *,
    kind: str,
) -> tuple[int, int]:
    """Send each alert of *owed*, then record it by *sent* (its ID) or *failed* (its ID and
    the error); return how many were sent and how many failed. *kind* names them in the
    log ("health", "change")."""
    if not owed:
        return 0, 0
    notify = notify or apprise_notifier()
    done = missed = 0
    for alert in owed:
        error = notify(alert.target, alert.title, alert.body)
        if error is None:
            sent(alert.id)
            done += 1
            continue
        failed(alert.id, error)
        missed += 1
        logger.warning(
            "%s alert %s could not be sent to %s: %s; it is tried again later",
            kind,
            alert.id,
            redact(alert.target),
            error,
        )
    return done, missed


def send_owed(
    archive: Archive,
    table: str,
    targets: Sequence[str],
    now: datetime,
    notify: Notifier | None = None,
    *,
    kind: str,
) -> tuple[int, int]:
    """Send the episode alerts of *table* owed to *targets*; return (sent, failed)."""
    owed = [
        Owed(alert.id, alert.target, alert.title, alert.body)
        for alert in episode_alerts.undelivered(archive, table)
        if alert.target in targets
    ]
    return deliver(
        owed,
        lambda alert_id: episode_alerts.mark_sent(archive, table, alert_id, now),
        lambda alert_id, error: episode_alerts.mark_failed(archive, table, alert_id, error),
        notify,
        kind=kind,
    )
