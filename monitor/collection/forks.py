"""Start crawl children from a fork server, with their imports already done.

``python -m crawler`` spends about a second of CPU on imports before its first request. A
fork server (crawler.forkserver) pays that once for a process: the daemon's every cycle,
the worker's every job and the parallel children of one crawl then start as forks of it,
each in a session of its own, with the stdin, stdout and stderr it is given. What a child
does and how it ends is as before: supervise and stop_process_group see a process with a
PID, a process group, pipes and an exit status (:class:`Forked`), as subprocess.Popen has.

A fork copies its server's environment, so each environment gets a server of its own. The
servers close when this process exits; a server closes when its socket does, so one never
outlives its parent. Where no server can start (the crawler fails to import, or the kernel
has no pidfd), children start as new processes instead, and the log says why once.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, TypeAlias

logger = logging.getLogger(__name__)

READY_TIMEOUT = 120.0  # seconds for a server to import the crawler (about 1 s on an idle machine)
MESSAGE_BYTES = 65536
SERVER = "crawler.forkserver"  # the module the server runs, as ``python -m SERVER FD``
MAX_SERVERS = 4  # environments with a server at once; an idle one beyond that is closed
ENABLED = True  # False: every child a new process (the baseline of benchmarks/startup.py)


class Forked:
    """A crawl child forked by a server: the part of subprocess.Popen its parent uses."""

    def __init__(self, server: ForkServer, pid: int, stdin: IO[str], stdout: IO[str]) -> None:
        self.server = server
        self.pid = pid
        self.stdin: IO[str] | None = stdin
        self.stdout: IO[str] | None = stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self.server.changed:
            if not self.server.changed.wait_for(lambda: self.returncode is not None, timeout):
                raise subprocess.TimeoutExpired(f"crawl child {self.pid}", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode


class ForkServer:
    """One ``python -m crawler.forkserver`` process and the children it forked."""

    def __init__(self, env: Mapping[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.socket = ours
        self.changed = threading.Condition()
        self.answers: dict[int, dict[str, Any]] = {}
        self.children: dict[int, Forked] = {}
        self.ended: dict[int, dict[str, Any]] = {}  # ends read before their child was handed out
        self.alive = True
        self.last_used = time.monotonic()
        self._ids = itertools.count(1)
        self._sending = threading.Lock()
        self._log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - see close()
        self.process: subprocess.Popen[bytes] | None = None
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", SERVER, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
                start_new_session=True,  # Ctrl-C is its parent's to handle, not its own
            )
            theirs.close()
            self.socket.settimeout(READY_TIMEOUT)
            ready = self.socket.recv(MESSAGE_BYTES)
            self.socket.settimeout(None)
        except OSError:
            ready = b""
        finally:
            theirs.close()
        if not ready:
            reason = self.tail()
            self.close()
            raise OSError(f"the crawl fork server did not start: {reason}")
        self._reader = threading.Thread(target=self._read, name="fork-server", daemon=True)
        self._reader.start()

    def tail(self) -> str:
        """Return the last line the server wrote on stderr, to say why it failed."""
        with contextlib.suppress(ValueError, OSError):
            self._log.seek(0)
            lines = self._log.read()[-2000:].strip().splitlines()
            if lines:
                return lines[-1]
        return "no output"

    def spawn(self, module: str, argv: list[str], stderr: int) -> Forked:
        """Fork a child running ``python -m MODULE ARGV``.

        Raise OSError if the server refused. A server that ended before it answered (killed
        with its children, say) gives a child that was killed before it began: its run is
        interrupted, as a crawl killed by a signal nobody here sent."""
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        try:
            with self._sending:
                number = next(self._ids)
                request = {"id": number, "module": module, "argv": argv, "cwd": str(Path.cwd())}
                socket.send_fds(self.socket, [json.dumps(request).encode()],
                                [stdin_r, stdout_w, stderr])  # fmt: skip
        except OSError:
            for fd in (stdin_r, stdin_w, stdout_r, stdout_w):
                os.close(fd)
            raise
        finally:
            self.last_used = time.monotonic()
        os.close(stdin_r)
        os.close(stdout_w)
        stdin = open(stdin_w, "w", encoding="utf-8")  # noqa: PTH123, SIM115 - the child's pipes
        stdout = open(stdout_r, encoding="utf-8")  # noqa: PTH123, SIM115
        with self.changed:
            if not self.changed.wait_for(
                lambda: number in self.answers or not self.alive, READY_TIMEOUT
            ):
                # A server that cannot fork in minutes is not used again, nor left to fork
                # late: a child it forked now would be an orphan, and stop by itself.
                self.alive = False
                if self.process is not None:
                    self.process.kill()
            answer = self.answers.pop(number, None)
            if answer is None or "pid" not in answer:
                stdin.close()
                stdout.close()
                if answer is not None:
                    raise OSError(f"the crawl fork server started no child: {answer['error']}")
                nothing = Path(os.devnull)
                never = Forked(self, 0, nothing.open("w"), nothing.open())
                never.returncode = -signal.SIGKILL
                return never
            child = Forked(self, int(answer["pid"]), stdin, stdout)
            self.children[child.pid] = child
            if child.pid in self.ended:
                self._settle(child, self.ended.pop(child.pid))
            return child

    def busy(self) -> bool:
        with self.changed:
            return any(child.returncode is None for child in self.children.values())

    def _read(self) -> None:
        while True:
            try:
                data = self.socket.recv(MESSAGE_BYTES)
            except OSError:
                data = b""
            with self.changed:
                if not data:
                    self._lost()
                    return
                message = json.loads(data)
                if "exit" in message:
                    child = self.children.get(message["exit"])
                    if child is None:
                        self.ended[message["exit"]] = message
                    else:
                        self._settle(child, message)
                elif "id" in message:
                    self.answers[message["id"]] = message
                self.changed.notify_all()

    def _settle(self, child: Forked, message: dict[str, Any]) -> None:
        child.returncode = int(message["code"])
        del self.children[child.pid]

    def _lost(self) -> None:
        """The server ended: its children, now orphans, are killed, as a child killed is."""
        self.alive = False
        for child in list(self.children.values()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            child.returncode = -signal.SIGKILL
        self.children.clear()
        self.changed.notify_all()

    def close(self) -> None:
        """Close the socket, which ends the server, and wait for it."""
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()
        process = self.process
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._log.close()


Process: TypeAlias = "subprocess.Popen[str] | Forked"

_servers: dict[tuple[tuple[str, str], ...], ForkServer] = {}
_refused: set[tuple[tuple[str, str], ...]] = set()
_lock = threading.Lock()


def start(module: str, argv: list[str], stderr: IO[Any]) -> Process:
    """Start ``python -m MODULE ARGV`` with pipes for stdin and stdout, in its own session:
    forked from this environment's server, or as a new process where there is none."""
    server = _server(dict(os.environ)) if ENABLED else None
    if server is not None:
        return server.spawn(module, argv, stderr.fileno())
    return subprocess.Popen(
        [sys.executable, "-m", module, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        encoding="utf-8",
        start_new_session=True,
    )


def _server(env: dict[str, str]) -> ForkServer | None:
    key = tuple(sorted(env.items()))
    with _lock:
        server = _servers.get(key)
        if server is not None and server.alive and server.process and server.process.poll() is None:
            return server
        if server is not None:
            _servers.pop(key).close()
        if key in _refused:
            return None
        for old_key, old in sorted(_servers.items(), key=lambda item: item[1].last_used):
            if len(_servers) < MAX_SERVERS:
                break
            if not old.busy():
                _servers.pop(old_key).close()
        try:
            server = ForkServer(env)
        except OSError as error:
            _refused.add(key)
            logger.warning("%s; crawl children start as new processes", error)
            return None
        _servers[key] = server
        return server


def close_all(keep: Mapping[str, str] | None = None) -> None:
    """Close the fork servers of this process (at its exit, or to reap them now), all but
    the one of the environment *keep*, if given."""
    kept = None if keep is None else tuple(sorted(keep.items()))
    with _lock:
        for key in [key for key in _servers if key != kept]:
            _servers.pop(key).close()


atexit.register(close_all)
