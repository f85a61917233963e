"""The link policy on every request the downloader sees: redirects and robots.txt included.

The spider already schedules only links its source's :class:`~crawler.urlpolicy.LinkPolicy`
allows; this middleware is the second line, and the only one for what the spider never
sees: a redirect's target, and the address a DNS name resolves to. It runs first
(before robots.txt is fetched for a host) and refuses a request with :class:`LinkRefused`,
which reaches the request's errback and is recorded as the ``policy`` error class.

A DNS name other than the source's own host is looked up through Scrapy's own caching
resolver (``DNS_TIMEOUT``, ``DNSCACHE_SIZE``) before the request goes on, and refused when
its address is not public. The download then connects to the cached address, so a name
cannot answer a public address to the check and a private one to the connection. A name
that does not resolve goes on, and fails in the downloader as a ``dns`` error (or is
resolved by a proxy, in the proxy's network). Only IPv4 is looked up, as Scrapy's default
resolver connects over IPv4 only.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urljoin

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from w3lib.url import safe_url_string

from crawler.urlpolicy import (
    LinkPolicy,
    Refusal,
    check_link,
    describe,
    literal_address,
    public_address,
)

POLICY_KEY = "wirewatch_policy"  # a request's LinkPolicy, set by the spider and kept on redirects
# A request without one (robots.txt, and its redirects) gets this: no private address
# other than a host a checked request already went to.
_STRICT = LinkPolicy("")


class LinkRefused(IgnoreRequest):
    """Raised for a request, or a redirect, that the source's link policy does not allow."""

    def __init__(
        self, url: str, refusal: Refusal, *, redirect: bool = False, why: str = ""
    ) -> None:
        self.url = url
        self.refusal = refusal
        self.kind = "redirect" if redirect else str(refusal)  # as crawler.urlpolicy counts it
        what = "redirect refused" if redirect else "link refused"
        super().__init__(f"{what}: {why or describe(refusal, url)}")


class LinkPolicyMiddleware:
    """Refuse requests outside their source's link policy, and redirects to other schemes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._cleared: set[str] = set()  # hosts that a request with a policy went to
        self._private: dict[str, str | None] = {}  # DNS name -> its address if not public

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LinkPolicyMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        policy: LinkPolicy | None = request.meta.get(POLICY_KEY)
        if policy is None and host in self._cleared:
            return  # robots.txt of a site the crawl already goes to
        policy = policy or _STRICT
        refusal = policy.check(request.url)
        if refusal is not None:
            raise LinkRefused(request.url, refusal)
        if policy.needs_lookup(host):
            address = await self._private_address(host)
            if address is not None:
                why = (
                    f"{host} resolves to the private address {address} "
                    "(allow_private: true fetches it)"
                )
                raise LinkRefused(request.url, Refusal.PRIVATE, why=why)
        if policy is not _STRICT:
            self._cleared.add(host)

    def process_response(self, request: Request, response: Response) -> Response:
        """Refuse a redirect to a scheme other than http(s), saying so.

        Scrapy's RedirectMiddleware does not follow one, and passes the 3xx on, which the
        spider would report as a bare "HTTP 302". It runs before this one on responses.
        """
        location = response.headers.get("Location")
        if not (300 <= response.status < 400 and location) or request.meta.get("dont_redirect"):
            return response
        target = urljoin(request.url, safe_url_string(location))
        refusal = check_link(target)
        if refusal is not None:
            raise LinkRefused(target, refusal, redirect=True)
        return response

    async def _private_address(self, host: str) -> str | None:
        """Return the address *host* resolves to when it is not public, else None."""
        if host not in self._private:
            from twisted.internet import reactor  # the reactor Scrapy installed

            try:
                resolving = cast(Any, reactor).resolve(host)
                address = str(await maybe_deferred_to_future(resolving))
            except Exception:  # DNSLookupError, a timeout: nothing is cached
                # The download looks the name up again and fails as a dns error, or goes
                # through a proxy (HTTP_PROXY) that resolves it in its own network.
                return None
            parsed = literal_address(address)
            self._private[host] = address if parsed is None or not public_address(parsed) else None
        return self._private[host]
