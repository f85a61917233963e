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


_AMP_QUERY = re.compile(r"^(amp|outputtype|output)$", re.IGNORECASE)
_AMP_CACHE = re.compile(r"^[\w.-]+\.cdn\.ampproject\.org$", re.IGNORECASE)


def canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """Return *url* without tracking parameters (or fragment), with its query sorted, and
    its AMP variant turned back into the ordinary page's URL."""
    parts = urlsplit(de_amp(url.strip()))
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


def de_amp(url: str) -> str:
    """Return the ordinary page's URL for an AMP one; other URLs are returned unchanged.

    Handles the AMP cache (``host.cdn.ampproject.org/c/s/site/path``), ``amp.`` hosts,
    ``/amp/`` and ``/amp`` path segments, ``.amp`` and ``.amp.html`` endings, and
    ``?amp``, ``?amp=1``, ``?outputType=amp`` queries.
    """
    parts = urlsplit(url)
    if parts.hostname and _AMP_CACHE.match(parts.hostname):
        match = re.match(r"^/[a-z]/(s/)?([^/]+)(/.*)?$", parts.path)
        if match:
            scheme = "https" if match.group(1) else "http"
            return de_amp(
                urlunsplit((scheme, match.group(2), match.group(3) or "/", parts.query, ""))
            )
    netloc = parts.netloc
    if parts.hostname and parts.hostname.startswith("amp.") and parts.hostname.count(".") >= 2:
        netloc = netloc.replace("amp.", "", 1)
    path = re.sub(r"/amp(?=/|$)", "", parts.path) or "/"
    path = (
        re.sub(r"\.amp(\.html?)?$", r"\1", path)
        if path.endswith((".amp", ".amp.html", ".amp.htm"))
        else path
    )
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not (_AMP_QUERY.match(key) and value.lower() in ("", "1", "true", "amp"))
    ]
    return urlunsplit(parts._replace(netloc=netloc, path=path, query=urlencode(query)))
