"""The ``roles:`` and ``coverage:`` parts of the config: what kind of outlet each source is,
and when a kind of outlet falling quiet, or suddenly loud, about a topic is worth saying."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from monitor.config.values import Model, Range

Days = Annotated[int, AfterValidator(Range(1, 365))]


class CoverageSettings(Model):
    """The ``coverage:`` section: when a role's daily count of flagged stories of a topic,
    against its own recent baseline, is silence or a spike. Each is said once per episode."""

    baseline_days: Annotated[int, AfterValidator(Range(7, 365))] = Field(
        28,
        description="Days of history a role's usual daily count is measured over; until the "
        "archive holds that many days of a topic, nothing is said about it.",
    )
    quiet_days: Days | None = Field(
        3,
        description="A role is silent on a topic after this many days without a flagged "
        "story of it; null turns silence off.",
    )
    quiet_min_daily: Annotated[float, AfterValidator(Range(0, 10000, above=True))] = Field(
        1.0,
        description="Only a role that usually carries at least this many flagged stories of "
        "the topic a day can fall silent.",
    )
    spike_factor: Annotated[float, AfterValidator(Range(1, 1000, above=True))] | None = Field(
        4.0,
        description="A role spikes on a topic when one UTC day brings this many times its "
        "usual daily count; null turns spikes off.",
    )
    spike_min: Annotated[int, AfterValidator(Range(1, 100000))] = Field(
        5, description="A spike needs at least this many flagged stories in the day."
    )
