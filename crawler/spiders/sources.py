"""The spider that polls each source once and follows its new entries to their articles."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.context import CrawlContext
from crawler.extract import Page, build_article, extract_page
from crawler.failures import classify
from crawler.identity import Identity, identify
from crawler.items import ArticleItem
from crawler.middlewares.linkpolicy import POLICY_KEY, LinkRefused
from crawler.parsing import hints
from crawler.parsing.botwall import bot_wall
from crawler.parsing.dates import parse_rfc3339
from crawler.parsing.feeds import parse_feed
from crawler.parsing.listing import parse_listing
from crawler.parsing.model import Feed, FeedEntry
from crawler.parsing.sitemaps import MAX_DEPTH, MAX_SITEMAPS, parse_sitemap
from crawler.urlpolicy import LinkPolicy, describe, summary
from monitor import events
from monitor.config import Politeness, Source
from monitor.errors import WirewatchError


class SourcesSpider(scrapy.Spider):
    """Read each source's document (feed, sitemap or section page); for each entry not yet
    archived, fetch and extract its page.

    Callbacks only orchestrate: parsing and extraction are pure functions in crawler.parsing
    and crawler.extract. A source's failure is recorded in the archive and ends that source
    only; an article page that fails keeps the feed summary as its body.
    """

    name = "sources"

    def __init__(self, context: CrawlContext, sources: list[Source], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context
        self.sources = sources
        self._taken: set[str] = set()
        # Items older than max_age are skipped on a source's first read (sitemaps: always).
        self._first = {s.name: context.archive.is_first_fetch(s.name) for s in sources}
        self._policies = {
            s.name: LinkPolicy.for_source(
                s.url, allow_private=s.politeness(context.plan.crawl).allow_private
            )
            for s in sources
        }
        # Per source, the links this crawl left alone by kind (crawler.urlpolicy), and the
        # further sitemaps it requested: reported as the source's warning when the crawl ends.
        self._left: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._sitemaps: Counter[str] = Counter()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # Everything before the first request: the interpreter, imports, settings, archive.
        self.context.cpu["start-up"] = time.process_time()
        for source in self.sources:
            yield self._request(
                source,
                source.url,
                callback=self.parse_source,
                errback=self.source_failed,
                cb_kwargs={"source": source, "depth": 1},
                dont_filter=True,
                conditional=True,
            )

    def _request(
        self, source: Source, url: str, *, conditional: bool = False, **kwargs: Any
    ) -> scrapy.Request:
        politeness: Politeness = source.politeness(self.context.plan.crawl)
        meta = {
            "download_timeout": politeness.timeout,
            "dont_obey_robotstxt": not politeness.obey_robots,
            "wirewatch_source": source.name,
            POLICY_KEY: self._policies[source.name],  # for crawler.middlewares.linkpolicy
        }
        if conditional:
            meta["wirewatch_conditional"] = True
            meta["handle_httpstatus_list"] = [304]
        return scrapy.Request(
            url, headers={"User-Agent": politeness.user_agent}, meta=meta, **kwargs
        )

    # The source's own document -------------------------------------------------------------

    def parse_source(self, response: Response, source: Source, depth: int) -> Iterator[Any]:
        """Read a source's own document; anything that breaks the reading fails the source."""
        return self._guarded(source, response, self._read_source(response, source, depth))

    def _read_source(self, response: Response, source: Source, depth: int) -> Iterator[Any]:
        now = self.context.clock()
        headers = _headers(response)
        if response.status == 304:
            hint = hints.freshness(headers, now)
            self.context.archive.record_not_modified(self.context.run_id, source.name, hint)
            self.context.emit(events.FeedRead(source.name, entries=0, new=0, not_modified=True))
            return
        document = self._read(source, response)
        if document.problem is not None:
            error_class, message = document.problem.error_class, document.problem.message
            service = bot_wall(response.status, headers, response.body)
            if service and error_class in ("not_a_feed", "empty"):
                error_class, message = "bot_wall", f"{service} challenge page instead of content"
            self._source_failed(source, error_class, message)
            return
        hint = max(filter(None, (hints.freshness(headers, now), document.ttl)), default=None)
        new = list(self._new_entries(source, document.entries, now))
        self.context.archive.record_feed(
            self.context.run_id,
            source.name,
            len(document.entries),
            document.warning,
            http_status=response.status,
            hint=hint,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
        )
        self.context.emit(events.FeedRead(source.name, entries=len(document.entries), new=len(new)))
        yield from self._follow(source, document, depth)
        yield from self._take(source, new)

    def parse_more(self, response: Response, source: Source, depth: int) -> Iterator[Any]:
        """Read a further document of a source: a child sitemap or a listing's next page."""
        return self._guarded(source, response, self._read_more(response, source, depth))

    def _read_more(self, response: Response, source: Source, depth: int) -> Iterator[Any]:
        document = self._read(source, response)
        if document.problem is not None:
            self.logger.warning(
                "source %s: %s: %s: %s",
                source.name, response.url, document.problem.error_class, document.problem.message,
            )  # fmt: skip
            return
        yield from self._follow(source, document, depth)
        yield from self._take(
            source, self._new_entries(source, document.entries, self.context.clock())
        )

    def _guarded(self, source: Source, response: Response, work: Iterator[Any]) -> Iterator[Any]:
        """Yield what *work* yields; an exception it raises fails *source*, with its class.

        Scrapy would log such an exception and carry on, leaving the source "ok" with what
        it had yielded so far. Errors of the archive itself (disk full) go on to Scrapy,
        where crawler.extensions.diskfull stops the crawl.
        """
        try:
            yield from work
        except WirewatchError:
            raise
        except Exception as error:
            error_class, message = classify(error)
            self.logger.warning(
                "source %s: reading %s raised", source.name, response.url, exc_info=True
            )
            self._source_failed(source, error_class, f"{message} (reading {response.url})")

    def _read(self, source: Source, response: Response) -> Feed:
        with self.context.timing("feeds"):
            return self._parse_document(source, response)

    def _parse_document(self, source: Source, response: Response) -> Feed:
        max_bytes = self.context.plan.crawl.max_size_mb * 1024 * 1024
        if source.kind == "sitemap":
            since = self.context.clock() - timedelta(seconds=source.max_age)
            return parse_sitemap(response.body, url=response.url, since=since, max_bytes=max_bytes)
        if source.kind == "page":
            if not isinstance(response, TextResponse):
                return parse_feed(b"", url=response.url)  # reported as an empty document
            assert source.links is not None  # the config requires it for pages
            return parse_listing(
                response.text, url=response.url, links=source.links, next_page=source.next
            )
        content_type = _headers(response).get("content-type")
        return parse_feed(
            response.body, url=response.url, content_type=content_type, max_bytes=max_bytes
        )

    def _follow(self, source: Source, document: Feed, depth: int) -> Iterator[scrapy.Request]:
        """Request a sitemap index's children, or a listing's next page up to ``depth``.

        Only links the source's policy allows; a sitemap index tree is read at most
        MAX_DEPTH levels deep, and at most MAX_SITEMAPS of its sitemaps per crawl.
        """
        if source.kind == "page" and depth >= source.depth:
            return
        left = self._left[source.name]
        for url in document.children:
            refusal = self._policies[source.name].check(url)
            if refusal is not None:
                left[refusal] += 1
                continue
            if source.kind == "sitemap":
                if depth >= MAX_DEPTH or self._sitemaps[source.name] >= MAX_SITEMAPS:
                    left["sitemap_depth" if depth >= MAX_DEPTH else "sitemap_count"] += 1
                    continue
                self._sitemaps[source.name] += 1
            yield self._request(
                source,
                url,
                callback=self.parse_more,
                errback=self.more_failed,
                cb_kwargs={"source": source, "depth": depth + 1},
            )

    def source_failed(self, failure: Failure) -> None:
        source: Source = failure.request.cb_kwargs["source"]  # type: ignore[attr-defined]
        error_class, message = classify(failure.value)
        response = getattr(failure.value, "response", None)
        status, hint = None, None
        if response is not None:
            status = response.status
            headers = _headers(response)
            service = bot_wall(response.status, headers, response.body)
            if service:
                error_class = "bot_wall"
                message = f"{service} challenge page (HTTP {response.status})"
            if response.status in (429, 503):
                hint = hints.retry_after(headers, self.context.clock())
        self._source_failed(source, error_class, message, http_status=status, hint=hint)

    def more_failed(self, failure: Failure) -> None:
        source: Source = failure.request.cb_kwargs["source"]  # type: ignore[attr-defined]
        if isinstance(failure.value, LinkRefused):
            self._left[source.name][failure.value.kind] += 1
        error_class, message = classify(failure.value)
        url = failure.request.url  # type: ignore[attr-defined]
        self.logger.warning("source %s: %s: %s: %s", source.name, url, error_class, message)

    # Entries and their articles ------------------------------------------------------------

    def _new_entries(
        self, source: Source, entries: list[FeedEntry], now: datetime
    ) -> Iterator[tuple[FeedEntry, Identity]]:
        """Yield the entries that are neither known nor too old, each with its identity.

        Entries skipped for their age leave a tombstone, so they stay skipped when a feed
        later re-publishes them with a new date.
        """
        oldest = now - timedelta(seconds=source.max_age)
        too_old = []
        for entry, identity in zip(entries, identify(entries, source=source.name), strict=True):
            if identity.key in self._taken:
                continue
            self._taken.add(identity.key)
            if self.context.archive.is_known(source.name, entry.guid, identity.key):
                continue
            if self._first[source.name] and entry.published and entry.published < oldest:
                too_old.append(identity.key)
                continue
            yield entry, identity
        self.context.archive.remember(too_old, source.name, "too_old", now)

    def _take(
        self, source: Source, new: Iterable[tuple[FeedEntry, Identity]]
    ) -> Iterator[scrapy.Request | ArticleItem]:
        """Yield a request for each new entry's page, or its article when none is fetched.

        A link that is no http(s) URL (``file:``, ``data:``, ``tag:``, a port out of range)
        is never followed, and counted in the source's warning: the entry is archived as one
        without a link, from what its feed says of it, under a ``urn:wirewatch:`` address; one
        whose feed says nothing but the link (a sitemap's ``<loc>``) is skipped. A
        page the policy does not fetch (too long a link, a private address) leaves the
        entry's summary as its body, as a page that failed does.
        """
        for entry, identity in new:
            if identity.refused is not None:
                self._left[source.name][identity.refused] += 1
                if entry.title or entry.summary:
                    yield self._article(source, entry, identity, None)
                continue
            if not (source.full_text and identity.fetch):
                yield self._article(source, entry, identity, None)
                continue
            refusal = self._policies[source.name].check(identity.fetch)
            if refusal is not None:
                self._left[source.name][refusal] += 1
                reason = f"article page not fetched (policy: {describe(refusal, identity.fetch)})"
                yield self._article(source, entry, identity, None, error=reason)
                continue
            yield self._request(
                source,
                identity.fetch,
                callback=self.parse_article,
                errback=self.article_failed,
                cb_kwargs={"source": source, "entry": entry, "identity": identity},
            )

    def parse_article(
        self, response: Response, source: Source, entry: FeedEntry, identity: Identity
    ) -> Iterator[ArticleItem]:
        """Extract an entry's page; a page that breaks extraction costs that article its
        text only: it is archived with the feed summary and the reason, as a failed fetch is."""
        try:
            article = self._read_article(response, source, entry, identity)
        except WirewatchError:
            raise
        except Exception as error:
            error_class, message = classify(error)
            self.logger.warning("source %s: reading %s raised", source.name, response.url,
                                exc_info=True)  # fmt: skip
            reason = f"article page not read ({error_class}: {message})"
            article = self._article(source, entry, identity, None, error=reason)
        if article is not None:
            yield article

    def _read_article(
        self, response: Response, source: Source, entry: FeedEntry, identity: Identity
    ) -> ArticleItem | None:
        """Return the article with its page's text, or None when it is too old to keep."""
        if not isinstance(response, TextResponse):
            page = Page(None, "the link is not an HTML page")
        else:
            with self.context.timing("extraction"):
                page = extract_page(
                    response.text,
                    url=response.url,
                    raw=response.body,
                    want_date=not entry.published,
                )
        article = self._article(source, entry, identity, page, response_url=response.url)
        return None if self._too_old_on_first_read(source, article) else article

    def article_failed(self, failure: Failure) -> Iterator[ArticleItem]:
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        if isinstance(failure.value, LinkRefused):  # a redirect, or a name's address
            self._left[kwargs["source"].name][failure.value.kind] += 1
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
        with self.context.timing("language"):  # the rest of building the article is small
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

    def _too_old_on_first_read(self, source: Source, article: ArticleItem) -> bool:
        """Listing pages give no dates: check the page's own date once it is known."""
        if source.kind != "page" or not self._first[source.name] or not article.published:
            return False
        now = self.context.clock()
        oldest = now - timedelta(seconds=source.max_age)
        published = parse_rfc3339(article.published)
        if published is None or published >= oldest:
            return False
        self.context.archive.remember([article.key], source.name, "too_old", now)
        return True

    def _source_failed(
        self,
        source: Source,
        error_class: str,
        message: str,
        *,
        http_status: int | None = None,
        hint: float | None = None,
    ) -> None:
        self.logger.warning("source %s failed: %s: %s", source.name, error_class, message)
        self.context.archive.record_source_error(
            self.context.run_id,
            source.name,
            error_class,
            message,
            self.context.clock(),
            http_status=http_status,
            hint=hint,
        )
        self.context.emit(events.SourceFailed(source.name, error_class, message))

    def closed(self, reason: str) -> None:
        """Report, as each source's warning, the links this crawl left alone."""
        for name, left in self._left.items():
            warning = summary(left)
            if not warning:
                continue
            self.logger.warning("source %s: %s", name, warning)
            self.context.archive.add_warning(self.context.run_id, name, warning)
            self.context.emit(events.LinksSkipped(name, warning, dict(left)))


def _headers(response: Response) -> dict[str, str]:
    """Return the response's headers as lower-case names to their first value."""
    return {
        key.decode("latin-1").lower(): values[0].decode("latin-1")
        for key, values in response.headers.items()
        if values
    }
