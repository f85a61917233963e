"""The daemon behind ``wirewatch run``: APScheduler 3.x runs the jobs here; their triggers
are in monitor.collection.triggers, and which due sources go now in .dispatch.

Each source has a job, on its interval (with jitter) or its cron line. A job only marks its
source due; a dispatcher then crawls the due sources together, in child processes (one
per group of hosts, at most one per core), so 500 sources due at once do not start 500
processes, and a source is never crawled twice at once: due again while it runs, it waits
for the next round (missed runs are coalesced). Backoff and server hints recorded in the
archive can put a source off beyond its schedule.

SIGTERM or SIGINT stops it: running crawls get a grace period, then their process groups
are killed, and their runs are recorded as interrupted. SIGHUP reloads the config; an
invalid one is logged and the old one kept.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.archive import Archive, SourceStatus
from monitor.archive import schedule as book
from monitor.collection.cycle import run_cycle
from monitor.collection.dispatch import ready_sources
from monitor.collection.result import CycleResult
from monitor.collection.triggers import (
    JITTER_SHARE,
    MAX_JITTER,
    WEEK,
    adaptive_interval,
    describe,
    trigger_for,
)
from monitor.config import Config, Source, load
from monitor.errors import ConfigError, CrawlError, WirewatchError
from monitor.lock import ArchiveLock, LockRole
from monitor.timeutil import utcnow

logger = logging.getLogger(__name__)

HEARTBEAT = 30.0
RECHECK_EVERY = 300.0  # seconds between looks for flagged stories due to be read again
STOP_GRACE = 8.0  # seconds running crawls get to finish when the daemon stops


@dataclass
class _Crawl:
    names: list[str]
    slots: int
    task: asyncio.Task[None]


class Daemon:
    """One ``wirewatch run``: schedules, dispatches crawls, and stops cleanly."""

    def __init__(
        self,
        config_path: Path,
        *,
        workers: int | None = None,
        grace: float = STOP_GRACE,
        metrics_port: int | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config_path = config_path
        self.config: Config = load(config_path)
        self.workers = workers or self.config.crawl.workers
        self.grace = grace
        self.metrics_port = metrics_port
        self.clock = clock
        self.due: set[str] = set()
        self.running: dict[str, _Crawl] = {}
        self.intervals: dict[str, float] = {}
        self.cancel = threading.Event()
        self._stopping = False
        self._rechecking: asyncio.Task[None] | None = None  # a round of re-checks running

    def run(self) -> None:
        """Run until SIGTERM or SIGINT stops it."""
        with ArchiveLock(self.config.archive, LockRole.DAEMON).acquire():
            asyncio.run(self._main())

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        self.stopped = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        self.scheduler = AsyncIOScheduler(
            event_loop=loop,
            timezone="UTC",
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        self.scheduler.add_listener(
            self._job_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR
        )
        with Archive.open(self.config.archive) as archive:
            self._record_start(archive)
            self._schedule(archive)
            self._due_after_restart(archive)
        self.scheduler.add_job(
            self._heartbeat, IntervalTrigger(seconds=HEARTBEAT), id="wirewatch-heartbeat"
        )
        self.scheduler.add_job(
            self._recheck,
            IntervalTrigger(seconds=RECHECK_EVERY),
            id="wirewatch-rechecks",
            next_run_time=self.clock(),  # stories that fell due while no daemon ran go first
        )
        self.scheduler.start()
        if self.metrics_port is not None:
            from monitor.metrics import serve_metrics

            serve_metrics(self.config.archive, self.metrics_port)
        logger.info(
            "wirewatch run started: %d sources, archive %s, up to %d crawl processes (PID %d)",
            len(self.config.sources), self.config.archive, self.workers, os.getpid(),
        )  # fmt: skip
        self.wake.set()  # sources due since before the start go at once
        try:
            await self._dispatch()
        finally:
            self.scheduler.shutdown(wait=False)
            await self._finish_crawls()
            with Archive.open(self.config.archive) as archive:
                book.record_stop(archive, self.clock())
            logger.info("wirewatch run stopped")

    # Signals ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop taking new crawls; give running ones the grace period, then kill them."""
        if self._stopping:
            return
        self._stopping = True
        logger.info("stopping: running crawls get %.0fs to finish", self.grace)
        self.cancel.set()
        self.stopped.set()
        self.wake.set()

    def reload(self) -> None:
        """Apply the config file again; keep the old one if the new one is invalid."""
        try:
            config = load(self.config_path)
        except ConfigError as error:
            for line in str(error).splitlines():
                logger.error("reload refused, the old config stays: %s", line)
            return
        if config.archive != self.config.archive:
            logger.error(
                "reload refused: archive changed to %s; restart wirewatch run to change it",
                config.archive,
            )
            return
        before = {source.name: source for source in self.config.sources}
        after = {source.name: source for source in config.sources}
        self.config = config
        with Archive.open(config.archive) as archive:
            changed = self._schedule(archive, before)
        for name in set(before) - set(after):
            self.due.discard(name)
        added = len(set(after) - set(before))
        removed = len(set(before) - set(after))
        self.due |= set(after) - set(before)  # new sources are collected at once
        logger.info(
            "config reloaded: %d sources added, %d removed, %d rescheduled", added, removed, changed
        )
        self.wake.set()

    # Scheduling ------------------------------------------------------------------------------

    def _schedule(self, archive: Archive, before: dict[str, Source] | None = None) -> int:
        """Give every source its job; drop the jobs of removed ones. Return how many changed."""
        wanted = {source.name: source for source in self.config.sources}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("source:") and job.id[7:] not in wanted:
                job.remove()
                self.intervals.pop(job.id[7:], None)
                book.forget_schedule(archive, job.id[7:])
        changed = 0
        for name, source in wanted.items():
            interval = self._interval(archive, source)
            old = (before or {}).get(name)
            same = (
                old is not None
                and self.intervals.get(name) == interval
                and (old.cron, old.timezone, old.adaptive) == (source.cron, source.timezone,
                                                                source.adaptive)
            )  # fmt: skip
            if same and self.scheduler.get_job(f"source:{name}"):
                continue
            changed += old is not None
            self.intervals[name] = interval
            self.scheduler.add_job(
                self._mark_due,
                trigger_for(source, interval),
                args=[name],
                id=f"source:{name}",
                name=describe(source, interval),
                replace_existing=True,
            )
        self._write_schedule(archive)
        return changed

    def _interval(self, archive: Archive, source: Source) -> float:
        if not source.adaptive:
            return source.interval
        since = self.clock() - timedelta(seconds=WEEK)
        return adaptive_interval(book.articles_fetched_since(archive, source.name, since))

    def _due_after_restart(self, archive: Archive) -> None:
        """Sources never read, or whose next poll passed while no daemon ran, are due now."""
        now = self.clock()
        due = book.next_due(archive, [source.name for source in self.config.sources])
        for source in self.config.sources:
            when = due.get(source.name)
            if when is None or when <= now:
                self.due.add(source.name)

    async def _mark_due(self, name: str) -> None:
        self.due.add(name)
        self.wake.set()

    def _job_event(self, event: Any) -> None:
        if event.code == EVENT_JOB_MISSED:
            logger.info("%s: missed a run (the machine slept?); it runs once now", event.job_id)
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            logger.warning("%s: still running when due again; skipped", event.job_id)
        elif event.code == EVENT_JOB_ERROR:
            logger.error("%s: %s", event.job_id, event.exception)

    # Dispatching ------------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        while not self.stopped.is_set():
            await self.wake.wait()
            self.wake.clear()
            await asyncio.sleep(0.2)  # let sources due at the same moment gather
            if self.stopped.is_set():
                break
            self._launch()

    def _launch(self) -> None:
        if self._rechecking is not None:
            return  # re-checks read the sources' sites: no crawl reads them at the same time
        crawls = {id(crawl): crawl for crawl in self.running.values()}
        free = self.workers - sum(crawl.slots for crawl in crawls.values())
        waiting = self.due - set(self.running)
        if not waiting or free <= 0:
            return
        candidates = waiting | (self._due_soon() - set(self.running))
        taken = self._ready(candidates)
        # Taken or put off, a candidate leaves the due set: a put-off source's job marks it
        # due again when it next fires.
        self.due -= candidates
        ready = sorted(taken)
        if not ready:
            return
        hosts = {source.url.split("/")[2] for source in self.config.sources if source.name in taken}
        slots = max(1, min(free, len(hosts)))
        crawl = _Crawl(ready, slots, asyncio.create_task(self._crawl(ready, slots)))
        for name in ready:
            self.running[name] = crawl

    def _due_soon(self) -> set[str]:
        """Return the sources whose jobs fire within their jitter from now.

        Jitter spreads one round of sources over up to MAX_JITTER seconds. Launched as they
        fire, the first few would take every worker and the rest wait for that crawl to end:
        measured at 2,000 sources, a round became 2 to 3 crawls one after another, each
        starting processes and reading robots.txt again. Taking them now moves a poll earlier
        by no more than its jitter; their jobs, when they fire, find them polled.
        """
        now = self.clock()
        soon = set()
        for job in self.scheduler.get_jobs():
            name = job.id.removeprefix("source:")
            interval = self.intervals.get(name)
            next_run = getattr(job, "next_run_time", None)  # unset until the start
            if interval is None or next_run is None or isinstance(job.trigger, CronTrigger):
                continue  # the heartbeat, or a cron line, which has no jitter
            if (next_run - now).total_seconds() <= min(interval * JITTER_SHARE, MAX_JITTER):
                soon.add(name)
        return soon

    def _ready(self, names: set[str]) -> set[str]:
        """Return the sources of *names* that neither backoff nor a server hint puts off now."""
        with Archive.open(self.config.archive) as archive:
            due = book.next_due(archive, names)
        intervals = {
            source.name: self.intervals.get(source.name, source.interval)
            for source in self.config.sources
        }
        return ready_sources(names, intervals, due, self.clock())

    async def _crawl(self, names: list[str], slots: int) -> None:
        config = self.config
        try:
            result = await asyncio.to_thread(
                run_cycle, config, names, workers=slots, cancel=self.cancel, grace=self.grace
            )
            self._log_result(result)
        except CrawlError as error:
            logger.error("crawl of %s could not run: %s", ", ".join(names), error)
        except WirewatchError as error:  # an expected failure, such as a full disk: one line
            logger.error("crawl of %s failed: %s", ", ".join(names), error)
        except Exception:
            logger.exception("crawl of %s failed", ", ".join(names))
        finally:
            for name in names:
                self.running.pop(name, None)
            await asyncio.to_thread(self._after_crawl)
            if not self._stopping:
                self.wake.set()

    def _after_crawl(self) -> None:
        """Checkpoint the WAL, follow adaptive intervals, and note the schedule."""
        with Archive.open(self.config.archive) as archive:
            archive.checkpoint()
            if any(source.adaptive for source in self.config.sources) and not self._stopping:
                before = {source.name: source for source in self.config.sources}
                self._schedule(archive, before)
            else:
                self._write_schedule(archive)

    def _log_result(self, result: CycleResult) -> None:
        failed = [
            f"{o.source} ({o.error_class})"
            for o in result.outcomes
            if o.status == SourceStatus.FAILED
        ]
        logger.info(
            "crawl run %d %s: %d sources, %d new, %d flagged, %d failed%s in %.1fs",
            result.run_id, result.status, len(result.outcomes), result.new, result.flagged,
            len(failed), f" [{', '.join(failed)}]" if failed else "", result.seconds,
            extra={"run_id": result.run_id, "status": result.status, "new": result.new,
                   "flagged": result.flagged, "failed": len(failed),
                   "sources": [o.source for o in result.outcomes]},
        )  # fmt: skip

    async def _finish_crawls(self) -> None:
        tasks = {crawl.task for crawl in self.running.values()}
        if self._rechecking is not None:
            tasks.add(self._rechecking)
        if tasks:
            await asyncio.wait(tasks, timeout=self.grace + 10)

    # Re-checks of flagged stories -------------------------------------------------------------

    async def _recheck(self) -> None:
        """Read the flagged stories that are due again (monitor.collection.rechecks).

        Between crawls, never beside one, so a site is read by one process at a time and
        its per-host limits hold; crawls wait while it runs. The child has the crawl's hard
        timeout, and stopping the daemon stops it as it stops a crawl.
        """
        if not self.config.recheck.after:
            return
        if not await asyncio.to_thread(self._rechecks_due):
            # No page to read: only the change alerts that failed before are tried again.
            await asyncio.to_thread(self._run_rechecks)
            return
        while self.running and not self._stopping:
            await asyncio.sleep(0.5)
        if self._stopping:
            return
        self._rechecking = asyncio.ensure_future(asyncio.to_thread(self._run_rechecks))
        try:
            await self._rechecking
        finally:
            self._rechecking = None
            if not self._stopping:
                self.wake.set()

    def _rechecks_due(self) -> bool:
        from monitor.collection.rechecks import pick

        with Archive.open(self.config.archive) as archive:
            return bool(pick(self.config, archive, self.clock(), everything=False))

    def _run_rechecks(self) -> None:
        from monitor.collection.rechecks import run_rechecks

        try:
            result = run_rechecks(
                self.config, clock=self.clock, cancel=self.cancel, grace=self.grace
            )
        except WirewatchError as error:
            logger.error("re-checks failed: %s", error)
            return
        except Exception:
            logger.exception("re-checks failed")
            return
        if result.checked:
            logger.info(
                "re-checked %d flagged stories: %d changes%s",
                result.checked, len(result.changes),
                f" ({result.error})" if result.error else "",
            )  # fmt: skip

    # Status ------------------------------------------------------------------------------------

    def _record_start(self, archive: Archive) -> None:
        book.record_start(
            archive,
            pid=os.getpid(),
            host=socket.gethostname(),
            config=self.config_path,
            now=self.clock(),
        )

    async def _heartbeat(self) -> None:
        await asyncio.to_thread(self._beat)

    def _beat(self) -> None:
        with Archive.open(self.config.archive) as archive:
            book.record_beat(archive, self.clock())
            self._write_schedule(archive)

    def _write_schedule(self, archive: Archive) -> None:
        book.replace_schedule(
            archive,
            [
                # next_run_time is unset until the scheduler starts
                book.PlannedPoll(job.id[7:], getattr(job, "next_run_time", None), job.name)
                for job in self.scheduler.get_jobs()
                if job.id.startswith("source:")
            ],
        )
