"""One crawl cycle: plan the children, supervise them, record the run, then the steps after.

:func:`run_cycle` is what ``wirewatch crawl`` runs once and the daemon runs on schedule. The
work after a crawl is a list of steps (:data:`AFTER_CRAWL`), each a function of the cycle's
:class:`Aftermath`: a new step is one more function in that list, not more lines in run_cycle.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from monitor import alerts, events, health
from monitor.alerts import Delivery
from monitor.archive import Archive, RunStatus, SourceRef, SourceStatus
from monitor.archive.space import free_bytes
from monitor.clusters import cluster_new
from monitor.collection.children import (
    STOP_GRACE,
    Child,
    CrawlChild,
    EventHandler,
    serialised,
    supervise,
)
from monitor.collection.dispatch import group_by_host
from monitor.collection.result import CycleResult
from monitor.config import Config, Source
from monitor.errors import CrawlError, DiskFull, Interrupted, UsageError
from monitor.timeutil import utcnow

logger = logging.getLogger(__name__)


def select_sources(config: Config, names: Sequence[str]) -> list[Source]:
    """Return the named sources (all when *names* is empty); raise UsageError for unknown ones."""
    if not names:
        if not config.sources:
            raise UsageError(
                f"{config.path}: sources: no sources to crawl (add one under sources:)"
            )
        return list(config.sources)
    # Sets, not config.source() per name: that is a scan, and 2,000 names made this 1 s.
    known = {source.name for source in config.sources}
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(source.name for source in config.sources) or "none"
        raise UsageError(f"unknown source {unknown[0]!r} (the sources in {config.path}: {listed})")
    wanted = set(names)
    return [source for source in config.sources if source.name in wanted]


def run_cycle(
    config: Config,
    names: Sequence[str] = (),
    *,
    timeout: float | None = None,
    workers: int | None = None,
    on_event: EventHandler | None = None,
    log_level: str = "WARNING",
    log_stream: IO[str] | None = None,
    clock: Callable[[], datetime] = utcnow,
    cancel: threading.Event | None = None,
    grace: float = STOP_GRACE,
    steps: Sequence[Step] | None = None,
) -> CycleResult:
    """Crawl the named sources (or all) once in child processes and return the outcome.

    The sources are split by host into at most *workers* groups (default ``crawl.workers``),
    one child process each, so a host's politeness limits hold and every core is used.
    With ``cluster:`` in the config, crawl workers take them from Redis instead
    (monitor.collection.remote), and this process writes what they send back.
    *timeout* (default ``crawl.cycle_timeout``) is a hard limit for the whole crawl: each
    child's process group is sent SIGTERM, then SIGKILL after a grace period. Ctrl-C or
    SIGTERM to this process stops the children the same way, records the run as
    interrupted, and raises Interrupted. Setting *cancel* (from another thread) gives the
    children *grace* seconds to finish, then stops them; the run is then interrupted.

    Once the run is recorded, each of *steps* (default :data:`AFTER_CRAWL`) runs in turn.
    """
    steps = AFTER_CRAWL if steps is None else steps
    sources = select_sources(config, names)
    limit = timeout if timeout is not None else config.crawl.cycle_timeout
    groups = group_by_host(sources, workers or config.crawl.workers)
    started = clock()
    began = time.monotonic()
    with Archive.open(config.archive) as archive:
        run_id = archive.start_run(
            [SourceRef(source.name, source.kind, source.url) for source in sources],
            started,
            os.getpid(),
        )
        handler = serialised(on_event)
        children: list[Child]
        if config.cluster is not None:  # the cluster's workers crawl; this process writes
            from monitor.collection.remote import ClusterRun

            children = [ClusterRun(config, sources, run_id, archive, handler, clock=clock)]
        else:
            children = [
                CrawlChild(config, group, run_id, handler, log_level, log_stream)
                for group in groups
            ]
        status, exit_code, error = RunStatus.FAILED, None, None
        try:
            status, exit_code, error = supervise(children, run_id, limit, cancel, grace)
        except (KeyboardInterrupt, Interrupted):
            status, error = RunStatus.INTERRUPTED, "stopped by a signal"
            raise Interrupted("crawl interrupted; the run is recorded as interrupted") from None
        finally:
            for child in children:
                child.close()  # stops any child still running: none outlives the run
            outcomes = archive.finish_run(
                run_id,
                status,
                clock(),
                intervals={source.name: source.interval for source in sources},
                exit_code=exit_code,
                error=error,
            )
        if any(child.disk_full() for child in children):
            # The run is recorded as failed, its sources as interrupted: due again at once,
            # with no validators saved, so the next crawl collects what this one missed.
            raise DiskFull(config.archive, free_bytes(config.archive))
        after = Aftermath(archive, config, clock)
        for step in steps:
            step(after)
    if (
        status == RunStatus.FAILED
        and error
        and not any(o.status != SourceStatus.INTERRUPTED for o in outcomes)
    ):
        raise CrawlError(f"the crawl could not run: {error}")
    reports = [report for child in children for report in child.finished]
    return CycleResult(
        run_id,
        status,
        started,
        time.monotonic() - began,
        outcomes,
        error,
        after.delivery,
        peak_rss_mb(reports),
        cpu_by_stage(reports),
    )


def peak_rss_mb(reports: list[events.Finished]) -> float | None:
    """Return the most memory one crawl child held, in MiB, or None if none said."""
    peaks = [report.peak_rss_mb for report in reports]
    return max((float(mb) for mb in peaks if mb is not None and _number(mb)), default=None)


def cpu_by_stage(reports: list[events.Finished]) -> dict[str, float]:
    """Return the crawl children's CPU seconds summed by stage (monitor.events.STAGES)."""
    spent = dict.fromkeys(events.STAGES, 0.0) if reports else {}
    for report in reports:
        if not isinstance(report.cpu_seconds, dict):
            continue
        for stage, seconds in report.cpu_seconds.items():
            if stage in spent and _number(seconds):
                spent[stage] += float(seconds)
    return {stage: round(seconds, 3) for stage, seconds in spent.items()}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class Aftermath:
    """What the steps after a crawl work on, and what they leave for the cycle's result."""

    archive: Archive
    config: Config
    clock: Callable[[], datetime]
    delivery: Delivery | None = None  # what the alerts step sent


