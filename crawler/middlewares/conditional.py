"""Conditional GET for source documents: send the validators saved after the last read.

Scrapy's HttpCacheMiddleware is not this: on a 304 it hands the spider the cached 200, and it
caches every response forever. Here the ETag and Last-Modified of each source live in the
archive, and a 304 reaches the spider as a 304, which it records without parsing anything.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.context import CrawlContext, context_of


class ConditionalGetMiddleware:
    """Adds If-None-Match and If-Modified-Since to requests marked ``wirewatch_conditional``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGetMiddleware:
        return cls(crawler)

    @property
    def context(self) -> CrawlContext:
        return context_of(self.crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("wirewatch_conditional"):
            return
        etag, last_modified = self.context.archive.validators(request.meta["wirewatch_source"])
        if etag:
            request.headers.setdefault("If-None-Match", etag)
        if last_modified:
            request.headers.setdefault("If-Modified-Since", last_modified)
