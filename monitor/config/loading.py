"""Find, read and validate a config file: the one place that turns a path into a Config."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from monitor import CONFIG_ENV_VAR
from monitor.config import resolve
from monitor.config.problems import problems_of
from monitor.config.schema import Config
from monitor.errors import ConfigError, ConfigProblem
from monitor.safeyaml import load_yaml

ENV_VAR = CONFIG_ENV_VAR
DEFAULT_PATH = Path("config.yaml")
# A config is small: the repository's is 15 KB (monitor.safeyaml bounds the YAML itself).
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 20  # problems printed for one file; the rest are counted


def find_path(given: str | os.PathLike[str] | None) -> Path:
    """Return the config path: *given*, else ``$WIREWATCH_CONFIG``, else ``./config.yaml``."""
    if given:
        return Path(given)
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env)
    return DEFAULT_PATH


def load(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file at *path*, and check its alerts against *environ*
    (the process's environment by default); raise ConfigError naming every problem."""
    try:
        with path.open("rb") as file:
            # Read one byte past the bound, to know whether the file is larger.
            raw = file.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path,
            [
                ConfigProblem(
                    "",
                    f"no such file (create it, pass --config PATH, or set {ENV_VAR}; "
                    "the README has an example)",
                )
            ],
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, [ConfigProblem("", f"cannot read the file: {error}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            path,
            [
                ConfigProblem(
                    "",
                    f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB; a config is far "
                    "smaller (is this the right file?)",
                )
            ],
        )
    config = parse(text, path)
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
    archive = config.archive.expanduser()
    if not archive.is_absolute():
        archive = path.resolve().parent / archive
    return config.model_copy(update={"archive": archive, "path": path})
