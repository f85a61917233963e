"""Health alerts: say once, through the topics' alert channels, when the crawl itself fails.

After each crawl the sources' health is read from the archive and two conditions are
checked (``health:`` in the config):

- **every source failing**: the latest finished attempt of every configured source failed,
  which more often means this machine is offline than that every site is down;
- **a source failing too long**: one source has failed, with no success between, for longer
  than ``health.failing_for``.

Each stretch of a condition (an episode) raises one alert, sent to every target the
``alerts:`` section names, once; the archive keeps it open until the condition ends (the
source reads well again), so the next crawl, or a restarted daemon, says nothing more, and
a later failure is a new episode. :func:`assess` decides this from what it is given,
``now`` included; :func:`check` reads the archive, records and sends.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitor import episodes
from monitor.alerts import Notifier
from monitor.archive import Archive
from monitor.archive import health_alerts as book
from monitor.archive.health_alerts import Episode, SourceHealth
from monitor.config.health import HealthSettings
from monitor.episodes import send_owed
from monitor.events import UNREACHED

logger = logging.getLogger(__name__)

ERROR_CHARS = 300  # a site's error text quoted in an alert, at most
# The daemon's crawls finish in threads of their own: one checks at a time, so two never
# raise, or send, one episode twice.
Alarm = episodes.Alarm[Episode]  # an episode of this module's kind, to alert
_CHECKING = threading.Lock()


class Condition(StrEnum):
    """What a health alert is about; the text is what ``health_alerts.condition`` holds."""

    ALL_FAILED = "all_failed"
    FAILING = "failing"


@dataclass(frozen=True)
class Verdict:
    """What one health check decided: episodes to alert now, and episodes that ended."""

    raised: list[Alarm]
    cleared: list[Episode]


def assess(
    sources: Sequence[SourceHealth],
    open_episodes: Set[Episode],
    settings: HealthSettings,
    now: datetime,
) -> Verdict:
    """Decide which health episodes begin an alert and which have ended, at *now*.

    *sources* is the health of every configured source; *open_episodes*
    the episodes already alerted and not cleared. A pure decision: nothing is read or sent.
    """
    ongoing: dict[tuple[str, str], datetime] = {}  # each condition's stretch, alerted or not
    due: dict[tuple[str, str], Alarm] = {}
    failing = [source for source in sources if source.failing_since is not None]
    if sources and len(failing) == len(sources):
        since = max(_since(source) for source in failing)
        ongoing[Condition.ALL_FAILED, ""] = since
        if settings.all_failed:
            episode = Episode(Condition.ALL_FAILED, "", since)
            due[Condition.ALL_FAILED, ""] = Alarm(episode, *_all_failed_message(failing))
    for source in failing:
        since = _since(source)
        ongoing[Condition.FAILING, source.name] = since
        limit = settings.failing_for
        if limit is not None and (now - since).total_seconds() >= limit:
            episode = Episode(Condition.FAILING, source.name, since)
            due[Condition.FAILING, source.name] = Alarm(episode, *_failing_message(source, now))
    cleared = [
        episode
        for episode in open_episodes
        if ongoing.get((episode.condition, episode.subject)) != episode.since
    ]
    raised = [alarm for alarm in due.values() if alarm.episode not in open_episodes]
    return Verdict(raised, sorted(cleared))


def _since(source: SourceHealth) -> datetime:
    assert source.failing_since is not None
    return source.failing_since


def _all_failed_message(failing: Sequence[SourceHealth]) -> tuple[str, str]:
    every = len(failing)
    classes = Counter(source.error_class or "error" for source in failing)
    counted = ", ".join(f"{name} {count}" for name, count in classes.most_common())
    noun = "source" if every == 1 else "sources"
    title = f"[wirewatch] all {every} {noun} failed in the last run"
    if set(classes) <= UNREACHED:  # no server answered: the network here, more likely
        body = f"all {every} {noun} failed in the last run: is this machine offline? ({counted})"
    else:
        body = f"all {every} {noun} failed in the last run: none could be read ({counted})"
    return title, f"{body}\nwirewatch status"


def _failing_message(source: SourceHealth, now: datetime) -> tuple[str, str]:
    since = _since(source)
    lasted = _rounded((now - since).total_seconds())
    title = f"[wirewatch] source {source.name} has failed for {lasted}"
    attempts = "1 attempt" if source.failures == 1 else f"{source.failures} attempts in a row"
    error = _quoted(f"{source.error_class or 'error'}: {source.error or 'no message'}")
    body = (
        f"source {source.name} has failed for {lasted} (since "
        f"{since:%Y-%m-%d %H:%M} UTC, {attempts}): {error}"
    )
    return title, f"{body}\nwirewatch status"


def _rounded(seconds: float) -> str:
    """Return a time of failing as a person says it: 40 min, 7 h, 3 d 4 h."""
    if seconds >= 86400:
        days, hours = divmod(int(seconds // 3600), 24)
        return f"{days} d {hours} h" if hours else f"{days} d"
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h"
    return f"{max(1, round(seconds / 60))} min"


def _quoted(text: str) -> str:
    """Return a site's error text fit to quote: one line, printable, and short."""
    flat = "".join(char if char.isprintable() else " " for char in text)
    flat = " ".join(flat.split())
    return flat if len(flat) <= ERROR_CHARS else flat[: ERROR_CHARS - 1].rstrip() + "…"


def alert_targets(alerts: Mapping[str, list[str]]) -> list[str]:
    """Return every target the topics' alerts name, once each, in the config's order."""
    return list(dict.fromkeys(target for urls in alerts.values() for target in urls))


def check(
    archive: Archive,
    sources: Iterable[str],
    settings: HealthSettings,
    targets: Sequence[str],
    now: datetime,
    notify: Notifier | None = None,
) -> tuple[int, int]:
    """Raise and clear the health episodes of *sources*, send what is owed; (sent, failed)."""
    if not targets:
        return 0, 0
    with _CHECKING:
        verdict = assess(
            book.source_health(archive, list(sources)), book.open_episodes(archive), settings, now
        )
        book.clear_episodes(archive, verdict.cleared, now)
        for alarm in verdict.raised:
            logger.warning(
                "health alert, sent once to each alert target: %s", alarm.body.splitlines()[0]
            )
            book.raise_episode(archive, alarm.episode, alarm.title, alarm.body, targets, now)
        return send_owed(archive, book.TABLE, targets, now, notify, kind="health")
