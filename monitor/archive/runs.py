"""Crawl runs and source health: what each run did, and when each source is next due.

A run records, per source, whether its document was read (and with which validators and
server hints) or why it failed. When the run ends, :meth:`RunBook.finish_run` settles each
source: successes reset the failure count and save the conditional-GET validators; failures
count up and back off exponentially to a cap; a source the run never finished is neither.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from monitor.timeutil import from_text, to_text

if TYPE_CHECKING:
    import sqlite3
    from contextlib import AbstractContextManager

    import sqlite_utils

BACKOFF_CAP = 6 * 3600.0  # a failing source is retried at least every six hours
HINT_CAP = 24 * 3600.0  # server hints (max-age, Expires, ttl) are honoured up to a day
DEFAULT_INTERVAL = 600.0


class RunStatus(StrEnum):
    """How a crawl run stands; the text is what ``runs.status`` holds."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"  # killed after the cycle_timeout
    INTERRUPTED = "interrupted"  # stopped by a signal, or its process vanished


class SourceStatus(StrEnum):
    """How one source stands in one run; the text is what ``run_sources.status`` holds.

    ``running`` and ``fetched`` are states during a run; the rest are how it ended.
    """

    RUNNING = "running"
    FETCHED = "fetched"  # its document was read; its articles may still be coming
    NOT_MODIFIED = "not_modified"
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the run ended before the source did: neither good nor bad


@dataclass(frozen=True)
class SourceRef:
    """What the archive records about a source when a run starts."""

    name: str
    kind: str
    url: str


@dataclass(frozen=True)
class SourceOutcome:
    """How one source fared in one run."""

    source: str
    status: SourceStatus
    entries: int | None
    new: int
    flagged: int
    error_class: str | None
    error: str | None
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "entries": self.entries,
            "new": self.new,
            "flagged": self.flagged,
            "error_class": self.error_class,
            "error": self.error,
            "warning": self.warning,
        }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process has that PID
    return True


def next_poll(status: SourceStatus, *, interval: float, failures: int, hint: float | None) -> float:
    """Return the seconds until a source is due again after a run with this outcome.

    A success waits its interval, or longer when the server asked (Cache-Control max-age,
    Expires, RSS ttl). A failure waits twice as long for each failure in a row, never less
    than the interval and never more than BACKOFF_CAP, and at least a Retry-After. A source
    the run did not finish is due at once.
    """
    if status in (SourceStatus.OK, SourceStatus.NOT_MODIFIED):
        return max(interval, min(hint or 0.0, HINT_CAP))
    if status == SourceStatus.FAILED:
        backoff = interval * 2.0 ** max(failures - 1, 0)
        wait = max(interval, min(backoff, BACKOFF_CAP))
        return max(wait, min(hint or 0.0, BACKOFF_CAP))
    return 0.0


