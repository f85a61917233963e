"""Crawl workers on Redis (issue 17): a real redis-server, real workers, real SIGKILLs.

The daemon (or ``run_cycle``, the daemon's crawl) queues jobs; ``wirewatch worker``
processes crawl them and send their archive writes back; only the daemon's process opens
the archive. Every story must be archived exactly once, through kills, and two workers on one
host must keep its delay between them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import IO, Any

import pytest
import redis
import yaml

from monitor.archive import RunStatus, SourceStatus
from monitor.collection.cycle import run_cycle
from monitor.config import load
from monitor.newswire import Newswire, Reply
from monitor.procmark import marked, new_mark
from tests.cluster import RedisServer, kill_group, kill_worker_only
from tests.conftest import article_page, rss, run_cli, write_config

WAIT = 120.0  # seconds for the cluster to archive what a test expects
SEED = int(os.environ.get("WIREWATCH_KILL_SEED", time.time_ns() % 1_000_000))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


def story_title(host: int, feed: int, n: int) -> str:
    if n % 3 == 0:
        return f"Putin and Kim Jong Un agree rail deal {host}-{feed}-{n} in Pyongyang"
    return f"Harbour authority opens berth {host}-{feed}-{n} after repairs"


def story_text(host: int, feed: int, n: int) -> list[str]:
    code = f"h{host}f{feed}n{n}x"
    if n % 3 == 0:
        return [
            f"Russian and North Korean officials signed accord {code} on freight trains across "
            "the Tumen river bridge, the Kremlin said.",
            f"Delegations from Moscow and Pyongyang will meet again over item {code} next month.",
        ]
    return [
        f"The harbour authority said berth {code} reopened after a year of repairs to its quay.",
        f"Ships bound for berth {code} will be able to dock from Monday, officials said.",
    ]


class Wires:
    """Several local newswires (hosts), each with feeds that can gain stories."""

    def __init__(self, hosts: int, feeds: int, page_delay: float) -> None:
        self.wires = [Newswire().start() for _ in range(hosts)]
        self.feeds = feeds
        self.page_delay = page_delay
        self.stories: dict[tuple[int, int], list[int]] = {
            (host, feed): [] for host in range(hosts) for feed in range(feeds)
        }
        self.now = datetime.now(UTC)

    def add(self, count: int) -> None:
        """Publish *count* new stories in every feed."""
        for (host, feed), numbers in self.stories.items():
            wire = self.wires[host]
            for _ in range(count):
                n = len(numbers)
                numbers.append(n)
                page = article_page(story_title(host, feed, n), story_text(host, feed, n))
                wire.route(f"/{feed}/{n}.html", Reply.html(page, delay=self.page_delay))
            items = [
                {"title": story_title(host, feed, n), "link": wire.url(f"/{feed}/{n}.html"),
                 "guid": f"g-{host}-{feed}-{n}",
                 "pubDate": format_datetime(self.now - timedelta(minutes=n))}
                for n in numbers
            ]  # fmt: skip
            wire.route(f"/{feed}/rss.xml", Reply.xml(rss(items)))

    def sources(self) -> list[dict[str, Any]]:
        return [
            {"name": f"host{host}-feed{feed}", "url": self.wires[host].url(f"/{feed}/rss.xml")}
            for host, feed in self.stories
        ]

    def urls(self) -> set[str]:
        return {
            self.wires[host].url(f"/{feed}/{n}.html")
            for (host, feed), numbers in self.stories.items()
            for n in numbers
        }

    def close(self) -> None:
        for wire in self.wires:
            wire.stop()


def cluster_config(
    folder: Path, server: RedisServer, sources: list[dict[str, Any]], **settings: Any
) -> Path:
    path = write_config(
        folder,
        sources,
        crawl={"delay": 0, "timeout": 5, "cycle_timeout": 120, "per_host_concurrency": 4},
    )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["cluster"] = {"redis": server.url, "batch": 2, "visibility_timeout": 2, **settings}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def archived(folder: Path) -> list[str]:
    """Return the URL of every article in the archive, one per row (duplicates included)."""
    path = folder / "archive.db"
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        try:
            return [row[0] for row in db.execute("SELECT url FROM articles")]
        except sqlite3.OperationalError:  # the daemon is still creating the tables
            return []


def wait_for_urls(folder: Path, expected: set[str], timeout: float = WAIT) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = archived(folder)
        if expected <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


class Workers:
    """``wirewatch worker`` processes, each in its own session, marked for clean-up."""

    def __init__(self, config: Path, folder: Path, env: dict[str, str]) -> None:
        self.config = config
        self.folder = folder
        self.env = env
        self.processes: dict[str, subprocess.Popen[str]] = {}
        self.logs: list[IO[str]] = []
        self.started = 0

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            name = f"w{self.started}"
            self.started += 1
            log = (self.folder / f"{name}.log").open("w", encoding="utf-8")
            self.logs.append(log)
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(self.config), "worker",
                 "--name", name],
                stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                env={**os.environ, **self.env},
            )  # fmt: skip

    def log_of(self, name: str) -> str:
        for log in self.logs:
            if not log.closed:
                log.flush()
        return (self.folder / f"{name}.log").read_text(encoding="utf-8")

    def log_text(self) -> str:
        for log in self.logs:
            if not log.closed:
                log.flush()
        return "".join(path.read_text(encoding="utf-8") for path in self.folder.glob("w*.log"))

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_group(process)
        for log in self.logs:
            log.close()


def crawling_worker(workers: Workers) -> str | None:
    """Return the name of a worker that has a crawl child right now."""
    children = marked(workers.env, command=b"crawler")
    parents = set()
    for pid in children:
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            parents.add(int(stat.rsplit(")", 1)[1].split()[1]))
    for name, process in workers.processes.items():
        if process.pid in parents and process.poll() is None:
            return name
    return None


def start_daemon(config: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``wirewatch run`` in its own session, logging to *log*."""
    with log.open("w", encoding="utf-8") as out:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env={**os.environ, **env},
        )  # fmt: skip


