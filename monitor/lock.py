"""One writer at a time per archive: the daemon, or a crawl started by hand or by cron.

The lock is an flock on ``<archive>.lock``, beside the archive, so it vanishes with its
process however that ends. The file says who holds it, as one line of JSON with the
holder's role, so that a crawl can tell the daemon from another crawl without reading prose.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType

from monitor.errors import ArchiveReadOnly, DiskFull, ExitStatus, WirewatchError
from monitor.timeutil import to_text, utcnow


class LockRole(StrEnum):
    """Who holds an archive's lock; the text is the command's name."""

    DAEMON = "run"
    CRAWL = "crawl"


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its file says; every part is None when the file says nothing."""

    role: LockRole | None = None
    pid: int | None = None
    since: str | None = None

    @classmethod
    def parse(cls, text: str) -> Holder:
        """Read a lock file's line; what cannot be read is an unknown holder."""
        try:
            data = json.loads(text)
            return cls(LockRole(data["role"]), int(data["pid"]), str(data["since"]))
        except (ValueError, TypeError, KeyError):
            return cls()

    def line(self) -> str:
        """Return the lock file's line for this holder."""
        return json.dumps({"role": self.role, "pid": self.pid, "since": self.since}) + "\n"

    def __str__(self) -> str:
        if self.role is None:
            return "another wirewatch process"
        return f"wirewatch {self.role} (PID {self.pid}) since {self.since}"


class Locked(WirewatchError):
    """Raised by ArchiveLock.acquire when another process holds the archive."""

    exit_status = ExitStatus.BAD_INPUT

    def __init__(self, path: Path, holder: Holder, note: str = "") -> None:
        self.holder = holder
        super().__init__(f"{path}: {holder}{note} is using this archive")


class ArchiveLock:
    """An exclusive lock on an archive, held by ``run`` (the daemon) or ``crawl``."""

    def __init__(self, archive: Path, role: LockRole) -> None:
        self.path = archive.with_name(archive.name + ".lock")
        self.role = role
        self._handle: int | None = None

    def acquire(self, wait: float = 0.0) -> ArchiveLock:
        """Take the lock, waiting up to *wait* seconds; raise Locked naming the holder.

        A folder where this user may not create the lock file is an archive it may not
        write: ArchiveReadOnly.
        """
        archive = self.path.with_suffix("")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            if error.errno == errno.ENOSPC:
                raise DiskFull(archive) from None
            raise ArchiveReadOnly(
                archive, f"this user may not create its lock file {self.path} ({error.strerror})"
            ) from None
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self.holder()
                    os.close(handle)
                    raise Locked(self.path.with_suffix(""), holder) from None
                time.sleep(0.2)
        # Who holds the lock is only for messages: a full disk must not stop the holder.
        with contextlib.suppress(OSError):
            os.ftruncate(handle, 0)
            os.write(handle, Holder(self.role, os.getpid(), to_text(utcnow())).line().encode())
        self._handle = handle
        return self

    def holder(self) -> Holder:
        """Return who holds the lock, as its file says."""
        with contextlib.suppress(OSError, UnicodeDecodeError):
            return Holder.parse(self.path.read_text(encoding="utf-8"))
        return Holder()

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None

    def __enter__(self) -> ArchiveLock:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
