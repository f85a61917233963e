"""Counts of the archive's crawls, articles, flags and failures, for the daemon's metrics."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from monitor.archive.runs import SourceStatus
from monitor.timeutil import from_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive


class Count(NamedTuple):
    """How many rows share *labels* (e.g. a source and a status)."""

    labels: tuple[str, ...]
    total: int


class SourceHealth(NamedTuple):
    """When a source was last read successfully, and how many failures followed in a row."""

    name: str
    last_success: datetime | None
    failures: int


def crawls_by_outcome(archive: Archive) -> list[Count]:
    """Return how many times each source was crawled, per outcome (source, status)."""
    rows = archive.conn.execute(
        "SELECT source, status, count(*) FROM run_sources GROUP BY source, status"
    )
    return [Count((source, status), count) for source, status, count in rows]


def articles_by_source(archive: Archive) -> list[Count]:
    """Return how many articles each source gave (source)."""
    rows = archive.conn.execute("SELECT source, count(*) FROM articles GROUP BY source")
    return [Count((source,), count) for source, count in rows]


def flags_by_source(archive: Archive) -> list[Count]:
    """Return how many flags each topic raised on each source's articles (source, topic)."""
    rows = archive.conn.execute(
        "SELECT a.source, f.topic, count(*) FROM flags f "
        "JOIN articles a ON a.id = f.article_id GROUP BY a.source, f.topic"
    )
    return [Count((source, topic), count) for source, topic, count in rows]


def failures_by_class(archive: Archive) -> list[Count]:
    """Return how many crawls of each source failed, per error class (source, class)."""
    rows = archive.conn.execute(
        "SELECT source, error_class, count(*) FROM run_sources WHERE status = ? "
        "GROUP BY source, error_class",
        [SourceStatus.FAILED],
    )
    return [Count((source, error_class or "unknown"), count) for source, error_class, count in rows]


def source_health(archive: Archive) -> list[SourceHealth]:
    """Return every known source's last success and failures in a row."""
    rows = archive.conn.execute("SELECT name, last_success, failures FROM sources")
    return [
        SourceHealth(name, from_text(last) if last else None, failures)
        for name, last, failures in rows
    ]
