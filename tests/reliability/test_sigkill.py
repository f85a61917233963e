"""SIGKILL at random points of a crawl, twenty times; then one crawl finishes the job.

A local newswire serves 300 articles in three feeds. Each attempt starts ``wirewatch
crawl`` and, at a random moment, SIGKILLs one of: the crawl child's process group (the
parent lives on and records the run; the fork server that forked the child is spared),
the parent's process group (the child is orphaned and must stop by itself), or both. A
last crawl then runs to the end. The archive must hold each article once with its full
text, pass SQLite's and FTS5's integrity checks, and tell the truth about its runs: a killed
run is interrupted, never successful.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor.newswire import Newswire, Reply
from tests.conftest import article_page, rss, write_config

from .processes import crawl_processes, kill_groups, kill_marked, marked, new_mark

ARTICLES = 300
FEEDS = 3
KILLS = 20
SEED = int(os.environ.get("WIREWATCH_KILL_SEED", time.time_ns() % 1_000_000))


def about(n: int) -> bool:
    """Every fourth story is about the watched relationship."""
    return n % 4 == 0


def title_of(n: int) -> str:
    if about(n):
        return f"Kim Jong Un and Putin sign trade accord number {n} in Pyongyang"
    return f"City council approves bus route {n} after a long debate"


def paragraphs_of(n: int) -> list[str]:
    code = f"k{n:03d}q"
    if about(n):
        return [
            f"Officials in Moscow and Pyongyang said accord {code} covers rail freight and "
            f"fishing, the Kremlin said on day {n}.",
            f"North Korean and Russian delegations met for talks on item {code}, "
            "with more visits planned.",
        ]
    return [
        f"The council voted on route {code} on Tuesday after residents asked for buses "
        f"near the market, number {n}.",
        f"Work on the stops for route {code} begins next month, the transport office said.",
    ]


@pytest.fixture
def wire_of_300() -> Iterator[Newswire]:
    now = datetime.now(UTC)
    with Newswire() as wire:
        for feed in range(FEEDS):
            items = []
            for n in range(feed, ARTICLES, FEEDS):
                path = f"/story/{n}.html"
                # A little latency per page spreads a crawl over seconds to kill it in.
                page = article_page(title_of(n), paragraphs_of(n))
                wire.route(path, Reply.html(page, delay=0.04))
                items.append({"title": title_of(n), "link": wire.url(path), "guid": f"s{n}",
                              "pubDate": format_datetime(now - timedelta(minutes=n))})  # fmt: skip
            wire.route(f"/feed/{feed}.xml", Reply.xml(rss(items)))
        yield wire


def start_crawl(folder: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "crawl", "--format", "json"],
        cwd=folder,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def query(folder: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(folder / "archive.db", timeout=30) as db:
        return db.execute(sql).fetchall()


def wait_for_crawl_process(parent: subprocess.Popen[bytes], env: dict[str, str]) -> None:
    """Wait until *parent* has started its crawl process (or has ended).

    Its fork server does not count: a SIGKILL meant for the crawl child that hit the
    server instead, before it had forked the child, left the command to start the child
    as a new process, and that crawl then ran to its end untouched.
    """
    deadline = time.monotonic() + 60
    while parent.poll() is None and not crawl_processes(env, parent.pid):
        if time.monotonic() > deadline:
            raise AssertionError("the crawl process did not start within 60 s")
        time.sleep(0.02)


def wait_until_gone(env: dict[str, str], timeout: float) -> float:
    """Wait for every marked process to end by itself; return how long it took."""
    began = time.monotonic()
    while marked(env):
        if time.monotonic() - began > timeout:
            raise AssertionError(f"crawl processes still alive {timeout}s after the kill")
        time.sleep(0.1)
    return time.monotonic() - began


def test_random_sigkills_lose_nothing_duplicate_nothing_and_never_claim_success(
    tmp_path: Path, wire_of_300: Newswire
) -> None:
    sources = [{"name": f"wire-{feed}", "url": wire_of_300.url(f"/feed/{feed}.xml")}
               for feed in range(FEEDS)]  # fmt: skip
    write_config(tmp_path, sources, crawl={"timeout": 10})
    chances = random.Random(SEED)
    env = new_mark()
    attempts: list[dict[str, object]] = []
    try:
        for _ in range(KILLS):
            target = chances.choice(["crawler", "parent", "both"])
            parent = start_crawl(tmp_path, env)
            # Any moment from the crawl process's start to well into its fetching and writing.
            wait_for_crawl_process(parent, env)
            time.sleep(chances.uniform(0.0, 1.5))
            children = crawl_processes(env, parent.pid)
            alive = parent.poll() is None
            if target in ("crawler", "both"):
                kill_groups(children)
            if target in ("parent", "both"):
                kill_groups([parent.pid])
            try:
                out, err = parent.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                parent.kill()
                raise AssertionError(
                    f"seed {SEED}: the crawl did not end after its child died"
                ) from None
            # An orphaned crawl child notices that its parent is gone and stops.
            orphan_wait = wait_until_gone(env, timeout=20)
            attempts.append({"pid": parent.pid, "target": target, "alive": alive,
                             "code": parent.returncode, "err": err.decode(),
                             "out": out.decode(), "orphan_wait": orphan_wait})  # fmt: skip
        final = start_crawl(tmp_path, env)
        out, err = final.communicate(timeout=120)
    finally:
        kill_marked(env)
    assert final.returncode == 0, (SEED, err.decode())
    report = json.loads(out)
    assert report["status"] == "ok", (SEED, report)
    context = f"seed {SEED} (set WIREWATCH_KILL_SEED to replay); attempts: {attempts}"

    # Every article once, with its full text.
    rows = query(tmp_path, "SELECT url, title, body FROM articles")
    assert len(rows) == ARTICLES, context
    assert len({url for url, _, _ in rows}) == ARTICLES, context
    for url, title, body in rows:
        n = int(url.rsplit("/", 1)[1].split(".")[0])
        assert title == title_of(n), context
        for paragraph in paragraphs_of(n):
            assert paragraph in body, (url, body, context)

    # The files are sound.
    assert query(tmp_path, "PRAGMA integrity_check") == [("ok",)], context
    query(tmp_path, "INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
    assert query(tmp_path, "SELECT count(*) FROM articles_fts") == [(ARTICLES,)]

    # Flags: exactly the stories about the relationship, each flagged once.
    flagged = query(tmp_path, "SELECT a.title, count(*) FROM flags f "
                              "JOIN articles a ON a.id = f.article_id GROUP BY f.article_id")  # fmt: skip
    assert {title for title, _ in flagged} == {title_of(n) for n in range(ARTICLES) if about(n)}
    assert all(count == 1 for _, count in flagged), context
    assert query(tmp_path, "SELECT count(*) FROM flags WHERE article_id NOT IN "
                           "(SELECT id FROM articles)") == [(0,)]  # fmt: skip
    assert query(tmp_path, "SELECT count(*) FROM articles WHERE cluster_id IS NULL") == [(0,)]

    # Runs: none still running; a run is ok only when it finished, else interrupted.
    runs = {pid: (status, new) for pid, status, new in
            query(tmp_path, "SELECT pid, status, new FROM runs")}  # fmt: skip
    assert all(status in ("ok", "interrupted") for status, _ in runs.values()), (runs, context)
    assert query(tmp_path, "SELECT count(*) FROM runs r JOIN run_sources s ON s.run_id = r.id "
                           "WHERE r.status = 'ok' AND (r.finished IS NULL "
                           "OR s.status NOT IN ('ok', 'not_modified'))") == [(0,)]  # fmt: skip
    for attempt in attempts:
        if attempt["target"] == "crawler" and attempt["code"] != 0:
            # The parent outlived its child: it says so and records the run interrupted.
            assert runs[attempt["pid"]][0] == "interrupted", (attempt, context)
            assert attempt["code"] == 1 and "the crawl was interrupted" in str(attempt["err"])
    killed = [a for a in attempts if a["alive"] and a["code"] != 0]
    assert len(killed) >= KILLS // 2, f"too few kills landed inside a crawl: {context}"
    assert sum(new or 0 for _, new in runs.values()) == ARTICLES, (runs, context)
    assert query(tmp_path, "SELECT count(*) FROM run_sources "
                           "WHERE status IN ('running', 'fetched')") == [(0,)]  # fmt: skip
    health = query(tmp_path, "SELECT name, failures, last_success IS NOT NULL FROM sources")
    assert sorted(health) == [(f"wire-{feed}", 0, 1) for feed in range(FEEDS)], context
