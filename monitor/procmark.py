"""Find the processes one run started, by a mark they inherit in their environment.

Crawl processes run in sessions of their own and outlive a parent that is killed, so
neither a process group nor ``pgrep -f`` tells one test's or benchmark's crawls from any
other wirewatch on the host. Whoever starts wirewatch sets ``WIREWATCH_MARK=<uuid>`` in its
environment; every process it begins inherits it, orphans included. Used by the tests and
the benchmarks, like monitor.newswire.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

VARIABLE = "WIREWATCH_MARK"


def new_mark() -> dict[str, str]:
    """Return an environment entry that marks the processes of one run."""
    return {VARIABLE: uuid.uuid4().hex}


def marked(env: dict[str, str], *, command: bytes = b"") -> list[int]:
    """Return the PIDs of live processes that carry the mark in *env*.

    With *command*, only those whose command line contains it (e.g. ``b"crawler"``).
    Zombies, which have exited and wait only for their parent, are left out.
    """
    needle = f"{VARIABLE}={env[VARIABLE]}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            state = (proc / "stat").read_text()
            line = (proc / "cmdline").read_bytes() if command else b""
        except OSError:
            continue
        if needle not in environ.split(b"\0") or command not in line:
            continue
        if state.rsplit(")", 1)[1].split()[0] != "Z":
            found.append(int(proc.name))
    return found
