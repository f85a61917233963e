"""Silence and spikes per role: say once when a kind of outlet goes quiet on a topic it
usually covers, or suddenly carries far more of it than usual.

For each topic and role, every flagged story the role carried counts once, at its first copy
of it (monitor.archive.readout). Two conditions are checked against the role's own baseline,
its mean daily count over the ``coverage.baseline_days`` before:

- **silent**: no story for ``coverage.quiet_days``, where the baseline is at least
  ``coverage.quiet_min_daily`` a day;
- **spike**: the current UTC day has at least ``coverage.spike_min`` stories and
  ``coverage.spike_factor`` times the baseline.

Until the archive holds a topic's flagged stories from before the baseline began, nothing is
said about it: a new archive raises no alarm. Each stretch of a condition is an episode,
alerted once through the alert targets and kept open in the archive until it ends.
:func:`assess` decides from what it is given, ``now`` included; :func:`check` reads, records
and sends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from monitor import episodes
from monitor.alerts import Notifier
from monitor.archive import Archive
from monitor.archive import coverage_alerts as book
from monitor.archive.coverage_alerts import Episode
from monitor.archive.readout import StoryCopies, first_flagged, flagged_copies
from monitor.config.coverage import CoverageSettings
from monitor.episodes import send_owed
from monitor.readout import Roles, readout_of

logger = logging.getLogger(__name__)
DAY = timedelta(days=1)
Alarm = episodes.Alarm[Episode]  # an episode of this module's kind, to alert
_CHECKING = threading.Lock()  # one check at a time, so an episode is never raised twice


class Condition(StrEnum):
    """What a coverage alert is about; the text is what ``coverage_alerts.condition`` holds."""

    SILENT = "silent"
    SPIKE = "spike"


@dataclass(frozen=True)
class Verdict:
    """What one check decided: the episodes that hold now, those to alert, those ended."""

    ongoing: list[Alarm]
    raised: list[Alarm]
    cleared: list[Episode]


def assess(
    carried: Mapping[tuple[str, str], Sequence[datetime]],
    history: Mapping[str, datetime],
    topics: Iterable[str],
    roles: Iterable[str],
    open_episodes: Set[Episode],
    settings: CoverageSettings,
    now: datetime,
) -> Verdict:
    """Decide which roles are silent or spiking on which topics at *now*.

    *carried* gives, per (topic, role), when the role first carried each flagged story of
    the topic (at least the baseline's days and the quiet days back); *history*, per topic,
    its earliest flagged story; *open_episodes* those already alerted and not cleared.
    A pure decision: nothing is read or sent.
    """
    ongoing: list[Alarm] = []
    baseline = timedelta(days=settings.baseline_days)
    for topic in topics:
        began = history.get(topic)
        if began is None:
            continue
        for role in roles:
            times = carried.get((topic, role), ())
            if settings.quiet_days is not None:
                alarm = _silence(topic, role, times, began, settings, now)
                if alarm is not None:
                    ongoing.append(alarm)
            if settings.spike_factor is not None:
                day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
                if began <= day - baseline:
                    alarm = _spike(topic, role, times, day, settings, now)
                    if alarm is not None:
                        ongoing.append(alarm)
    holding = {alarm.episode for alarm in ongoing}
    raised = [alarm for alarm in ongoing if alarm.episode not in open_episodes]
    cleared = sorted(episode for episode in open_episodes if episode not in holding)
    return Verdict(ongoing, raised, cleared)


def _silence(
    topic: str,
    role: str,
    times: Sequence[datetime],
    began: datetime,
    settings: CoverageSettings,
    now: datetime,
) -> Alarm | None:
    assert settings.quiet_days is not None
    window = now - timedelta(days=settings.quiet_days)
    start = window - timedelta(days=settings.baseline_days)
    if began > start:
        return None  # not enough history yet
    if any(window <= when <= now for when in times):
        return None
    before = [when for when in times if start <= when < window]
    usual = len(before) / settings.baseline_days
    if not before or usual < settings.quiet_min_daily:
        return None
    last = max(before)
    quiet = _rounded((now - last).total_seconds())
    title = f"[wirewatch] {role} silent on {topic} for {quiet}"
    body = (
        f"{role} has carried no flagged {topic} story for {quiet} (since "
        f"{last:%Y-%m-%d %H:%M} UTC); usually {usual:.1f} a day over the "
        f"{settings.baseline_days} days before"
    )
    return Alarm(Episode(topic, role, Condition.SILENT, last), title, body + _hint(topic))


def _spike(
    topic: str,
    role: str,
    times: Sequence[datetime],
    day: datetime,
    settings: CoverageSettings,
    now: datetime,
) -> Alarm | None:
    assert settings.spike_factor is not None
    today = sum(1 for when in times if day <= when <= now)
    start = day - timedelta(days=settings.baseline_days)
    usual = sum(1 for when in times if start <= when < day) / settings.baseline_days
    if today < settings.spike_min or today < settings.spike_factor * usual:
        return None
    title = f"[wirewatch] {role} spike on {topic}: {today} stories today"
    body = (
        f"{role} carried {today} flagged {topic} stories on {day:%Y-%m-%d} (UTC), against "
        f"{usual:.1f} a day over the {settings.baseline_days} days before"
    )
    return Alarm(Episode(topic, role, Condition.SPIKE, day), title, body + _hint(topic))


def _hint(topic: str) -> str:
    return f"\nwirewatch timeline --topic {topic} --since 7d"


def _rounded(seconds: float) -> str:
    if seconds >= 86400:
        days, hours = divmod(int(seconds // 3600), 24)
        return f"{days} d {hours} h" if hours else f"{days} d"
    return f"{max(1, int(seconds // 3600))} h"


def carried_by_role(
    stories: Iterable[StoryCopies], roles: Roles
) -> dict[tuple[str, str], list[datetime]]:
    """Return, per (topic, role), when the role first carried each of *stories*."""
    found: dict[tuple[str, str], list[datetime]] = {}
    for story in stories:
        readout = readout_of(story.copies, roles)
        if readout is None:
            continue
        for role, when in readout.roles.items():
            found.setdefault((story.topic, role), []).append(when)
    return found


def current(
    archive: Archive,
    topics: Sequence[str],
    roles: Roles,
    settings: CoverageSettings,
    now: datetime,
    open_episodes: Set[Episode] = frozenset(),
) -> Verdict:
    """Read what the decision needs from the archive, and decide at *now*."""
    if not roles or not topics:
        return Verdict([], [], sorted(open_episodes))
    days = settings.baseline_days + (settings.quiet_days or 0) + 1
    stories = flagged_copies(archive, since=now - timedelta(days=days))
    history = {topic: first for topic in topics if (first := first_flagged(archive, topic))}
    return assess(
        carried_by_role(stories, roles), history, topics, list(roles.described),
        open_episodes, settings, now,
    )  # fmt: skip


def check(
    archive: Archive,
    topics: Sequence[str],
    roles: Roles,
    settings: CoverageSettings,
    targets: Sequence[str],
    now: datetime,
    notify: Notifier | None = None,
) -> tuple[int, int]:
    """Raise and clear the roles' coverage episodes, send what is owed; (sent, failed)."""
    with _CHECKING:
        verdict = current(archive, topics, roles, settings, now, book.open_episodes(archive))
        book.clear_episodes(archive, verdict.cleared, now)
        for alarm in verdict.raised:
            logger.warning("coverage alert, said once: %s", alarm.body.splitlines()[0])
            book.raise_episode(archive, alarm.episode, alarm.title, alarm.body, targets, now)
        return send_owed(archive, book.TABLE, targets, now, notify, kind="coverage")
