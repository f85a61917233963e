"""A local newswire: an HTTP server on 127.0.0.1 that serves fixed replies by path.

``wirewatch demo`` serves its bundled stories with it, and the tests serve feeds, pages and
broken answers (errors, slow replies, malformed XML) the same way. It binds port 0, so the
system picks a free port, and it records every request so tests can see what was fetched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the newswire answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering

    @classmethod
    def xml(cls, text: str, **kwargs: Any) -> Reply:
        return cls(text.encode("utf-8"), headers={"Content-Type": "application/xml"}, **kwargs)

    @classmethod
    def html(cls, text: str, **kwargs: Any) -> Reply:
        headers = {"Content-Type": "text/html; charset=utf-8"}
        return cls(text.encode("utf-8"), headers=headers, **kwargs)


Route = Reply | Callable[[str], Reply]


@dataclass(frozen=True)
class Hit:
    """One request the newswire received."""

    method: str
    path: str
    headers: dict[str, str]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # http.server listens with a backlog of 5, which stalls parallel clients for a second.
    request_queue_size = 128
    newswire: Newswire


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer(include_body=True)

    def do_HEAD(self) -> None:
        self._answer(include_body=False)

    def _answer(self, *, include_body: bool) -> None:
        wire = self.server.newswire
        wire.record(Hit(self.command, self.path, dict(self.headers.items())))
        reply = wire.reply_for(self.path)
        if reply.delay:
            time.sleep(reply.delay)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if include_body:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, e.g. after its own timeout

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and the demo read the request log instead


class Newswire:
    """A threaded HTTP server with a table of routes; use it as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._routes: dict[str, Route] = {}
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

    def reply_for(self, path: str) -> Reply:
        with self._lock:
            route = self._routes.get(path) or self._routes.get(path.split("?", 1)[0])
        if route is None:
            return Reply(b"not found", status=404, headers={"Content-Type": "text/plain"})
        return route(path) if callable(route) else route

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def requests_for(self, path: str) -> int:
        """Return how many times *path* was requested."""
        with self._lock:
            return sum(hit.path.split("?", 1)[0] == path for hit in self.hits)

    def start(self) -> Newswire:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="newswire", daemon=True
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
