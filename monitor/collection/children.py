"""The crawl children of one run: each a ``python -m crawler`` process in its own session.

The Twisted reactor cannot be restarted in one process, a hung download cannot be cancelled
from outside, and a crawl's memory is best returned to the system when it ends: so each crawl
is a child in its own session, handed its crawl plan on stdin, read for progress events on
stdout, and killed as a process group when its time is up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO, Any, Protocol

from monitor import events
from monitor.archive import RunStatus
from monitor.collection import forks
from monitor.config import Config, Source
from monitor.errors import CrawlError, DiskFull

logger = logging.getLogger(__name__)

# Seconds a child gets to stop after SIGTERM before its process group is killed.
STOP_GRACE = 5.0
# Seconds to wait, once a child has exited, for its reader thread to take the events still in
# the pipe: its last ones (a fatal error, its report) come just before it exits.
DRAIN_TIMEOUT = 5.0

EventHandler = Callable[[events.Event], None]


class Child(Protocol):
    """What supervise needs of a crawl child: a CrawlChild, or a run's jobs on a cluster."""

    finished: list[events.Finished]

    def start(self) -> None: ...

    def done(self) -> bool: ...

    def disk_full(self) -> bool: ...

    def wait_briefly(self, timeout: float) -> None: ...

    def stop(self) -> None: ...

    def result(self) -> tuple[RunStatus, int | None, str | None]: ...

    def close(self) -> None: ...


def supervise(
    children: Sequence[Child],
    run_id: int,
    limit: float,
    cancel: threading.Event | None = None,
    grace: float = STOP_GRACE,
) -> tuple[RunStatus, int | None, str | None]:
    """Start the children, wait for them up to *limit* seconds, and combine their results.

    When *cancel* is set (the daemon is stopping), the children get *grace* seconds to
    finish on their own before they are stopped, and the run is interrupted.
    """
    for child in children:
        child.start()
    deadline = time.monotonic() + limit
    while not all(child.done() for child in children):
        if cancel is not None and cancel.is_set():
            settle = time.monotonic() + grace
            while not all(child.done() for child in children) and time.monotonic() < settle:
                time.sleep(0.1)
            if all(child.done() for child in children):
                break
            for each in children:
                each.stop()
            return RunStatus.INTERRUPTED, None, "stopped with the daemon"
        if time.monotonic() >= deadline:
            logger.warning("crawl run %s passed its %.0fs limit; stopping it", run_id, limit)
            for each in children:
                each.stop()
            return RunStatus.TIMEOUT, None, f"killed after the {limit:g}s cycle_timeout"
        next(child for child in children if not child.done()).wait_briefly(0.2)
    results = [child.result() for child in children]
    failed = [result for result in results if result[0] != RunStatus.OK]
    if not failed:
        return RunStatus.OK, 0, None
    return failed[0]


def serialised(handler: EventHandler | None) -> EventHandler | None:
    """Let several event-reading threads share one handler safely."""
    if handler is None:
        return None
    lock = threading.Lock()

    def serialised(event: events.Event) -> None:
        with lock:
            handler(event)

    return serialised


