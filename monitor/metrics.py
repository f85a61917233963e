"""Prometheus metrics of a running daemon (``wirewatch run --metrics-port``), read from the
archive at each scrape: crawls, articles, flags and errors per source, and the age of each
source's last success."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from monitor.archive import Archive, counts
from monitor.timeutil import utcnow


class ArchiveCollector(Collector):
    """Turns the archive's counts into metric families, one query each, on every scrape."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive

    def collect(self) -> Iterator[Metric]:
        with Archive.open(self.archive) as archive:
            crawls = CounterMetricFamily(
                "wirewatch_crawls", "Crawls of each source, by outcome", labels=["source", "status"]
            )
            for labels, count in counts.crawls_by_outcome(archive):
                crawls.add_metric(list(labels), count)
            yield crawls
            articles = CounterMetricFamily(
                "wirewatch_articles", "Articles archived from each source", labels=["source"]
            )
            for labels, count in counts.articles_by_source(archive):
                articles.add_metric(list(labels), count)
            yield articles
            flags = CounterMetricFamily(
                "wirewatch_flags", "Flags raised, by source and topic", labels=["source", "topic"]
            )
            for labels, count in counts.flags_by_source(archive):
                flags.add_metric(list(labels), count)
            yield flags
            errors = CounterMetricFamily(
                "wirewatch_errors", "Failed crawls of each source, by error class",
                labels=["source", "error_class"],
            )  # fmt: skip
            for labels, count in counts.failures_by_class(archive):
                errors.add_metric(list(labels), count)
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
            for health in counts.source_health(archive):
                if health.last_success:
                    age.add_metric([health.name], (now - health.last_success).total_seconds())
                failures.add_metric([health.name], health.failures)
            yield age
            yield failures


def serve_metrics(archive: Path, port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics on *host*:*port* from a background thread."""
    registry = CollectorRegistry()
    registry.register(ArchiveCollector(archive))
    start_http_server(port, addr=host, registry=registry)