Step = Callable[[Aftermath], None]


def group_copies(after: Aftermath) -> None:
    """Group the new articles with their copies at other outlets into stories.

    Here, not in the crawl process: datasketch is slow to import.
    """
    cluster_new(after.archive, after.clock())


@contextlib.contextmanager
def _sent_or_logged(what: str) -> Iterator[None]:
    """Run a step that sends *what*: an alert service that fails is logged, and what was
    not sent is tried again after the next crawl; it never stops the collection. The
    archive's own trouble (a full disk) still stops it."""
    try:
        yield
    except DiskFull:
        raise
    except Exception:
        logger.exception("%s could not be sent; they are tried again after the next crawl", what)


def send_alerts(after: Aftermath) -> None:
    """Send the alerts of the stories flagged so far; a failure to send never fails the crawl."""
    if not after.config.alerts:
        return
    config = after.config
    with _sent_or_logged("alerts"):
        minimums = {name: topic.alert_score() for name, topic in config.topics.items()}
        after.delivery = alerts.dispatch(
            after.archive, config.alerts, after.clock(), min_scores=minimums
        )


def check_health(after: Aftermath) -> None:
    """Alert once when every source fails, or one fails too long; never fails the crawl."""
    config = after.config
    with _sent_or_logged("health alerts"):
        health.check(
            after.archive,
            [source.name for source in config.sources],
            config.health,
            health.alert_targets(config.alerts),
            after.clock(),
        )


def match_sanctions(after: Aftermath) -> None:
    """Find the loaded sanctions lists' names in the articles this crawl added."""
    from monitor.archive import sanctions

    sanctions.match_new(after.archive)


def check_coverage(after: Aftermath) -> None:
    """Alert once when a role goes silent on a topic, or spikes; never fails the crawl."""
    config = after.config
    if not config.roles:
        return
    from monitor import coverage
    from monitor.readout import roles_of

    with _sent_or_logged("coverage alerts"):
        coverage.check(
            after.archive,
            list(config.topics),
            roles_of(config.roles, config.source_roles()),
            config.coverage,
            health.alert_targets(config.alerts),
            after.clock(),
        )


def truncate_wal(after: Aftermath) -> None:
    """Leave the WAL truncated: cron users have no daemon to do it."""
    after.archive.checkpoint()


# The work after each crawl, in order. A new post-crawl step is a function added here.
AFTER_CRAWL: tuple[Step, ...] = (
    group_copies, send_alerts, check_health, match_sanctions, check_coverage, truncate_wal
)  # fmt: skip