def stop_daemon(daemon: subprocess.Popen[str]) -> int:
    """SIGTERM the daemon as an operator would; return its exit status (-9: it had to be
    killed)."""
    daemon.send_signal(signal.SIGTERM)
    try:
        return daemon.wait(timeout=60)
    except subprocess.TimeoutExpired:
        kill_group(daemon)
        return -9


def test_three_workers_archive_every_story_once_through_ten_random_sigkills(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    rng = random.Random(SEED)
    wires = Wires(hosts=3, feeds=2, page_delay=0.15)
    env = new_mark()
    config = cluster_config(
        tmp_path, redis_server, [{**source, "interval": 1} for source in wires.sources()]
    )
    workers = Workers(config, tmp_path, env)
    daemon = start_daemon(config, tmp_path / "daemon.log", env)
    kills: list[str] = []
    try:
        wires.add(4)
        workers.start(3)
        found = wait_for_urls(tmp_path, wires.urls())
        assert sorted(found) == sorted(wires.urls()), f"seed {SEED}: first round"
        for round_ in range(10):
            wires.add(2)
            deadline = time.monotonic() + 30
            victim = None
            while victim is None and time.monotonic() < deadline:
                victim = crawling_worker(workers)
                time.sleep(0.02)
            assert victim is not None, f"seed {SEED}: no worker was crawling in round {round_}"
            time.sleep(rng.uniform(0.0, 0.4))  # somewhere in its crawl
            process = workers.processes.pop(victim)
            if round_ % 2:  # the worker alone: its crawl child is orphaned and stops itself
                kill_worker_only(process)
            else:  # the worker and its crawl child at once
                kill_group(process)
            kills.append(victim)
            workers.start(1)
        found = wait_for_urls(tmp_path, wires.urls())
        time.sleep(3)  # a late duplicate would land now
        found = archived(tmp_path)
        assert len(kills) == 10
        missing = wires.urls() - set(found)
        assert not missing, f"seed {SEED}: lost {sorted(missing)[:5]}"
        duplicated = sorted({url for url in found if found.count(url) > 1})
        assert not duplicated, f"seed {SEED}: archived twice {duplicated[:5]}"
        assert len(found) == len(wires.urls()) == 6 * (4 + 2 * 10)
        logs = workers.log_text()
        assert "taken over" in logs, f"seed {SEED}: no job went to another worker"
    finally:
        code = stop_daemon(daemon)
        workers.stop()
        wires.close()
        for pid in marked(env):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert code == 0, (tmp_path / "daemon.log").read_text()[-3000:]
    with contextlib.closing(sqlite3.connect(tmp_path / "archive.db")) as db:
        flagged = db.execute("SELECT count(DISTINCT article_id) FROM flags").fetchone()[0]
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert flagged == 6 * len(range(0, 24, 3))  # every third story is about the pair


@pytest.mark.alone  # it times arrivals: a second test's load beside it would delay some
def test_two_workers_on_one_host_keep_its_delay_between_requests(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    delay = 0.4
    wires = Wires(hosts=1, feeds=6, page_delay=0.0)
    env = new_mark()
    config = cluster_config(tmp_path, redis_server, wires.sources(), batch=1)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["crawl"].update(delay=delay, per_host_concurrency=2)
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    workers = Workers(config, tmp_path, env)
    try:
        wires.add(2)
        workers.start(2)
        result = run_cycle(load(config))
        assert result.status == RunStatus.OK, result.error
        assert sorted(archived(tmp_path)) == sorted(wires.urls())
        logs = {name: workers.log_of(name) for name in ("w0", "w1")}
    finally:
        workers.stop()
        wires.close()
    hits = sorted(hit.at for hit in wires.wires[0].hits)
    assert len(hits) >= 6 + 12  # robots.txt (at least once), six feeds, twelve pages
    gaps = [later - earlier for earlier, later in itertools.pairwise(hits)]
    shown = [round(gap, 3) for gap in gaps]
    # Redis grants the turns at least a delay apart on its own clock; each request then
    # reaches the server a few ms after its grant, more when its worker's CPU is busy, so
    # two arrivals can be a little closer. (One Scrapy process alone varies a host's delay
    # from 0.5x to 1.5x: RANDOMIZE_DOWNLOAD_DELAY.)
    assert min(gaps) >= 0.8 * delay, shown
    assert sorted(gaps)[len(gaps) // 2] >= 0.95 * delay, shown
    assert hits[-1] - hits[0] >= 0.95 * delay * len(gaps), shown
    # Six jobs, one source each: the first robots.txt read serves the rest from Redis (two
    # workers starting at once may each read it once).
    assert 1 <= wires.wires[0].requests_for("/robots.txt") <= 2
    # Both workers crawled jobs: the delay held across processes, not inside one.
    assert all(" crawling " in logs[name] for name in ("w0", "w1")), logs


def test_status_shows_each_worker_and_says_when_redis_is_down(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    wires = Wires(hosts=1, feeds=1, page_delay=0.0)
    env = new_mark()
    config = cluster_config(tmp_path, redis_server, wires.sources())
    workers = Workers(config, tmp_path, env)
    try:
        workers.start(1)
        deadline = time.monotonic() + 30
        shown: dict[str, Any] = {}
        while time.monotonic() < deadline:
            result = run_cli("--config", str(config), "status", "--format", "json")
            assert result.code == 0, result.err
            shown = json.loads(result.out)["cluster"]
            if shown["workers"]:
                break
            time.sleep(0.2)
        assert shown["reachable"] is True
        assert [worker["name"] for worker in shown["workers"]] == ["w0"]
        assert shown["workers"][0]["age"] < 10
        table = run_cli("--config", str(config), "status")
        assert "Cluster: Redis at redis://127.0.0.1:" in table.out
        assert "w0" in table.out
        redis_server.stop()
        down = run_cli("--config", str(config), "status", "--format", "json")
        assert down.code == 0
        cluster = json.loads(down.out)["cluster"]
        assert cluster["reachable"] is False
        assert "did not answer" in cluster["error"]
        text = run_cli("--config", str(config), "status")
        assert "Cluster: the cluster's Redis at redis://127.0.0.1:" in text.out
        assert "Traceback" not in text.out + text.err
    finally:
        workers.stop()
        wires.close()
    # SIGTERM is how a worker ends: it stops cleanly and exits 0 (README, Exit status).
    assert workers.processes["w0"].returncode == 0, workers.log_text()


def test_a_crawl_waits_out_a_redis_restart_and_loses_nothing(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    wires = Wires(hosts=2, feeds=2, page_delay=0.2)
    env = new_mark()
    config = cluster_config(tmp_path, redis_server, wires.sources(), batch=1)
    workers = Workers(config, tmp_path, env)
    wires.add(3)
    try:
        workers.start(2)
        outcome: dict[str, Any] = {}

        def crawl() -> None:
            outcome["result"] = run_cycle(load(config))

        import threading

        thread = threading.Thread(target=crawl)
        thread.start()
        deadline = time.monotonic() + 30
        while crawling_worker(workers) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        redis_server.restart(pause=2.0)  # its append-only file keeps the queue
        thread.join(timeout=WAIT)
        assert not thread.is_alive()
        result = outcome["result"]
        assert result.status == RunStatus.OK, result.error
        found = archived(tmp_path)
        assert sorted(found) == sorted(wires.urls())
        assert "Redis answers again" in workers.log_text()
    finally:
        workers.stop()
        wires.close()


def test_a_worker_without_cluster_in_its_config_says_what_to_add(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "one", "url": "http://127.0.0.1:9/rss.xml"}])
    result = run_cli("--config", str(config), "worker")
    assert result.code == 2
    assert "cluster:" in result.err and "redis://HOST:6379/0" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:6379/0", "is not a Redis URL"),
        ("redis:///0", "names no host"),
        ("file:///etc/passwd", "is not a Redis URL"),
    ],
)
def test_a_bad_redis_url_is_named_with_its_key_and_the_fix(
    tmp_path: Path, url: str, said: str
) -> None:
    config = write_config(tmp_path, [{"name": "one", "url": "http://127.0.0.1:9/rss.xml"}])
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["cluster"] = {"redis": url}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run_cli("--config", str(config), "check")
    assert result.code == 2
    assert "cluster.redis" in result.err and said in result.err
    assert "redis://HOST:6379/0" in result.err


def test_the_daemon_outlives_redis_being_down_and_collects_once_it_is_back(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis")  # not started yet
    wires = Wires(hosts=1, feeds=2, page_delay=0.0)
    wires.add(2)
    env = new_mark()
    config = cluster_config(
        tmp_path, server, [{**source, "interval": 1} for source in wires.sources()]
    )
    workers = Workers(config, tmp_path, env)
    daemon = start_daemon(config, tmp_path / "daemon.log", env)
    try:
        workers.start(1)
        deadline = time.monotonic() + 30
        while "did not answer" not in (tmp_path / "daemon.log").read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, "the daemon never said Redis is down"
            assert daemon.poll() is None, "the daemon died while Redis was down"
            time.sleep(0.2)
        down = json.loads(run_cli("--config", str(config), "status", "--format", "json").out)
        assert down["cluster"]["reachable"] is False
        server.start()
        found = wait_for_urls(tmp_path, wires.urls(), timeout=60)
        assert sorted(found) == sorted(wires.urls())
        assert daemon.poll() is None
    finally:
        code = stop_daemon(daemon)
        workers.stop()
        server.stop()
        wires.close()
    assert code == 0
    assert "Traceback" not in (tmp_path / "daemon.log").read_text(encoding="utf-8")
    assert "Traceback" not in workers.log_text()


def test_check_names_the_cluster_without_its_password(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "one", "url": "http://127.0.0.1:9/rss.xml"}])
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["cluster"] = {"redis": "redis://:s3cret@127.0.0.1:6379/0", "batch": 5}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    text = run_cli("--config", str(config), "check")
    assert text.code == 0, text.err
    assert "cluster  redis://***@127.0.0.1:6379/0" in text.out and "5 sources a job" in text.out
    shown = json.loads(run_cli("--config", str(config), "check", "--format", "json").out)
    assert shown["cluster"] == {
        "redis": "redis://***@127.0.0.1:6379/0", "batch": 5, "visibility_timeout": 60.0,
    }  # fmt: skip
    assert "s3cret" not in text.out + json.dumps(shown)