class RunBook:
    """The run and source-health half of the Archive: reads on ``conn``, writes on ``db``."""

    conn: sqlite3.Connection

    @property
    def db(self) -> sqlite_utils.Database:
        raise NotImplementedError

    def writing(self) -> AbstractContextManager[sqlite_utils.Database]:
        raise NotImplementedError

    def start_run(self, sources: Sequence[SourceRef], now: datetime, pid: int) -> int:
        """Record the start of a crawl over *sources* and return the run's ID.

        Runs left ``running`` by a process that no longer exists are settled first.
        """
        self.settle_abandoned(now, pid)
        with self.writing():
            for source in sources:
                self.db.execute(
                    "INSERT INTO sources (name, kind, url, failures) VALUES (?, ?, ?, 0) "
                    "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, url = excluded.url",
                    [source.name, source.kind, source.url],
                )
            cursor = self.db.execute(
                "INSERT INTO runs (started, status, sources, pid) VALUES (?, ?, ?, ?)",
                [to_text(now), RunStatus.RUNNING, json.dumps([s.name for s in sources]), pid],
            )
            run_id = int(cursor.lastrowid or 0)
            self.db.conn.executemany(
                "INSERT INTO run_sources (run_id, source, status) VALUES (?, ?, ?)",
                [(run_id, source.name, SourceStatus.RUNNING) for source in sources],
            )
        return run_id

    def settle_abandoned(self, now: datetime, pid: int) -> list[int]:
        """Mark as interrupted the runs still ``running`` whose process is gone.

        A crawl killed with SIGKILL, or a machine that lost power, leaves its run
        ``running`` with nobody to finish it. Such a run is neither a success nor a failure
        of its sources: they are due again at once. Runs of *pid* (the caller) are left
        alone. Returns the IDs of the runs settled.
        """
        rows = self.conn.execute(
            "SELECT id, pid FROM runs WHERE status = ? AND pid IS NOT ?", [RunStatus.RUNNING, pid]
        ).fetchall()
        settled = []
        for run_id, owner in rows:
            if owner is not None and _alive(owner):
                continue
            self.finish_run(
                run_id,
                RunStatus.INTERRUPTED,
                now,
                error=f"its process (PID {owner}) ended before the run finished",
            )
            settled.append(run_id)
        return settled

    def validators(self, source: str) -> tuple[str | None, str | None]:
        """Return the ETag and Last-Modified saved after the source's last complete read."""
        row = self.conn.execute(
            "SELECT etag, last_modified FROM sources WHERE name = ?", [source]
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def is_first_fetch(self, source: str) -> bool:
        """Return True when the source has never been read successfully."""
        row = self.conn.execute("SELECT last_success FROM sources WHERE name = ?", [source])
        found = row.fetchone()
        return found is None or found[0] is None

    def record_feed(
        self,
        run_id: int,
        source: str,
        entries: int,
        warning: str | None = None,
        *,
        http_status: int = 200,
        hint: float | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Record that a source's document was read: its entries, validators and hint.

        The validators are saved on the source only when the run finishes well, so a crawl
        killed before it archived the entries does not get a 304 for them next time.
        """
        with self.writing():
            self.db.execute(
                "UPDATE run_sources SET status = ?, entries = ?, warning = ?, "
                "http_status = ?, hint = ?, etag = ?, last_modified = ? "
                "WHERE run_id = ? AND source = ?",
                [
                    SourceStatus.FETCHED,
                    entries,
                    warning,
                    http_status,
                    hint,
                    etag,
                    last_modified,
                    run_id,
                    source,
                ],
            )

    def add_warning(self, run_id: int, source: str, warning: str) -> None:
        """Add *warning* to what the run records of a source, after any warning already there."""
        with self.writing():
            self.db.execute(
                "UPDATE run_sources SET warning = CASE WHEN warning IS NULL OR warning = '' "
                "THEN ? ELSE warning || '; ' || ? END WHERE run_id = ? AND source = ?",
                [warning, warning, run_id, source],
            )

    def record_not_modified(self, run_id: int, source: str, hint: float | None) -> None:
        """Record a 304: the source has nothing new and nothing was parsed."""
        with self.writing():
            self.db.execute(
                "UPDATE run_sources SET status = ?, entries = 0, http_status = 304, "
                "hint = ? WHERE run_id = ? AND source = ?",
                [SourceStatus.NOT_MODIFIED, hint, run_id, source],
            )

    def record_source_error(
        self,
        run_id: int,
        source: str,
        error_class: str,
        message: str,
        now: datetime,
        *,
        http_status: int | None = None,
        hint: float | None = None,
    ) -> None:
        """Record why a source could not be collected in this run."""
        with self.writing():
            self.db.execute(
                "UPDATE run_sources SET status = ?, error_class = ?, error = ?, "
                "finished = ?, http_status = ?, hint = ? WHERE run_id = ? AND source = ?",
                [
                    SourceStatus.FAILED,
                    error_class,
                    message,
                    to_text(now),
                    http_status,
                    hint,
                    run_id,
                    source,
                ],
            )

    def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        now: datetime,
        *,
        intervals: Mapping[str, float] | None = None,
        exit_code: int | None = None,
        error: str | None = None,
    ) -> list[SourceOutcome]:
        """Close a run: settle each source's outcome and health, and total the run.

        After a run that ended well, a source still ``fetched`` is ``ok``; after one that
        did not, it and any source still ``running`` are ``interrupted``, which is neither
        a success nor a failure of the source. *intervals* gives each source's polling
        interval, from which its next due time is computed.
        """
        finished = to_text(now)
        with self.writing():
            settled = SourceStatus.OK if status == RunStatus.OK else SourceStatus.INTERRUPTED
            self.db.execute(
                "UPDATE run_sources SET status = ?, finished = ? "
                "WHERE run_id = ? AND status IN (?, ?)",
                [settled, finished, run_id, SourceStatus.RUNNING, SourceStatus.FETCHED],
            )
            self.db.execute(
                """
                UPDATE run_sources SET
                  new = (SELECT count(*) FROM articles a
                         WHERE a.run_id = run_sources.run_id AND a.source = run_sources.source),
                  flagged = (SELECT count(DISTINCT f.article_id) FROM flags f
                             JOIN articles a ON a.id = f.article_id
                             WHERE a.run_id = run_sources.run_id AND a.source = run_sources.source)
                WHERE run_id = ?
                """,
                [run_id],
            )
            started = self.conn.execute(
                "SELECT started FROM runs WHERE id = ?", [run_id]
            ).fetchone()
            attempt = started[0] if started else finished
            rows = self.conn.execute(
                "SELECT r.source, r.status, r.hint, r.etag, r.last_modified, r.error_class, "
                "r.error, s.failures FROM run_sources r JOIN sources s ON s.name = r.source "
                "WHERE r.run_id = ?",
                [run_id],
            ).fetchall()
            for source, outcome, hint, etag, modified, error_class, message, failures in rows:
                self._settle_source(
                    source,
                    SourceStatus(outcome),
                    now,
                    attempt,
                    (intervals or {}).get(source, DEFAULT_INTERVAL),
                    failures,
                    hint,
                    (etag, modified),
                    (error_class, message),
                )
            self.db.execute(
                """
                UPDATE runs SET finished = ?, status = ?, exit_code = ?, error = ?,
                  new = (SELECT coalesce(sum(new), 0) FROM run_sources WHERE run_id = ?),
                  flagged = (SELECT coalesce(sum(flagged), 0) FROM run_sources WHERE run_id = ?),
                  failed = (SELECT count(*) FROM run_sources
                            WHERE run_id = ? AND status = ?)
                WHERE id = ?
                """,
                [
                    finished,
                    status,
                    exit_code,
                    error,
                    run_id,
                    run_id,
                    run_id,
                    SourceStatus.FAILED,
                    run_id,
                ],
            )
        return self.outcomes(run_id)

    def _settle_source(
        self,
        source: str,
        outcome: SourceStatus,
        now: datetime,
        attempt: str,
        interval: float,
        failures: int,
        hint: float | None,
        validators: tuple[str | None, str | None],
        error: tuple[str | None, str | None],
    ) -> None:
        if outcome == SourceStatus.INTERRUPTED:
            self.db.execute(
                "UPDATE sources SET last_attempt = ?, next_due = ? WHERE name = ?",
                [attempt, to_text(now), source],
            )
            return
        failures = failures + 1 if outcome == SourceStatus.FAILED else 0
        wait = next_poll(outcome, interval=interval, failures=failures, hint=hint)
        # Counted from the start of the attempt, as the daemon's schedule is: counted from
        # the end, a crawl that ran for half an interval would put its sources off a whole one.
        due = to_text(from_text(attempt) + timedelta(seconds=wait))
        if outcome == SourceStatus.FAILED:
            self.db.execute(
                "UPDATE sources SET last_attempt = ?, failures = ?, last_error_class = ?, "
                "last_error = ?, next_due = ? WHERE name = ?",
                [attempt, failures, *error, due, source],
            )
            return
        etag, modified = validators
        self.db.execute(
            "UPDATE sources SET last_attempt = ?, last_success = ?, failures = 0, "
            "last_error_class = NULL, last_error = NULL, next_due = ?, "
            "etag = coalesce(?, etag), last_modified = coalesce(?, last_modified) "
            "WHERE name = ?",
            [attempt, to_text(now), due, etag, modified, source],
        )

    def outcomes(self, run_id: int) -> list[SourceOutcome]:
        """Return each source's outcome in a run, in the order the run listed them."""
        row = self.conn.execute("SELECT sources FROM runs WHERE id = ?", [run_id]).fetchone()
        order = {name: index for index, name in enumerate(json.loads(row[0]))} if row else {}
        rows = self.conn.execute(
            "SELECT source, status, entries, coalesce(new, 0), coalesce(flagged, 0), "
            "error_class, error, warning FROM run_sources WHERE run_id = ?",
            [run_id],
        ).fetchall()
        outcomes = [SourceOutcome(row[0], SourceStatus(row[1]), *row[2:]) for row in rows]
        return sorted(outcomes, key=lambda outcome: order.get(outcome.source, len(order)))
