"""``wirewatch backup``: a checked copy of the archive, taken while a crawl writes (issue 16)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from monitor.newswire import Newswire, Reply

from .conftest import article_page, copy_demo, rss, run_cli, write_config

STORY = "Russian and North Korean officials met in Pyongyang to discuss the new bridge. " * 20
PAGES = 120


def article_ids(archive: Path) -> set[int]:
    with closing(sqlite3.connect(f"file:{archive}?mode=ro", uri=True, timeout=10)) as db:
        return {row[0] for row in db.execute("SELECT id FROM articles")}


def articles_so_far(archive: Path) -> int:
    try:
        return len(article_ids(archive))
    except sqlite3.OperationalError:  # not made yet, or its tables not yet
        return 0


def test_a_backup_taken_during_a_crawl_holds_all_it_had_and_passes_its_checks(
    tmp_path: Path, newswire: Newswire
) -> None:
    items = []
    for number in range(PAGES):
        path = f"/news/{number}.html"
        # Slow pages, so that the crawl is still writing when the backup is taken.
        body = f"Report number {number} of the series. {STORY}"  # each its own text
        newswire.route(path, Reply.html(article_page(f"Story {number}", body), delay=0.02))
        items.append({"title": f"Story {number}", "link": newswire.url(path), "guid": f"g{number}"})
    newswire.route("/feed.xml", Reply.xml(rss(items)))
    write_config(tmp_path, [{"name": "wire", "url": newswire.url("/feed.xml")}],
                 crawl={"per_host_concurrency": 1})  # fmt: skip
    archive = tmp_path / "archive.db"
    with subprocess.Popen(
        [sys.executable, "-m", "monitor", "crawl"], cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    ) as crawl:  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while articles_so_far(archive) < 10 and time.monotonic() < deadline:
                time.sleep(0.1)
            before = article_ids(archive)
            result = run_cli("backup", str(tmp_path / "copy.db"), "--format", "json",
                             cwd=tmp_path)  # fmt: skip
            still_writing = crawl.poll() is None
            _, err = crawl.communicate(timeout=120)
        finally:
            if crawl.poll() is None:
                crawl.kill()
    assert result.code == 0, result.err
    assert crawl.returncode == 0, err
    assert still_writing, f"the crawl ended before the backup ({len(before)} articles): {err}"
    report = json.loads(result.out)
    copy = tmp_path / "copy.db"
    assert report["path"] == str(copy) and report["integrity"] == "ok"
    with closing(sqlite3.connect(copy)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
    copied = article_ids(copy)
    assert before <= copied, "an article committed before the backup is missing from it"
    assert report["articles"] == len(copied)
    assert len(copied) < PAGES == len(article_ids(archive))  # taken mid-crawl, and it went on
    assert not Path(f"{copy}-wal").exists()


def test_a_backup_into_a_folder_is_named_by_time_and_never_replaces_a_file_unasked(
    demo_folder: Path, tmp_path: Path
) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    config = ["--config", "wirewatch-demo/config.yaml"]
    (folder / "backups").mkdir()
    made = run_cli(*config, "backup", "backups/", cwd=folder)
    assert made.code == 0, made.err
    [copy] = (folder / "backups").iterdir()
    assert copy.name.startswith("demo-") and copy.suffix == ".db"
    assert "passed its integrity checks" in made.out and copy.name in made.out

    again = run_cli(*config, "backup", f"backups/{copy.name}", cwd=folder)
    assert again.code == 2
    assert again.err.strip() == (
        f"wirewatch: backups/{copy.name}: a file is already there: name another, or pass "
        "--overwrite to replace it"
    )
    assert run_cli(*config, "backup", f"backups/{copy.name}", "--overwrite", cwd=folder).code == 0

    for target, problem in [
        ("missing/", "missing: no such folder"),
        ("missing/copy.db", "missing: not a folder"),
        ("wirewatch-demo/demo.db", "wirewatch-demo/demo.db: that is the archive itself"),
    ]:
        refused = run_cli(*config, "backup", target, cwd=folder)
        assert refused.code == 2, refused.err
        assert problem in refused.err and "Traceback" not in refused.err
    assert not list(folder.glob("**/*.partial"))


def test_a_copy_is_an_archive_the_reading_commands_open(demo_folder: Path, tmp_path) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    config = ["--config", "wirewatch-demo/config.yaml"]
    assert run_cli(*config, "backup", str(tmp_path / "copy.db"), cwd=folder).code == 0
    original = run_cli(*config, "flagged", "--format", "json", cwd=folder)
    copied = run_cli(*config, "--archive", str(tmp_path / "copy.db"), "flagged", "--format",
                     "json", cwd=folder)  # fmt: skip
    assert copied.code == 0, copied.err
    assert json.loads(copied.out) == json.loads(original.out) != []
