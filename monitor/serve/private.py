"""What ``wirewatch serve`` never shows, even to its own SQL page: alert targets and passwords.

Anyone who may read the archive in the browser may also run read-only SQL on it, so hiding a
table from the menus hides nothing. Each of serve's connections gets an SQLite authorizer
that reads the columns below as NULL, in every query that names them, however it is written.
Each analyst's password hash is handed to Datasette as an ``$env`` secret, one variable per
account, which Datasette resolves when it checks a password and shows as the name of the
variable on ``/-/metadata.json``, rather than as the hash.
"""

from __future__ import annotations

import os
import sqlite3  # noqa: TID251 - Datasette hands this hook its own sqlite3 connections
from collections.abc import Mapping

from datasette import hookimpl

# Columns no web page may read, in every table of alerts (a topic's, the health, change and
# coverage alerts, and any added later whose name ends in "alerts"): its target is an
# apprise URL, which may carry a webhook's token written into it, and its last error may
# quote that URL back. tests/security/test_serve_secrets.py holds every table of the
# archive with such a column to this rule.
PRIVATE_COLUMNS = frozenset({"target", "last_error"})
ALERT_TABLES = "alerts"  # the end of the name of every table of alerts


def private(table: str | None, column: str | None) -> bool:
    """Return True for a column that no web page may read."""
    return bool(table and table.endswith(ALERT_TABLES) and column in PRIVATE_COLUMNS)


# The variables of serve's own process that hold the accounts' password hashes: the first
# account's is WIREWATCH_SERVE_PASSWORD_HASH_1, and so on.
HASH_ENV = "WIREWATCH_SERVE_PASSWORD_HASH"


def _authorize(action: int, table: str | None, column: str | None, *_: object) -> int:
    if action == sqlite3.SQLITE_READ and private(table, column):
        return sqlite3.SQLITE_IGNORE  # the column reads as NULL
    return sqlite3.SQLITE_OK


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def prepare_connection(conn: sqlite3.Connection) -> None:
    """Read the private columns as NULL on each of serve's connections."""
    conn.set_authorizer(_authorize)


def password_hash_secrets(accounts: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Keep each account's password hash in this process's environment and return the
    configuration of datasette-auth-passwords that refers to them (which is what its metadata
    page shows); *accounts* maps each name to its hash."""
    config = {}
    for number, (name, password_hash) in enumerate(accounts.items(), start=1):
        variable = f"{HASH_ENV}_{number}"
        os.environ[variable] = password_hash
        config[f"{name}_password_hash"] = {"$env": variable}
    return config
