"""Canonical URLs: one key per story, whatever tracking tags or link variants point at it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Parameters that only say where a click came from. Article IDs such as ?idxno=, ?no= or
# ?ELEMENT_ID= are kept: many Korean and Russian sites put the story's identity there.
_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid|_ga|_gl"
    r"|ocid|cmpid|ncid|sr_share|at_medium|at_campaign|at_link|spm|share|from_rss)$",
    re.IGNORECASE,
)


def canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """Return *url* without tracking parameters (or fragment), with its query sorted."""
    parts = urlsplit(url.strip())
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.match(key)
    ]
    cleaned = urlunsplit(parts._replace(query=urlencode(query)))
    return str(canonicalize_url(cleaned, keep_fragments=keep_fragment))


def choose_url(fetched: str, declared: str | None) -> str:
    """Return the canonical URL of a fetched page, preferring its own ``rel=canonical``.

    A declared canonical is ignored when it is not http(s), or when it points at a site's front
    page from a deeper page: some sites declare their home page as every article's canonical.
    """
    if declared:
        candidate = urlsplit(declared.strip())
        page = urlsplit(fetched)
        deeper = page.path.strip("/") and not candidate.path.strip("/")
        if candidate.scheme in ("http", "https") and candidate.hostname and not deeper:
            return canonical_url(declared)
    return canonical_url(fetched)
