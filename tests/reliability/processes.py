"""Kill the processes a test started, found by the mark they inherit (monitor.procmark)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from monitor.procmark import marked, new_mark

__all__ = ["crawl_processes", "kill_groups", "kill_marked", "marked", "new_mark"]

FORK_SERVER = b"crawler.forkserver"


def crawl_processes(env: dict[str, str], parent: int) -> list[int]:
    """Return the marked crawl processes of the command *parent*, leaving out its fork server.

    The server (``python -m crawler.forkserver``, a child of *parent*) forks each crawl
    child, which keeps the server's command line; a crawl child started as a new process
    (when the server could not start) is ``python -m crawler``.
    """
    return [pid for pid in marked(env) if pid != parent and not _is_fork_server(pid, parent)]


def _is_fork_server(pid: int, parent: int) -> bool:
    proc = Path("/proc") / str(pid)
    try:
        ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        command = (proc / "cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return False  # gone: it no longer matters which it was
    return ppid == parent and FORK_SERVER in command


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
