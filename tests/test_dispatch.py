"""The daemon's dispatch decision under a frozen clock, and the schedule book it reads.

The decision which due sources to crawl is a pure function of the clock value, the
sources' intervals and their due times in the archive, so it is tested here without a
daemon and without sleeping (as APScheduler 3.x tests its triggers).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.archive import Archive, RunStatus, SourceRef
from monitor.archive import schedule as book
from monitor.collection.dispatch import ready_sources
from monitor.errors import ArchiveReadOnly

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
INTERVALS = {"wire": 600.0, "daily": 86400.0}


def test_a_source_never_finished_is_ready_at_once() -> None:
    assert ready_sources({"wire"}, INTERVALS, {}, NOW) == {"wire"}
    assert ready_sources({"wire"}, INTERVALS, {"wire": None}, NOW) == {"wire"}


def test_a_source_due_within_half_its_interval_is_ready() -> None:
    # Its job fires about one interval after its last run: a due time that close is not backoff.
    due = {"wire": NOW + timedelta(seconds=300)}
    assert ready_sources({"wire"}, INTERVALS, due, NOW) == {"wire"}
    assert ready_sources({"wire"}, INTERVALS, {"wire": NOW - timedelta(hours=1)}, NOW) == {"wire"}


def test_backoff_or_a_server_hint_puts_a_source_off() -> None:
    due = {"wire": NOW + timedelta(seconds=301), "daily": NOW + timedelta(seconds=301)}
    assert ready_sources({"wire", "daily"}, INTERVALS, due, NOW) == {"daily"}
    # The same due time, read an instant later under the frozen clock, is no longer put off.
    later = NOW + timedelta(seconds=1)
    assert ready_sources({"wire"}, INTERVALS, due, later) == {"wire"}


def test_a_source_removed_from_the_config_is_never_ready() -> None:
    assert ready_sources({"gone", "wire"}, INTERVALS, {}, NOW) == {"wire"}


def test_the_decision_leaves_its_inputs_alone() -> None:
    names = {"wire", "daily"}
    due = {"wire": NOW + timedelta(hours=1)}
    assert ready_sources(names, INTERVALS, due, NOW) == {"daily"}
    assert names == {"wire", "daily"} and due == {"wire": NOW + timedelta(hours=1)}


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive.open(tmp_path / "archive.db") as opened:
        yield opened


def test_next_due_reads_what_a_finished_run_decided(archive: Archive) -> None:
    sources = [SourceRef("wire", "feed", "http://127.0.0.1/feed.xml")]
    run = archive.start_run(sources, NOW, 1)
    assert book.next_due(archive, ["wire", "unknown"]) == {"wire": None}
    archive.finish_run(run, RunStatus.OK, NOW, intervals={"wire": 600.0})
    assert book.next_due(archive, ["wire"]) == {"wire": NOW + timedelta(seconds=600)}
    assert book.next_due(archive, []) == {}


def test_the_daemon_book_records_start_beat_stop_and_schedule(archive: Archive) -> None:
    book.record_start(archive, pid=4242, host="desk", config=Path("/etc/ww.yaml"), now=NOW)
    later = NOW + timedelta(seconds=30)
    book.record_beat(archive, later)
    row = archive.db.execute("SELECT pid, host, started, heartbeat, stopped, config FROM daemon")
    assert row.fetchall() == [
        (4242, "desk", "2026-11-27T12:00:00Z", "2026-11-27T12:00:30Z", None, "/etc/ww.yaml")
    ]
    book.replace_schedule(
        archive,
        [book.PlannedPoll("wire", later, "every 600s"), book.PlannedPoll("new", None, "cron")],
    )
    book.replace_schedule(archive, [book.PlannedPoll("wire", NOW, "every 600s")])
    book.forget_schedule(archive, "nothing-here")
    schedule = archive.db.execute("SELECT source, next_run, trigger FROM schedule").fetchall()
    assert schedule == [("wire", "2026-11-27T12:00:00Z", "every 600s")]
    book.record_stop(archive, later)
    assert archive.db.execute("SELECT stopped FROM daemon").fetchone() == ("2026-11-27T12:00:30Z",)


def test_the_daemon_book_refuses_to_write_an_archive_open_read_only(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    Archive.open(path).close()
    with Archive.open(path) as archive:
        archive.read_only = True  # as when this user may not write the folder
        with pytest.raises(ArchiveReadOnly):
            book.record_beat(archive, NOW)
