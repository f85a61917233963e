"""The spider that reads flagged stories' pages again, to see what changed since."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure
from w3lib.encoding import html_to_unicode

from crawler.context import CrawlContext
from crawler.extract import extract_page
from crawler.failures import classify
from crawler.middlewares.linkpolicy import POLICY_KEY
from crawler.urlpolicy import LinkPolicy, describe
from monitor.archive import rechecks as book
from monitor.archive.store import sha256_hex
from monitor.config import Source
from monitor.errors import WirewatchError
from monitor.rechecking import GONE_STATUSES, Reading, Target, Version, judge


class RecheckSpider(scrapy.Spider):
    """Fetch each target's page with its source's politeness, extract it as a crawl does,
    and record what monitor.rechecking.judge makes of it.

    Only orchestration: the extraction is crawler.extract's, the verdict is pure, the
    record is the archive's. robots.txt, the per-host slots, the size cap and the timeouts
    are the crawl's own (crawler.runner.build_settings).
    """

    name = "recheck"

    def __init__(
        self, context: CrawlContext, sources: list[Source], targets: list[Target], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.context = context
        self.sources = {source.name: source for source in sources}
        self.targets = targets
        self.policies = {
            source.name: LinkPolicy.for_source(
                source.url, allow_private=source.politeness(context.plan.crawl).allow_private
            )
            for source in sources
        }

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for target in self.targets:
            source = self.sources.get(target.source)
            if source is None:
                continue  # the parent only sends targets of configured sources
            refusal = self.policies[source.name].check(target.url)
            if refusal is not None:
                reason = f"not fetched ({describe(refusal, target.url)})"
                self._record(target, Reading(None, target.url, False, error=reason))
                continue
            politeness = source.politeness(self.context.plan.crawl)
            yield scrapy.Request(
                target.url,
                headers={"User-Agent": politeness.user_agent},
                meta={
                    "download_timeout": politeness.timeout,
                    "dont_obey_robotstxt": not politeness.obey_robots,
                    "wirewatch_source": source.name,
                    POLICY_KEY: self.policies[source.name],
                    "handle_httpstatus_list": sorted(GONE_STATUSES),
                },
                callback=self.parse_page,
                errback=self.page_failed,
                cb_kwargs={"target": target},
                dont_filter=True,
            )

    def parse_page(self, response: Response, target: Target) -> None:
        """Judge a page that answered; a page that breaks extraction is a failed check."""
        redirected = bool(response.meta.get("redirect_urls"))
        reading = Reading(response.status, response.url, redirected)
        try:
            if response.status not in GONE_STATUSES:
                reading = self._read(response, reading)
        except WirewatchError:
            raise
        except Exception as error:
            error_class, message = classify(error)
            self.logger.warning("re-check of %s raised", response.url, exc_info=True)
            reading = dataclasses.replace(reading, error=f"{error_class}: {message}")
        self._record(target, reading)

    def _read(self, response: Response, reading: Reading) -> Reading:
        if not isinstance(response, TextResponse):
            return dataclasses.replace(reading, error="the link is not an HTML page")
        with self.context.timing("extraction"):
            page = extract_page(response.text, url=response.url, raw=response.body)
        return dataclasses.replace(
            reading,
            title=page.title,
            text=page.text,
            sha256=sha256_hex(response.body),
            error=None if page.text else page.error,
        )

    def page_failed(self, failure: Failure) -> None:
        target: Target = failure.request.cb_kwargs["target"]  # type: ignore[attr-defined]
        error_class, message = classify(failure.value)
        response = getattr(failure.value, "response", None)
        status = response.status if response is not None else None
        url = response.url if response is not None else target.url
        self._record(target, Reading(status, url, False, error=f"{error_class}: {message}"))

    def _record(self, target: Target, reading: Reading) -> None:
        archive = self.context.local_archive
        before = self._before(target)
        verdict = judge(target.url, before, reading)
        book.record(
            archive,
            target.article_id,
            target.round,
            self.context.clock(),
            verdict,
            http_status=reading.status,
            url=reading.url,
            sha256=reading.sha256,
        )
        self.logger.info("re-check of %s: %s", target.url, verdict.outcome)

    def _before(self, target: Target) -> Version:
        """Return the version to compare with. The first time, the headline is the stored
        page's, extracted as now, so a feed's headline is not taken for a change; with no
        stored page there is none to compare, and this reading's becomes the first."""
        before = book.version(self.context.local_archive, target.article_id)
        if not before.first:
            return before
        html = self.context.local_archive.page_html(target.article_id)
        if html is None:
            return dataclasses.replace(before, title=None)
        _, text = html_to_unicode(None, html)  # the page's own charset, as Scrapy reads it
        page = extract_page(text, url=target.url)
        return dataclasses.replace(before, title=page.title)
