"""Run every topic over an article and attach the flags it earns."""

from __future__ import annotations

from scrapy.crawler import Crawler

from crawler.context import CrawlContext, context_of
from crawler.items import ArticleItem
from monitor.matcher.engine import Matcher


class MatchPipeline:
    """Compiles the plan's topics once per crawl, then matches each article's title and body."""

    def __init__(self, context: CrawlContext) -> None:
        self.context = context
        with context.timing("matching"):
            self.matcher = Matcher(context.plan.topics)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MatchPipeline:
        return cls(context_of(crawler))

    def process_item(self, item: ArticleItem) -> ArticleItem:
        with self.context.timing("matching"):
            results = self.matcher.match(item.title, item.body)
            item.flags = [result.to_flag() for result in results if result.flagged]
        return item
