"""Read and validate a config file: the one place that turns a path into a Config."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from monitor.config import resolve
from monitor.config.files import (
    DEFAULT_PATH,
    ENV_VAR,
    MAX_FILE_BYTES,
    find_path,
    read_text,
    resolve_archive,
)
from monitor.config.problems import problems_of
from monitor.config.schema import Config
from monitor.errors import ConfigError, ConfigProblem
from monitor.safeyaml import load_yaml

__all__ = ["DEFAULT_PATH", "ENV_VAR", "MAX_FILE_BYTES", "find_path", "load", "parse"]

MAX_PROBLEMS_SHOWN = 20  # problems printed for one file; the rest are counted


def load(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file at *path*, and check its alerts against *environ*
    (the process's environment by default); raise ConfigError naming every problem."""
    config = parse(read_text(path), path)
    unusable = resolve.problems(config, os.environ if environ is None else environ)
    if unusable:
        raise ConfigError(path, unusable)
    return config


def parse(text: str, path: Path) -> Config:
    """Validate config *text* that was read from *path*; raise ConfigError naming every problem.

    Pure: nothing outside the text is consulted (see :func:`load` for the alerts' checks).
    """
    data = load_yaml(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            path,
            [
                ConfigProblem(
                    "", "the file must be a YAML mapping with archive, crawl, sources, topics"
                )
            ],
        )
    try:
        # The context carries what the topics' aliases have spent of MAX_SPELLINGS.
        config = Config.model_validate(data, context={"spellings": 0})
    except ValidationError as error:
        found = problems_of(error.errors())
        problems = found[:MAX_PROBLEMS_SHOWN]
        if len(found) > MAX_PROBLEMS_SHOWN:
            more = len(found) - MAX_PROBLEMS_SHOWN
            problems.append(ConfigProblem("", f"and {more:,} more problems (fix these first)"))
        raise ConfigError(path, problems) from None
    return config.model_copy(
        update={"archive": resolve_archive(config.archive, path), "path": path}
    )
