"""Disk pressure: a crawl that finds the archive's filesystem full fails in one clear line,
leaves the archive sound, and the next crawl after space returns collects what it missed.

The archive lives on a small tmpfs mounted for each test (which needs root, or the test
skips saying so), filled with a file that leaves only a little room.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.newswire import Newswire, Reply
from monitor.timeutil import to_text, utcnow
from tests.conftest import article_page, rss, run_cli, write_config

DISK_SIZE = "16m"  # room for the WAL of a crawl once space is back
MOUNT_TIMEOUT = 15  # seconds
WORDS = (
    "harbour ferry cargo tariff customs envoy summit grain rail bridge border pipeline drill",
    "fleet port treaty visit delegation minister freight coal oil timber fishery permit",
    "quota vessel crane dock warehouse convoy inspection ledger invoice",
)
VOCABULARY = [word for line in WORDS for word in line.split()]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A fresh 16 MiB tmpfs mounted in the test's folder, unmounted afterwards."""
    if shutil.which("mount") is None or shutil.which("umount") is None:
        pytest.skip("no mount/umount command to make a small filesystem with")
    folder = tmp_path / "disk"
    folder.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            timeout=MOUNT_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("mounting a tmpfs did not finish in time")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        unmounted = subprocess.run(
            ["umount", str(folder)], capture_output=True, timeout=MOUNT_TIMEOUT
        )
        if unmounted.returncode != 0:  # something still holds a file open: detach it anyway
            subprocess.run(
                ["umount", "-l", str(folder)], capture_output=True, timeout=MOUNT_TIMEOUT
            )


def fill(folder: Path, leave: int) -> Path:
    """Fill the filesystem of *folder* with one file, leaving about *leave* bytes free."""
    filler = folder / "filler"
    stats = os.statvfs(folder)
    size = max(0, stats.f_bavail * stats.f_frsize - leave)
    with filler.open("wb") as handle:
        try:
            handle.write(b"\0" * size)
            handle.flush()
        except OSError:
            pass  # full already: that is the point
    return filler


class Wire:
    """One feed on the newswire whose stories can be added to; its ETag follows its items."""

    def __init__(self, newswire: Newswire) -> None:
        self.newswire = newswire
        self.items: list[dict[str, str]] = []

    def add(self, count: int) -> list[str]:
        """Publish *count* more stories, each with a page of its own; return their URLs."""
        urls = []
        for number in range(len(self.items), len(self.items) + count):
            words = random.Random(number)
            paragraphs = [" ".join(words.choices(VOCABULARY, k=120)) + "." for _ in range(8)]
            title = f"Port report {number}: {' '.join(words.choices(VOCABULARY, k=5))}"
            path = f"/news/{number}.html"
            self.newswire.route(path, Reply.html(article_page(title, paragraphs)))
            url = self.newswire.url(path)
            self.items.append({"title": title, "link": url, "guid": url,
                               "pubDate": "Fri, 18 Oct 2024 08:00:00 GMT"})  # fmt: skip
            urls.append(url)
        etag = f'"v{len(self.items)}"'
        headers = {"Content-Type": "application/xml", "ETag": etag}
        self.newswire.route("/feed.xml", Reply(rss(self.items).encode("utf-8"), headers=headers))
        return urls


def archive_is_sound(path: Path) -> list[str]:
    """Check the archive's integrity and its full-text index; return its article URLs."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
        urls = [row[0] for row in db.execute("SELECT url FROM articles ORDER BY id")]
        keys = db.execute("SELECT count(*), count(DISTINCT key) FROM articles").fetchone()
        assert keys[0] == keys[1], "an article was archived twice"
        return urls
    finally:
        db.close()


def unfinished_runs(path: Path) -> list[int]:
    """Return the runs still marked running (their processes have all ended by now)."""
    db = sqlite3.connect(path)
    try:
        return [row[0] for row in db.execute("SELECT id FROM runs WHERE status = 'running'")]
    finally:
        db.close()


def one_disk_full_line(stderr: str, archive: Path) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    line = lines[0]
    assert line.startswith(f"wirewatch: {archive}: the disk is full"), line
    assert "free some space" in line and "nothing already archived was lost" in line
    return line


@pytest.mark.parametrize(
    "leave",
    [0, 160 * 1024],
    ids=["no-room-to-open-the-archive", "room-to-start-but-not-to-store-the-stories"],
)
def test_full_disk_fails_in_one_line_and_the_next_crawl_collects_what_it_missed(
    small_disk: Path, tmp_path: Path, newswire: Newswire, leave: int
) -> None:
    wire = Wire(newswire)
    first = wire.add(4)
    archive = small_disk / "archive.db"
    config = write_config(tmp_path, [{"name": "port-wire", "url": newswire.url("/feed.xml")}])
    config.write_text(
        config.read_text(encoding="utf-8").replace("archive: archive.db", f"archive: {archive}"),
        encoding="utf-8",
    )
    crawled = run_cli("--config", str(config), "crawl", process=True)
    assert crawled.code == 0, crawled.err
    assert sorted(archive_is_sound(archive)) == sorted(first)

    filler = fill(small_disk, leave)
    missed = wire.add(8)
    full = run_cli("--config", str(config), "crawl", process=True)
    assert full.code == 1, full.out + full.err
    one_disk_full_line(full.err, archive)
    as_json = run_cli("--config", str(config), "crawl", "--format", "json", process=True)
    assert as_json.code == 1
    assert as_json.out == ""  # no half-written JSON for a script to misread
    one_disk_full_line(as_json.err, archive)

    status = run_cli("--config", str(config), "status", "--format", "json", process=True)
    if leave == 0:  # even reading needs room for SQLite's WAL index
        assert status.code == 1
        one_disk_full_line(status.err, archive)
    else:
        assert status.code == 0, status.err
        (source,) = json.loads(status.out)["sources"]
        # The full disk is not the site's fault: no failure counted, no backoff.
        assert source["failures"] == 0 and source["last_error"] is None
        if not unfinished_runs(archive):  # the crawl had room to record its end: due now
            assert source["next_due"] <= to_text(utcnow())

    filler.unlink()
    kept = archive_is_sound(archive)
    assert set(first) <= set(kept)  # the earlier stories are all there, once each
    assert set(kept) <= set(first + missed)
    if leave:
        db = sqlite3.connect(archive)
        failed = db.execute("SELECT error FROM runs WHERE status = 'failed'").fetchall()
        etag = db.execute("SELECT etag FROM sources").fetchone()[0]
        db.close()
        # A run either recorded the full disk, or had no room left even for that and is
        # still open, for the next run to settle.
        assert failed or unfinished_runs(archive)
        assert all("the disk is full" in error for (error,) in failed)
        assert etag == '"v4"'  # the failed runs' validators were not kept

    again = run_cli("--config", str(config), "crawl", "--format", "json", process=True)
    assert again.code == 0, again.err
    result = json.loads(again.out)
    assert result["status"] == "ok"
    assert result["new"] == len(first + missed) - len(kept)
    assert sorted(archive_is_sound(archive)) == sorted(first + missed)
    assert unfinished_runs(archive) == []  # a run left open by the full disk is settled
