"""A Datasette plugin: who is at the desk, so that each mark from the browser records them.

Behind a password the analyst is the account that logged in (Datasette's actor, set by
datasette-auth-passwords). On loopback there is no login: the analyst is the one name
``wirewatch serve`` was started for (the OS user, or ``--analyst NAME``), given to every
request as its actor. A mark takes the name from the actor only, never from the form: the
triage handler reads ``analyst_of``, and the triage canned query the ``:_analyst_name``
parameter, which Datasette fills from the request and never from what was posted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from datasette import hookimpl

PLUGIN = "wirewatch-analyst"  # its configuration: {"name": ...} when serving without a login
# An analyst's name, as an account or --analyst: a short word of safe characters, so that it
# is plain text wherever it shows and a valid key of datasette-auth-passwords' configuration.
NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,31}")
NAME_RULE = "at most 32 lower-case letters, digits, '.' and '-', starting with a letter or digit"


def loopback_config(name: str) -> dict[str, Any]:
    """Return the plugin configuration that makes *name* the analyst of every request."""
    return {PLUGIN: {"name": name}}


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def actor_from_request(datasette: Any, request: Any) -> dict[str, str] | None:
    """Serving without a login, every request is the analyst's who started ``serve``."""
    name = (datasette.plugin_config(PLUGIN) or {}).get("name")
    return {"id": name} if name else None


def analyst_of(request: Any) -> str | None:
    """Return the name a mark made by *request* records, or None when no one is logged in."""
    actor = request.actor
    name = actor.get("id") if isinstance(actor, dict) else None
    return name if isinstance(name, str) and name else None


def _analyst(key: str, request: Any) -> str | None:
    # Never KeyError: Datasette would then read the parameter from the posted form.
    return analyst_of(request) if key == "name" else None


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def register_magic_parameters() -> list[tuple[str, Callable[[str, Any], str | None]]]:
    """Give canned queries ``:_analyst_name``, the name of the analyst at the desk."""
    return [("analyst", _analyst)]
