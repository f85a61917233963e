"""What wirewatch's own pages in ``serve`` share: their paths, the local paths they may
return to, and their error page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from datasette.utils.asgi import Response

from monitor.readout import Roles
from monitor.serve.metadata import DATABASE

ARTICLE_ID = re.compile(r"[0-9]{1,18}")  # an SQLite integer key, never anything else
MAX_PATH_CHARS = 2000  # the longest path a form may ask to return to
LOG_IN = "Log in first: behind a password, the archive is shown to its analysts only."


def story_href(article_id: int) -> str:
    """Return the path of an article's story page."""
    return f"/story/{int(article_id)}"


def local_path(value: str | None) -> str | None:
    """Return *value* when it is a path on this server, such as ``/archive/unreviewed?_size=20``,
    else None.

    Never an address on another host: not ``//host/``, nor ``/\\host/`` (which browsers read
    as ``//host/``), nor anything with a scheme, a space or a control character.
    """
    if not value or len(value) > MAX_PATH_CHARS:
        return None
    if any(char.isspace() or not char.isprintable() or char == "\\" for char in value):
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def came_from(request: Any) -> str | None:
    """Return the path of the page of this server that linked to *request*, if it says so."""
    referer = request.headers.get("referer")
    host = request.headers.get("host")
    if not referer or not host:
        return None
    try:
        parts = urlsplit(referer)
    except ValueError:
        return None
    if parts.netloc.lower() != host.lower() or parts.scheme not in ("http", "https"):
        return None
    return local_path(parts.path + (f"?{parts.query}" if parts.query else ""))


async def may_read(datasette: Any, request: Any) -> bool:
    """Return True when *request*'s actor may read the archive (behind a password: once
    logged in), as Datasette's own pages ask before they show it."""
    for action, resource in (("view-instance", None), ("view-database", DATABASE)):
        if not await datasette.permission_allowed(
            request.actor, action, resource=resource, default=True
        ):
            return False
    return True


async def error_page(datasette: Any, request: Any, status: int, message: str) -> Response:
    """Return Datasette's error page with *status* and *message* (text, escaped there).

    Raising Datasette's NotFound would do the same, and print its traceback, with the
    request's values, on serve's console.
    """
    context = {"ok": False, "error": message, "status": status, "title": None}
    html = await datasette.render_template("error.html", context, request=request)
    return Response.html(html, status=status)


ROLES_PLUGIN = "wirewatch-roles"  # the plugin config that carries the config's roles


def roles_config(roles: Roles) -> dict[str, Any]:
    """Return the config's roles as serve's metadata carries them to the pages."""
    return {"roles": dict(roles.described), "sources": dict(roles.of_source)}


def roles_of_serve(datasette: Any) -> Roles:
    """Return the roles serve was started with (none when it was given no config)."""
    found = datasette.plugin_config(ROLES_PLUGIN) or {}
    return Roles(dict(found.get("roles") or {}), dict(found.get("sources") or {}))
