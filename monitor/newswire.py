"""A local newswire: an HTTP server on 127.0.0.1 that serves fixed replies by path.

``wirewatch demo`` serves its bundled stories with it, and the tests serve feeds, pages and
broken answers (errors, slow replies, malformed XML) the same way, and stand in as a webhook
that receives alerts. It binds port 0, so the system picks a free port, and it records every
request (with a POST's body) so tests can see what was fetched and sent.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

POLL_INTERVAL = 0.02  # seconds between the server thread's looks for a stop request


@dataclass
class Reply:
    """What the newswire answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    drip: float = 0.0  # seconds between bytes of the body: a server that never quite finishes
    # A body made on the fly, never held whole (e.g. a gigabyte): sent with Content-Length
    # when *length* is given, else chunked. It replaces *body*.
    stream: Callable[[], Iterable[bytes]] | None = None
    length: int | None = None
    # Reset the connection (RST): "at_once" before any answer, "mid_body" after the headers
    # and half the body, as a crashed server or a middlebox does.
    reset: Literal["at_once", "mid_body"] | None = None

    @classmethod
    def xml(cls, text: str, **kwargs: Any) -> Reply:
        return cls(text.encode("utf-8"), headers={"Content-Type": "application/xml"}, **kwargs)

    @classmethod
    def html(cls, text: str, **kwargs: Any) -> Reply:
        headers = {"Content-Type": "text/html; charset=utf-8"}
        return cls(text.encode("utf-8"), headers=headers, **kwargs)


@dataclass(frozen=True)
class Hit:
    """One request the newswire received, and when (``time.monotonic()``)."""

    method: str
    path: str
    headers: dict[str, str]
    at: float = 0.0
    body: bytes = b""  # what a POST sent, e.g. an alert to a webhook


Route = Reply | Callable[[Hit], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # http.server listens with a backlog of 5, which stalls parallel clients for a second.
    request_queue_size = 128
    newswire: Newswire

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a killed crawl, a timeout) is routine here, not a fault.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer(include_body=True)

    def do_HEAD(self) -> None:
        self._answer(include_body=False)

    def do_POST(self) -> None:
        self._answer(include_body=True)

    def _answer(self, *, include_body: bool) -> None:
        wire = self.server.newswire
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length) if length else b""
        hit = Hit(self.command, self.path, dict(self.headers.items()), time.monotonic(), sent)
        wire.record(hit)
        reply = wire.reply_for(hit)
        if reply.delay:
            time.sleep(reply.delay)
        if _not_modified(reply, hit):
            kept = ("etag", "last-modified", "cache-control", "expires")
            headers = {k: v for k, v in reply.headers.items() if k.lower() in kept}
            reply = Reply(status=304, headers=headers)
        try:
            if reply.reset == "at_once":
                self._reset()
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.stream is not None:
                self._send_stream(reply, include_body=include_body)
                return
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if not include_body:
                return
            if reply.reset == "mid_body":
                self.wfile.write(reply.body[: len(reply.body) // 2])
                self.wfile.flush()
                self._reset()
            elif reply.drip:
                for index in range(len(reply.body)):
                    self.wfile.write(reply.body[index : index + 1])
                    self.wfile.flush()
                    time.sleep(reply.drip)
            else:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, e.g. after its own timeout

    def _send_stream(self, reply: Reply, *, include_body: bool) -> None:
        assert reply.stream is not None
        chunked = reply.length is None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(reply.length))
        self.end_headers()
        if not include_body:
            return
        for piece in reply.stream():
            if piece:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _reset(self) -> None:
        """Close the connection with a TCP RST instead of an orderly FIN."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and the demo read the request log instead


def _not_modified(reply: Reply, hit: Hit) -> bool:
    """Answer a conditional GET the way a server with validators does."""
    if reply.status != 200:
        return False
    etag = reply.headers.get("ETag")
    modified = reply.headers.get("Last-Modified")
    asked_etag = hit.headers.get("If-None-Match")
    asked_modified = hit.headers.get("If-Modified-Since")
    if etag and asked_etag:
        return asked_etag == etag
    return bool(modified and asked_modified and asked_modified == modified)


class Newswire:
    """A threaded HTTP server with a table of routes; use it as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._routes: dict[str, Route] = {}
        self._prefixes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self.hits: list[Hit] = []
        self._server = _Server((host, port), _Handler)
        self._server.newswire = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        """Return the full URL of *path* on this newswire."""
        return self.base_url + path

    def route(self, path: str, reply: Route) -> None:
        """Answer requests for *path* (with or without a query string) with *reply*."""
        with self._lock:
            self._routes[path] = reply

    def route_prefix(self, prefix: str, reply: Route) -> None:
        """Answer every path under *prefix* that has no route of its own with *reply*."""
        with self._lock:
            self._prefixes[prefix] = reply

    def reply_for(self, hit: Hit) -> Reply:
        with self._lock:
            route = self._routes.get(hit.path) or self._routes.get(hit.path.split("?", 1)[0])
            if route is None:
                under = [prefix for prefix in self._prefixes if hit.path.startswith(prefix)]
                route = self._prefixes[max(under, key=len)] if under else None
        if route is None:
            return Reply(b"not found", status=404, headers={"Content-Type": "text/plain"})
        return route(hit) if callable(route) else route

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def requests_for(self, path: str) -> int:
        """Return how many times *path* was requested."""
        return len(self.hits_for(path))

    def hits_for(self, path: str) -> list[Hit]:
        """Return the requests for *path* (with any query string), oldest first."""
        with self._lock:
            return [hit for hit in self.hits if hit.path.split("?", 1)[0] == path]

    def start(self) -> Newswire:
        # serve_forever looks for a shutdown request once per poll interval: socketserver's
        # default of 0.5 s made every stop() wait about that long, in each test that serves.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_INTERVAL,), name="newswire", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Newswire:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
