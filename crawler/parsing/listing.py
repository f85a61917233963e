"""Read a section page of a site with no feed: the article links a selector picks, and the
link to the next page of the listing."""

from __future__ import annotations

from urllib.parse import urljoin

import parsel

from crawler.parsing.model import Feed, FeedEntry, FeedProblem, reports_problems
from monitor.config import compile_selector


@reports_problems
def parse_listing(html: str, *, url: str, links: str, next_page: str | None = None) -> Feed:
    """Return the linked articles as entries (their link text as title), and the next page.

    *links* and *next_page* are CSS or XPath selectors (see monitor.config.compile_selector);
    they may pick ``<a>`` elements, elements that contain one, or ``@href`` attributes.
    """
    document = parsel.Selector(text=html, base_url=url)
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for node in _select(document, links):
        href, title = _link(node)
        if not href:
            continue
        absolute = _join(url, href)
        if not absolute.startswith(("http://", "https://")) or absolute in seen:
            continue
        seen.add(absolute)
        entries.append(FeedEntry(None, absolute, title, "", None, None))
    children = []
    if next_page:
        following = next(
            (href for href, _ in map(_link, _select(document, next_page)) if href), None
        )
        if following:
            children.append(_join(url, following))
    if not entries:
        problem = FeedProblem("empty", f"the links selector {links!r} matched no links")
        return Feed([], problem, None, None, children)
    return Feed(entries, None, None, None, children)


def _join(base: str, href: str) -> str:
    """Return *href* made absolute; as it is when it cannot be, so that one bad link is
    refused alone (crawler.urlpolicy) instead of failing the whole page."""
    try:
        return urljoin(base, href)
    except ValueError:  # e.g. "http://[::1", a bracketed host never closed
        return href


def _select(document: parsel.Selector, selector: str) -> parsel.SelectorList[parsel.Selector]:
    kind, expression = compile_selector(selector)
    return document.xpath(expression) if kind == "xpath" else document.css(expression)


def _link(node: parsel.Selector) -> tuple[str | None, str]:
    if isinstance(node.root, str):  # an attribute or text node, e.g. //a/@href
        return node.root.strip() or None, ""
    anchor = node if node.root.tag == "a" else node.css("a")
    href = anchor.attrib.get("href")
    text = " ".join(" ".join(anchor.css("::text").getall()).split()) if href else ""
    return (href.strip() if href else None), text
