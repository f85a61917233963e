"""The ``recheck:`` part of the config: when flagged stories are fetched again."""

from __future__ import annotations

import itertools
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from monitor.config.values import DAY, HOUR, MINUTE, Model, Range, Seconds

RecheckDelay = Annotated[Seconds, AfterValidator(Range(MINUTE, 365 * DAY, seconds=True))]
MAX_ROUNDS = 10  # each round fetches every flagged story once more


class RecheckSettings(Model):
    """The ``recheck:`` section: how long after its first fetch each flagged story is re-read."""

    after: list[RecheckDelay] = Field(
        default_factory=lambda: [HOUR, DAY, 7 * DAY],
        description="Fetch each flagged story again this long after it was first fetched, "
        "once per delay, to see whether it was edited, retitled or removed; [] turns it off.",
    )

    @field_validator("after")
    @classmethod
    def _rising(cls, delays: list[float]) -> list[float]:
        if len(delays) > MAX_ROUNDS:
            raise PydanticCustomError(
                "rounds", f"{len(delays)} delays: give at most {MAX_ROUNDS}, e.g. [1h, 1d, 7d]"
            )
        if any(later <= earlier for earlier, later in itertools.pairwise(delays)):
            raise PydanticCustomError(
                "rounds", "list the delays from shortest to longest, each once, e.g. [1h, 1d, 7d]"
            )
        return delays
