"""The Redis side of a cluster: the job queue, each run's results, the workers' heartbeats.

Redis streams, not scrapy-redis. scrapy-redis shares a frontier of single requests between
spiders, pops them (a worker killed holding one loses it) and has no way back for results;
a wirewatch job is a batch of sources with the archive's snapshot, and what it finds must
reach the one process that writes the archive. A stream with a consumer group gives both:

- ``<prefix>:jobs``, read by the group ``workers``. A job taken stays *pending* on its worker
  until the worker acknowledges it, once the daemon has everything the crawl sent. A live
  worker touches its jobs as it beats; a job nobody touched for ``visibility_timeout`` (its
  worker was killed or cut off) is claimed by the next worker that looks.
- ``<prefix>:results:<run>``, one stream per run, read in order by the daemon alone.
- ``<prefix>:closed:<run>``, set when a run ended (its time ran out, the daemon stopped): a
  worker drops that run's jobs instead of crawling them late.
- ``<prefix>:workers``, a hash of each worker's last heartbeat, for ``wirewatch status``.

Streams live as long as Redis keeps them: with its append-only file on (``appendonly yes``),
a restarted Redis still has the queue. The politeness keys are crawler.pacing's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import RedisError, ResponseError

from monitor.config.cluster import ClusterSettings
from monitor.config.values import without_credentials
from monitor.errors import WirewatchError

GROUP = "workers"
RESULTS_KEPT = 24 * 3600  # seconds a run's results and closed flag outlive their last write
GONE_AFTER = 24 * 3600  # a worker silent this long is dropped from the heartbeats


class ClusterUnreachable(WirewatchError):
    """Redis did not answer: the cluster waits, and says so."""


@dataclass(frozen=True)
class Taken:
    """A job a worker took: its stream entry, its text, and whether another worker had it."""

    entry: str
    text: str
    reclaimed: bool = False


class Queue:
    """The cluster's keys on one Redis server (the module says what each holds)."""

    def __init__(self, settings: ClusterSettings, *, timeout: float = 10.0) -> None:
        self.settings = settings
        self.prefix = settings.prefix
        # Any: redis-py's own types fit decode_responses=False, not the text it gives here.
        self.client: Any = redis.Redis.from_url(
            settings.redis,
            socket_timeout=timeout,
            socket_connect_timeout=min(timeout, 5.0),
            decode_responses=True,
        )
        self.jobs = f"{self.prefix}:jobs"
        self.workers_key = f"{self.prefix}:workers"
        self._group_ready = False

    def close(self) -> None:
        """Close the connections to Redis."""
        self.client.close()

    @property
    def where(self) -> str:
        """The Redis URL, without a password, for messages."""
        return without_credentials(self.settings.redis)

    def unreachable(self, error: Exception) -> ClusterUnreachable:
        return ClusterUnreachable(
            f"the cluster's Redis at {self.where} did not answer ({error}); start it, or "
            "check cluster.redis in the config"
        )

    def ping(self) -> None:
        try:
            self.client.ping()
        except (RedisError, OSError) as error:
            raise self.unreachable(error) from None

    def now(self) -> float:
        """Return Redis's clock, which every machine of the cluster shares, in seconds."""
        seconds, micros = self.client.time()
        return float(seconds) + float(micros) / 1e6

    def ensure_group(self) -> None:
        """Create the workers' group (and the stream); again after Redis lost its data."""
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.jobs, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    def _again(self, error: Exception) -> None:
        if "NOGROUP" in str(error):
            self._group_ready = False  # Redis restarted without its data: make it anew

    # The daemon ------------------------------------------------------------------------

    def enqueue(self, text: str) -> str:
        """Add a job; return its stream entry."""
        self.ensure_group()
        entry: str = self.client.xadd(self.jobs, {"job": text})
        return entry

    def results(self, run_id: int, after: str, block_ms: int) -> list[tuple[str, str]]:
        """Return the results of a run written after entry *after*, waiting up to *block_ms*."""
        found = self.client.xread({self._results(run_id): after}, count=500, block=block_ms)
        return [(entry, fields.get("r", "")) for _, entries in found for entry, fields in entries]

    def applied(self, run_id: int, entry: str) -> None:
        """Drop a run's results up to *entry*, which the archive now holds: a run's stream
        stays as small as what the daemon has not read yet (pages make results big)."""
        self.client.xtrim(self._results(run_id), minid=entry, approximate=False)

    def close_run(self, run_id: int, entries: list[str]) -> None:
        """Mark a run ended and drop its jobs that no worker has taken yet."""
        self.client.set(self._closed(run_id), 1, ex=RESULTS_KEPT)
        if entries:
            pending = self.client.xpending_range(self.jobs, GROUP, min="-", max="+", count=10000)
            taken = {row["message_id"] for row in pending}
            untaken = [entry for entry in entries if entry not in taken]
            if untaken:
                self.client.xdel(self.jobs, *untaken)

    def forget_run(self, run_id: int) -> None:
        """Drop a finished run's results."""
        self.client.delete(self._results(run_id))

    # A worker --------------------------------------------------------------------------

    def take(self, worker: str, block_ms: int) -> Taken | None:
        """Return a job for *worker*: one whose worker stopped touching it first, else a new
        one, waiting up to *block_ms* for it; None when there is none."""
        self.ensure_group()
        idle_ms = int(self.settings.visibility_timeout * 1000)
        try:
            _, claimed, *_ = self.client.xautoclaim(
                self.jobs, GROUP, worker, min_idle_time=idle_ms, start_id="0-0", count=1
            )
            if claimed:
                entry, fields = claimed[0]
                if fields:  # an entry deleted meanwhile comes back empty
                    return Taken(entry, fields.get("job", ""), reclaimed=True)
                self.client.xack(self.jobs, GROUP, entry)
            found = self.client.xreadgroup(GROUP, worker, {self.jobs: ">"}, count=1, block=block_ms)
        except ResponseError as error:
            self._again(error)
            raise
        for _, entries in found or []:
            for entry, fields in entries:
                return Taken(entry, fields.get("job", ""))
        return None

    def touch(self, worker: str, entries: list[str]) -> None:
        """Keep *worker*'s jobs its own: a job it still crawls is never handed on."""
        if entries:
            self.client.xclaim(self.jobs, GROUP, worker, 0, entries, justid=True)

    def hand_back(self, worker: str, entries: list[str]) -> None:
        """Let another worker take *entries* at once (a worker stopping cleanly)."""
        if entries:
            idle = int(self.settings.visibility_timeout * 1000) + 1
            self.client.xclaim(self.jobs, GROUP, worker, 0, entries, idle=idle, justid=True)

    def finish(self, entry: str) -> None:
        """Acknowledge and drop a job whose results are all sent."""
        self.client.xack(self.jobs, GROUP, entry)
        self.client.xdel(self.jobs, entry)

    def send(self, run_id: int, text: str) -> None:
        """Add one result to a run's stream."""
        key = self._results(run_id)
        with self.client.pipeline() as pipe:
            pipe.xadd(key, {"r": text})
            pipe.expire(key, RESULTS_KEPT)
            pipe.execute()

    def is_closed(self, run_id: int) -> bool:
        return bool(self.client.exists(self._closed(run_id)))

    def beat(self, worker: str, state: dict[str, Any]) -> None:
        """Record *worker*'s heartbeat, stamped with Redis's clock."""
        state = {**state, "beat": self.now()}
        self.client.hset(self.workers_key, worker, json.dumps(state, ensure_ascii=False))

    def leave(self, worker: str) -> None:
        self.client.hdel(self.workers_key, worker)

    def workers(self) -> list[dict[str, Any]]:
        """Return each worker's last heartbeat, with its age in seconds; drop long-gone ones."""
        now = self.now()
        found = []
        for name, text in sorted(self.client.hgetall(self.workers_key).items()):
            try:
                state = json.loads(text)
                age = now - float(state["beat"])
            except (ValueError, KeyError, TypeError):
                continue
            if age > GONE_AFTER:
                self.client.hdel(self.workers_key, name)
                continue
            found.append({**state, "name": name, "age": round(max(age, 0.0), 1)})
        return found

    def summary(self) -> dict[str, Any]:
        """Return what status shows of the cluster: Redis, the jobs, each worker."""
        found: dict[str, Any] = {"redis": self.where, "reachable": True, "error": None}
        try:
            waiting, taken = self.backlog()
            found.update(waiting=waiting, taken=taken, workers=self.workers())
        except (RedisError, OSError) as error:
            found.update(reachable=False, error=str(self.unreachable(error)), workers=[])
        return found

    def backlog(self) -> tuple[int, int]:
        """Return the jobs waiting and the jobs taken but not finished."""
        self.ensure_group()
        waiting = 0
        for group in self.client.xinfo_groups(self.jobs):
            if group["name"] == GROUP:
                waiting = int(group.get("lag") or 0)
                taken = int(group.get("pending") or 0)
                return waiting, taken
        return 0, 0

    def _results(self, run_id: int) -> str:
        return f"{self.prefix}:results:{run_id}"

    def _closed(self, run_id: int) -> str:
        return f"{self.prefix}:closed:{run_id}"
