"""Prometheus metrics of a running daemon (``wirewatch run --metrics-port``), read from the
archive at each scrape: crawls, articles, flags and errors per source, and the age of each
source's last success."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from monitor.archive import Archive
from monitor.timeutil import from_text, utcnow


class ArchiveCollector(Collector):
    """Turns the archive's counts into metric families, one query each, on every scrape."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive

    def collect(self) -> Iterator[Metric]:
        with Archive.open(self.archive) as archive:
            db = archive.db
            crawls = CounterMetricFamily(
                "wirewatch_crawls", "Crawls of each source, by outcome", labels=["source", "status"]
            )
            for source, status, count in db.execute(
                "SELECT source, status, count(*) FROM run_sources GROUP BY source, status"
            ):
                crawls.add_metric([source, status], count)
            yield crawls
            articles = CounterMetricFamily(
                "wirewatch_articles", "Articles archived from each source", labels=["source"]
            )
            for source, count in db.execute(
                "SELECT source, count(*) FROM articles GROUP BY source"
            ):
                articles.add_metric([source], count)
            yield articles
            flags = CounterMetricFamily(
                "wirewatch_flags", "Flags raised, by source and topic", labels=["source", "topic"]
            )
            for source, topic, count in db.execute(
                "SELECT a.source, f.topic, count(*) FROM flags f "
                "JOIN articles a ON a.id = f.article_id GROUP BY a.source, f.topic"
            ):
                flags.add_metric([source, topic], count)
            yield flags
            errors = CounterMetricFamily(
                "wirewatch_errors", "Failed crawls of each source, by error class",
                labels=["source", "error_class"],
            )  # fmt: skip
            for source, error_class, count in db.execute(
                "SELECT source, error_class, count(*) FROM run_sources WHERE status = 'failed' "
                "GROUP BY source, error_class"
            ):
                errors.add_metric([source, error_class or "unknown"], count)
            yield errors
            age = GaugeMetricFamily(
                "wirewatch_last_success_age_seconds",
                "Seconds since each source was last read successfully",
                labels=["source"],
            )
            failures = GaugeMetricFamily(
                "wirewatch_consecutive_failures", "Failures in a row of each source",
                labels=["source"],
            )  # fmt: skip
            now = utcnow()
            for name, last_success, failing in db.execute(
                "SELECT name, last_success, failures FROM sources"
            ):
                if last_success:
                    age.add_metric([name], (now - from_text(last_success)).total_seconds())
                failures.add_metric([name], failing)
            yield age
            yield failures


def serve_metrics(archive: Path, port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics on *host*:*port* from a background thread."""
    registry = CollectorRegistry()
    registry.register(ArchiveCollector(archive))
    start_http_server(port, addr=host, registry=registry)
