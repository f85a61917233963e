"""The ``health:`` part of the config: when the crawl's own failures are worth an alert."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from monitor.config.values import DAY, MINUTE, Model, Range, Seconds

FailingSeconds = Annotated[Seconds, AfterValidator(Range(MINUTE, 365 * DAY, seconds=True))]


class HealthSettings(Model):
    """The ``health:`` section: which failures of the sources raise an alert, once each."""

    failing_for: FailingSeconds | None = Field(
        6 * 3600.0,
        description="Alert once when a source has failed, with no success, for this long; "
        "null turns it off.",
    )
    all_failed: bool = Field(
        True, description="Alert once when the latest attempt of every source failed."
    )
