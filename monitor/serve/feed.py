"""A small Datasette plugin: SQL functions that make archive text fit for the served Atom feed.

``printable(text)`` shows control characters instead of passing them on (XML refuses them,
so one hostile title made the whole feed an error page), and ``web_url(url)`` is the URL
when it is http(s), else NULL, so the feed links only to web addresses (issue 10 item 12).
Both are the functions the CLI's own exports use.
"""

from __future__ import annotations

import sqlite3  # noqa: TID251 - Datasette hands this hook its own sqlite3 connections

from datasette import hookimpl

from monitor.escaping import web_url
from monitor.terminal import printable


def _printable(value: str | None) -> str | None:
    return printable(value) if isinstance(value, str) else value


def _web_url(value: str | None) -> str | None:
    return web_url(value) if isinstance(value, str) else None


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def prepare_connection(conn: sqlite3.Connection) -> None:
    """Give each of serve's connections ``printable()`` and ``web_url()``."""
    conn.create_function("printable", 1, _printable, deterministic=True)
    conn.create_function("web_url", 1, _web_url, deterministic=True)
