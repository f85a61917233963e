"""What the config models and the reading commands' outline of a config both rest on: the
default archive and the form of a name. Imports nothing of wirewatch."""

from __future__ import annotations

import re
from pathlib import Path

DEFAULT_ARCHIVE = Path("wirewatch.db")
# A usable source or topic name.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
