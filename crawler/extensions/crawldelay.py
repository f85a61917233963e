"""Honour robots.txt ``Crawl-delay``, which Scrapy reads but ignores (scrapy#892)."""

from __future__ import annotations

import logging

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

# A site asking for more than this between requests would stall a whole crawl.
MAX_CRAWL_DELAY = 60.0


class CrawlDelay:
    """When a host's robots.txt is parsed, slow that host's download slot to its Crawl-delay."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelay:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        if crawler.settings.get("WIREWATCH_SHARED_REDIS"):
            raise NotConfigured  # a cluster worker's hosts are paced in Redis, which honours it
        extension = cls(crawler)
        crawler.signals.connect(extension.robots_parsed, signal=signals.robots_parsed)
        return extension

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        agent = request.headers.get(b"User-Agent") or self.crawler.settings["USER_AGENT"]
        delay = robotparser.crawl_delay(agent)
        if not delay:
            return
        delay = min(float(delay), MAX_CRAWL_DELAY)
        assert self.crawler.engine is not None
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        settings = downloader.per_slot_settings.setdefault(key, {})
        settings["delay"] = max(float(settings.get("delay", 0.0)), delay)
        # Scrapy varies a slot's delay by +-50% (RANDOMIZE_DOWNLOAD_DELAY): a Crawl-delay is
        # the least the site allows, so that slot waits exactly its delay, never half of it.
        settings["jitter"] = 0.0
        if key in downloader.slots:
            slot = downloader.slots[key]
            slot.delay = max(slot.delay, delay)
            slot.jitter = 0.0
        logger.info("%s asks for %.1fs between requests (robots.txt Crawl-delay)", key, delay)
