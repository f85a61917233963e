"""Analysts read while wirewatch writes: no reader is told "database is locked".

Crawls run one after another over feeds that gain stories each time, while ``flagged``,
``search`` and ``serve`` (the flagged view, its full-text search, the articles table and the
Atom feed) are read in a loop. Every read must succeed, and the WAL file must stay under
the archive's size limit and be truncated after each crawl.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor.archive.store import JOURNAL_SIZE_LIMIT
from monitor.newswire import Hit, Newswire, Reply
from tests.conftest import article_page, rss, run_cli, write_config
from tests.serving import Served

from .processes import kill_marked, new_mark

# alone: crawls with readers in a loop keep both cores busy; beside them and the SIGKILL
# test, a daemon test's timed rounds once came short (make test runs this after the others).
pytestmark = pytest.mark.alone

CRAWLS = 4
PER_CRAWL = 60  # new stories each feed gains before each crawl
FEEDS = 2
LOCKED = "locked"  # as in SQLite's "database is locked" and "database table is locked"


class GrowingFeeds:
    """Feeds that publish PER_CRAWL more stories whenever ``grow`` is called."""

    def __init__(self, wire: Newswire) -> None:
        self.wire = wire
        self.count = 0
        self.lock = threading.Lock()
        self.now = datetime.now(UTC)
        for feed in range(FEEDS):
            wire.route(f"/feed/{feed}.xml", self._feed(feed))
        wire.route_prefix("/story/", self._page)

    def grow(self) -> None:
        with self.lock:
            self.count += PER_CRAWL * FEEDS

    def _feed(self, feed: int):  # type: ignore[no-untyped-def]
        def reply(hit: Hit) -> Reply:
            with self.lock:
                numbers = range(feed, self.count, FEEDS)
            items = [{"title": title(n), "link": self.wire.url(f"/story/{n}.html"),
                      "guid": f"s{n}", "pubDate": format_datetime(self.now - timedelta(seconds=n))}
                     for n in numbers]  # fmt: skip
            return Reply.xml(rss(items))

        return reply

    def _page(self, hit: Hit) -> Reply:
        n = int(hit.path.rsplit("/", 1)[1].split(".")[0])
        text = [
            f"Delegations from Moscow and Pyongyang held talks on accord {n} about rail freight, "
            "the Kremlin said, as Russian and North Korean officials planned more visits.",
            " ".join(f"Paragraph words {n} {word}" for word in range(120)),
        ]
        return Reply.html(article_page(title(n), text))


def title(n: int) -> str:
    return f"Kim Jong Un and Putin discuss rail accord {n} in Pyongyang"


@pytest.fixture
def growing() -> Iterator[GrowingFeeds]:
    with Newswire() as wire:
        yield GrowingFeeds(wire)


def test_flagged_search_and_serve_never_report_a_locked_database_during_crawls(
    tmp_path: Path, growing: GrowingFeeds
) -> None:
    sources = [{"name": f"wire-{feed}", "url": growing.wire.url(f"/feed/{feed}.xml")}
               for feed in range(FEEDS)]  # fmt: skip
    # Eight pages in flight, as a busy wire service might allow: the crawls write as fast as
    # they can, which is what the readers must get past.
    write_config(tmp_path, sources, crawl={"per_host_concurrency": 8})
    growing.grow()
    assert (
        run_cli("crawl", cwd=tmp_path, process=True).code == 0
    )  # the archive exists before readers start
    wal = tmp_path / "archive.db-wal"
    env = new_mark()
    done = threading.Event()
    problems: list[str] = []
    reads = {"flagged": 0, "search": 0, "serve": 0}
    largest_wal = [0]
    after_crawl_wal: list[int] = []

    def crawls() -> None:
        try:
            for _ in range(CRAWLS):
                growing.grow()
                crawl = subprocess.run(
                    [sys.executable, "-m", "monitor", "crawl"], cwd=tmp_path,
                    env={**os.environ, **env}, capture_output=True, text=True, timeout=180,
                )  # fmt: skip
                if crawl.returncode != 0:
                    problems.append(f"crawl exited {crawl.returncode}: {crawl.stderr}")
                after_crawl_wal.append(wal.stat().st_size if wal.exists() else 0)
        finally:
            done.set()

    def cli_reader(command: str, *args: str) -> None:
        while not done.is_set():
            result = run_cli(command, *args, cwd=tmp_path, timeout=60, process=True)
            reads[command] += 1
            if result.code != 0 or LOCKED in result.err or LOCKED in result.out:
                problems.append(f"{command}: exit {result.code}: {result.err.strip()[-300:]}")

    def watch_wal() -> None:
        while not done.is_set():
            if wal.exists():
                largest_wal[0] = max(largest_wal[0], wal.stat().st_size)
            time.sleep(0.02)

    with Served(tmp_path, config="config.yaml") as web:

        def web_reader() -> None:
            pages = [("/archive/flagged_stories.json", {}),
                     ("/archive/flagged_stories.json", {"_search": "Pyongyang accord"}),
                     ("/archive/articles.json", {"_sort_desc": "fetched"}),
                     ("/archive/flagged_atom.atom", {})]  # fmt: skip
            while not done.is_set():
                for path, params in pages:
                    status, body, _ = web.get(path, **params)
                    reads["serve"] += 1
                    if status != 200 or LOCKED in body:
                        problems.append(f"serve {path}: HTTP {status}: {body[:300]}")

        threads = [
            threading.Thread(target=crawls),
            threading.Thread(target=cli_reader, args=("flagged", "--format", "json")),
            threading.Thread(target=cli_reader, args=("search", "rail accord")),
            threading.Thread(target=web_reader),
            threading.Thread(target=watch_wal),
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=400)
            assert not any(thread.is_alive() for thread in threads), "a reader or crawl hung"
        finally:
            done.set()
            kill_marked(env)
        assert web.process.poll() is None, "wirewatch serve died during the crawls"

    assert not problems, "\n".join(problems[:10])
    assert all(count >= 2 for count in reads.values()), reads  # the loops really ran
    with sqlite3.connect(tmp_path / "archive.db") as db:
        (articles,) = db.execute("SELECT count(*) FROM articles").fetchone()
    assert articles == (CRAWLS + 1) * PER_CRAWL * FEEDS
    assert largest_wal[0] < JOURNAL_SIZE_LIMIT, largest_wal
    # Each crawl ends with a checkpoint that truncates the WAL, readers or not.
    assert after_crawl_wal == [0] * CRAWLS, after_crawl_wal
