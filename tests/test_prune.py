"""``wirewatch prune``: old articles no one needs go, in batches, while readers read (issue 16).

The archive is made with SQL, 50,000 articles in one transaction, as a year of crawling
would leave them: most unflagged, some flagged, some marked, some copies of a flagged or
marked story at other outlets, and each with its fetched page and grouping bands.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import zlib
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.archive import Archive

from .conftest import run_cli, write_config

ARTICLES = 50_000
NOW = datetime.now(UTC).replace(microsecond=0)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def kind(number: int) -> str:
    """What article *number* is: its age and what makes it stay or go."""
    if number % 50 == 0:
        return "flagged"
    if number % 97 == 0:
        return "marked"
    if number % 50 == 1 and number > 1:
        return "copy-of-flagged"  # the same story as number - 1, at another outlet
    if number % 97 == 1 and kind(number - 1) == "marked":
        return "copy-of-marked"
    return "plain"


def age(number: int) -> timedelta:
    """Half the archive is two years old, half a month."""
    return timedelta(days=730 if number % 2 == 0 or kind(number).startswith("copy") else 15)


@pytest.fixture(scope="module")
def built_year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The year's archive, made once per module (about 7 s); tests prune copies of it."""
    folder = tmp_path_factory.mktemp("year")
    write_config(folder, [{"name": "wire", "url": "http://127.0.0.1:9/feed.xml"}])
    Archive.open(folder / "archive.db").close()
    rows, pages, bands, seen, flags, marks = [], [], [], [], [], []
    for number in range(1, ARTICLES + 1):
        what = kind(number)
        when = stamp(NOW - age(number))
        story = number - 1 if what.startswith("copy") else number
        key = f"http://127.0.0.1:9/{number}"
        body = f"Report {number} word{number}x on the bridge at Tumen. " * 5
        rows.append((number, key, key, key, "wire", f"Story {number}", body, when, when,
                     "en", f"hash{number}", body, story))  # fmt: skip
        pages.append((number, f"sha{number}", 100, zlib.compress(b"<html>page</html>" * 5)))
        bands.append((1, number, number))
        seen.append((key, "wire", number, when, "archived"))
        if what == "flagged":
            flags.append((number, "russia-dprk", 9.0, 4.0, "rule", when))
        if what == "marked":
            marks.append((number, "relevant", "keep", "test", when))
    with closing(sqlite3.connect(folder / "archive.db")) as db, db:
        db.execute("INSERT INTO sources (name, kind, url) VALUES ('wire', 'feed', 'x')")
        db.executemany(
            "INSERT INTO articles (id, key, url, guid, source, title, body, published, "
            "fetched, language, content_hash, search, cluster_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany("INSERT INTO pages VALUES (?, ?, ?, ?)", pages)
        db.executemany("INSERT INTO lsh (band, hash, article_id) VALUES (?, ?, ?)", bands)
        db.executemany("INSERT INTO seen VALUES (?, ?, ?, ?, ?)", seen)
        db.executemany(
            "INSERT INTO flags (article_id, topic, score, threshold, rule, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            flags,
        )
        db.executemany(
            "INSERT INTO marks (article_id, label, note, marked_by, created) "
            "VALUES (?, ?, ?, ?, ?)",
            marks,
        )
    return folder


@pytest.fixture
def year(built_year: Path, tmp_path: Path) -> Path:
    """A copy of the year's archive and its config, for a test that prunes it."""
    for path in built_year.iterdir():
        shutil.copy2(path, tmp_path / path.name)
    return tmp_path


def ids(folder: Path, sql: str) -> set[int]:
    with closing(sqlite3.connect(folder / "archive.db")) as db:
        return {row[0] for row in db.execute(sql)}


def expected_to_go(number: int) -> bool:
    return kind(number) == "plain" and age(number) > timedelta(days=365)


def test_prune_removes_only_old_unneeded_articles_while_a_reader_reads(year: Path) -> None:
    flagged_before = run_cli("flagged", "--limit", "0", "--format", "json", cwd=year)
    assert flagged_before.code == 0, flagged_before.err
    failures: list[str] = []
    reads = 0
    stop = threading.Event()

    def read() -> None:
        nonlocal reads
        while not stop.is_set():  # a thread: each read is its own process (conftest.run_cli)
            done = run_cli("search", "Tumen", "--limit", "5", cwd=year, timeout=60)
            reads += 1
            if done.code != 0:
                failures.append(done.err)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        pruned = run_cli("prune", "--older-than", "365d", "--format", "json", cwd=year,
                         timeout=300)  # fmt: skip
    finally:
        stop.set()
        reader.join(timeout=90)
    assert pruned.code == 0, pruned.err
    assert failures == [] and reads > 0

    gone = {number for number in range(1, ARTICLES + 1) if expected_to_go(number)}
    report = json.loads(pruned.out)
    assert report["articles"] == report["pages"] == len(gone) > 20_000
    assert report["batches"] >= len(gone) // 500
    left = ids(year, "SELECT id FROM articles")
    assert left == set(range(1, ARTICLES + 1)) - gone
    assert ids(year, "SELECT article_id FROM pages") == left
    assert ids(year, "SELECT article_id FROM lsh") == left
    assert ids(year, "SELECT article_id FROM seen WHERE article_id IS NOT NULL") == left
    assert len(ids(year, "SELECT key FROM seen")) == ARTICLES  # every link still known
    flagged_after = run_cli("flagged", "--limit", "0", "--format", "json", cwd=year)
    assert json.loads(flagged_after.out) == json.loads(flagged_before.out)
    with closing(sqlite3.connect(year / "archive.db")) as db:
        db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    a_pruned = min(gone)
    found = run_cli("search", f"word{a_pruned}x", "--format", "json", cwd=year)
    assert json.loads(found.out) == []
    kept = run_cli("search", "word3x", "--format", "json", cwd=year)  # young, unflagged
    assert [row["id"] for row in json.loads(kept.out)] == [3]


def test_a_dry_run_counts_and_removes_nothing_and_the_last_month_is_refused(year: Path) -> None:
    before = ids(year, "SELECT id FROM articles")
    counted = run_cli("prune", "--older-than", "365d", "--dry-run", cwd=year)
    assert counted.code == 0, counted.err
    would = sum(expected_to_go(number) for number in range(1, ARTICLES + 1))
    assert counted.out.startswith(f"Would remove {would} articles fetched before ")
    assert ids(year, "SELECT id FROM articles") == before
    refused = run_cli("prune", "--older-than", "7d", cwd=year)
    assert refused.code == 2
    assert "prune keeps the last 30 days" in refused.err and "Traceback" not in refused.err
