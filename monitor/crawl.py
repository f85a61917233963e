"""Run one crawl in a child process with a hard timeout, and record the run in the archive.

The Twisted reactor cannot be restarted in one process, a hung download cannot be cancelled
from outside, and a crawl's memory is best returned to the system when it ends: so each crawl
is a child (``python -m crawler``) in its own session, killed as a process group on timeout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from monitor import events
from monitor.archive import Archive, SourceOutcome, SourceRef
from monitor.config import Config, Source
from monitor.errors import CrawlError, Interrupted, UsageError
from monitor.timeutil import utcnow

logger = logging.getLogger(__name__)

# Seconds a child gets to stop after SIGTERM before its process group is killed.
STOP_GRACE = 5.0

EventHandler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class CycleResult:
    """The outcome of one crawl: the run's status and each source's outcome."""

    run_id: int
    status: str  # ok, failed, timeout, interrupted
    started: datetime
    seconds: float
    outcomes: list[SourceOutcome]
    error: str | None = None

    @property
    def new(self) -> int:
        return sum(outcome.new for outcome in self.outcomes)

    @property
    def flagged(self) -> int:
        return sum(outcome.flagged for outcome in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(outcome.status == "failed" for outcome in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "new": self.new,
            "flagged": self.flagged,
            "failed": self.failed,
            "error": self.error,
            "sources": [outcome.to_dict() for outcome in self.outcomes],
        }


def select_sources(config: Config, names: Sequence[str]) -> list[Source]:
    """Return the named sources (all when *names* is empty); raise UsageError for unknown ones."""
    if not names:
        if not config.sources:
            raise UsageError(
                f"{config.path}: sources: no sources to crawl (add one under sources:)"
            )
        return list(config.sources)
    unknown = [name for name in names if config.source(name) is None]
    if unknown:
        known = ", ".join(source.name for source in config.sources) or "none"
        raise UsageError(f"unknown source {unknown[0]!r} (the sources in {config.path}: {known})")
    return [source for source in config.sources if source.name in set(names)]


def run_cycle(
    config: Config,
    names: Sequence[str] = (),
    *,
    timeout: float | None = None,
    on_event: EventHandler | None = None,
    log_level: str = "WARNING",
    log_stream: IO[str] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> CycleResult:
    """Crawl the named sources (or all) once in a child process and return the outcome.

    *timeout* (default: ``crawl.cycle_timeout``) is a hard limit: the child's process group
    is sent SIGTERM, then SIGKILL after a grace period. Ctrl-C or SIGTERM to this process
    stops the child the same way, records the run as interrupted, and raises Interrupted.
    """
    sources = select_sources(config, names)
    limit = timeout if timeout is not None else config.crawl.cycle_timeout
    started = clock()
    began = time.monotonic()
    with Archive.open(config.archive) as archive:
        run_id = archive.start_run(
            [SourceRef(source.name, source.kind, source.url) for source in sources],
            started,
            os.getpid(),
        )
        status, exit_code, error = "failed", None, None
        try:
            status, exit_code, error = _run_child(
                config, sources, run_id, limit, on_event, log_level, log_stream
            )
        except (KeyboardInterrupt, Interrupted):
            status, error = "interrupted", "stopped by a signal"
            raise Interrupted("crawl interrupted; the run is recorded as interrupted") from None
        finally:
            outcomes = archive.finish_run(
                run_id,
                status,
                clock(),
                intervals={source.name: source.interval for source in sources},
                exit_code=exit_code,
                error=error,
            )
    if status == "failed" and error and not any(o.status != "interrupted" for o in outcomes):
        raise CrawlError(f"the crawl could not run: {error}")
    return CycleResult(run_id, status, started, time.monotonic() - began, outcomes, error)


def _run_child(
    config: Config,
    sources: list[Source],
    run_id: int,
    limit: float,
    on_event: EventHandler | None,
    log_level: str,
    log_stream: IO[str] | None,
) -> tuple[str, int | None, str | None]:
    command = [
        sys.executable,
        "-m",
        "crawler",
        "--config",
        "-",
        "--run-id",
        str(run_id),
        "--log-level",
        log_level,
        *(source.name for source in sources),
    ]
    payload = json.dumps(
        {"config": config.model_dump(mode="json"), "path": str(config.path)}, ensure_ascii=False
    )
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log_file:
        try:
            child = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_stream if log_stream is not None else log_file,
                text=True,
                encoding="utf-8",
                start_new_session=True,
            )
        except OSError as error:
            raise CrawlError(f"cannot start the crawl process: {error}") from None
        fatal: list[str] = []
        with child:  # closes the pipes however this block ends
            reader = threading.Thread(
                target=_read_events, args=(child, on_event, fatal), name="crawl-events", daemon=True
            )
            reader.start()
            try:
                assert child.stdin is not None
                child.stdin.write(payload)
                child.stdin.close()
                child.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                logger.warning("crawl run %s passed its %.0fs limit; stopping it", run_id, limit)
                stop_process_group(child)
                return "timeout", child.returncode, f"killed after the {limit:g}s cycle_timeout"
            finally:
                # Whatever happened here (a signal, an exception), no child outlives this call.
                stop_process_group(child)
                reader.join(timeout=5)
        if child.returncode == 0:
            return "ok", 0, None
        if fatal:
            return "failed", child.returncode, fatal[0]
        log_file.seek(0)
        tail = log_file.read()[-2000:].strip().splitlines()
        detail = tail[-1] if tail else "no log output"
        return "failed", child.returncode, f"crawl process exited with {child.returncode}: {detail}"


def _read_events(
    child: subprocess.Popen[str], on_event: EventHandler | None, fatal: list[str]
) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        event = events.read(line)
        if event is None:
            continue
        if event["event"] == "fatal":
            fatal.append(str(event.get("error")))
        if on_event is not None:
            try:
                on_event(event)
            except Exception:  # a display problem must not break the crawl
                logger.exception("progress display failed")


def stop_process_group(child: subprocess.Popen[Any], grace: float = STOP_GRACE) -> None:
    """Stop a child started with ``start_new_session``: SIGTERM its group, then SIGKILL."""
    if child.poll() is not None:
        return
    _signal_group(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    _signal_group(child.pid, signal.SIGKILL)
    child.wait(timeout=grace)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
