"""A run's crawl on cluster workers: its jobs go out through Redis, their writes come back.

With ``cluster:`` in the config, :func:`monitor.collection.cycle.run_cycle` hands a run's
sources to a :class:`ClusterRun` instead of starting crawl children here. It splits them,
a host's sources together, into jobs of ``cluster.batch`` sources, each with a snapshot of
what the archive knows of its sources, and queues them (monitor.cluster.queue). Workers
crawl them (monitor.collection.worker) and send back every archive write their crawl made;
this process, the archive's one writer, makes them in order, each article in one
transaction with its flags, so an article sent twice by a worker that was killed and
replaced is archived once.

To :func:`~monitor.collection.children.supervise` a ClusterRun is one more crawl child: it
is done when every job has ended, and the run's limit and cancellation hold as for a child.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from redis.exceptions import RedisError

from monitor import events
from monitor.archive import Archive, RunStatus, SourceStatus
from monitor.cluster import wire
from monitor.cluster.queue import Queue
from monitor.collection.children import EventHandler
from monitor.config import Config, Source
from monitor.errors import CrawlError, DiskFull
from monitor.timeutil import utcnow

logger = logging.getLogger(__name__)

KNOWN_PER_SOURCE = 2000  # keys and GUIDs of a source's latest stories sent with its job


def batches(sources: list[Source], size: int) -> list[list[Source]]:
    """Split *sources* into jobs of *size*, a host's sources next to each other.

    Unlike crawl children, jobs need not keep a host to themselves: every worker paces a host
    through Redis. Neighbours share a job's robots.txt and connections.
    """
    ordered = sorted(sources, key=lambda source: urlsplit(source.url).hostname or "")
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


def snapshot_of(archive: Archive, sources: list[Source]) -> wire.Snapshot:
    """Return what a worker needs to know of *sources* from the archive."""
    snapshot = wire.Snapshot()
    for source in sources:
        name = source.name
        snapshot.first[name] = archive.is_first_fetch(name)
        snapshot.validators[name] = archive.validators(name)
        snapshot.keys[name], snapshot.guids[name] = archive.known_keys(name, KNOWN_PER_SOURCE)
    return snapshot


@dataclass
class Progress:
    """What the results of a run said so far."""

    applied: int = 0
    refused: int = 0


class ClusterRun:
    """One run's jobs on the cluster, with the face of a crawl child (the module says how)."""

    def __init__(
        self,
        config: Config,
        sources: list[Source],
        run_id: int,
        archive: Archive,
        on_event: EventHandler | None,
        queue: Queue | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        assert config.cluster is not None
        self.clock = clock
        self.config = config
        self.sources = sources
        self.run_id = run_id
        self.archive = archive
        self.on_event = on_event
        self.queue = queue or Queue(config.cluster)
        self.finished: list[events.Finished] = []
        self.entries: dict[str, str] = {}  # job ID -> its entry in the jobs stream
        self.job_sources: dict[str, list[str]] = {}
        self.ended: dict[str, tuple[RunStatus, int | None, str | None]] = {}
        self.progress = Progress()
        self.stalled: str | None = None  # why the results cannot be read now
        self._after = "0-0"
        self._disk_full = False
        self._closed = False

    def start(self) -> None:
        assert self.config.cluster is not None
        try:
            for number, group in enumerate(batches(self.sources, self.config.cluster.batch)):
                job = wire.Job(
                    id=f"{self.run_id}.{number}",
                    run_id=self.run_id,
                    sources=[source.name for source in group],
                    snapshot=snapshot_of(self.archive, group),
                )
                self.entries[job.id] = self.queue.enqueue(job.to_json())
                self.job_sources[job.id] = job.sources
        except (RedisError, OSError) as error:
            raise CrawlError(str(self.queue.unreachable(error))) from None

    def done(self) -> bool:
        return self._disk_full or len(self.ended) == len(self.entries)

    def disk_full(self) -> bool:
        return self._disk_full

    def wait_briefly(self, timeout: float) -> None:
        """Read and apply the results that arrive within *timeout* seconds."""
        try:
            found = self.queue.results(self.run_id, self._after, max(1, int(timeout * 1000)))
        except (RedisError, OSError) as error:
            if self.stalled is None:
                logger.warning("run %s waits: %s", self.run_id, self.queue.unreachable(error))
            self.stalled = str(error)
            time.sleep(timeout)
            return
        if self.stalled is not None:
            logger.warning("run %s: the cluster's Redis answers again", self.run_id)
            self.stalled = None
        for entry, text in found:
            self._after = entry
            self._apply(text)
            if self._disk_full:
                return
        if found:
            with contextlib.suppress(RedisError, OSError):  # else dropped with the run
                self.queue.applied(self.run_id, self._after)

    def _apply(self, text: str) -> None:
        try:
            op, args = wire.decode_result(text)
            if op == "done":
                self._end(args)
            elif op == "event":
                self._relay(args)
            else:
                found = wire.apply(self.archive, self.run_id, op, args)
                if op == "article" and found is not None and self.on_event is not None:
                    flagged = [str(flag.get("topic")) for flag in args.get("flags", [])]
                    self.on_event(events.ArticleArchived(str(args["source"]), found, flagged))
            self.progress.applied += 1
        except wire.BadMessage as error:
            self.progress.refused += 1
            logger.warning("run %s: a worker's result was refused: %s", self.run_id, error)
        except DiskFull as error:
            logger.error("run %s: %s", self.run_id, error)
            self._disk_full = True
            self.stop()

    def _end(self, args: dict[str, object]) -> None:
        job = args.get("job")
        if not isinstance(job, str) or job not in self.entries or job in self.ended:
            return  # a job that ended already: a worker that was replaced finished it too
        try:
            status = RunStatus(str(args.get("status")))
        except ValueError:
            raise wire.BadMessage(f"job {job} ended with no known status") from None
        code = args.get("exit_code")
        error = args.get("error")
        said = error if isinstance(error, str) else "the job failed on its worker"
        if status == RunStatus.FAILED:
            # As a source that fails inside a crawl: its own error, not the whole run's.
            self._fail_unread(job, said[:2000])
            status = RunStatus.OK
        self.ended[job] = (status, code if isinstance(code, int) else None, said)
        report = args.get("finished")
        if isinstance(report, dict):
            event = events.read(json.dumps({"event": "finished", **report}))
            if isinstance(event, events.Finished):
                self.finished.append(event)

    def _fail_unread(self, job: str, error: str) -> None:
        """Record *error* for each source of *job* that its crawl never settled."""
        unread = {
            outcome.source
            for outcome in self.archive.outcomes(self.run_id)
            if outcome.status == SourceStatus.RUNNING
        }
        for source in self.job_sources.get(job, []):
            if source in unread:
                self.archive.record_source_error(self.run_id, source, "worker", error, self.clock())

    def _relay(self, args: dict[str, object]) -> None:
        event = events.read(json.dumps(args))
        if event is None or isinstance(event, events.ArticleArchived | events.Result):
            return  # an article is announced when this process has archived it
        if self.on_event is not None:
            self.on_event(event)

    def stop(self) -> None:
        """End the run in Redis: the jobs no worker took are dropped, the rest abandoned."""
        if self._closed or not self.entries:
            return  # closed already, or nothing ever reached Redis
        try:
            self.queue.close_run(self.run_id, list(self.entries.values()))
            self._closed = True
        except (RedisError, OSError) as error:
            logger.warning("run %s: could not close it in Redis: %s", self.run_id, error)

    def result(self) -> tuple[RunStatus, int | None, str | None]:
        if self._disk_full:
            return RunStatus.FAILED, None, "the archive's disk is full"
        failed = [each for each in self.ended.values() if each[0] != RunStatus.OK]
        return failed[0] if failed else (RunStatus.OK, 0, None)

    def close(self) -> None:
        self.stop()
        if self.progress.refused:
            logger.warning(
                "run %s: %d result(s) from workers refused", self.run_id, self.progress.refused
            )
        with contextlib.suppress(RedisError, OSError):  # else they expire on their own
            self.queue.forget_run(self.run_id)
        self.queue.close()
