"""``serve`` follows its archive file: a replaced archive is opened, a missing one is said.

``make demo`` (and any restore from a backup) replaces the archive: the old file is unlinked
and a new one takes its name. Datasette's connections still read the old, unlinked file, so
``serve`` went on showing an archive that no longer existed. Before each request this
compares the file at the archive's path with the one serve opened (device and inode): when
another file has taken the name, serve opens that one; while there is none, each page says
so, with status 503, until the file is back.

The connections to the replaced file are left open, never closed: SQLite names a database's
WAL by its path, and the last connection to close a database may delete that file, which by
then would be the new archive's WAL, with whatever a writer has not checkpointed yet. They
cost the old file's disk space until serve stops.
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from datasette import hookimpl

from monitor.serve import limits
from monitor.serve.metadata import DATABASE

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


_connections = threading.local()  # each reopened archive's connection in each query thread
_retired: list[Any] = []  # the databases of replaced files, kept so none is ever closed


def identity(path: Path) -> tuple[int, int] | None:
    """Return the device and inode of the file at *path*, or None when there is none."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


class ReopenedDatabase(limits.BoundedDatabase):
    """The archive opened again: its own connections in each of Datasette's query threads.

    Datasette keeps one connection per thread under the database's name, which is the same
    for the new file; these are kept under this object's identity instead.
    """

    async def execute_fn(self, fn: Callable[[Any], Any]) -> Any:
        if self.ds.executor is None:
            return await super().execute_fn(fn)
        key = f"{self.name}@{id(self)}"

        def in_thread() -> Any:
            conn = getattr(_connections, key, None)
            if conn is None:
                conn = self.connect()
                self.ds._prepare_connection(conn, self.name)
                setattr(_connections, key, conn)
            return fn(conn)

        return await asyncio.get_running_loop().run_in_executor(self.ds.executor, in_thread)


class ArchiveFile:
    """The archive file serve has open, and what to do when its path names another."""

    def __init__(self, datasette: Any) -> None:
        self.datasette = datasette
        self.path = Path(datasette.databases[DATABASE].path)
        self.opened = identity(self.path)

    def check(self) -> str | None:
        """Open the file now at the archive's path if it is another; return a reason to
        refuse the request when there is no archive file at all."""
        now = identity(self.path)
        if now is None:
            return (
                f"The archive {self.path} is missing: it was deleted or is being replaced. "
                "This page works again as soon as the file is back."
            )
        if now != self.opened:
            _retired.append(self.datasette.databases[DATABASE])
            self.datasette.remove_database(DATABASE)
            database = ReopenedDatabase(self.datasette, path=str(self.path), is_mutable=True)
            self.datasette.add_database(database, name=DATABASE)
            self.opened = now
        return None


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def asgi_wrapper(datasette: Any) -> Callable[[App], App]:
    def wrap(app: App) -> App:
        archive: list[ArchiveFile] = []  # made on the first request, once Datasette has it

        async def follow(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and DATABASE in datasette.databases:
                if not archive:
                    archive.append(ArchiveFile(datasette))
                problem = archive[0].check()
                if problem is not None:
                    body = f"<!doctype html><title>wirewatch</title><p>{html.escape(problem)}</p>"
                    await send({
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                    (b"retry-after", b"5")],
                    })  # fmt: skip
                    await send({"type": "http.response.body", "body": body.encode()})
                    return
            await app(scope, receive, send)

        return follow

    return wrap
