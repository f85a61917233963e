"""Load and validate ``config.yaml``: the archive, the sources, crawl politeness and the topics.

The package is the bottom of the house: it imports the matcher's parsers and nothing that
collects, schedules or serves. Its parts:

- :mod:`~monitor.config.values`: pure checks of one value (durations, ranges, selectors);
- :mod:`~monitor.config.sources` and :mod:`~monitor.config.topics`: the models of each part;
- :mod:`~monitor.config.schema`: ``Config``, the single table of every key, and the
  ``CrawlPlan`` a crawl child is handed;
- :mod:`~monitor.config.problems`: pydantic's errors as messages that name the key and the fix,
  e.g. ``config.yaml: sources[2].interval: 'ten minutes' is not a duration (use e.g. 90s, 10m)``;
- :mod:`~monitor.config.loading`: finding and reading the file;
- :mod:`~monitor.config.resolve`: what touches the world (environment variables, apprise).
"""

from monitor.config.loading import DEFAULT_PATH, ENV_VAR, MAX_FILE_BYTES, find_path, load, parse
from monitor.config.schema import Config, CrawlPlan
from monitor.config.sources import SOURCE_KINDS, CrawlSettings, Politeness, Source
from monitor.config.topics import MAX_SPELLINGS, Scoring, Topic
from monitor.config.values import DEFAULT_USER_AGENT, compile_selector

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
    "Politeness",
    "Scoring",
    "Source",
    "Topic",
    "compile_selector",
    "find_path",
    "load",
    "parse",
]
