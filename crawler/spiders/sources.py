"""The spider that polls each source once and follows its new entries to their articles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.context import CrawlContext
from crawler.extract import Page, build_article, extract_page
from crawler.failures import classify
from crawler.identity import Identity, identify
from crawler.items import ArticleItem
from crawler.parsing.feeds import FeedEntry, parse_feed
from monitor.config import Politeness, Source


class SourcesSpider(scrapy.Spider):
    """Fetch each source's feed; for each entry not yet archived, fetch and extract its page.

    Callbacks only orchestrate: parsing and extraction are pure functions in crawler.parsing
    and crawler.extract. A source's failure is recorded in the archive and ends that source
    only; an article page that fails keeps the feed summary as its body.
    """

    name = "sources"

    def __init__(self, context: CrawlContext, sources: list[Source], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context
        self.sources = sources
        self._requested: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources:
            yield self._request(
                source,
                source.url,
                callback=self.parse_feed,
                errback=self.feed_failed,
                cb_kwargs={"source": source},
                dont_filter=True,
            )

    def _request(self, source: Source, url: str, **kwargs: Any) -> scrapy.Request:
        politeness: Politeness = source.politeness(self.context.config.crawl)
        return scrapy.Request(
            url,
            headers={"User-Agent": politeness.user_agent},
            meta={
                "download_timeout": politeness.timeout,
                "dont_obey_robotstxt": not politeness.obey_robots,
            },
            **kwargs,
        )

    def parse_feed(self, response: Response, source: Source) -> Iterator[Any]:
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        feed = parse_feed(response.body, url=response.url, content_type=content_type)
        if feed.problem is not None:
            self._source_failed(source, feed.problem.error_class, feed.problem.message)
            return
        identities = identify(feed.entries, source=source.name)
        new = [
            (entry, identity)
            for entry, identity in zip(feed.entries, identities, strict=True)
            if self._is_new(source, entry, identity)
        ]
        self.context.archive.record_feed(
            self.context.run_id, source.name, len(feed.entries), feed.warning
        )
        self.context.emit("feed", source=source.name, entries=len(feed.entries), new=len(new))
        for entry, identity in new:
            if source.full_text and identity.fetch:
                yield self._request(
                    source,
                    response.urljoin(identity.fetch),
                    callback=self.parse_article,
                    errback=self.article_failed,
                    cb_kwargs={"source": source, "entry": entry, "identity": identity},
                )
            else:
                yield self._article(source, entry, identity, None)

    def feed_failed(self, failure: Failure) -> None:
        source: Source = failure.request.cb_kwargs["source"]  # type: ignore[attr-defined]
        error_class, message = classify(failure.value)
        self._source_failed(source, error_class, message)

    def parse_article(
        self, response: Response, source: Source, entry: FeedEntry, identity: Identity
    ) -> Iterator[ArticleItem]:
        if not isinstance(response, TextResponse):
            page = Page(None, "the link is not an HTML page")
        else:
            page = extract_page(response.text, url=response.url, head=response.body[:4096])
        yield self._article(source, entry, identity, page, response_url=response.url)

    def article_failed(self, failure: Failure) -> Iterator[ArticleItem]:
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        error_class, message = classify(failure.value)
        reason = f"article page not fetched ({error_class}: {message})"
        yield self._article(
            kwargs["source"], kwargs["entry"], kwargs["identity"], None, error=reason
        )

    def _article(
        self,
        source: Source,
        entry: FeedEntry,
        identity: Identity,
        page: Page | None,
        *,
        response_url: str | None = None,
        error: str | None = None,
    ) -> ArticleItem:
        return build_article(
            entry,
            identity,
            page,
            source=source.name,
            language=source.language,
            fetched=self.context.clock(),
            response_url=response_url,
            error=error,
        )

    def _is_new(self, source: Source, entry: FeedEntry, identity: Identity) -> bool:
        """Return True for an entry that is neither archived nor already taken in this crawl."""
        if identity.key in self._requested:
            return False
        self._requested.add(identity.key)
        return not self.context.archive.is_known(source.name, entry.guid, identity.key)

    def _source_failed(self, source: Source, error_class: str, message: str) -> None:
        self.logger.warning("source %s failed: %s: %s", source.name, error_class, message)
        self.context.archive.record_source_error(
            self.context.run_id, source.name, error_class, message, self.context.clock()
        )
        self.context.emit(
            "source_error", source=source.name, error_class=error_class, error=message
        )
