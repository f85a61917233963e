"""Whether an archive file is sound enough to write: ``quick_check``, remembered per file state.

A damaged archive (a disk fault, a bad copy or restore, bytes written into the middle of the
file) must not be written further: SQLite notices the damage only when it reads a damaged
page, so a write elsewhere would succeed and report nothing. ``quick_check`` reads every page
once, which takes time on a big archive, so its answer is kept in ``<archive>.checked``,
keyed by the identity, size and times of the database file and of its WAL.

wirewatch's own changes (its commits, its checkpoints, and the checkpoint SQLite makes when
the last connection closes) keep that record current, but only when the files were in the
recorded state just before the change: the daemon and its crawl processes check once, not at
each open, while a change made by anything else leaves the record behind and the next writer
checks again. The record is an optimisation only; without it (a folder this user cannot
write) every writer checks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# How long a change waits for another process's turn at the record before it goes on
# without updating it (the next writer then checks again): never a reason to stall a write.
RECORD_WAIT = 2.0
# The record is written in place, padded to this size: truncating and rewriting a file
# makes ext4 flush it on close (auto_da_alloc), which would cost each commit milliseconds.
RECORD_SIZE = 512
# quick_check stops after this many problems; the first one goes into the error message.
MAX_PROBLEMS = 3
DAMAGE_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}

FileState = dict[str, Any]


def file_state(archive: Path) -> FileState | None:
    """Return what identifies the current content of *archive* and its WAL, without reading it.

    An empty or missing WAL holds nothing, so the two count as the same state.
    """
    try:
        database = archive.stat()
    except OSError:
        return None
    try:
        wal: os.stat_result | None = Path(f"{archive}-wal").stat()
    except OSError:
        wal = None
    return {
        "database": _identity(database),
        "wal": _identity(wal) if wal is not None and wal.st_size > 0 else None,
    }


def _identity(stat: os.stat_result) -> list[int]:
    # ctime as well as mtime: a tool that puts the old mtime back cannot put back the ctime.
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def problems_of(connection: sqlite3.Connection) -> list[str]:
    """Run ``PRAGMA quick_check`` and return the problems it finds (none for a sound file)."""
    try:
        rows = connection.execute(f"PRAGMA quick_check({MAX_PROBLEMS})").fetchall()
    except sqlite3.DatabaseError as error:
        if is_damage(error):
            return [str(error)]
        raise
    found = [str(row[0]) for row in rows]
    if found == ["ok"]:
        return []
    # A row may hold a heading ("*** in database main ***") and several lines: one line each.
    return [" ".join(text.replace("*** in database main ***", "").split()) for text in found]


def is_damage(error: BaseException) -> bool:
    """Return True when a SQLite error says the database file is corrupt or not a database."""
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in DAMAGE_CODES
    return "malformed" in str(error) or "not a database" in str(error)


class CheckRecord:
    """The file state last found sound, kept in ``<archive>.checked`` under an flock."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.path = archive.with_name(archive.name + ".checked")
        self._handle: int | None = None

    @contextlib.contextmanager
    def held(self, *, create: bool = False) -> Iterator[CheckRecord | None]:
        """Hold the record for one check (*create* it then) or change; None when it cannot be had.

        It cannot be had in a folder this user may not write, or while another process
        holds it longer than RECORD_WAIT; the caller then neither trusts nor updates it.
        A change never creates it: with no record there is nothing to keep current.
        """
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        try:
            handle = os.open(self.path, flags, 0o644)
        except OSError:
            yield None
            return
        try:
            if not _lock(handle, RECORD_WAIT):
                yield None
                return
            self._handle = handle
            try:
                yield self
            finally:
                self._handle = None
        finally:
            os.close(handle)  # closing releases the flock

    def read(self) -> FileState | None:
        """Return the state recorded as sound, if any."""
        assert self._handle is not None, "hold the record first"
        try:
            data = json.loads(os.pread(self._handle, RECORD_SIZE, 0) or b"null")
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write(self, state: FileState | None) -> None:
        """Record *state* as sound; a failure to record only costs a check later."""
        assert self._handle is not None, "hold the record first"
        if state is None:
            return
        data = json.dumps(state).encode("ascii").ljust(RECORD_SIZE)
        with contextlib.suppress(OSError):
            os.pwrite(self._handle, data, 0)


def _lock(handle: int, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        except OSError:
            return False
