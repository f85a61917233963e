"""Run one crawl in this process: Scrapy settings from the crawl plan, then the sources spider."""

from __future__ import annotations

import contextlib
import logging
import signal
from dataclasses import dataclass
from types import FrameType
from typing import Any, cast
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.ossignal import install_shutdown_handlers

from crawler.context import CrawlContext
from crawler.spiders.sources import SourcesSpider
from monitor.config import CrawlPlan


@dataclass(frozen=True)
class SharedPoliteness:
    """The Redis server through which the crawls of every cluster worker pace each host."""

    redis: str
    prefix: str


logger = logging.getLogger(__name__)

# Seconds a stopping crawl gives the downloads it has in flight before it leaves them.
ABANDON_AFTER = 1.0

# Concurrency of a download slot in this process when the shared slots pace the hosts: high
# enough that no request, once given its turn by Redis, waits here as well.
UNPACED = 64
PACED_HANDLER = "crawler.pacing.PacedDownloadHandler"


def build_settings(
    plan: CrawlPlan, log_level: str, shared: SharedPoliteness | None = None
) -> Settings:
    """Return Scrapy settings: crawler.settings, then the plan's politeness per host.

    With *shared*, each host's delay and concurrency hold across every worker's crawl
    (crawler.pacing, whose HTTP handler waits for each host's turn), and this process's own
    slots stop pacing: a request that Redis gave its turn must leave at once, or two
    workers' requests could bunch up.
    """
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    crawl = plan.crawl
    sources = plan.sources
    politeness = [source.politeness(crawl) for source in sources]
    settings.set("USER_AGENT", crawl.user_agent, priority="cmdline")
    settings.set("DOWNLOAD_DELAY", crawl.delay, priority="cmdline")
    settings.set("DOWNLOAD_TIMEOUT", crawl.timeout, priority="cmdline")
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", crawl.per_host_concurrency, priority="cmdline")
    # Requests of sources that do not obey robots.txt carry dont_obey_robotstxt.
    obey = crawl.obey_robots or any(each.obey_robots for each in politeness)
    settings.set("ROBOTSTXT_OBEY", obey, priority="cmdline")
    slots = {
        urlsplit(source.url).hostname or "": {
            "concurrency": each.per_host_concurrency,
            "delay": each.delay,
        }
        for source, each in zip(sources, politeness, strict=True)
    }
    if shared is not None:
        settings.set("WIREWATCH_SHARED_REDIS", shared.redis, priority="cmdline")
        settings.set("WIREWATCH_SHARED_PREFIX", shared.prefix, priority="cmdline")
        settings.set("WIREWATCH_SHARED_SLOTS", slots, priority="cmdline")
        settings.set(
            "WIREWATCH_SHARED_DEFAULT",
            {"concurrency": crawl.per_host_concurrency, "delay": crawl.delay},
            priority="cmdline",
        )
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        handlers.update(http=PACED_HANDLER, https=PACED_HANDLER)
        settings.set("DOWNLOAD_HANDLERS", handlers, priority="cmdline")
        settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", UNPACED, priority="cmdline")
        slots = {host: {"concurrency": UNPACED, "delay": 0} for host in slots}
    settings.set("DOWNLOAD_SLOTS", slots, priority="cmdline")
    settings.set("DOWNLOAD_MAXSIZE", crawl.max_size_mb * 1024 * 1024, priority="cmdline")
    settings.set("DOWNLOAD_WARNSIZE", crawl.max_size_mb * 1024 * 1024 // 4, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    return settings


def crawl(
    context: CrawlContext, *, log_level: str = "WARNING", shared: SharedPoliteness | None = None
) -> None:
    """Crawl the plan's sources once, recording into the context's archive; blocks until done."""
    settings = build_settings(context.plan, log_level, shared)
    process = CrawlerProcess(settings)
    process.crawl(SourcesSpider, context=context, sources=context.plan.sources)
    run(process)


def run(process: CrawlerProcess) -> None:
    """Run the process's crawls until they end, or until SIGTERM or SIGINT stops them.

    Scrapy's own stop waits for every download in flight, up to the download timeout, so a
    crawl held by a slow host outlived its parent's grace period and ended by SIGKILL. Here
    the first signal stops new requests and lets the work in hand finish; what is still
    downloading after ABANDON_AFTER seconds is left for the next crawl, as SIGKILL would
    leave it (each article is written in one transaction, and a feed's validators are kept
    only after its complete read). A second signal stops the crawl at once.
    """
    from twisted.internet import reactor as installed  # the reactor Scrapy installed

    reactor = cast(Any, installed)

    def stop_now() -> None:
        with contextlib.suppress(RuntimeError):  # the reactor has stopped already
            reactor.stop()

    def stop(signum: int) -> None:
        logger.info(
            "%s: stopping; downloads still running in %gs are left for the next crawl",
            signal.Signals(signum).name,
            ABANDON_AFTER,
        )
        reactor.callLater(ABANDON_AFTER, stop_now)
        process.stop()

    def first_signal(signum: int, _frame: FrameType | None) -> None:
        install_shutdown_handlers(lambda *_: reactor.callFromThread(stop_now))
        reactor.callFromThread(stop, signum)

    install_shutdown_handlers(first_signal)
    process.start(install_signal_handlers=False)
