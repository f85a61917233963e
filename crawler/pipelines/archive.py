"""Write each article with its flags to the archive, in one transaction."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.context import CrawlContext, context_of
from crawler.items import ArticleItem
from monitor import events


class ArchivePipeline:
    """The last pipeline: an article and its flags are stored together or not at all."""

    def __init__(self, context: CrawlContext) -> None:
        self.context = context

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        return cls(context_of(crawler))

    def process_item(self, item: ArticleItem) -> ArticleItem:
        with self.context.timing("archive"):
            article_id = self.context.archive.add_article(
                item.record(self.context.run_id),
                item.flags,
                identifiers=item.identifiers(),
                html=item.page_html if self.context.plan.store_html else None,
                full_text=item.full_text,
            )
        if article_id is None:
            raise DropItem(f"already archived: {item.url}")
        self.context.emit(
            events.ArticleArchived(item.source, article_id, [flag.topic for flag in item.flags])
        )
        return item
