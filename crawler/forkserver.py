"""The crawl children's fork server: ``python -m crawler.forkserver FD``.

A crawl child spends about a second of CPU importing Scrapy, Twisted, trafilatura and the
config's models before its first request, which is most of the work of a daemon cycle that
finds a few new stories. This process imports them once and forks a child for each crawl;
the child then runs as ``python -m crawler`` (or ``python -m crawler.recheck``) would, with
the same arguments, stdin, stdout and stderr, in a session of its own.

Its parent (monitor.collection.forks) holds the other end of the socket FD, a Unix socket
of packets. Each request is a JSON object ``{"id", "module", "argv", "cwd"}`` sent with three
file descriptors, the child's stdin, stdout and stderr; the answer is ``{"id", "pid"}`` once
the child leads its own session (or ``{"id", "error"}``), and ``{"exit": pid, "code"}``
when it ends. The server never installs the Twisted reactor and runs no thread, so
every fork starts as clean as a new process; the generator of ``random`` is seeded anew in
each child. When the socket closes (the parent exited or was killed), the server exits at
once: its children are re-parented, and each stops by itself (crawler.orphan).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import logging
import os
import random
import select
import socket
import sys
import threading
import traceback
from typing import Any

# What a child may run: the crawl and the re-check, each a module's main(argv).
MODULES = {"crawler": "crawler.__main__", "crawler.recheck": "crawler.recheck"}
MESSAGE_BYTES = 65536  # a request is a few hundred bytes; the crawl plan goes on stdin


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m crawler.forkserver FD (started by wirewatch)", file=sys.stderr)
        return 2
    control = socket.socket(fileno=int(args[0]))
    for name in MODULES.values():
        importlib.import_module(name)
    from crawler.language import preload

    preload()  # the language model's 70 MB, read once and shared with every child
    # Nothing imported may have started the reactor or a thread: a fork copies only the
    # thread that calls it, and a reactor cannot run twice.
    assert "twisted.internet.reactor" not in sys.modules, "the reactor was installed"
    assert threading.active_count() == 1, "a thread was started at import"
    gc.collect()
    gc.freeze()  # what is imported stays shared with the children instead of copied
    _send(control, {"ready": os.getpid()})
    serve(control)
    return 0


def serve(control: socket.socket) -> None:
    """Fork a child for each request until the socket closes; report each child's end."""
    children: dict[int, int] = {}  # pidfd -> pid
    while True:
        readable, _, _ = select.select([control.fileno(), *children], [], [])
        for fd in readable:
            if fd in children:
                pid = children.pop(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                _send(control, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})
                continue
            try:
                data, fds, _, _ = socket.recv_fds(control, MESSAGE_BYTES, 3)
            except ConnectionError:
                data, fds = b"", []
            if not data:
                return  # the parent is gone: the children stop by themselves
            request: dict[str, Any] = {}
            try:
                request = json.loads(data)
                pid, pidfd = start(request, fds, control, children)
            except Exception as error:  # a request it cannot run is answered, not fatal
                _send(
                    control, {"id": request.get("id"), "error": f"{type(error).__name__}: {error}"}
                )
            else:
                children[pidfd] = pid
                _send(control, {"id": request["id"], "pid": pid})
            finally:
                for fd in fds:
                    os.close(fd)


def start(
    request: dict[str, Any], fds: list[int], control: socket.socket, children: dict[int, int]
) -> tuple[int, int]:
    """Fork the child of *request*; return its PID and a pidfd, once it leads a session."""
    module = MODULES[request["module"]]
    argv = [str(word) for word in request["argv"]]
    cwd = str(request["cwd"])
    if len(fds) != 3:
        raise ValueError(f"expected stdin, stdout and stderr, got {len(fds)} descriptors")
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(ready_r)
        _run_child(module, argv, cwd, fds, ready_w, [control.fileno(), *children])
    os.close(ready_w)
    os.read(ready_r, 1)  # its own session first, so that a signal to its group reaches it
    os.close(ready_r)
    return pid, os.pidfd_open(pid)


def _run_child(
    module: str, argv: list[str], cwd: str, fds: list[int], ready: int, inherited: list[int]
) -> None:
    code = 1
    try:
        os.setsid()
        os.write(ready, b".")
        os.close(ready)
        for fd in inherited:
            os.close(fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(cwd)
        random.seed()  # a fork copies the parent's generator, state and all
        sys.argv = [f"-m {module}", *argv]
        code = importlib.import_module(module).main(argv) or 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
    except BaseException:
        traceback.print_exc()
    finally:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # a parent that has gone reads nothing more
        control.send(json.dumps(message).encode())


if __name__ == "__main__":
    sys.exit(main())
