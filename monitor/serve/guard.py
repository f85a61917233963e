"""The gate in front of ``wirewatch serve``: its own host names only, and writes only from
its own pages.

Two attacks come through the analyst's browser. DNS rebinding: a hostile page whose name
later resolves to 127.0.0.1 reads the archive as if it were its own origin; the browser
still sends that name in ``Host``, so a request for a host ``serve`` was not started for is
refused. Cross-site writes: a form or a ``no-cors`` fetch from another origin can POST to
the triage query, and Datasette's CSRF check (asgi-csrf) lets a POST with no cookie
through; so a request that could change something must name this server as its ``Origin``
(or, without one, its ``Referer`` and ``Sec-Fetch-Site``), and must carry the CSRF cookie,
which asgi-csrf then checks against the form's token.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import UsageError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD"})
CSRF_COOKIE = "ds_csrftoken"  # the cookie Datasette's asgi-csrf signs and checks
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("0.0.0.0", "::")  # noqa: S104 - names of the any-address binds, compared only
DEFAULT_PORTS = {"http": 80, "https": 443}
# What a browser puts in Host: a name or an address, and a port; nothing else gets through.
HOST_VALUE = re.compile(
    r"(?P<name>\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(?P<port>[0-9]{1,5}))?", re.IGNORECASE
)

UNKNOWN_HOST = (
    "Misdirected request: this wirewatch serve answers only to the host names it was started "
    "for; to reach it under another name, start it with --allow-host NAME.\n"
)
CROSS_SITE = (
    "Forbidden: this request came from another web site; wirewatch serve accepts changes "
    "only from its own pages.\n"
)
NOT_OUR_FORM = (
    "Forbidden: a change needs the CSRF token of a wirewatch serve page; open the page and "
    "submit its form.\n"
)


def host_name(value: str) -> str:
    """Return *value* as a host name to compare: lower case, no brackets, no final dot."""
    name = value.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return str(ipaddress.ip_address(name))  # one spelling per address (::1, not 0::1)
    except ValueError:
        return name


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Return the host names ``serve`` answers to when it listens on *bound*.

    The bound address itself, the loopback names when it is a loopback address, and each
    of *extra* (``--allow-host``). On 0.0.0.0 or :: every address of the machine is bound,
    so any IP address is accepted as well (see ``_answers``): a rebinding page always
    arrives under a name, never under an address.
    """
    names = {host_name(bound)}
    if loopback(bound):
        names.update(LOOPBACK_NAMES)
    for value in extra:
        name = host_name(value)
        if not (_is_ip(name) or re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*", name)):
            raise UsageError(
                f"--allow-host {value!r}: give a host name such as wire.example.org, "
                "without scheme, port or path"
            )
        names.add(name)
    return frozenset(names)


def guard(app: App, hosts: frozenset[str]) -> App:
    """Wrap *app* so that it answers only for *hosts* and takes changes only from itself."""
    any_address = bool(hosts & {host_name(w) for w in WILDCARDS})

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # Datasette has no websockets; refuse the handshake rather than let one in.
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = _headers(scope)
        host = _one(headers, b"host")
        if host is None or not _answers(host, hosts, any_address):
            await _refuse(send, 421, UNKNOWN_HOST)
            return
        if scope["method"] not in SAFE_METHODS:
            if not _same_origin(headers, host):
                await _refuse(send, 403, CROSS_SITE)
                return
            if not _has_csrf_cookie(headers):
                await _refuse(send, 403, NOT_OUR_FORM)
                return
        await app(scope, receive, _same_origin_referrer(send))

    return guarded


def _same_origin_referrer(send: Send) -> Send:
    """Return *send* with Datasette's ``Referrer-Policy: no-referrer`` made ``same-origin``.

    Under no-referrer a browser sends ``Origin: null`` even with a form posted to its own
    origin; same-origin keeps the origin on our own requests and still gives other sites
    no referrer.
    """

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (name, value)
                for name, value in message.get("headers", [])
                if name.lower() != b"referrer-policy"
            ]
            headers.append((b"referrer-policy", b"same-origin"))
            message = {**message, "headers": headers}
        await send(message)

    return sending


def _headers(scope: Scope) -> list[tuple[bytes, str]]:
    return [(name.lower(), value.decode("latin-1")) for name, value in scope["headers"]]


def _one(headers: list[tuple[bytes, str]], name: bytes) -> str | None:
    """Return the value of header *name*, or None when it is missing or sent twice."""
    values = [value for key, value in headers if key == name]
    return values[0] if len(values) == 1 else None


def _split(value: str) -> tuple[str, int | None] | None:
    """Return (name, port) of a ``Host`` value, or None when it is not one."""
    match = HOST_VALUE.fullmatch(value.strip())
    if match is None:
        return None
    port = match.group("port")
    return host_name(match.group("name")), int(port) if port else None


def _answers(host: str, hosts: frozenset[str], any_address: bool) -> bool:
    split = _split(host)
    if split is None:
        return False
    name = split[0]
    return name in hosts or (any_address and _is_ip(name))


def _same_origin(headers: list[tuple[bytes, str]], host: str) -> bool:
    """Return False when the browser says the request comes from another origin.

    Browsers send ``Origin`` with every POST; ``Referer`` and ``Sec-Fetch-Site`` are the
    fallbacks for older ones. A client that sends none of them (curl, a script) is not a
    browser riding on the analyst's session, and still needs the CSRF token.
    """
    site = _one(headers, b"sec-fetch-site")  # a page cannot set it: the browser does
    origin = _one(headers, b"origin")
    if origin == "null":
        # Sent for a page under a no-referrer policy, but also by a sandboxed frame or a
        # file:// page; only the browser's own word tells them apart.
        return site == "same-origin"
    if origin is not None:
        return _url_is(origin, host)
    if any(key == b"origin" for key, _ in headers):
        return False  # sent twice
    if site is not None and site not in ("same-origin", "none"):
        return False
    referer = _one(headers, b"referer")
    return referer is None or _url_is(referer, host)


def _url_is(url: str, host: str) -> bool:
    """Return True when *url* (an origin or a referrer) is on *host*; ``null`` never is."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return False
    ours = _split(host)
    if ours is None:
        return False
    default = DEFAULT_PORTS[parts.scheme]
    # Behind a proxy the Host may omit the port the browser saw as the scheme's default.
    return host_name(parts.hostname) == ours[0] and (port or default) == (ours[1] or default)


def _has_csrf_cookie(headers: list[tuple[bytes, str]]) -> bool:
    # asgi-csrf reads the last Cookie header the same way and skips its check when there is
    # none; with this cookie present it compares the form's token with it.
    cookies = [value for key, value in headers if key == b"cookie"]
    if not cookies:
        return False
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookies[-1])
    except CookieError:
        return False
    return bool(jar.get(CSRF_COOKIE) and jar[CSRF_COOKIE].value)


async def _refuse(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"x-content-type-options", b"nosniff"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def loopback(host: str) -> bool:
    """Return True for an address only this machine can reach."""
    name = host_name(host)
    return name == "localhost" or (_is_ip(name) and ipaddress.ip_address(name).is_loopback)
