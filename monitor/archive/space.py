"""Tell a full disk apart from other failures to write the archive.

SQLite reports ENOSPC as SQLITE_FULL when a write to the database or its WAL fails, but as
a plain I/O error (SQLITE_IOERR_SHMSIZE, ...) when the WAL index cannot grow; only the free
space left on the archive's filesystem says that such an I/O error is a full disk.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

# Below this much free space, an I/O error from SQLite is taken for a full disk: a write
# needs room for its WAL frames and the WAL index, a few pages of 4 KiB at the least.
LOW_SPACE = 1024 * 1024
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def free_bytes(archive: Path) -> int | None:
    """Return the bytes an unprivileged writer may still use beside *archive*, if known."""
    try:
        stats = os.statvfs(archive.parent if archive.parent.exists() else Path.cwd())
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def is_disk_full(error: BaseException, archive: Path) -> bool:
    """Return True when *error*, raised while writing *archive*, means its disk is full."""
    if isinstance(error, OSError):
        return error.errno in _NO_SPACE
    if not isinstance(error, sqlite3.Error):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL:
        return True
    if code is not None and code & 0xFF == sqlite3.SQLITE_IOERR:
        free = free_bytes(archive)
        return free is not None and free < LOW_SPACE
    return False
