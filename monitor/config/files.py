"""Find and read a config file: its path, and its text within bounds, or one clear error.

Both a full load (monitor.config.loading) and a reading command's outline
(monitor.config.outline) start here, so a missing, unreadable or oversized file gives the
same error whichever command meets it. Nothing here validates the content.
"""

from __future__ import annotations

import os
from pathlib import Path

from monitor import CONFIG_ENV_VAR
from monitor.errors import ConfigError, ConfigProblem

ENV_VAR = CONFIG_ENV_VAR
DEFAULT_PATH = Path("config.yaml")
# A config is small: the repository's is 15 KB (monitor.safeyaml bounds the YAML itself).
MAX_FILE_BYTES = 4 * 1024 * 1024


def find_path(given: str | os.PathLike[str] | None) -> Path:
    """Return the config path: *given*, else ``$WIREWATCH_CONFIG``, else ``./config.yaml``."""
    if given:
        return Path(given)
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env)
    return DEFAULT_PATH


def read_text(path: Path) -> str:
    """Return the text of the config file at *path*; raise ConfigError if it cannot be read."""
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
    return text


def resolve_archive(archive: Path, path: Path) -> Path:
    """Return the config's *archive* as a full path: ``~`` expanded, and a relative one taken
    from the folder of the config file at *path*."""
    archive = archive.expanduser()
    if not archive.is_absolute():
        archive = path.resolve().parent / archive
    return archive
