"""robots.txt within a source's timeout, and a site whose robots.txt is unreachable left alone.

Scrapy's RobotsTxtMiddleware fetches robots.txt with the crawl-wide DOWNLOAD_TIMEOUT, not
the timeout of the source that needs it, so a robots.txt that hangs held a source far past
its own limit. When the fetch fails (a timeout, a reset, a TLS error) Scrapy allows
everything and fetches the source anyway; RFC 9309 (2.3.1.4) asks a crawler to assume
complete disallow instead. Here robots.txt gets the timeout of the first request to its
site, and when it cannot be fetched every request to that site in this crawl fails with
:class:`RobotsTxtUnreachable`, which names the cause. The next crawl asks again.

On cluster workers a robots.txt read by one crawl is kept in Redis for an hour
(:data:`SHARED_FOR`), and the crawls of every worker read it from there instead of asking
the site again: they obey the same file, and a site sees one robots.txt request an hour
however many workers crawl it. A file that could not be fetched is not shared.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

SHARED_FOR = 3600  # seconds a robots.txt read by one cluster worker serves them all
SHARED_MAX = 512 * 1024  # bytes: a bigger robots.txt is not shared (RFC 9309 reads 500 KiB)


class RobotsTxtUnreachable(IgnoreRequest):
    """Raised for each request to a site whose robots.txt could not be fetched in this crawl.

    Its ``__cause__`` is the download error, which crawler.failures classifies.
    """

    def __init__(self, url: str, cause: Exception) -> None:
        super().__init__(f"robots.txt of {url} could not be fetched: {cause}")
        self.__cause__ = cause


class _Unreachable(RobotParser):
    """Stands in for the parser of a site whose robots.txt download failed."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    @classmethod
    def from_crawler(cls, crawler: object, robotstxt_body: bytes) -> _Unreachable:
        raise NotImplementedError("built by RobotsMiddleware only")

    def allowed(self, url: str | bytes, user_agent: str | bytes | None) -> bool:
        return False


class RobotsMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, bounded by the source's timeout and failing closed."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._timeouts: dict[str, float] = {}  # site (netloc) -> timeout of its first request
        self._shared: Any = None  # a redis.asyncio client, on cluster workers
        self._prefix = crawler.settings.get("WIREWATCH_SHARED_PREFIX", "")
        url = crawler.settings.get("WIREWATCH_SHARED_REDIS")
        if url:
            import redis.asyncio  # only a cluster worker's crawl needs it

            self._shared = redis.asyncio.Redis.from_url(
                url, socket_timeout=10, socket_connect_timeout=5
            )

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        # *spider* only mirrors Scrapy's signature; Scrapy passes none to an optional one.
        site = urlparse_cached(request).netloc
        if "download_timeout" in request.meta:
            self._timeouts.setdefault(site, float(request.meta["download_timeout"]))
        elif _is_robots_txt(request) and site in self._timeouts:
            request.meta["download_timeout"] = self._timeouts[site]
        await super().process_request(request)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        """Return the parser of the request's site, as stored once robots.txt is read.

        Scrapy hands the requests that wait for one robots.txt the result of a single
        Deferred: the first of them gets the parser, and each later one gets None, which
        Scrapy reads as "everything allowed". Requests that start together (a re-check of
        many pages of one site) then ignored a Disallow; the stored parser is the answer.
        """
        netloc = urlparse_cached(request).netloc
        if self._shared is not None and netloc not in self._parsers:
            await self._shared_parser(request, netloc)
        parser = await super().robot_parser(request)
        stored = self._parsers.get(netloc, parser)
        return parser if isinstance(stored, Deferred) else stored

    async def _shared_parser(self, request: Request, netloc: str) -> None:
        """Make the site's parser from the robots.txt in Redis, else from the site itself.

        Requests to the site that arrive meanwhile wait on the same Deferred as on one
        machine, and each of them gets the parser that is made.
        """
        waiting: Deferred[RobotParser | None] = Deferred()
        self._parsers[netloc] = waiting
        shared = await self._read_shared(netloc)
        if shared is not None:
            try:
                await super()._parse_robots(shared, netloc, request)  # fires *waiting*
                return
            except Exception as error:  # a parser that fails on it: ask the site instead
                logger.warning("the shared robots.txt of %s is unusable: %s", netloc, error)
                self._parsers[netloc] = waiting
        del self._parsers[netloc]
        parser = await super().robot_parser(request)  # fetched as on one machine
        if not waiting.called:
            stored = self._parsers.get(netloc, parser)
            waiting.callback(None if isinstance(stored, Deferred) else stored)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        await super()._parse_robots(response, netloc, request)
        if self._shared is not None and len(response.body) <= SHARED_MAX:
            try:
                await self._shared.hset(
                    self._key(netloc), mapping={"status": response.status, "body": response.body}
                )
                await self._shared.expire(self._key(netloc), SHARED_FOR)
            except Exception as error:  # each worker then reads it for itself
                logger.warning("could not share the robots.txt of %s: %s", netloc, error)

    async def _read_shared(self, netloc: str) -> Response | None:
        try:
            found = await self._shared.hgetall(self._key(netloc))
        except Exception as error:
            logger.warning("could not read the shared robots.txt of %s: %s", netloc, error)
            return None
        if not found or b"body" not in found:
            return None
        try:
            status = int(found.get(b"status", b"200"))
        except ValueError:
            return None
        scheme = "https" if netloc.endswith(":443") else "http"
        return Response(f"{scheme}://{netloc}/robots.txt", status=status, body=found[b"body"])

    def _key(self, netloc: str) -> str:
        return f"{self._prefix}:robots:{netloc}"

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if isinstance(rp, _Unreachable):
            raise RobotsTxtUnreachable(_robots_url(request), rp.error)
        super().process_request_2(rp, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):  # e.g. a redirect loop: Scrapy allows all
            super()._robots_error(exc, netloc)
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        waiting = self._parsers[netloc]
        unreachable = _Unreachable(exc)
        self._parsers[netloc] = unreachable
        if not isinstance(waiting, RobotParser) and waiting is not None:
            waiting.callback(unreachable)


def _is_robots_txt(request: Request) -> bool:
    return bool(request.meta.get("dont_obey_robotstxt")) and (
        urlparse_cached(request).path == "/robots.txt"
    )


def _robots_url(request: Request) -> str:
    url = urlparse_cached(request)
    return f"{url.scheme}://{url.netloc}/robots.txt"
