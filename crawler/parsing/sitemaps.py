"""Read sitemaps and sitemap indexes, with the Google News extension that SitemapSpider drops.

A news sitemap carries each story's title, publication date and language in ``news:news``;
these become the entry's title, published time and language. Only entries newer than
*since* are returned, and an index's child sitemaps are returned when they changed since
then (or do not say), newest first.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from crawler.parsing.dates import parse_rfc3339
from crawler.parsing.encoding import unpack
from crawler.parsing.model import Feed, FeedEntry, FeedProblem, reports_problems

NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
MAX_ENTRIES = 1000  # of one sitemap, newest first: a news sitemap holds two days of stories
MAX_CHILDREN = 20  # of one index
# An index may list indexes, which may list indexes... A hostile site's endless tree drew 841
# requests 15 levels deep: a source reads documents at most MAX_DEPTH levels down (its own
# document is level 1) and at most MAX_SITEMAPS further sitemaps per crawl.
MAX_DEPTH = 3
MAX_SITEMAPS = 50

# No entities, no network, no huge trees: a sitemap is untrusted input.
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=True, remove_comments=True
)


@reports_problems
def parse_sitemap(body: bytes, *, url: str, since: datetime, max_bytes: int) -> Feed:
    """Parse a sitemap or sitemap index; report a FeedProblem rather than raise."""
    unpacked = unpack(body, max_bytes)
    if isinstance(unpacked, FeedProblem):
        return Feed([], unpacked)
    body = unpacked
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as error:
        return Feed([], FeedProblem("malformed", f"not readable XML: {error}"))
    if root is None:
        return Feed([], FeedProblem("not_a_feed", "not a sitemap (no XML document)"))
    kind = etree.QName(root).localname
    if kind == "sitemapindex":
        return _index(root, since)
    if kind != "urlset":
        return Feed([], FeedProblem("not_a_feed", f"not a sitemap (the root is <{kind}>)"))
    return _urlset(root, since)


def _index(root: etree._Element, since: datetime) -> Feed:
    children = []
    for sitemap in root:
        loc = _child_text(sitemap, "loc")
        modified = parse_rfc3339(_child_text(sitemap, "lastmod"))
        if loc and (modified is None or modified >= since):
            children.append((modified or datetime.max.replace(tzinfo=UTC), loc))
    children.sort(reverse=True)
    extra = len(children) - MAX_CHILDREN
    warning = f"{extra} child sitemaps beyond the newest {MAX_CHILDREN} were skipped"
    return Feed([], None, warning if extra > 0 else None, None,
                [loc for _, loc in children[:MAX_CHILDREN]])  # fmt: skip


def _urlset(root: etree._Element, since: datetime) -> Feed:
    entries = []
    older = 0
    for node in root:
        loc = _child_text(node, "loc")
        if not loc:
            continue
        news = node.find(f"{NEWS}news")
        title = _text(news, f"{NEWS}title")
        raw_date = _text(news, f"{NEWS}publication_date") or _child_text(node, "lastmod")
        language = _text(news.find(f"{NEWS}publication") if news is not None else None,
                         f"{NEWS}language")  # fmt: skip
        published = parse_rfc3339(raw_date)
        if published is not None and published < since:
            older += 1
            continue
        entries.append(FeedEntry(None, loc, title, "", published, raw_date, language or None))
    # Newest first, then the undated ones in the sitemap's order.
    entries.sort(key=lambda e: (e.published is None, -(e.published or since).timestamp()))
    warning = f"{older} URLs older than max_age were skipped" if older else None
    if len(entries) > MAX_ENTRIES:
        extra = f"{len(entries) - MAX_ENTRIES} URLs beyond the newest {MAX_ENTRIES} were skipped"
        warning = f"{warning}; {extra}" if warning else extra
    return Feed(entries[:MAX_ENTRIES], None, warning)


def _child_text(node: etree._Element, name: str) -> str:
    for child in node:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return (child.text or "").strip()
    return ""


def _text(node: etree._Element | None, tag: str) -> str:
    if node is None:
        return ""
    found = node.find(tag)
    return " ".join((found.text or "").split()) if found is not None else ""
