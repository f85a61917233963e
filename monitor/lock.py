"""One writer at a time per archive: the daemon, or a crawl started by hand or by cron.

The lock is an flock on ``<archive>.lock``, beside the archive, so it vanishes with its
process however that ends; the file says who holds it, for the error message.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from monitor.errors import ArchiveReadOnly, DiskFull, ExitStatus, WirewatchError
from monitor.timeutil import to_text, utcnow


class Locked(WirewatchError):
    """Raised by ArchiveLock.acquire when another process holds the archive."""

    exit_status = ExitStatus.BAD_INPUT

    def __init__(self, path: Path, holder: str) -> None:
        self.holder = holder
        super().__init__(f"{path}: {holder} is using this archive")


class ArchiveLock:
    """An exclusive lock on an archive, held by ``run`` (the daemon) or ``crawl``."""

    def __init__(self, archive: Path, role: str) -> None:
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
                    holder = self.holder() or "another wirewatch process"
                    os.close(handle)
                    raise Locked(self.path.with_suffix(""), holder) from None
                time.sleep(0.2)
        # Who holds the lock is only for messages: a full disk must not stop the holder.
        with contextlib.suppress(OSError):
            os.ftruncate(handle, 0)
            os.write(
                handle,
                f"wirewatch {self.role} (PID {os.getpid()}) since {to_text(utcnow())}\n".encode(),
            )
        self._handle = handle
        return self

    def holder(self) -> str | None:
        """Return who holds the lock, as its file says, e.g. ``wirewatch run (PID 42) ...``."""
        with contextlib.suppress(OSError):
            return self.path.read_text(encoding="utf-8").strip() or None
        return None

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
