"""The SQLite archive: sources and their health, articles (with FTS5), flags, runs, evidence."""

from monitor.archive.runs import RunStatus, SourceOutcome, SourceRef, SourceStatus, next_poll
from monitor.archive.store import Archive, content_hash

__all__ = [
    "Archive",
    "RunStatus",
    "SourceOutcome",
    "SourceRef",
    "SourceStatus",
    "content_hash",
    "next_poll",
]
