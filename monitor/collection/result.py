"""What one crawl cycle gave: the record that the crawl runner returns and the views print.

It lives below both, so that printing a result never imports the runner that makes one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.alerts import Delivery
from monitor.archive import RunStatus, SourceOutcome, SourceStatus


@dataclass(frozen=True)
class CycleResult:
    """The outcome of one crawl: the run's status and each source's outcome."""

    run_id: int
    status: RunStatus
    started: datetime
    seconds: float
    outcomes: list[SourceOutcome]
    error: str | None = None
    alerts: Delivery | None = None
    peak_rss_mb: float | None = None  # the most memory one crawl child held; None if unknown
    # The crawl children's CPU seconds by stage (monitor.events.STAGES); empty if unknown.
    cpu_seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def new(self) -> int:
        return sum(outcome.new for outcome in self.outcomes)

    @property
    def flagged(self) -> int:
        return sum(outcome.flagged for outcome in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(outcome.status == SourceStatus.FAILED for outcome in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "new": self.new,
            "flagged": self.flagged,
            "failed": self.failed,
            "error": self.error,
            "alerts": None if self.alerts is None else dataclasses.asdict(self.alerts),
            "peak_rss_mb": self.peak_rss_mb,
            "cpu_seconds": self.cpu_seconds,
            "sources": [outcome.to_dict() for outcome in self.outcomes],
        }