def test_a_worker_whose_config_lacks_a_source_fails_that_job_saying_so(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    wires = Wires(hosts=1, feeds=2, page_delay=0.0)
    wires.add(1)
    daemon_config = cluster_config(tmp_path, redis_server, wires.sources(), batch=1)
    worker_folder = tmp_path / "worker"
    worker_folder.mkdir()
    # A long visibility timeout: the worker beats every 2 s, and must still say at once that
    # its jobs are done.
    worker_config = cluster_config(
        worker_folder, redis_server, wires.sources()[:1], batch=1, visibility_timeout=60
    )
    workers = Workers(worker_config, tmp_path, new_mark())
    try:
        workers.start(1)
        result = run_cycle(load(daemon_config), timeout=60)
        shown = run_cli("--config", str(daemon_config), "status", "--format", "json")
        (worker,) = json.loads(shown.out)["cluster"]["workers"]
        assert worker["jobs"] == 2 and worker["crawling"] == [], worker
        assert worker["failures"] == 1 and "host0-feed1" in worker["last_error"]
    finally:
        workers.stop()
        wires.close()
    # As a source that fails inside a crawl: that source's error, not a failed run.
    assert result.status == RunStatus.OK
    outcomes = {outcome.source: outcome for outcome in result.outcomes}
    assert outcomes["host0-feed0"].status == SourceStatus.OK
    failed = outcomes["host0-feed1"]
    assert failed.status == SourceStatus.FAILED and failed.error_class == "worker"
    assert failed.error is not None
    assert "source 'host0-feed1' is not in" in failed.error
    assert "give every worker the daemon's config" in failed.error
    assert archived(tmp_path) == [wires.wires[0].url("/0/0.html")]  # the other job ran
    # The run's results are gone from Redis, its jobs acknowledged and dropped.
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.keys("wirewatch:results:*") == []
        assert client.xlen("wirewatch:jobs") == 0
    finally:
        client.close()
