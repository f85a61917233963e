"""Load and validate ``config.yaml``: the archive, the sources, crawl politeness and the topics.

The package is the bottom of the house: it imports the matcher's parsers and nothing that
collects, schedules or serves. Its parts:

- :mod:`~monitor.config.values`: pure checks of one value (durations, ranges, selectors);
- :mod:`~monitor.config.sources` and :mod:`~monitor.config.topics`: the models of each part;
- :mod:`~monitor.config.schema`: ``Config``, the single table of every key, and the
  ``CrawlPlan`` a crawl child is handed;
- :mod:`~monitor.config.problems`: pydantic's errors as messages that name the key and the fix,
  e.g. ``config.yaml: sources[2].interval: 'ten minutes' is not a duration (use e.g. 90s, 10m)``;
- :mod:`~monitor.config.files`: finding and reading the file;
- :mod:`~monitor.config.loading`: validating it whole into a Config;
- :mod:`~monitor.config.outline`: the few keys that commands reading the archive use, read
  without the models;
- :mod:`~monitor.config.resolve`: what touches the world (environment variables, apprise).

The names below are loaded on first use, so that a reading command can import
``monitor.config.outline`` without the models (pydantic and the topics' parsers).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.config.files import DEFAULT_PATH, ENV_VAR, MAX_FILE_BYTES, find_path
    from monitor.config.health import HealthSettings
    from monitor.config.loading import load, parse
    from monitor.config.schema import Config, CrawlPlan
    from monitor.config.sources import SOURCE_KINDS, CrawlSettings, Politeness, Source
    from monitor.config.topics import MAX_SPELLINGS, Scoring, Topic
    from monitor.config.values import DEFAULT_USER_AGENT, compile_selector

# Where each public name is defined.
_HOMES = {
    "DEFAULT_PATH": "files",
    "ENV_VAR": "files",
    "MAX_FILE_BYTES": "files",
    "find_path": "files",
    "HealthSettings": "health",
    "load": "loading",
    "parse": "loading",
    "Config": "schema",
    "CrawlPlan": "schema",
    "SOURCE_KINDS": "sources",
    "CrawlSettings": "sources",
    "Politeness": "sources",
    "Source": "sources",
    "MAX_SPELLINGS": "topics",
    "Scoring": "topics",
    "Topic": "topics",
    "DEFAULT_USER_AGENT": "values",
    "compile_selector": "values",
}

__all__ = [
    "DEFAULT_PATH",
    "DEFAULT_USER_AGENT",
    "ENV_VAR",
    "MAX_FILE_BYTES",
    "MAX_SPELLINGS",
    "SOURCE_KINDS",
    "Config",
    "CrawlPlan",
    "CrawlSettings",
    "HealthSettings",
    "Politeness",
    "Scoring",
    "Source",
    "Topic",
    "compile_selector",
    "find_path",
    "load",
    "parse",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
