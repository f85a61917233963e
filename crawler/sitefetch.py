"""Fetch a handful of documents from one site outside a crawl, as politely as a crawl does.

``wirewatch add`` looks at a site before it becomes a source: a page, robots.txt, a few
feed paths. That is a dozen requests at most, too few to start Scrapy for, so they go
through urllib here, with the same limits: http(s) only, redirects included (no ``file:``,
``ftp:`` or ``data:`` handler is even installed), a private address only on the site's own
host, a timeout on each request, a cap on the bytes read, and a pause between requests.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO, Any

from crawler.urlpolicy import LinkPolicy, describe, literal_address, public_address

MAX_REDIRECTS = 5


class FetchFailed(Exception):
    """Raised by :class:`SiteFetcher` when a document could not be fetched: says why.

    *reached* is True when the server answered (with an error status, say), False when it
    could not be reached at all.
    """

    def __init__(self, message: str, *, reached: bool = True) -> None:
        super().__init__(message)
        self.reached = reached


@dataclass(frozen=True)
class Fetched:
    """A document as the server sent it: its final URL, status, media type and body."""

    url: str
    status: int
    content_type: str | None
    body: bytes


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a URL the source's link policy allows."""

    max_redirections = MAX_REDIRECTS

    def __init__(self, policy: LinkPolicy) -> None:
        self.policy = policy

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
        headers: HTTPMessage, newurl: str,
    ) -> urllib.request.Request | None:  # fmt: skip
        why = refused(self.policy, newurl)
        if why is not None:
            raise FetchFailed(f"{req.full_url} redirects to {why}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class SiteFetcher:
    """GETs documents of one site with a user agent, a timeout, a size cap and a delay."""

    def __init__(
        self,
        site: str,
        *,
        user_agent: str,
        timeout: float,
        max_bytes: int,
        delay: float = 0.0,
        allow_private: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = LinkPolicy.for_source(site, allow_private=allow_private)
        self.user_agent = user_agent
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.delay = delay
        self.requests = 0
        self._clock = clock
        self._last = float("-inf")
        # Only these handlers: no file:, ftp: or data: URL can be opened, even by a redirect.
        self._opener = urllib.request.OpenerDirector()
        handlers: list[Any] = [
            urllib.request.ProxyHandler(),
            urllib.request.HTTPHandler(),
            urllib.request.HTTPSHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            urllib.request.HTTPErrorProcessor(),
            _Redirects(self.policy),
        ]
        for handler in handlers:
            self._opener.add_handler(handler)

    def get(self, url: str) -> Fetched:
        """Return the document at *url*; raise FetchFailed for an error status or a failure."""
        why = refused(self.policy, url)
        if why is not None:
            raise FetchFailed(why)
        wait = self._last + self.delay - self._clock()
        if wait > 0:
            time.sleep(wait)
        self.requests += 1
        # The opener has no handler but http(s), and the policy checked the URL above.
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})  # noqa: S310
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read(self.max_bytes + 1)
                final, status = response.geturl(), response.status
                content_type = response.headers.get("Content-Type")
        except urllib.error.HTTPError as error:
            raise FetchFailed(f"{url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise FetchFailed(f"{url}: {reason}", reached=False) from None
        finally:
            self._last = self._clock()
        if len(body) > self.max_bytes:
            raise FetchFailed(f"{url}: larger than {self.max_bytes // 1024} KiB, not read")
        return Fetched(final, status, content_type, body)


def refused(policy: LinkPolicy, url: str) -> str | None:
    """Return why *policy* forbids fetching *url*, looking up another host's name; or None.

    A name on another host (an autodiscovery link, a redirect) that resolves to a private
    address is refused as the crawl's link policy refuses it.
    """
    refusal = policy.check(url)
    if refusal is not None:
        return describe(refusal, url)
    host = (urllib.parse.urlsplit(url).hostname or "").rstrip(".")
    if not policy.needs_lookup(host):
        return None
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None  # the request fails as a DNS error, saying so
    for *_, address in found:
        parsed = literal_address(str(address[0]))
        if parsed is None or not public_address(parsed):
            return (
                f"{host} resolves to the private address {address[0]} "
                "(allow_private: true fetches it)"
            )
    return None
