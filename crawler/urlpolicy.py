"""Which links the crawler may fetch: http(s) only, of a sane length, and no private address
unless it is the source's own host or the source opts in with ``allow_private``.

A feed, sitemap or page is untrusted input, and so is every link and redirect in it: a
``file:`` link read local files into the archive, an ``ftp:`` link opened an FTP session, and
a link to ``127.0.0.1`` or ``169.254.169.254`` lets a hostile feed make the crawler request
services that only the crawler's machine can reach. This module decides from the URL alone
(literal addresses, ``localhost``); :mod:`crawler.middlewares.linkpolicy` applies it to every
request, redirects included, and checks the address a DNS name resolves to.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from w3lib.url import safe_url_string

from crawler.parsing.sitemaps import MAX_DEPTH, MAX_SITEMAPS
from crawler.urls import canonical_url

SCHEMES = frozenset({"http", "https"})
# Scrapy's URLLENGTH_LIMIT (crawler.settings uses this): a longer request is dropped there
# with only a log line, so the spider never schedules one and counts it instead.
MAX_LENGTH = 2083

_IPV4_NUMERIC = re.compile(r"^[0-9a-fx.]+$")  # 127.1, 2130706433, 0x7f.1 all mean 127.0.0.1
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refusal(StrEnum):
    """Why a link is not fetched."""

    SCHEME = "scheme"  # not http or https: file:, data:, ftp:, s3:, javascript:, ...
    INVALID = "invalid"  # no host, a port out of range, unparseable
    LENGTH = "length"  # longer than MAX_LENGTH
    PRIVATE = "private"  # a loopback, private, link-local or otherwise non-public address


# What a source's warning says of the links the crawler left alone in one crawl, by kind
# (a Refusal, or a bound of a sitemap index tree), with the number of such links.
_NOTES = {
    Refusal.SCHEME: "{n} link(s) not http(s) not followed",
    Refusal.INVALID: "{n} invalid link(s) not followed",
    Refusal.LENGTH: f"{{n}} link(s) over {MAX_LENGTH} characters not fetched",
    Refusal.PRIVATE: "{n} link(s) to private addresses not fetched (allow_private: true allows)",
    "redirect": "{n} redirect(s) to other schemes refused",
    "sitemap_depth": f"{{n}} sitemap(s) nested deeper than {MAX_DEPTH} levels not read",
    "sitemap_count": f"{{n}} sitemap(s) beyond the {MAX_SITEMAPS} read per crawl not read",
}


@dataclass(frozen=True)
class LinkPolicy:
    """The link policy of one source: its own host is always allowed."""

    own_host: str  # the host of the source's URL, lower case; "" for none
    allow_private: bool = False

    @classmethod
    def for_source(cls, url: str, *, allow_private: bool) -> LinkPolicy:
        """Return the policy of a source whose own document is at *url*."""
        return cls((_host(url) or "").lower(), allow_private)

    def check(self, url: str) -> Refusal | None:
        """Return why *url* may not be fetched, or None.

        DNS names other than ``localhost`` are not resolved here: see :meth:`needs_lookup`.
        """
        refusal = check_link(url)
        if refusal is not None:
            return refusal
        if request_length(url) > MAX_LENGTH:
            return Refusal.LENGTH
        host = _host(url) or ""
        if self.is_own(host) or self.allow_private:
            return None
        return Refusal.PRIVATE if private_host(host) else None

    def is_own(self, host: str) -> bool:
        """Return True when *host* is the source's own host (by name, or by address)."""
        host = host.lower().rstrip(".")
        if not self.own_host:
            return False
        if host == self.own_host:
            return True
        mine, theirs = literal_address(self.own_host), literal_address(host)
        return mine is not None and mine == theirs

    def needs_lookup(self, host: str) -> bool:
        """Return True when *host*'s address must be looked up before it is fetched."""
        return not (
            self.allow_private
            or self.is_own(host)
            or literal_address(host) is not None
            or private_host(host)
        )


def check_link(url: str) -> Refusal | None:
    """Return why *url* is no http(s) link at all (its scheme, or a malformed URL), or None."""
    try:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in SCHEMES:
            return Refusal.SCHEME
        # Each raises ValueError (UnicodeError too) for a link nothing downstream could use:
        # a port out of range or not a number, a lone surrogate from a JSON feed's escapes.
        parts.port  # noqa: B018
        canonical_url(url)
    except ValueError:
        return Refusal.INVALID
    return None if parts.hostname else Refusal.INVALID


def describe(refusal: Refusal, url: str) -> str:
    """Return one line saying why *url* is not fetched."""
    if refusal is Refusal.SCHEME:
        scheme = urlsplit(url).scheme or "no scheme"
        return f"{scheme}: links are never fetched (only http and https)"
    if refusal is Refusal.INVALID:
        return f"not a valid http(s) URL: {shorten(url)}"
    if refusal is Refusal.LENGTH:
        length = request_length(url)
        return f"the link is {length} characters long (at most {MAX_LENGTH} are fetched)"
    return (
        f"{_host(url)} is a private or loopback address, and not the source's own host "
        "(allow_private: true fetches it)"
    )


def summary(counts: Mapping[str, int]) -> str:
    """Return a source's warning for the links one crawl left alone, e.g.
    ``2 link(s) not http(s) not followed; 1 link(s) over 2083 characters not fetched``."""
    return "; ".join(_NOTES[kind].format(n=count) for kind, count in counts.items() if count)


def request_length(url: str) -> int:
    """Return the length of *url* as Scrapy requests it (percent-escaped), which its
    URLLENGTH_LIMIT measures: a link of Cyrillic or Hangul grows up to nine-fold."""
    return len(safe_url_string(url.strip()))


def shorten(url: str, limit: int = 120) -> str:
    """Return *url* cut to *limit* characters, for a message."""
    return url if len(url) <= limit else url[: limit - 1] + "…"


def private_host(host: str) -> bool:
    """Return True for ``localhost`` names and literal addresses that are not public."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback
        return True
    address = literal_address(host)
    return address is not None and not public_address(address)


def literal_address(host: str) -> Address | None:
    """Return the address *host* spells, in any form a resolver accepts, or None for a name."""
    host = host.lower().strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not host or not _IPV4_NUMERIC.match(host):
        return None
    try:  # the shorthand and numeric forms getaddrinfo accepts (127.1, 0x7f000001)
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def public_address(address: Address) -> bool:
    """Return True for an address on the public internet, seen through IPv6 wrappings."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return public_address(embedded)
    return address.is_global and not address.is_multicast


def _host(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None
