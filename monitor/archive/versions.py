"""Whether an archive's schema is current, asked of SQLite alone (no sqlite-utils).

The migrations themselves are in monitor.archive.schema, and loading sqlite-utils (which
loads numpy where it is installed) costs a reading command more than its query. An archive
that already has every migration needs none of that: this module names the migrations, in
order, and reads which of them an archive records. tests/test_archive.py holds SCHEMA to the
migrations that schema registers.
"""

from __future__ import annotations

import sqlite3

# The migration set and the table where sqlite-utils' Migrations records what it applied.
MIGRATION_SET = "wirewatch"
MIGRATIONS_TABLE = "_sqlite_migrations"
# Every migration of monitor.archive.schema, in the order they run.
SCHEMA = (
    "0001_initial",
    "0002_politeness_health_tombstones",
    "0003_flag_rules",
    "0004_daemon",
    "0005_review",
    "0006_review_views",
    "0007_story_and_date_indexes",
    "0008_flag_stories",
    "0009_web_pages_at_scale",
    "0010_run_sources_by_source",
    "0011_health_alerts",
    "0012_rechecks",
    "0013_sanctions",
    "0014_role_coverage",
    "0015_seen_by_source",
)


def is_current(connection: sqlite3.Connection) -> bool:
    """Return True when the archive on *connection* has every migration of SCHEMA applied.

    Read-only: a new file, or one written by an older wirewatch, answers False.
    """
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [MIGRATIONS_TABLE]
    ).fetchone()
    if exists is None:
        return False
    applied = {
        name
        for (name,) in connection.execute(
            f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ?", [MIGRATION_SET]
        )
    }
    return applied.issuperset(SCHEMA)
