"""Decide what identifies each feed entry in the archive, and whether its link is its own page.

An entry's link identifies it, once tracking parameters are stripped, when no other entry
of the same feed has that link. Some feeds give several entries one link: a podcast whose
episodes all point at its home page, a blog whose posts are anchors of one day's page. Such
a link names none of them: those entries are keyed by their GUID (or, without one, by a
digest of their title and summary), and their page is not fetched, since it is not theirs.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from crawler.parsing.model import FeedEntry
from crawler.urls import canonical_url


@dataclass(frozen=True)
class Identity:
    """How the archive knows one entry."""

    key: str  # unique in the archive
    url: str  # the link an analyst follows
    fetch: str | None  # the page to fetch for the full text, or None


def identify(entries: list[FeedEntry], *, source: str) -> list[Identity]:
    """Return the identity of each entry of one feed, in order."""
    links = [_link(entry) for entry in entries]
    counts = Counter(canonical_url(link) for link in links if link)
    identities = []
    for entry, link in zip(entries, links, strict=True):
        if link and counts[canonical_url(link)] == 1:
            key = canonical_url(link)
            identities.append(Identity(key, key, link))
            continue
        own = entry.guid or "sha1:" + _digest(entry.title, entry.summary)
        key = f"entry:{source}:{own}"
        url = canonical_url(link, keep_fragment=True) if link else f"urn:wirewatch:{key}"
        identities.append(Identity(key, url, None))
    return identities


def _link(entry: FeedEntry) -> str | None:
    if entry.link:
        return entry.link
    if entry.guid and entry.guid.startswith(("http://", "https://")):
        return entry.guid  # an RSS permalink GUID is the entry's link
    return None


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()
