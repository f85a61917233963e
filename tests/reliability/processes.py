"""Kill the processes a test started, found by the mark they inherit (monitor.procmark)."""

from __future__ import annotations

import contextlib
import os
import signal
import time

from monitor.procmark import marked, new_mark

__all__ = ["kill_groups", "kill_marked", "marked", "new_mark"]


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
