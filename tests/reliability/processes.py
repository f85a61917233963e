"""Find the processes a test started, by a mark in their environment, and kill them by group.

Crawl children run in sessions of their own, so a test cannot reach them through its own
process group, and ``pgrep -f`` would also count other wirewatch processes on the host. A
test passes ``WIREWATCH_TEST_MARK=<uuid>`` to the command it starts; every process it
begins inherits the mark, orphans included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

MARK = "WIREWATCH_TEST_MARK"


def new_mark() -> dict[str, str]:
    """Return an environment entry that marks the processes of one test."""
    return {MARK: uuid.uuid4().hex}


def marked(env: dict[str, str]) -> list[int]:
    """Return the PIDs of live processes that carry the mark in *env*."""
    needle = f"{MARK}={env[MARK]}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            state = (proc / "stat").read_text()
        except OSError:
            continue
        # A zombie has exited; only its parent's wait is missing.
        if needle in environ.split(b"\0") and state.rsplit(")", 1)[1].split()[0] != "Z":
            found.append(int(proc.name))
    return found


def kill_groups(pids: list[int]) -> None:
    """SIGKILL the process group of each PID (each crawl process leads its own group)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)


def kill_marked(env: dict[str, str], timeout: float = 10.0) -> None:
    """Kill every process that carries the mark, and wait until none is left."""
    deadline = time.monotonic() + timeout
    while pids := marked(env):
        kill_groups(pids)
        if time.monotonic() > deadline:
            raise AssertionError(f"processes {pids} survived SIGKILL for {timeout}s")
        time.sleep(0.05)
