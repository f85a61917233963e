"""The ``sanctions:`` part of the config: the sanctions list files to load, and which
programs of them to keep."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from monitor.config.values import Model

# The programs of this relationship: the UN 1718 list (DPRK) and OFAC's DPRK and Russia
# programs (DPRK, DPRK2, DPRK3, DPRK4, RUSSIA-EO14024 ...).
DEFAULT_PROGRAMS = ("DPRK", "RUSSIA")


class SanctionsSettings(Model):
    """The ``sanctions:`` section, read by ``wirewatch sanctions load``."""

    files: list[Path] = Field(
        default_factory=list,
        description="Sanctions list files as their publishers give them out: the UN "
        "consolidated list (XML), OFAC's SDN list (XML or CSV); a relative path is taken "
        "from the config file's folder. Nothing is ever downloaded.",
    )
    programs: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PROGRAMS),
        description="Keep the entries of these programs (a prefix: DPRK keeps DPRK3); "
        "[] keeps every entry.",
    )
