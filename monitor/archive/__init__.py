"""The SQLite archive: sources and their health, articles (with FTS5), flags, runs, evidence."""

from monitor.archive.runs import SourceOutcome, SourceRef, next_poll
from monitor.archive.store import Archive, content_hash

__all__ = ["Archive", "SourceOutcome", "SourceRef", "content_hash", "next_poll"]
