"""A crawl worker (``wirewatch worker``): takes jobs from Redis and crawls them, here.

Each job is crawled by a ``python -m crawler --job -`` child, as the daemon crawls on one
machine: in its own session, with the same parsing, extraction and matching, and killed when
its time (``crawl.cycle_timeout``) is up. The child never opens the archive; every archive
write it makes arrives here as a ``result`` event, and is passed on to the run's stream in
Redis as it comes, so a pipe full of a slow Redis slows the crawl rather than losing a
write. When the child has ended and everything it wrote is in Redis, the worker says the
job is done and acknowledges it.

A worker killed at any moment loses nothing: its jobs stay pending in Redis and, once the
worker stops touching them, the next worker to look takes them over and crawls them again
(the daemon archives what was already sent only once). A worker stopped with SIGTERM or
Ctrl-C stops its children and hands its jobs back at once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from monitor import events
from monitor.archive import RunStatus
from monitor.cluster import wire
from monitor.cluster.queue import Queue, Taken
from monitor.collection.children import CrawlChild
from monitor.config import Config, Source

logger = logging.getLogger(__name__)

SEND_TRIES = 30  # a result is sent again, a second apart, before its job is given up here


def default_name() -> str:
    """Return a worker name that is unique on this cluster: host and process."""
    return f"{socket.gethostname()}.{os.getpid()}"


class JobChild(CrawlChild):
    """The crawl child of one job: the plan made here, the job and Redis on its stdin."""

    def __init__(self, config: Config, sources: list[Source], job: wire.Job, queue: Queue) -> None:
        self.job = job
        self.queue = queue
        self.lost: str | None = None  # a result that could not be sent: the job is not done
        super().__init__(config, sources, job.run_id, self.relay, "WARNING", None)

    def arguments(self) -> list[str]:
        """The crawl child's arguments, reading a job (``--job -``) instead of a plan."""
        return [("--job" if word == "--plan" else word) for word in super().arguments()]

    def payload(self) -> str:
        assert self.config.cluster is not None
        return json.dumps(
            {
                "plan": json.loads(self.config.plan(self.sources).to_json()),
                "job": dataclasses.asdict(self.job),
                "redis": self.config.cluster.redis,
                "prefix": self.config.cluster.prefix,
            },
            ensure_ascii=False,
        )

    def relay(self, event: events.Event) -> None:
        """Pass one event of the child on to the run's results in Redis."""
        if isinstance(event, events.Finished | events.Fatal):
            return  # kept by the child's reader and sent with the job's end
        if isinstance(event, events.Result):
            text = wire.result(event.op, **event.args)
        else:
            text = wire.result("event", event=event.kind, **dataclasses.asdict(event))
        self.send(text)

    def send(self, text: str) -> None:
        if self.lost is not None:
            return
        for attempt in range(SEND_TRIES):
            try:
                self.queue.send(self.job.run_id, text)
                return
            except (RedisError, OSError) as error:
                if attempt == SEND_TRIES - 1:
                    self.lost = str(error)
                    logger.error("job %s: results cannot reach Redis: %s", self.job.id, error)
                    return
                time.sleep(1.0)


@dataclass
class Running:
    taken: Taken
    job: wire.Job
    child: JobChild
    deadline: float


@dataclass
class Tally:
    """What a worker has done since it started, for its heartbeat."""

    jobs: int = 0
    failures: int = 0
    last_error: str | None = None
    started: float = field(default_factory=time.time)


