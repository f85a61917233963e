"""Stop the crawl when the archive's disk is full, instead of losing every story quietly.

A write that finds no space raises DiskFull in a pipeline or a spider callback, where Scrapy
would log it and go on to fail the same way for each story left, and exit 0. This closes the
spider at the first one, tells the parent, and makes the child exit with DiskFull's status.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro
from twisted.python.failure import Failure

from crawler.context import context_of
from monitor import events
from monitor.errors import DiskFull

logger = logging.getLogger(__name__)


class StopWhenDiskFull:
    """On the first DiskFull from a pipeline or callback, close the spider and say why."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stopping = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StopWhenDiskFull:
        extension = cls(crawler)
        crawler.signals.connect(extension.failed, signal=signals.item_error)
        crawler.signals.connect(extension.failed, signal=signals.spider_error)
        return extension

    def failed(self, failure: Failure) -> None:
        if self.stopping or not isinstance(failure.value, DiskFull):
            return
        self.stopping = True
        context = context_of(self.crawler)
        context.disk_full = True
        logger.error("stopping the crawl: %s", failure.value)
        context.emit(events.Fatal(str(failure.value)))
        assert self.crawler.engine is not None
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="disk_full"))
