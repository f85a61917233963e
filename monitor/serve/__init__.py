"""``wirewatch serve``: Datasette over the live archive, set up for review.

The home page leads to the flagged stories (one row per story, with facets by topic,
source, language, mark and day, and full-text search); canned queries give the last 24
hours, the unreviewed stories, the follow-ups and the sources' health; each story has its
own page at /story/{id} (``story``), linked from every title in those lists; each story can
be marked relevant, irrelevant or follow-up from the browser (a writable canned query); and
the flagged stories are an Atom feed at /archive/flagged_atom.atom.

The archive is served as it is written (never immutable). It binds 127.0.0.1; on any other
address it refuses to start unless WIREWATCH_SERVE_PASSWORD is set, and then asks for it.
It answers only to the host names it was started for, takes changes only from its own
pages (``guard``), and caps what one query may build (``limits``).
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

import uvicorn
from datasette.app import Datasette
from datasette.plugins import pm

from monitor.errors import UsageError
from monitor.serve import feed, follow, limits, private, story, triage
from monitor.serve.guard import allowed_hosts, guard, loopback
from monitor.serve.metadata import DATABASE, metadata

PASSWORD_ENV = "WIREWATCH_SERVE_PASSWORD"  # noqa: S105 - the name of a variable


def build(archive: Path, *, password: str | None = None) -> Datasette:
    """Return the Datasette app for *archive*, asking for *password* when one is given."""
    plugins = (
        ("wirewatch-triage", triage),
        ("wirewatch-limits", limits),
        ("wirewatch-feed", feed),
        ("wirewatch-story", story),
        ("wirewatch-private", private),
        ("wirewatch-follow", follow),
    )
    for name, plugin in plugins:
        if not pm.has_plugin(name):
            pm.register(plugin, name=name)
    config = metadata(DATABASE)
    if password is not None:
        from datasette_auth_passwords.utils import hash_password

        # A reference to the hash, which Datasette resolves to check a login: its metadata
        # page, open to every analyst, would show the hash itself.
        secret = private.password_hash_secret(hash_password(password))
        config["plugins"] = {"datasette-auth-passwords": {"analyst_password_hash": secret}}
        config["allow"] = {"id": "analyst"}
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
) -> None:
    """Serve the archive until interrupted; refuse a public address without a password.

    Port 0 picks a free port; *announce* is given the URL once the socket listens. Requests
    are answered only for *host*, the loopback names when it is one, and *allow_hosts*.
    """
    password = os.environ.get(PASSWORD_ENV) or None
    if not loopback(host) and password is None:
        raise UsageError(
            f"--host {host} is reachable from other machines: set {PASSWORD_ENV} to require a "
            "password (user: analyst), or serve on 127.0.0.1"
        )
    app = guard(build(archive, password=password).app(), allowed_hosts(host, allow_hosts))
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


def _stopped(signum: int, frame: object) -> None:
    """Nothing to do: uvicorn has already shut the server down."""
