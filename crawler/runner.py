"""Run one crawl in this process: Scrapy settings from the crawl plan, then the sources spider."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.context import CrawlContext
from crawler.spiders.sources import SourcesSpider
from monitor.config import CrawlPlan


@dataclass(frozen=True)
class SharedPoliteness:
    """The Redis server through which the crawls of every cluster worker pace each host."""

    redis: str
    prefix: str


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
    process.start()
