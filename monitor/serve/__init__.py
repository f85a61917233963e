"""``wirewatch serve``: Datasette over the live archive, set up for review.

The home page leads to the flagged stories at /flagged (``inbox``: one compact row per
story, filters, search in any word form, triage by button or key) and shows them per day
(``timeline``); Datasette's own table of them has facets by topic, source, language, mark
and day; canned queries give the last 24 hours, the unreviewed stories, the follow-ups and
the sources' health; each story has its own page at /story/{id} (``story``), linked from
every title in those lists; each story can be marked relevant, irrelevant or follow-up from
the browser (``triage``); and the flagged stories are an Atom feed at
/archive/flagged_atom.atom.

The archive is served as it is written (never immutable). It binds 127.0.0.1; on any other
address it refuses to start without a login: the analysts' accounts (``--accounts FILE``,
``accounts``) or WIREWATCH_SERVE_PASSWORD (one account, ``analyst``). Each mark made in the
browser records the analyst (``analyst``): the account logged in, or without a login the
OS user who started serve or ``--analyst NAME``. It answers only to the host names it was
started for, takes changes only from its own pages (``guard``), and caps what one query may
build (``limits``).
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from datasette.app import Datasette
from datasette.plugins import pm

from monitor.errors import UsageError
from monitor.readout import Roles
from monitor.serve import accounts as account_file
from monitor.serve import analyst as analysts
from monitor.serve import feed, follow, inbox, limits, private, story, timeline, triage
from monitor.serve.guard import allowed_hosts, guard, loopback
from monitor.serve.metadata import DATABASE, metadata
from monitor.serve.pages import ROLES_PLUGIN, roles_config

PASSWORD_ENV = "WIREWATCH_SERVE_PASSWORD"  # noqa: S105 - the name of a variable
SHARED_ACCOUNT = "analyst"  # the one account that WIREWATCH_SERVE_PASSWORD logs in


def build(
    archive: Path,
    *,
    accounts: Mapping[str, str] | None = None,
    analyst: str | None = None,
    roles: Roles | None = None,
) -> Datasette:
    """Return the Datasette app for *archive*.

    With *accounts* (each name and its password hash) it asks analysts to log in; without,
    every request is *analyst*'s. *roles*, the config's, give each story its readout.
    """
    plugins = (
        ("wirewatch-analyst", analysts),
        ("wirewatch-triage", triage),
        ("wirewatch-limits", limits),
        ("wirewatch-feed", feed),
        ("wirewatch-story", story),
        ("wirewatch-inbox", inbox),
        ("wirewatch-private", private),
        ("wirewatch-follow", follow),
        ("wirewatch-timeline", timeline),
    )
    for name, plugin in plugins:
        if not pm.has_plugin(name):
            pm.register(plugin, name=name)
    config = metadata(DATABASE)
    if accounts:
        # References to the hashes, which Datasette resolves to check a login: its metadata
        # page, open to every analyst, would show the hashes themselves.
        secrets = private.password_hash_secrets(accounts)
        config["plugins"] = {"datasette-auth-passwords": secrets}
        config["allow"] = {"id": sorted(accounts)}
    elif analyst:
        config["plugins"] = analysts.loopback_config(analyst)
    if roles:
        config.setdefault("plugins", {})[ROLES_PLUGIN] = roles_config(roles)
    datasette = Datasette(
        metadata=config,
        template_dir=str(Path(__file__).parent / "templates"),
        settings={
            "default_page_size": 50,
            "facet_time_limit_ms": 500,
            "suggest_facets": False,
            **limits.SETTINGS,
        },
    )
    # Datasette adds an in-memory database when given no files; it would take SQL outside
    # the caps of BoundedDatabase, and nothing here needs it.
    datasette.remove_database("_memory")
    database = limits.BoundedDatabase(datasette, path=str(archive), is_mutable=True)
    datasette.add_database(database, name=DATABASE)
    return datasette


def serve(
    archive: Path,
    host: str,
    port: int,
    announce: Callable[[str], None],
    allow_hosts: Sequence[str] = (),
    desk: Desk | None = None,
    roles: Roles | None = None,
) -> None:
    """Serve the archive until interrupted.

    Port 0 picks a free port; *announce* is given the URL once the socket listens. Requests
    are answered only for *host*, the loopback names when it is one, and *allow_hosts*.
    *desk* (from ``desk``, for the same *host*) says who logs in or who marks; *roles*
    are the config's, for the stories' readouts.
    """
    desk = desk or Desk()
    datasette = build(archive, accounts=desk.accounts, analyst=desk.analyst, roles=roles)
    app = guard(datasette.app(), allowed_hosts(host, allow_hosts))
    limits.cap_process()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(128)
    bound = listener.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    announce(f"http://{shown}:{bound}/")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    # uvicorn stops gracefully on SIGTERM or Ctrl-C, then raises the signal again for the
    # handler it found; with these, that is a no-op and the command ends with status 0.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass(frozen=True)
class Desk:
    """Who is at serve's desk: the accounts analysts log in with (each name and its password
    hash), or, without a login, the one analyst every mark records."""

    accounts: dict[str, str] | None = None
    analyst: str | None = None


def desk(host: str, accounts_file: Path | None, analyst: str | None, os_user: str) -> Desk:
    """Return who logs in to, or marks with, a serve on *host*; refuse a public address
    without a login.

    Analysts log in with the accounts of *accounts_file* (read here, once), or as
    ``analyst`` with the password in WIREWATCH_SERVE_PASSWORD; without either, each mark
    records *analyst* (``--analyst``), else *os_user*.
    """
    accounts = _accounts(accounts_file)
    if not loopback(host) and accounts is None:
        raise UsageError(
            f"--host {host} is reachable from other machines: give the analysts' accounts "
            f"with --accounts FILE, or set {PASSWORD_ENV} (user: {SHARED_ACCOUNT}), or serve "
            "on 127.0.0.1"
        )
    if accounts is not None:
        if analyst is not None:
            raise UsageError(
                "--analyst is for serving without a login: behind a password each mark "
                "records the account that made it"
            )
        return Desk(accounts=accounts)
    if analyst is not None and not analysts.NAME.fullmatch(analyst):
        raise UsageError(f"--analyst {analyst!r} is not a name: use {analysts.NAME_RULE}")
    return Desk(analyst=analyst or os_user or "unknown")


def _accounts(accounts_file: Path | None) -> dict[str, str] | None:
    """Return the accounts to log in with (each name and its password hash), or None."""
    password = os.environ.get(PASSWORD_ENV) or None
    if accounts_file is not None:
        if password is not None:
            raise UsageError(
                f"--accounts and {PASSWORD_ENV} are two ways to log in: give one of them"
            )
        return account_file.read(accounts_file)
    if password is None:
        return None
    from datasette_auth_passwords.utils import hash_password

    return {SHARED_ACCOUNT: hash_password(password)}


def _stopped(signum: int, frame: object) -> None:
    """Nothing to do: uvicorn has already shut the server down."""