class Worker:
    """Takes jobs from the cluster's queue and crawls up to *processes* at a time."""

    def __init__(
        self,
        config: Config,
        *,
        name: str | None = None,
        processes: int = 1,
        queue: Queue | None = None,
    ) -> None:
        assert config.cluster is not None
        self.config = config
        self.name = name or default_name()
        self.processes = processes
        self.queue = queue or Queue(config.cluster)
        self.running: dict[str, Running] = {}
        self.tally = Tally()
        self.stopping = threading.Event()
        visibility = config.cluster.visibility_timeout
        self.beat_every = min(2.0, visibility / 4)
        self._last_beat = 0.0
        self._unreachable: str | None = None

    def run(self) -> None:
        """Work until :meth:`stop` is called; Redis going away makes it wait, not fail."""
        logger.info("worker %s: taking jobs from %s", self.name, self.queue.where)
        try:
            while not self.stopping.is_set():
                try:
                    self._step()
                    if self._unreachable is not None:
                        logger.warning("worker %s: Redis answers again", self.name)
                        self._unreachable = None
                except (RedisError, OSError) as error:
                    if self._unreachable is None:
                        logger.warning("worker %s: %s", self.name, self.queue.unreachable(error))
                    self._unreachable = str(error)
                    self.stopping.wait(1.0)
        finally:
            self._shut_down()

    def stop(self) -> None:
        self.stopping.set()

    def _step(self) -> None:
        before = set(self.running)
        self._reap()
        now = time.monotonic()
        # A job that started or ended is told at once: status must not show a finished
        # crawl as running for another beat.
        if now - self._last_beat >= self.beat_every or set(self.running) != before:
            self._beat()
            self._last_beat = now
        if len(self.running) < self.processes:
            taken = self.queue.take(self.name, block_ms=200 if self.running else 1000)
            if taken is not None:
                self._start(taken)
                self._last_beat = 0.0  # beat with the new job on the next step
        else:
            self.stopping.wait(0.2)

    def _beat(self) -> None:
        self.queue.touch(self.name, [each.taken.entry for each in self.running.values()])
        for job_id, each in list(self.running.items()):
            if self.queue.is_closed(each.job.run_id):  # its run ended without it
                logger.info("job %s: its run has ended; stopping it", job_id)
                each.child.close()
                self.queue.finish(each.taken.entry)
                del self.running[job_id]
        self.queue.beat(
            self.name,
            {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "processes": self.processes,
                "crawling": sorted(s for each in self.running.values() for s in each.job.sources),
                "jobs": self.tally.jobs,
                "failures": self.tally.failures,
                "last_error": self.tally.last_error,
                "started": self.tally.started,
            },
        )

    def _start(self, taken: Taken) -> None:
        try:
            job = wire.decode_job(taken.text)
        except wire.BadMessage as error:
            logger.error("worker %s: dropped a job it cannot read: %s", self.name, error)
            self.queue.finish(taken.entry)
            return
        if self.queue.is_closed(job.run_id):
            self.queue.finish(taken.entry)
            return
        if taken.reclaimed:
            logger.warning("job %s: taken over from a worker that stopped beating", job.id)
        known = {source.name: source for source in self.config.sources}
        missing = [name for name in job.sources if name not in known]
        if missing:
            self._end(
                taken,
                job,
                RunStatus.FAILED,
                None,
                f"source {missing[0]!r} is not in {self.config.path} on worker {self.name}: "
                "give every worker the daemon's config",
                None,
            )
            return
        child = JobChild(self.config, [known[name] for name in job.sources], job, self.queue)
        child.start()
        deadline = time.monotonic() + self.config.crawl.cycle_timeout
        self.running[job.id] = Running(taken, job, child, deadline)
        logger.info("job %s: crawling %d source(s) of run %s", job.id, len(job.sources), job.run_id)

    def _reap(self) -> None:
        for job_id, each in list(self.running.items()):
            child = each.child
            status: RunStatus
            code: int | None
            error: str | None
            if not child.done():
                if time.monotonic() < each.deadline:
                    continue
                child.stop()
                status, code, error = (
                    RunStatus.TIMEOUT,
                    None,
                    f"killed after the {self.config.crawl.cycle_timeout:g}s cycle_timeout",
                )
            else:
                status, code, error = child.result()
            if not child.reader_done(10.0) or child.lost is not None:
                # Some of what it wrote may not be in Redis: leave the job to be taken again.
                logger.error("job %s: not everything reached Redis; it will run again", job_id)
                child.close()
                del self.running[job_id]
                continue
            report = dataclasses.asdict(child.finished[0]) if child.finished else None
            child.close()
            del self.running[job_id]
            self._end(each.taken, each.job, status, code, error, report)

    def _end(
        self,
        taken: Taken,
        job: wire.Job,
        status: RunStatus,
        code: int | None,
        error: str | None,
        report: dict[str, object] | None,
    ) -> None:
        self.queue.send(
            job.run_id,
            wire.result(
                "done", job=job.id, status=status.value, exit_code=code, error=error,
                finished=report, worker=self.name,
            ),
        )  # fmt: skip
        self.queue.finish(taken.entry)
        self.tally.jobs += 1
        if status != RunStatus.OK:
            self.tally.failures += 1
            self.tally.last_error = error

    def _shut_down(self) -> None:
        entries = [each.taken.entry for each in self.running.values()]
        for each in self.running.values():
            each.child.close()
        self.running.clear()
        try:
            self.queue.hand_back(self.name, entries)
            self.queue.leave(self.name)
        except (RedisError, OSError) as error:
            logger.warning("worker %s: could not hand its jobs back: %s", self.name, error)
        self.queue.close()
        logger.info("worker %s: stopped", self.name)