class CrawlChild:
    """One ``python -m crawler`` process, in its own session, crawling a group of sources."""

    def __init__(
        self,
        config: Config,
        sources: list[Source],
        run_id: int,
        on_event: EventHandler | None,
        log_level: str,
        log_stream: IO[str] | None,
    ) -> None:
        self.config = config
        self.sources = sources
        self.run_id = run_id
        self.on_event = on_event
        self.log_level = log_level
        self.log_stream = log_stream
        self.fatal: list[str] = []
        self.finished: list[events.Finished] = []  # its report as it ends: memory, CPU
        self.process: forks.Process | None = None
        self._log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - see close()
        self._reader: threading.Thread | None = None

    module = "crawler"  # what the child runs, as ``python -m MODULE ARGUMENTS``

    def arguments(self) -> list[str]:
        """Return the child's arguments."""
        return ["--plan", "-", "--run-id", str(self.run_id), "--log-level", self.log_level]

    def payload(self) -> str:
        """Return what the child reads on stdin: only its part of the config (its sources,
        no alert URL and no secret)."""
        return self.config.plan(self.sources).to_json()

    def start(self) -> None:
        payload = self.payload()
        log = self.log_stream if self.log_stream is not None else self._log
        try:
            self.process = forks.start(self.module, self.arguments(), log)
        except OSError as error:
            raise CrawlError(f"cannot start the crawl process: {error}") from None
        self._reader = threading.Thread(
            target=_read_events,
            args=(self.process, self.on_event, self.fatal, self.finished),
            name="crawl-events",
            daemon=True,
        )
        self._reader.start()
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(payload)
            self.process.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once; its exit status and log say why

    def done(self) -> bool:
        """Return True once the child has exited."""
        assert self.process is not None
        return self.process.poll() is not None

    def disk_full(self) -> bool:
        """Return True when the child stopped because the archive's disk is full."""
        return self.process is not None and self.process.returncode == DiskFull.CHILD_STATUS

    def wait_briefly(self, timeout: float) -> None:
        """Wait up to *timeout* seconds for the child to exit."""
        assert self.process is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)

    def result(self) -> tuple[RunStatus, int | None, str | None]:
        """Return ``(status, exit code, error)`` of a child that has exited."""
        assert self.process is not None
        code = self.process.returncode
        assert code is not None, "the child has not exited"
        self.reader_done(DRAIN_TIMEOUT)
        if code == 0:
            return RunStatus.OK, 0, None
        if code < 0 and not self.fatal:
            # Killed by a signal nobody here sent (the OOM killer, an admin's kill -9):
            # whatever it had not archived yet is still to collect, so the run is
            # interrupted rather than failed, and never a success.
            return (
                RunStatus.INTERRUPTED,
                code,
                f"the crawl process was killed by {_signal_name(-code)}",
            )
        if self.fatal:
            return RunStatus.FAILED, code, self.fatal[0]
        self._log.seek(0)
        tail = self._log.read()[-2000:].strip().splitlines()
        detail = tail[-1] if tail else "no log output"
        return RunStatus.FAILED, code, f"crawl process exited with {code}: {detail}"

    def close(self) -> None:
        """Stop the child if it still runs, and release its pipes, reader and log."""
        self.stop()
        self.reader_done(DRAIN_TIMEOUT)
        if self.process is not None:
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None and not stream.closed:
                    stream.close()
        self._log.close()

    def reader_done(self, timeout: float) -> bool:
        """Wait up to *timeout* seconds for every event the child wrote to be passed on.

        A child's last events (its fatal error, its report) come just before it exits; on a
        busy machine its reader may not have read them when the child is found gone, and
        closing the pipe under the reader raised in its thread.
        """
        if self._reader is not None:
            self._reader.join(timeout)
            return not self._reader.is_alive()
        return True


def _read_events(
    child: forks.Process,
    on_event: EventHandler | None,
    fatal: list[str],
    finished: list[events.Finished],
) -> None:
    assert child.stdout is not None
    while True:
        try:
            line = child.stdout.readline()
        except (ValueError, OSError):
            # Closed under the reader: close() gave up waiting for the end of a pipe that
            # some process other than the exited child still held open.
            return
        if not line:
            return
        _take(line, on_event, fatal, finished)


def _take(
    line: str,
    on_event: EventHandler | None,
    fatal: list[str],
    finished: list[events.Finished],
) -> None:
    event = events.read(line)
    if event is None:
        return
    if isinstance(event, events.Fatal):
        fatal.append(event.error)
    if isinstance(event, events.Finished):
        finished.append(event)
    if on_event is not None:
        try:
            on_event(event)
        except Exception:  # a display problem must not break the crawl
            logger.exception("progress display failed")


def stop_process_group(
    child: subprocess.Popen[Any] | forks.Forked, grace: float = STOP_GRACE
) -> None:
    """Stop a child started with ``start_new_session``: SIGTERM its group, then SIGKILL.

    A crawl child leaves its hung downloads a second after SIGTERM (crawler.runner.run), so
    one that needs SIGKILL is stuck in its own work: the log says so.
    """
    if child.poll() is not None:
        return
    _signal_group(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    logger.warning(
        "crawl process %s did not stop within %gs of SIGTERM; killing it", child.pid, grace
    )
    _signal_group(child.pid, signal.SIGKILL)
    child.wait(timeout=grace)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
