"""A consistent copy of the archive, made while the daemon writes, checked before it is kept.

SQLite's online backup copies the archive's pages in one step, inside one read transaction:
the copy is the archive as it was at one moment, with every transaction committed before
it and none after, and in WAL mode the daemon's writes go on meanwhile. The copy is written
beside its destination as ``NAME.partial``, made one self-contained file (no WAL), read
through by SQLite's ``integrity_check`` and the full-text index's own check against the
articles, synced, and only then renamed to its name; a copy that fails is removed and never
takes the name.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.archive.space import free_bytes, is_disk_full
from monitor.errors import ArchiveError, DiskFull, UsageError

if TYPE_CHECKING:
    from monitor.archive.store import Archive


FTS_CHECK = "INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')"


@dataclass(frozen=True)
class BackupResult:
    """What one backup wrote."""

    path: Path
    articles: int
    flagged_stories: int
    size: int  # bytes
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "articles": self.articles,
            "flagged_stories": self.flagged_stories,
            "bytes": self.size,
            "seconds": round(self.seconds, 2),
            "integrity": "ok",
        }


def destination(target: Path, archive: Path, now: datetime, *, folder: bool = False) -> Path:
    """Return the file a backup to *target* writes: *target* itself, or, for a folder (one
    that exists, or any when *folder* says so), a file in it named after the archive and the
    time (``wirewatch-20261203T080000Z.db``)."""
    if folder and not target.is_dir():
        raise UsageError(f"{target}: no such folder: create it, or name another place")
    if target.is_dir():
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        return target / f"{archive.stem}-{stamp}{archive.suffix or '.db'}"
    return target


def backup(
    archive: Archive, target: Path, *, now: datetime, overwrite: bool = False, folder: bool = False
) -> BackupResult:
    """Copy *archive* to *target* (a file, or a folder to put a dated file in) and check it;
    *folder* says that *target* was given as a folder (``backups/``)."""
    path = destination(target, archive.path, now, folder=folder)
    if path.resolve() == archive.path.resolve():
        raise UsageError(f"{path}: that is the archive itself: name another file")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: not a folder: create it, or name another place")
    if path.exists() and not overwrite:
        raise UsageError(
            f"{path}: a file is already there: name another, or pass --overwrite to replace it"
        )
    partial = path.with_name(f"{path.name}.partial")
    partial.unlink(missing_ok=True)  # left by a backup that was killed
    started = time.monotonic()
    try:
        with contextlib.closing(sqlite3.connect(partial)) as copy:
            archive.conn.backup(copy)  # every page in one step: one moment of the archive
            copy.execute("PRAGMA journal_mode = DELETE")  # one file, nothing beside it
            problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            if problems == ["ok"]:
                try:  # every article's words in the index, and nothing else
                    copy.execute(
                        "INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')"
                    )
                except sqlite3.DatabaseError as error:
                    problems = [f"the full-text index: {error}"]
            if problems != ["ok"]:
                raise ArchiveError(
                    f"{path}: the copy failed SQLite's integrity check ({problems[0]}), so it "
                    "was not kept; run 'wirewatch backup' again, and if it fails again, check "
                    "the archive's disk"
                )
            articles = copy.execute("SELECT count(*) FROM articles").fetchone()[0]
            stories = copy.execute("SELECT count(*) FROM flag_stories").fetchone()[0]
        with open(partial, "rb") as written:  # noqa: PTH123 - a descriptor to sync
            os.fsync(written.fileno())
        partial.replace(path)
        _sync_folder(path.parent)
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        if is_disk_full(error, path):
            raise DiskFull(path, free_bytes(path)) from None
        raise ArchiveError(f"{path}: the backup could not be written: {error}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(path, articles, stories, path.stat().st_size, time.monotonic() - started)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a crash after it keeps the new name)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
