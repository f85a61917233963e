"""The expected failures of wirewatch and the exit status each one gives."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """Exit codes of the ``wirewatch`` command."""

    SUCCESS = 0
    ERROR = 1  # the command could not do its work (no archive, crawl could not start, ...)
    BAD_INPUT = 2  # the config, an argument or a query is wrong: fix it and try again
    NO_SOURCE_READ = 3  # a crawl ran, but every source failed (offline, say)
    INTERRUPTED = 130  # stopped by Ctrl-C or SIGTERM


class WirewatchError(Exception):
    """Base of every failure the CLI reports as one line instead of a traceback."""

    exit_status: ExitStatus = ExitStatus.ERROR


@dataclass(frozen=True)
class ConfigProblem:
    """One problem found in a config file, at a key path such as ``sources[2].interval``."""

    key: str
    message: str

    def render(self, path: Path | str) -> str:
        where = f"{path}: {self.key}: " if self.key else f"{path}: "
        return where + self.message


class ConfigError(WirewatchError):
    """Raised by monitor.config when a config file is missing, unreadable or invalid."""

    exit_status = ExitStatus.BAD_INPUT

    def __init__(self, path: Path | str, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problem.render(path) for problem in problems))


class UsageError(WirewatchError):
    """Raised by a command for an argument it cannot use, such as an unknown source name."""

    exit_status = ExitStatus.BAD_INPUT


class TopicTestFailed(WirewatchError):
    """Raised by topic-test when F1 is below --fail-under."""


class NotFoundError(WirewatchError):
    """Raised by the review commands when an article ID is not in the archive."""


class ArchiveError(WirewatchError):
    """Raised by monitor.archive when the archive file cannot be opened or written."""


class ArchiveDamaged(ArchiveError):
    """Raised by monitor.archive when the archive file is corrupt; nothing more is written to it."""

    def __init__(self, path: Path | str, detail: str) -> None:
        self.path = path
        self.detail = detail = " ".join(detail.split())  # one line, whatever SQLite said
        archive = Path(path)
        salvaged = archive.with_name(f"{archive.stem}-recovered{archive.suffix or '.db'}")
        super().__init__(
            f"{path}: the archive file is damaged ({detail}), so wirewatch will neither write "
            "to it nor trust what it reads: restore it from a backup, or salvage what it holds "
            f"with `sqlite3 {shlex.quote(str(path))} .recover | sqlite3 "
            f"{shlex.quote(str(salvaged))}` and point archive: at the new file"
        )


class ArchiveReadOnly(ArchiveError):
    """Raised by monitor.archive when a command must write an archive it may only read."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = path
        super().__init__(
            f"{path}: cannot write the archive: {reason}; run the command as the user who "
            "owns the archive, or make the file and its folder writable for this user"
        )


class DiskFull(ArchiveError):
    """Raised by monitor.archive when the archive's filesystem has no room left for a write.

    SQLite rolls the write back, so what the archive held before stays whole.
    """

    # The exit status of a crawl child that stopped for a full disk (28 is ENOSPC).
    CHILD_STATUS = 28

    def __init__(self, path: Path | str, free: int | None = None) -> None:
        self.path = path
        room = f" ({free // 1024} KiB free)" if free is not None else ""
        super().__init__(
            f"{path}: the disk is full{room}: free some space on it and run the command "
            "again; nothing already archived was lost, and the next crawl collects the "
            "stories this one could not store"
        )


class CrawlError(WirewatchError):
    """Raised by monitor.collection when a crawl could not run at all."""


class NoSourceRead(CrawlError):
    """Raised by ``wirewatch crawl`` when the crawl ran but not one source could be read."""

    exit_status = ExitStatus.NO_SOURCE_READ


class Interrupted(WirewatchError):
    """Raised when the user or the system stopped a command with a signal."""

    exit_status = ExitStatus.INTERRUPTED
