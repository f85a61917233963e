"""What one crawl child shares between its spider and pipelines: plan, run, archive, progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from scrapy.crawler import Crawler

from crawler.ledger import Ledger
from monitor import events
from monitor.archive import Archive
from monitor.config import CrawlPlan
from monitor.timeutil import utcnow


@dataclass
class CrawlContext:
    """The state of one crawl run, created by :mod:`crawler.runner` and carried by the spider."""

    plan: CrawlPlan
    run_id: int
    archive: Ledger  # the Archive itself, or a cluster job's stand-in (crawler.ledger)
    clock: Callable[[], datetime] = utcnow
    progress: TextIO = field(default_factory=lambda: sys.stdout)
    disk_full: bool = False  # set when a write found the archive's disk full; the crawl stops
    # CPU seconds of this process by stage (monitor.events.STAGES), reported as it ends.
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def local_archive(self) -> Archive:
        """Return the archive itself, for work that only runs beside it (re-checks)."""
        if not isinstance(self.archive, Archive):
            raise TypeError("this crawl has no archive of its own (a cluster job)")
        return self.archive

    def emit(self, event: events.Event) -> None:
        """Tell the parent process about progress (see monitor.events)."""
        events.emit(self.progress, event)

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        """Add the CPU time the block takes in this thread to *stage*."""
        started = time.thread_time()
        try:
            yield
        finally:
            self.cpu[stage] = self.cpu.get(stage, 0.0) + time.thread_time() - started

    def cpu_by_stage(self) -> dict[str, float]:
        """Return this process's CPU seconds so far by stage, the rest (Scrapy and Twisted:
        fetching, scheduling, the pipelines' plumbing) under ``other``."""
        stages = {stage: round(seconds, 3) for stage, seconds in self.cpu.items()}
        stages["other"] = round(max(0.0, time.process_time() - sum(self.cpu.values())), 3)
        return stages


def context_of(crawler: Crawler) -> CrawlContext:
    """Return the context of the crawl that *crawler* runs (the spider carries it).

    Not a setting: Scrapy deep-copies settings, and the context holds a live archive.
    """
    context = getattr(crawler.spider, "context", None)
    if not isinstance(context, CrawlContext):
        raise TypeError("wirewatch pipelines need a spider with a CrawlContext")
    return context
