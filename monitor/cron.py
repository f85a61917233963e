"""Check a source's cron line with APScheduler's own trigger, and nothing else of the daemon.

Config validation needs this check; importing the daemon for it would pull in the scheduler,
the crawl runner and clustering, from the bottom of the house to its top.
"""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger


def cron_problem(expression: str, timezone: str) -> str | None:
    """Return what is wrong with a 5-field cron line read in *timezone*, or None when usable."""
    if len(expression.split()) != 5:
        return f"{expression!r} is not a 5-field cron line (use e.g. '*/15 * * * *')"
    try:
        CronTrigger.from_crontab(expression, timezone=timezone)
    except ValueError as error:
        return f"{expression!r} is not a valid cron line ({error})"
    return None
