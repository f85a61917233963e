"""A real Redis server and real crawl workers for the cluster tests.

Redis is Debian's ``redis-server`` (installed by tests.debian when missing), started on a
free loopback port in a folder of the test's, with its append-only file on so that a
restart keeps the queue, as the README tells users to run it. Workers are real
``wirewatch worker`` processes (tests/test_cluster.py starts them), each in its own session so a
test can SIGKILL one outright.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.debian import installed

START_TIMEOUT = 20.0  # seconds for redis-server to answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """``redis-server`` on 127.0.0.1, owned by a test; :meth:`restart` keeps its data."""

    def __init__(self, folder: Path) -> None:
        (self.binary,) = installed(["redis-server"], ["redis-server"])
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--protected-mode", "yes", "--logfile", str(self.log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log.read_text()[-1000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection,
            ):
                connection.sendall(b"PING\r\n")
                if connection.recv(64).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer within {START_TIMEOUT}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def restart(self, pause: float = 0.0) -> None:
        self.stop()
        time.sleep(pause)
        self.start()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def kill_group(process: subprocess.Popen[str], signum: int = signal.SIGKILL) -> None:
    """Send *signum* to a worker and its crawl children, and reap the worker."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
    process.wait(timeout=30)


def kill_worker_only(process: subprocess.Popen[str]) -> None:
    """SIGKILL the worker alone: its crawl child is orphaned, as after an OOM kill."""
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    process.wait(timeout=30)
