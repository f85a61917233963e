"""Caps on what one SQL query of ``wirewatch serve`` may build and return.

Anyone who can reach ``serve``, or make the analyst's browser send it a GET, can run
read-only SQL. ``select hex(randomblob(100000000))`` made SQLite build a 200 MB string,
Python copy it and Datasette render it, and the process kept most of that memory for good
(the allocator holds on to it). So each of serve's connections caps the length of one value
and the width of a row (SQLite fails the query with "string or blob too big"), SQLite's
memory in the process is capped, the rows a query hands back add up to a budget (past it
the query fails with a one-line error), and Datasette's settings cap the rows and the time.
"""

from __future__ import annotations

import sqlite3  # noqa: TID251 - Datasette hands this hook its own sqlite3 connections
from contextlib import closing
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.database import Database

# The longest string or BLOB a query may build or read, in bytes. An article's body is the
# text of one page, a few KB; a stored value over the cap shows as an error on the page
# that reads it (the articles table), never as memory.
MAX_VALUE_BYTES = 2 * 1024 * 1024
# The most columns in a result (or a table); the archive's widest table has under twenty.
MAX_COLUMNS = 64
# What the rows of one query may add up to, in characters or bytes of their values: a
# thousand articles of 8 KB each. Each of Datasette's query threads may reach it at once,
# and the memory a thread once held stays with the process.
MAX_RESULT_BYTES = 8 * 1024 * 1024
# All the memory SQLite may hold in the serve process at once (caches, sorts, the values of
# the row being built): a wide row of long values fails here before Python copies it. A
# full-text search for "the" over 200,000 articles and a sort of their titles fit.
MAX_SQLITE_HEAP_BYTES = 32 * 1024 * 1024

SETTINGS = {
    "max_returned_rows": 1000,  # rows of one query or page, at most (Datasette's default)
    # The slowest page on 1,000,000 articles, the articles table, takes about 0.45 s (a
    # search of the flagged stories took 1.2 to 1.8 s before migration 0009).
    "sql_time_limit_ms": 3000,
}


class ResultTooBig(sqlite3.OperationalError):
    """Raised by a serve query whose rows add up to more than MAX_RESULT_BYTES, or that
    needs more memory than SQLite may have."""

    def __init__(self, what: str = f"over {MAX_RESULT_BYTES // (1024 * 1024)} MB") -> None:
        super().__init__(
            f"the result is {what}: ask for fewer rows or shorter values, e.g. "
            "substr(body, 1, 2000)"
        )


def cap_process() -> None:
    """Cap the memory SQLite may use in this process (serve's own, never the CLI's)."""
    with closing(sqlite3.connect(":memory:")) as conn:  # the limit is the library's
        conn.execute(f"PRAGMA hard_heap_limit = {MAX_SQLITE_HEAP_BYTES}")


class BudgetedCursor(sqlite3.Cursor):
    """A cursor that counts the size of the rows it hands out and stops at the budget."""

    left = MAX_RESULT_BYTES

    def execute(self, sql: str, parameters: Any = (), /) -> BudgetedCursor:
        self.left = MAX_RESULT_BYTES
        try:
            super().execute(sql, parameters)  # runs the query up to its first row
        except MemoryError:
            raise ResultTooBig("more than SQLite may hold in memory") from None
        return self

    def fetchone(self) -> Any:
        try:
            row = super().fetchone()
        except MemoryError:
            raise ResultTooBig("more than SQLite may hold in memory") from None
        if row is not None:
            self._spend(row)
        return row

    def fetchmany(self, size: int | None = None) -> list[Any]:
        # One row at a time, so the budget stops the query before the rows are all copied.
        rows = []
        for _ in range(self.arraysize if size is None else size):
            row = self.fetchone()
            if row is None:
                break
            rows.append(row)
        return rows

    def fetchall(self) -> list[Any]:
        return list(iter(self.fetchone, None))

    def __next__(self) -> Any:
        try:
            row = super().__next__()
        except MemoryError:
            raise ResultTooBig("more than SQLite may hold in memory") from None
        self._spend(row)
        return row

    def _spend(self, row: Any) -> None:
        self.left -= sum(len(v) if isinstance(v, str | bytes) else 8 for v in row)
        if self.left < 0:
            raise ResultTooBig


class BudgetedConnection(sqlite3.Connection):
    """A connection whose cursors are BudgetedCursor."""

    def cursor(self, factory: Any = BudgetedCursor) -> Any:
        return super().cursor(factory)


class BoundedDatabase(Database):  # type: ignore[misc]
    """Datasette's Database for one archive file, on BudgetedConnection."""

    def connect(self, write: bool = False) -> sqlite3.Connection:
        # Datasette's own connect, for a mutable file, with the connection class swapped.
        mode = "" if write else "?mode=ro"
        conn = sqlite3.connect(
            Path(self.path).absolute().as_uri() + mode,
            uri=True,
            check_same_thread=False,
            factory=BudgetedConnection,
        )
        self._all_file_connections.append(conn)
        return conn


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def prepare_connection(conn: sqlite3.Connection) -> None:
    """Cap the size of one value and the width of a row on each of serve's connections."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, MAX_COLUMNS)
