"""Per-host politeness shared by every cluster worker, kept in Redis.

Scrapy paces each host in a download slot that lives inside one process, so two workers
crawling one site would each keep its delay and together hit it twice as often. On a cluster
worker (``python -m crawler --job -``) each request instead asks Redis for its host's turn
in the HTTP download handler itself, the last step before its connection is used: one
atomic script, run on Redis's own clock so the workers' clocks do not matter, grants it
when the host's delay since the last granted request has passed and fewer than its
concurrency are in flight, and otherwise says how long to wait. The local slots stop pacing
(crawler.runner). Asked any earlier (a downloader middleware was tried), a request granted
its turn could wait in a busy process's queues and reach the site just before the next
worker's: with four workers on two loaded cores the shortest gap fell to a tenth of the
delay (benchmarks/cluster.py).

A robots.txt ``Crawl-delay`` read by any worker is kept in Redis too, and lengthens the
host's delay for all of them. A lease ends when its response or error comes back, or
after the download timeout if the worker died. When Redis cannot be reached the request
waits, and fails after its own timeout naming Redis: never downloaded unpaced.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from scrapy import Request, signals
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)

MAX_CRAWL_DELAY = 60.0  # as crawler.extensions.crawldelay
FULL_POLL = 0.05  # seconds between asks while a host has all its requests in flight
LEASE_MARGIN = 30.0  # seconds a lease outlives the download timeout, for a dead worker

# KEYS: the host's next free moment (ms), its leases (token -> end, ms), its Crawl-delay (ms).
# ARGV: delay (ms), concurrency, lease (ms), token. Returns 0 when granted, else ms to wait.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local delay = math.max(tonumber(ARGV[1]), tonumber(redis.call('GET', KEYS[3]) or '0'))
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
if free > now then return free - now end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return -1 end
redis.call('SET', KEYS[1], now + delay, 'PX', math.floor(delay) + 60000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) + 60000)
return 0
"""


class SharedSlotsUnavailable(IgnoreRequest):
    """A request that could not get its host's turn because Redis did not answer in time."""


class Pacer:
    """Asks Redis for each host's turn (the module says how); one per crawl process."""

    def __init__(self, crawler: Crawler) -> None:
        import redis.asyncio  # only a cluster worker's crawl needs it

        settings = crawler.settings
        self.client: Any = redis.asyncio.Redis.from_url(
            settings["WIREWATCH_SHARED_REDIS"], socket_timeout=10, socket_connect_timeout=5
        )
        self.prefix = settings.get("WIREWATCH_SHARED_PREFIX")
        self.slots: dict[str, dict[str, float]] = settings.getdict("WIREWATCH_SHARED_SLOTS")
        self.default: dict[str, float] = settings.getdict("WIREWATCH_SHARED_DEFAULT")
        self.timeout = settings.getfloat("DOWNLOAD_TIMEOUT", 30.0)
        self.acquire = self.client.register_script(ACQUIRE)
        self.agent = str(settings.get("USER_AGENT") or "")
        self.crawl_delays: dict[str, int] = {}  # host -> ms, from the robots.txt read here
        self._tasks: set[asyncio.Task[None]] = set()
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    def keys(self, host: str) -> list[str]:
        base = f"{self.prefix}:host:{host}"
        return [f"{base}:next", f"{base}:leases", f"{base}:crawl-delay"]

    async def turn(self, request: Request) -> tuple[str, str]:
        """Wait for the host's turn; return the lease to give back with :meth:`done`."""
        host = urlparse_cached(request).hostname or ""
        slot = self.slots.get(host, self.default)
        timeout = float(request.meta.get("download_timeout", self.timeout))
        token = uuid.uuid4().hex
        lease_ms = int((timeout + LEASE_MARGIN) * 1000)
        delay_ms = max(int(float(slot.get("delay", 0.0)) * 1000), self.crawl_delays.get(host, 0))
        concurrency = int(slot.get("concurrency", 1))
        deadline = time.monotonic() + timeout
        while True:
            try:
                wait_ms = int(
                    await self.acquire(
                        keys=self.keys(host), args=[delay_ms, concurrency, lease_ms, token]
                    )
                )
            except Exception as error:  # redis.exceptions.RedisError, OSError: not reachable
                if time.monotonic() >= deadline:
                    raise SharedSlotsUnavailable(
                        f"Redis did not give {host} a turn within {timeout:g}s ({error}); "
                        "check that the cluster's Redis is up"
                    ) from None
                await asyncio.sleep(1.0)
                continue
            if wait_ms == 0:
                return host, token
            await asyncio.sleep(FULL_POLL if wait_ms < 0 else wait_ms / 1000)

    async def done(self, lease: tuple[str, str]) -> None:
        """End a lease: one more request may be in flight to its host."""
        host, token = lease
        try:
            await self.client.zrem(self.keys(host)[1], token)
        except Exception as error:  # the lease ends on its own after the download timeout
            logger.warning("could not end a lease on %s in Redis: %s", host, error)

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        delay = robotparser.crawl_delay(request.headers.get(b"User-Agent") or self.agent)
        if not delay:
            return
        host = urlparse_cached(request).hostname or ""
        milliseconds = int(min(float(delay), MAX_CRAWL_DELAY) * 1000)
        self.crawl_delays[host] = milliseconds
        task = asyncio.get_running_loop().create_task(self._share_delay(host, milliseconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _share_delay(self, host: str, milliseconds: int) -> None:
        try:
            await self.client.set(self.keys(host)[2], milliseconds, ex=24 * 3600)
        except Exception as error:
            logger.warning("could not share %s's Crawl-delay in Redis: %s", host, error)


class PacedDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP handler, each download waiting for its host's turn in Redis first."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.pacer = Pacer(crawler)

    async def download_request(self, request: Request) -> Response:
        lease = await self.pacer.turn(request)
        try:
            return await super().download_request(request)
        finally:
            await self.pacer.done(lease)
