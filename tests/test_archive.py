"""The SQLite archive: schema, WAL, idempotent writes, and all-or-nothing articles."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from monitor.archive import Archive, RunStatus, SourceRef
from monitor.archive.schema import migrations
from monitor.archive.store import _connect_snapshot
from monitor.archive.versions import SCHEMA, is_current
from monitor.cli import cli
from monitor.errors import ArchiveError, ArchiveReadOnly
from monitor.records import ArticleRecord, FlagRecord

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def article(**changes: object) -> ArticleRecord:
    record: dict[str, object] = {
        "source": "wire",
        "key": "http://127.0.0.1/a/1",
        "url": "http://127.0.0.1/a/1",
        "guid": "urn:1",
        "title": "Lavrov in Wonsan",
        "summary": "s",
        "body": "Lavrov met Choe Son Hui in Wonsan.",
        "published": "2025-07-12T01:00:00Z",
        "published_raw": None,
        "fetched": "2026-11-27T12:00:00Z",
        "language": "en",
        "extract_error": None,
    }
    record.update(changes)
    return ArticleRecord(**record)  # type: ignore[arg-type]


FLAG = FlagRecord(
    topic="russia-dprk",
    score=3.5,
    threshold=1.0,
    rule="russia NEAR/paragraph dprk",
    rules=("rule",),
    terms=({"entity": "russia", "alias": "Lavrov", "field": "body", "start": 0, "end": 6},),
    snippet="Lavrov met Choe Son Hui in Wonsan.",
)


@pytest.fixture
def archive(tmp_path: Path):
    with Archive.open(tmp_path / "archive.db") as opened:
        opened.start_run([SourceRef("wire", "feed", "http://127.0.0.1/feed.xml")], NOW, 1)
        yield opened


def test_a_new_archive_uses_wal_and_has_every_table(archive: Archive) -> None:
    assert archive.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"sources", "articles", "flags", "runs", "run_sources", "articles_fts"} <= set(
        archive.db.table_names()
    )


def test_opening_twice_applies_migrations_once(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    with Archive.open(path) as first:
        applied = first.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
    with Archive.open(path) as again:
        assert migrations.pending(again.db) == []
        count = again.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
    assert count == applied > 0


def test_the_schema_versions_name_every_migration_in_order() -> None:
    # A reader tells a current archive by these names, without loading the migrations.
    assert [step.name for step in migrations.pending(sqlite_utils.Database(memory=True))] == list(
        SCHEMA
    )


def older_archive(path: Path) -> Path:
    """Write an archive as the wirewatch before the last migration left it."""
    with sqlite_utils.Database(path) as db:
        migrations.apply(db, stop_before=SCHEMA[-1])
    return path


def test_an_archive_of_an_older_version_is_migrated_by_the_first_reader(tmp_path: Path) -> None:
    path = older_archive(tmp_path / "old.db")
    with sqlite3.connect(path) as connection:
        assert not is_current(connection)
    result = CliRunner().invoke(cli, ["--archive", str(path), "flagged", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "[]"
    with sqlite3.connect(path) as connection:
        assert is_current(connection)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "flag_stories" in tables


def test_a_snapshot_of_an_older_archive_says_it_needs_upgrading(tmp_path: Path) -> None:
    # How Archive.open reads a file in a folder this user may not write (tests/security
    # runs that as another user); such a reader cannot migrate, and says so.
    path = older_archive(tmp_path / "old.db")
    snapshot = Archive(_connect_snapshot(path), path, read_only=True)
    try:
        with pytest.raises(ArchiveReadOnly, match="needs upgrading for this version"):
            snapshot._migrate()
    finally:
        snapshot.conn.close()


def test_an_article_and_its_flags_are_stored_together(archive: Archive) -> None:
    article_id = archive.add_article(article(), [FLAG])
    assert article_id is not None
    row = archive.db.execute("SELECT topic, score FROM flags WHERE article_id = ?", [article_id])
    assert row.fetchall() == [("russia-dprk", 3.5)]


def test_the_same_url_or_guid_is_never_stored_twice(archive: Archive) -> None:
    assert archive.add_article(article(), []) is not None
    same_url = article(guid="urn:other", key="k2")
    assert archive.add_article(same_url, [], identifiers=["http://127.0.0.1/a/1"]) is None
    assert archive.add_article(article(key="http://127.0.0.1/a/1", url="u2"), []) is None
    same_guid = article(key="http://127.0.0.1/a/2", url="http://127.0.0.1/a/2")
    assert archive.add_article(same_guid, []) is None
    assert archive.db.execute("SELECT count(*) FROM articles").fetchone()[0] == 1


def test_a_failed_flag_write_leaves_no_partial_article(archive: Archive) -> None:
    broken = dataclasses.replace(
        FLAG, score=None
    )  # violates NOT NULL after the article row is written
    with pytest.raises(sqlite3.IntegrityError):
        archive.add_article(article(), [broken])
    assert archive.db.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    assert archive.add_article(article(), [FLAG]) is not None


def test_full_text_search_finds_title_and_body_words(archive: Archive) -> None:
    archive.add_article(article(), [])
    rows = archive.db.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", ["wonsan"]
    ).fetchall()
    assert len(rows) == 1


def test_a_run_settles_each_source_and_its_health(archive: Archive) -> None:
    archive.record_feed(1, "wire", 3)
    archive.add_article(article(run_id=1), [FLAG])
    (outcome,) = archive.finish_run(1, RunStatus.OK, NOW)
    assert (outcome.status, outcome.entries, outcome.new, outcome.flagged) == ("ok", 3, 1, 1)
    source = archive.db.execute("SELECT last_success, failures FROM sources").fetchone()
    assert source == ("2026-11-27T12:00:00Z", 0)


def test_a_failing_source_counts_its_failures(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as archive:
        for _ in range(2):
            run = archive.start_run([SourceRef("wire", "feed", "http://x/")], NOW, 1)
            archive.record_source_error(run, "wire", "http", "HTTP 500", NOW)
            archive.finish_run(run, RunStatus.OK, NOW)
        row = archive.db.execute(
            "SELECT failures, last_error_class, last_error, last_success FROM sources"
        ).fetchone()
    assert row == (2, "http", "HTTP 500", None)


def test_a_run_that_ends_badly_marks_unfinished_sources_interrupted(archive: Archive) -> None:
    (outcome,) = archive.finish_run(1, RunStatus.TIMEOUT, NOW)
    assert outcome.status == "interrupted"
    failures = archive.db.execute("SELECT failures, last_success FROM sources").fetchone()
    assert failures == (0, None)


def test_reading_a_missing_archive_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no archive here yet"):
        Archive.open(tmp_path / "none.db", create=False)


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the droids" * 100)
    with pytest.raises(ArchiveError, match="cannot open the archive"):
        Archive.open(path)


def test_a_run_left_running_by_a_dead_process_is_settled_interrupted_by_the_next(
    tmp_path: Path,
) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait(timeout=10)  # its PID now names no process
    wire = [SourceRef("wire", "feed", "http://x/")]
    with Archive.open(tmp_path / "a.db") as archive:
        abandoned = archive.start_run(wire, NOW, ended.pid)
        alive = archive.start_run(wire, NOW, 1)  # PID 1 is always alive
        mine = archive.start_run(wire, NOW, os.getpid())  # the caller's own runs stay open
        archive.start_run(wire, NOW, os.getpid())
        runs = dict(archive.db.execute("SELECT id, status FROM runs").fetchall())
        sources = archive.db.execute(
            "SELECT status FROM run_sources WHERE run_id = ?", [abandoned]
        ).fetchall()
        (error,) = archive.db.execute("SELECT error FROM runs WHERE id = ?", [abandoned]).fetchone()
    assert runs[abandoned] == "interrupted" and sources == [("interrupted",)]
    assert f"(PID {ended.pid}) ended before the run finished" in error
    assert runs[alive] == "running" and runs[mine] == "running"


def test_the_next_poll_counts_from_the_start_of_a_long_run(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as archive:
        run = archive.start_run([SourceRef("wire", "feed", "http://x/")], NOW, 1)
        archive.record_feed(run, "wire", 1)
        archive.finish_run(run, RunStatus.OK, NOW + timedelta(minutes=7), intervals={"wire": 600})
        (due,) = archive.db.execute("SELECT next_due FROM sources").fetchone()
    assert due == "2026-11-27T12:10:00Z"  # start + interval, not the end of the run + interval


def test_an_article_record_is_exactly_a_row_of_articles(archive: Archive) -> None:
    columns = set(archive.db["articles"].columns_dict)
    fields = {field.name for field in dataclasses.fields(ArticleRecord)}
    assert fields <= columns
    # The archive adds what it derives, and the row's own ID and story.
    assert columns - fields == {"id", "content_hash", "search", "cluster_id"}
    article_id = archive.add_article(article(declared_language="ru"), [FLAG])
    row = archive.db.execute(
        "SELECT declared_language, run_id FROM articles WHERE id = ?", [article_id]
    ).fetchone()
    assert row == ("ru", None)


def test_status_says_a_source_whose_crawl_was_interrupted_was_read(
    archive: Archive, tmp_path: Path
) -> None:
    """Issue 13: after an interrupted crawl, status said "never read" beside 12 articles."""
    archive.record_feed(1, "wire", 12)
    for number in range(12):
        url = f"http://127.0.0.1/a/{number}"
        archive.add_article(article(key=url, url=url, guid=url, run_id=1), [])
    archive.finish_run(1, RunStatus.INTERRUPTED, NOW + timedelta(minutes=3))
    config = tmp_path / "config.yaml"
    config.write_text(
        "archive: archive.db\nsources:\n"
        "  - {name: wire, url: 'http://127.0.0.1/feed.xml', kind: feed}\n"
        "  - {name: later, url: 'http://127.0.0.1/later.xml', kind: feed}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    report = runner.invoke(cli, ["--config", str(config), "status", "--format", "json"])
    assert report.exit_code == 0, report.output
    wire, later = json.loads(report.output)["sources"]
    assert (wire["state"], wire["last_outcome"], wire["articles"]) == (
        "interrupted",
        "interrupted",
        12,
    )
    assert wire["last_attempt"] == "2026-11-27T12:00:00Z" and wire["last_success"] is None
    assert later["state"] == "never read"

    table = runner.invoke(cli, ["--config", str(config), "status"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "never read" in table.output.split("\nlater ")[1]
    assert "never read" not in table.output.split("\nwire ")[1].splitlines()[0]
    assert (
        "Interrupted: the crawl started 2026-11-27 12:00 stopped before it was done with wire; "
        "what it read is kept, and each is due again at once." in table.output
    )

    # The next crawl that reads it in full makes it ok again.
    run = archive.start_run([SourceRef("wire", "feed", "http://127.0.0.1/feed.xml")], NOW, 1)
    archive.record_feed(run, "wire", 0)
    archive.finish_run(run, RunStatus.OK, NOW + timedelta(minutes=10))
    again = runner.invoke(cli, ["--config", str(config), "status", "--format", "json"])
    assert json.loads(again.output)["sources"][0]["state"] == "ok"


def test_a_reader_s_steps_see_one_moment_while_another_process_removes_rows(
    tmp_path: Path,
) -> None:
    """A search ranks, groups and reads in several queries; a prune or crawl committing in
    between must not change what the later steps see (it once made search fail with a
    KeyError while prune ran)."""
    path = tmp_path / "archive.db"
    with Archive.open(path) as archive:
        archive.db.execute("INSERT INTO sources (name, kind, url) VALUES ('s', 'feed', 'x')")
        archive.db.conn.commit()
    with Archive.open(path) as reader, sqlite3.connect(path, timeout=10) as other:
        with reader.reading():
            before = reader.conn.execute("SELECT count(*) FROM sources").fetchone()
            other.execute("DELETE FROM sources")
            other.commit()
            during = reader.conn.execute("SELECT count(*) FROM sources").fetchone()
        after = reader.conn.execute("SELECT count(*) FROM sources").fetchone()
    assert (before, during, after) == ((1,), (1,), (0,))
