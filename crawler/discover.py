"""Find a site's feed or news sitemap, and preview its latest items: ``python -m crawler.discover``.

``wirewatch add URL`` runs this in a child process (monitor/ never imports the crawler) and
reads its JSON on stdout. It looks, in order, and stops at the first step that finds one:

1. the URL itself, when it is a feed or a sitemap;
2. the page's autodiscovery links (``<link rel="alternate" type="application/rss+xml">``);
3. a few paths where sites commonly keep a feed (/feed, /rss.xml, /atom.xml, ...);
4. the sitemaps robots.txt names, when one is a news sitemap or a sitemap index.

Each candidate is read with the crawler's own parsers, so what it previews is what a crawl
would collect: the latest items with their dates and languages. robots.txt is obeyed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.robotparser
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from crawler.language import choose
from crawler.parsing.feeds import parse_feed
from crawler.parsing.model import Feed, FeedEntry
from crawler.parsing.sitemaps import NEWS, parse_sitemap
from crawler.sitefetch import Fetched, FetchFailed, SiteFetcher

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)
COMMON_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml",
                "/feeds/all.atom.xml")  # fmt: skip
MAX_LINKS = 5  # autodiscovery links read from one page
MAX_SITEMAPS = 3  # sitemaps of robots.txt read
PREVIEW = 5  # items shown of each feed or sitemap
MAX_BYTES = 4 * 1024 * 1024  # of one document: a preview needs no more
_SITEMAP_ROOT = re.compile(rb"<(?:\w+:)?(?:urlset|sitemapindex)[\s>]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    """One item of a preview: its title, link, date (ISO 8601, UTC) and language."""

    title: str
    link: str | None
    published: str | None
    language: str | None


@dataclass
class Found:
    """A feed or news sitemap of the site, how it was found, and its latest items."""

    kind: str  # feed or sitemap, as a source's kind:
    url: str
    how: str
    items: list[Item] = field(default_factory=list)
    language: str | None = None  # the language most items are in, when most agree


@dataclass
class Discovery:
    """What looking at a site found, and what it tried that gave nothing."""

    site: str
    found: list[Found] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests: int = 0
    unreachable: str | None = None  # why the site could not be reached at all


def discover(site: str, fetcher: SiteFetcher) -> Discovery:
    """Look for the feeds and news sitemaps of *site*, in the order the module describes."""
    search = _Search(site, fetcher)
    steps = (search.the_url_itself, search.autodiscovered, search.common_paths,
             search.sitemaps_of_robots)  # fmt: skip
    for step in steps:
        step()
        if search.result.found or search.result.unreachable:
            break
    search.result.requests = fetcher.requests
    return search.result


class _Search:
    """One look at a site: its robots.txt, the page at its URL, and what was found so far."""

    def __init__(self, site: str, fetcher: SiteFetcher) -> None:
        self.site = site
        self.fetcher = fetcher
        self.result = Discovery(site)
        self.page: Fetched | None = None
        self.robots = urllib.robotparser.RobotFileParser()
        try:
            text = fetcher.get(urljoin(site, "/robots.txt")).body.decode("utf-8", "replace")
        except FetchFailed:
            text = ""  # no robots.txt: everything may be fetched, and no sitemap is named
        self.robots.parse(text.splitlines())

    def get(self, url: str) -> Fetched | None:
        """Fetch *url* unless robots.txt disallows it; note why when nothing came."""
        if not self.robots.can_fetch(self.fetcher.user_agent, url):
            self.result.notes.append(f"{url}: robots.txt disallows it")
            return None
        try:
            return self.fetcher.get(url)
        except FetchFailed as error:
            self.result.notes.append(str(error))
            if url == self.site and not error.reached:
                self.result.unreachable = str(error)  # no use asking it for more paths
            return None

    def the_url_itself(self) -> None:
        self.page = self.get(self.site)
        if self.page is None:
            return
        if _SITEMAP_ROOT.search(self.page.body[:65536]):
            self.read_sitemap(self.page, "the URL itself")
        else:
            self.read_feed(self.page, self.site, "the URL itself", quiet=True)

    def autodiscovered(self) -> None:
        if self.page is None:
            return
        for url in feed_links(self.page.body, self.page.url)[:MAX_LINKS]:
            fetched = self.get(url)
            if fetched is not None:
                self.read_feed(fetched, url, "an autodiscovery link of the page")

    def common_paths(self) -> None:
        for path in COMMON_PATHS:
            url = urljoin(self.site, path)
            fetched = self.get(url)
            if fetched is not None and self.read_feed(fetched, url, "a common feed path"):
                return  # one is enough: the rest would only be the same feed again

    def sitemaps_of_robots(self) -> None:
        named = self.robots.site_maps() or []
        if not named:
            self.result.notes.append(f"{urljoin(self.site, '/robots.txt')}: names no sitemap")
        for url in named[:MAX_SITEMAPS]:
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            fetched = self.get(url)
            if fetched is not None:
                self.read_sitemap(fetched, "robots.txt")
            if self.result.found:
                return

    def read_feed(self, fetched: Fetched, url: str, how: str, *, quiet: bool = False) -> bool:
        """Add the feed *fetched* to what was found, if it is one; return whether it was."""
        feed = parse_feed(
            fetched.body, url=fetched.url, content_type=fetched.content_type, max_bytes=MAX_BYTES
        )
        if feed.problem is not None:
            if not quiet:
                self.result.notes.append(f"{url}: {feed.problem.message}")
            return False
        self.result.found.append(_found("feed", url, how, feed))
        return True

    def read_sitemap(self, fetched: Fetched, how: str) -> None:
        """Add the sitemap *fetched* to what was found, if it is a news sitemap or an index."""
        sitemap = parse_sitemap(fetched.body, url=fetched.url, since=_EPOCH, max_bytes=MAX_BYTES)
        if sitemap.problem is not None:
            self.result.notes.append(f"{fetched.url}: {sitemap.problem.message}")
            return
        if sitemap.children:  # an index: its newest sitemap shows what the source will bring
            child = self.get(sitemap.children[0])
            if child is not None:
                newest = parse_sitemap(child.body, url=child.url, since=_EPOCH,
                                       max_bytes=MAX_BYTES)  # fmt: skip
                sitemap = Feed(newest.entries)
        elif NEWS.strip("{}").encode() not in fetched.body:
            self.result.notes.append(
                f"{fetched.url}: a sitemap of the whole site, not a news sitemap (too many old "
                "pages to be a source)"
            )
            return
        self.result.found.append(_found("sitemap", fetched.url, how, sitemap))


def feed_links(body: bytes, base: str) -> list[str]:
    """Return the URLs of the feeds an HTML page announces with ``<link rel="alternate">``."""
    try:
        document = lxml.html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return []
    links = []
    for link in document.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" in rels and kind in FEED_TYPES and href:
            url = urljoin(base, href)
            if urlsplit(url).scheme in ("http", "https") and url not in links:
                links.append(url)
    return links


def _found(kind: str, url: str, how: str, feed: Feed) -> Found:
    entries = sorted(feed.entries, key=_newest_first)[:PREVIEW]
    items = [_item(entry) for entry in entries]
    languages = Counter(item.language for item in items if item.language)
    language = None
    if languages:
        top, count = languages.most_common(1)[0]
        language = top if count * 2 > len(items) else None
    return Found(kind, url, how, items, language)


def _newest_first(entry: FeedEntry) -> tuple[bool, float]:
    return entry.published is None, -(entry.published or _EPOCH).timestamp()


def _item(entry: FeedEntry) -> Item:
    published = entry.published.strftime("%Y-%m-%dT%H:%M:%SZ") if entry.published else None
    text = f"{entry.title}. {entry.summary}".strip(". ")
    language = entry.language or (choose(text) if text else None)
    return Item(entry.title, entry.link, published, language)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.discover", description=__doc__)
    parser.add_argument("url", help="the site, a page of it, or a feed")
    parser.add_argument("--user-agent", required=True)
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per request")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds between requests")
    parser.add_argument("--allow-private", action="store_true")
    args = parser.parse_args(argv)
    fetcher = SiteFetcher(args.url, user_agent=args.user_agent, timeout=args.timeout,
                          max_bytes=MAX_BYTES, delay=args.delay,
                          allow_private=args.allow_private)  # fmt: skip
    found = discover(args.url, fetcher)
    sys.stdout.write(json.dumps(asdict(found)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
