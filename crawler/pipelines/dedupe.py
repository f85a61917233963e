"""Drop an article that is already archived under its canonical URL or its GUID."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.context import CrawlContext, context_of
from crawler.items import ArticleItem


class DedupePipeline:
    """The spider skips entries it knows; this catches pages whose canonical URL is known.

    Two feeds may link one story under different URLs that its page resolves to one.
    """

    def __init__(self, context: CrawlContext) -> None:
        self.context = context

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        return cls(context_of(crawler))

    def process_item(self, item: ArticleItem) -> ArticleItem:
        with self.context.timing("archive"):
            known = self.context.archive.is_known(item.source, item.guid, *item.identifiers())
        if known:
            raise DropItem(f"already archived: {item.url}")
        return item
