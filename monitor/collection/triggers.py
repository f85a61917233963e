"""When each source is polled: APScheduler 3.x triggers for an interval or a cron line.

Both triggers are APScheduler's own, corrected where measured wrong: a cron line in a zone
with DST never goes back in time, and an interval keeps its pace instead of drifting.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Source

JITTER_SHARE = 0.1  # of a source's interval, up to MAX_JITTER seconds
MAX_JITTER = 30.0
ADAPTIVE_RANGE = (300.0, 86400.0)  # an adaptive interval stays between 5 min and 24 h
WEEK = 7 * 86400.0


class ZonedCronTrigger(CronTrigger):  # type: ignore[misc]  # APScheduler 3 is untyped
    """A cron trigger in a time zone with DST that never goes back in time.

    On the night clocks fall back, APScheduler 3.11's CronTrigger turns a wall time of the
    repeated hour into its first occurrence, even after that has passed: ``30 2 * * *`` in
    Europe/Berlin gave 00:30Z, 01:30Z, then 01:30Z again, and ``*/30 * * * *`` went from
    01:00Z back to 00:30Z. The scheduler asks for fire times until one is in the future, so
    that loop froze the daemon. Here a wall time of a repeated hour fires at each of its
    two occurrences, once, and a time skipped when clocks spring forward fires an hour late.
    """

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        if previous_fire_time is None:
            return fire
        floor = previous_fire_time.astimezone(UTC)
        for _ in range(3):
            if fire is None or fire.astimezone(UTC) > floor:
                return fire
            second = fire.replace(fold=1)  # the wall time's later occurrence
            if second.astimezone(UTC) > floor:
                return second
            fire = super().get_next_fire_time(None, floor + timedelta(microseconds=1))
        return fire if fire is not None and fire.astimezone(UTC) > floor else None


def cron_trigger(expression: str, timezone: str) -> ZonedCronTrigger:
    """Return the trigger of a 5-field cron line read in *timezone* (never the host's)."""
    trigger = ZonedCronTrigger.from_crontab(expression, timezone=timezone)
    assert isinstance(trigger, ZonedCronTrigger)
    return trigger


def adaptive_interval(items_last_week: int) -> float:
    """Return a week divided by the last week's items, clamped to ADAPTIVE_RANGE."""
    low, high = ADAPTIVE_RANGE
    if items_last_week <= 0:
        return high
    return min(high, max(low, WEEK / items_last_week))


class SteadyIntervalTrigger(IntervalTrigger):  # type: ignore[misc]  # APScheduler 3 is untyped
    """An interval trigger whose jitter does not add up from one run to the next.

    APScheduler 3.11's IntervalTrigger adds the interval to the previous *jittered* fire
    time, so the jitter is a random walk: each source drifts by half its jitter a round on
    average, and sources on the same interval spread further apart every round (at 2,000
    sources, 9 s of jitter spread a round over 25 s by the fifth). Here the n-th fire is
    the start plus n intervals, plus fresh jitter: sources due together stay together.
    """

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is None:
            first: datetime | None = super().get_next_fire_time(None, now)
            return first
        start = self.start_date.timestamp()
        length = float(self.interval_length)
        # The jitter is below one interval, so the previous fire lies in its own slot.
        slot = (previous_fire_time.timestamp() - start) // length + 1
        jitter = random.uniform(0, self.jitter) if self.jitter else 0.0  # noqa: S311 - not secret
        fire = start + slot * length + jitter
        if self.end_date and fire > self.end_date.timestamp():
            return None
        return datetime.fromtimestamp(fire, tz=self.timezone)


def trigger_for(source: Source, interval: float) -> Any:
    jitter = min(interval * JITTER_SHARE, MAX_JITTER)
    if source.cron:
        return cron_trigger(source.cron, source.timezone)
    return SteadyIntervalTrigger(seconds=interval, jitter=int(jitter) or None)


def describe(source: Source, interval: float) -> str:
    if source.cron:
        return f"cron {source.cron} ({source.timezone})"
    return f"every {interval:g}s" + (" (adaptive)" if source.adaptive else "")
