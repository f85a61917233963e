"""Decide what identifies each feed entry in the archive, and whether its link is its own page.

An entry's link identifies it, once tracking parameters are stripped, when no other entry
of the same feed has that link. Some feeds give several entries one link: a podcast whose
episodes all point at its home page, a blog whose posts are anchors of one day's page. Such
a link names none of them: those entries are keyed by their GUID (or, without one, by a
digest of their title and summary), and their page is not fetched, since it is not theirs.

A link that is no http(s) URL (``file:``, ``data:``, ``ftp:``, a port out of range) is no
link at all: the entry is keyed as one without a link, its identity says why (``refused``),
and the spider never follows it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from crawler.parsing.model import FeedEntry
from crawler.urlpolicy import Refusal, check_link
from crawler.urls import canonical_url


@dataclass(frozen=True)
class Identity:
    """How the archive knows one entry."""

    key: str  # unique in the archive
    url: str  # the link an analyst follows
    fetch: str | None  # the page to fetch for the full text, or None
    refused: Refusal | None = None  # why the entry's link is none the crawler may use


def identify(entries: list[FeedEntry], *, source: str) -> list[Identity]:
    """Return the identity of each entry of one feed, in order."""
    checked = [_link(entry) for entry in entries]
    counts = Counter(canonical_url(link) for link, _ in checked if link)
    identities = []
    for entry, (link, refused) in zip(entries, checked, strict=True):
        if link and counts[canonical_url(link)] == 1:
            key = canonical_url(link)
            identities.append(Identity(key, key, link))
            continue
        # A refused link still tells entries apart (a sitemap's have no title or summary).
        extra = (entry.link or "",) if refused else ()
        own = entry.guid or "sha1:" + _digest(entry.title, entry.summary, *extra)
        key = f"entry:{source}:{own}"
        url = canonical_url(link, keep_fragment=True) if link else f"urn:wirewatch:{key}"
        identities.append(Identity(key, url, None, refused))
    return identities


def _link(entry: FeedEntry) -> tuple[str | None, Refusal | None]:
    """Return the entry's http(s) link, or None and why its link is not one."""
    link = entry.link
    if not link and entry.guid and entry.guid.startswith(("http://", "https://")):
        link = entry.guid  # an RSS permalink GUID is the entry's link
    if not link:
        return None, None
    refused = check_link(link)
    return (None, refused) if refused else (link, None)


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()
