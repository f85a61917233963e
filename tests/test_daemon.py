"""The daemon: a real ``wirewatch run`` subprocess against a local newswire, with intervals
of seconds, real signals, and a timeout on every wait."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml

from monitor.collection.triggers import SteadyIntervalTrigger, adaptive_interval, trigger_for
from monitor.config import load
from monitor.cron import cron_problem
from monitor.newswire import Hit, Newswire, Reply
from monitor.procmark import marked, new_mark

from .conftest import article_page, rss, run_cli, write_config

STORY = ["Russian and North Korean officials met in Pyongyang for talks, the Kremlin said."]


class LiveFeed:
    """A feed whose items can be added while the daemon runs."""

    def __init__(self, wire: Newswire, path: str) -> None:
        self.wire, self.path = wire, path
        self.items: list[dict[str, str]] = []
        self.lock = threading.Lock()
        wire.route(path, self._reply)

    def add(self, title: str, *, slow: float = 0.0) -> None:
        slug = f"{self.path.strip('/').replace('/', '-')}-{len(self.items)}"
        page = f"/story/{slug}.html"
        self.wire.route(page, Reply.html(article_page(title, STORY), delay=slow))
        with self.lock:
            self.items.append({"title": title, "link": self.wire.url(page), "guid": slug,
                               "pubDate": format_datetime(datetime.now(UTC))})  # fmt: skip

    def _reply(self, hit: Hit) -> Reply:
        with self.lock:
            return Reply.xml(rss(list(self.items)))


class Daemon:
    """A ``wirewatch run`` subprocess in its own session, killed however the test ends."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.folder = folder
        self.log = (folder / "daemon.log").open("w+", encoding="utf-8")
        self.mark = new_mark()  # its crawl processes inherit it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", *args],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True,
            env={**os.environ, **self.mark},
        )  # fmt: skip

    def crawl_processes(self) -> list[int]:
        """Return the daemon's crawl processes still alive, orphans included."""
        return marked(self.mark, command=b"crawler")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        self.log.flush()
        return (self.folder / "daemon.log").read_text(encoding="utf-8")

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def daemons() -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(folder: Path, *args: str) -> Daemon:
        daemon = Daemon(folder, *args)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.close()


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def query(folder: Path, sql: str, *params: object) -> list[tuple]:
    """Query the archive; before the daemon has made it, there is nothing to find."""
    path = folder / "archive.db"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []
        raise


def flagged_titles(folder: Path) -> set[str]:
    rows = query(folder, "SELECT a.title FROM flags f JOIN articles a ON a.id = f.article_id")
    return {title for (title,) in rows}


def polls_within(trigger: object, seconds: float) -> int:
    """Count a trigger's fire times in its first *seconds*, under a frozen clock.

    The clock is passed in, never waited for: each fire time is asked for at the moment of
    the one before, as the scheduler asks once that one has run.
    """
    now = datetime.now(UTC)
    first = trigger.get_next_fire_time(None, now)  # type: ignore[attr-defined]
    fire, count = first, 0
    while fire is not None and fire < first + timedelta(seconds=seconds):
        count += 1
        fire = trigger.get_next_fire_time(fire, fire)  # type: ignore[attr-defined]
    return count


def schedule_triggers(folder: Path) -> dict[str, str]:
    return dict(query(folder, "SELECT source, trigger FROM schedule"))


def test_each_source_runs_on_its_interval_and_a_new_story_is_flagged_promptly(
    tmp_path: Path, newswire: Newswire, daemons
) -> None:
    fast, _slow = LiveFeed(newswire, "/fast.xml"), LiveFeed(newswire, "/slow.xml")
    config = write_config(
        tmp_path,
        [{"name": "fast", "url": newswire.url("/fast.xml"), "interval": "2s"},
         {"name": "slow", "url": newswire.url("/slow.xml"), "interval": "6s"}],
    )  # fmt: skip
    # The trigger the daemon gives each source, under a frozen clock: in 12 s the 2 s source
    # is polled six times and the 6 s source twice (this test slept 12 s to count them).
    triggers = {
        source.name: trigger_for(source, source.interval) for source in load(config).sources
    }
    assert {name: polls_within(trigger, 12) for name, trigger in triggers.items()} == {
        "fast": 6,
        "slow": 2,
    }
    daemon = daemons(tmp_path)
    wait_for(lambda: newswire.requests_for("/slow.xml") >= 1, 30, "the first crawl")
    # The daemon scheduled each source on its own interval, with that trigger.
    wait_for(lambda: schedule_triggers(tmp_path) == {"fast": "every 2s", "slow": "every 6s"},
             10, "the schedule of both sources")  # fmt: skip
    polled_before = newswire.requests_for("/fast.xml")
    added = time.monotonic()
    fast.add("Putin and Kim Jong Un sign a new agreement in Pyongyang")
    wait_for(lambda: flagged_titles(tmp_path), 2 + 10, "the new story to be flagged")
    assert time.monotonic() - added <= 2 + 10
    # Only a later poll of the fast feed, on its own schedule, could find the new story.
    assert newswire.requests_for("/fast.xml") > polled_before
    assert newswire.requests_for("/slow.xml") <= newswire.requests_for("/fast.xml")
    assert daemon.process.poll() is None, daemon.output()


# Alone: its rounds are timed against real intervals, and in 817921c's clean-clone run it
# found 7 of 12 sources in one round with the SIGKILL and reader tests beside it.
@pytest.mark.alone
def test_sources_due_within_their_jitter_are_crawled_in_one_run(
    tmp_path: Path, newswire: Newswire, daemons
) -> None:
    # Issue 7: jitter spreads a round of sources over a second here (up to 30 s in use). The
    # first to fire took every worker and the rest waited for that crawl, so one round took
    # two or three crawls in a row; at 2,000 sources that doubled a cycle's time.
    names = [f"wire-{number}" for number in range(12)]
    for name in names:
        LiveFeed(newswire, f"/{name}.xml").add(f"Story of {name}")
    write_config(
        tmp_path, [{"name": name, "url": newswire.url(f"/{name}.xml"), "interval": "10s"}
                   for name in names],
    )  # fmt: skip
    daemon = daemons(tmp_path)
    finished = "SELECT sources FROM runs WHERE status != 'running' ORDER BY id"
    # The first round's times come from APScheduler's own trigger, the next from ours.
    wait_for(lambda: len(query(tmp_path, finished)) >= 2, 45, "a round after the first")
    rounds = [sorted(json.loads(sources)) for (sources,) in query(tmp_path, finished)]
    assert rounds[:2] == [sorted(names)] * 2, rounds
    assert daemon.process.poll() is None, daemon.output()


def test_sigterm_during_a_crawl_stops_cleanly_within_15_seconds(
    tmp_path: Path, newswire: Newswire, daemons
) -> None:
    feed = LiveFeed(newswire, "/feed.xml")
    feed.add("Lavrov lands in Pyongyang for talks", slow=60)  # the crawl hangs on this page
    write_config(
        tmp_path,
        [{"name": "wire", "url": newswire.url("/feed.xml"), "interval": "2s", "timeout": 120}],
    )
    daemon = daemons(tmp_path)
    wait_for(lambda: any(hit.path.startswith("/story/") for hit in newswire.hits), 30,
             "a crawl to be fetching the slow page")  # fmt: skip
    sent = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=20) == 0, daemon.output()
    assert time.monotonic() - sent < 15
    assert daemon.crawl_processes() == []
    assert query(tmp_path, "PRAGMA integrity_check") == [("ok",)]
    assert ("interrupted",) in query(tmp_path, "SELECT status FROM runs")
    assert "wirewatch run stopped" in daemon.output()
    # The crawl left its hung page when told to stop, and needed no SIGKILL.
    assert "did not stop within" not in daemon.output()


def test_a_hung_source_is_killed_at_the_hard_timeout_and_the_next_cycle_runs(
    tmp_path: Path, newswire: Newswire, daemons
) -> None:
    newswire.route("/hang.xml", Reply.xml(rss([]), delay=60))
    write_config(
        tmp_path,
        [{"name": "hang", "url": newswire.url("/hang.xml"), "interval": "2s", "timeout": 120}],
        crawl={"cycle_timeout": 3},
    )
    daemon = daemons(tmp_path)
    wait_for(lambda: len(query(tmp_path, "SELECT 1 FROM runs WHERE status = 'timeout'")) >= 2,
             40, "two crawls to time out")  # fmt: skip
    assert daemon.process.poll() is None
    # The next cycle ran after the kill (its child may still be starting, so wait for it).
    wait_for(lambda: newswire.requests_for("/hang.xml") >= 2, 20, "the next cycle's request")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=20) == 0
    assert daemon.crawl_processes() == []


def test_sighup_applies_a_new_source_and_refuses_a_broken_config(
    tmp_path: Path, newswire: Newswire, daemons
) -> None:
    LiveFeed(newswire, "/one.xml")
    added = LiveFeed(newswire, "/two.xml")
    added.add("Moscow and Pyongyang open a rail link")
    config = write_config(
        tmp_path, [{"name": "one", "url": newswire.url("/one.xml"), "interval": "2s"}]
    )
    daemon = daemons(tmp_path)
    wait_for(lambda: newswire.requests_for("/one.xml") >= 1, 30, "the first crawl")
    good = config.read_text(encoding="utf-8")
    config.write_text(good.replace("interval: 2s", "interval: soon"), encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in daemon.output(), 10, "the broken config to be refused")
    assert "sources[0].interval: 'soon' is not a duration" in daemon.output()
    data = yaml.safe_load(good)
    data["sources"].append({"name": "two", "url": newswire.url("/two.xml"), "kind": "feed",
                            "interval": "2s", "max_age": "3650d"})  # fmt: skip
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: flagged_titles(tmp_path), 20, "the new source's story to be flagged")
    assert "config reloaded: 1 sources added" in daemon.output()
    # The old source kept its schedule. Its next poll may still be starting in its own
    # child when the new source's story lands, so wait for it rather than race it.
    wait_for(lambda: newswire.requests_for("/one.xml") >= 2, 20, "the old source's next poll")


def test_a_second_daemon_on_the_same_archive_exits_2_naming_the_first(
    tmp_path: Path, newswire: Newswire, daemons
) -> None:
    LiveFeed(newswire, "/feed.xml")
    write_config(tmp_path, [{"name": "wire", "url": newswire.url("/feed.xml"), "interval": "5s"}])
    first = daemons(tmp_path)
    wait_for(lambda: newswire.requests_for("/feed.xml") >= 1, 30, "the first daemon")
    second = run_cli("run", cwd=tmp_path, timeout=30)
    assert second.code == 2
    assert f"wirewatch run (PID {first.process.pid})" in second.err
    assert len(second.err.splitlines()) == 1
    # A hand or cron crawl is refused too while the daemon owns the archive.
    by_hand = run_cli("crawl", cwd=tmp_path, timeout=30)
    assert by_hand.code == 2 and "collects this archive already" in by_hand.err


def test_overlapping_crawls_from_cron_wait_for_each_other(
    tmp_path: Path, newswire: Newswire
) -> None:
    feed = LiveFeed(newswire, "/feed.xml")
    feed.add("Kim Jong Un visits Moscow", slow=3)
    write_config(tmp_path, [{"name": "wire", "url": newswire.url("/feed.xml")}])
    command = [sys.executable, "-m", "monitor", "crawl"]
    first = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: (tmp_path / "archive.db.lock").exists(), 20, "the first crawl's lock")
        time.sleep(1)
        second = run_cli("crawl", cwd=tmp_path, timeout=60)
        _out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
    assert first.returncode == 0, err
    assert second.code == 0, second.err
    assert "waiting up to 600s for wirewatch crawl (PID" in second.err
    assert query(tmp_path, "SELECT count(*) FROM articles") == [(1,)]
    gave_up = LiveFeed(newswire, "/other.xml")
    gave_up.add("Shoigu in Pyongyang", slow=6)
    write_config(
        tmp_path, [{"name": "other", "url": newswire.url("/other.xml")}], name="other.yaml"
    )
    slow = subprocess.Popen([*command[:3], "--config", "other.yaml", "crawl"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(lambda: newswire.requests_for("/other.xml") >= 1, 30, "the slow crawl")
        impatient = run_cli(
            "--config", "other.yaml", "crawl", "--wait", "1", cwd=tmp_path, timeout=60
        )
    finally:
        slow.wait(timeout=60)
    assert impatient.code == 2
    assert "gave up waiting after 1s" in impatient.err


def test_status_shows_the_daemon_and_the_next_runs(
    tmp_path: Path, newswire: Newswire, daemons
) -> None:
    LiveFeed(newswire, "/feed.xml")
    write_config(tmp_path, [{"name": "wire", "url": newswire.url("/feed.xml"), "interval": "1h"}])
    daemon = daemons(tmp_path, "--log-format", "json")
    wait_for(lambda: "crawl run 1" in daemon.output(), 30, "the first crawl")
    report = json.loads(run_cli("status", "--format", "json", cwd=tmp_path).out)
    assert report["daemon"]["running"] and report["daemon"]["pid"] == daemon.process.pid
    (wire,) = report["sources"]
    assert wire["state"] == "ok" and wire["next_run"] > wire["last_success"]
    text = run_cli("status", cwd=tmp_path).out
    assert f"Daemon: running, PID {daemon.process.pid}" in text
    lines = [json.loads(line) for line in daemon.output().splitlines()]
    summary = next(line for line in lines if line["message"].startswith("crawl run 1"))
    assert summary["run_id"] == 1 and summary["sources"] == ["wire"] and summary["level"] == "info"
    daemon.signal(signal.SIGINT)
    assert daemon.wait(timeout=20) == 0
    assert "Daemon: not running" in run_cli("status", cwd=tmp_path).out


def test_metrics_are_served_for_prometheus(tmp_path: Path, newswire: Newswire, daemons) -> None:
    feed = LiveFeed(newswire, "/feed.xml")
    feed.add("Putin and Kim Jong Un meet in Pyongyang")
    write_config(tmp_path, [{"name": "wire", "url": newswire.url("/feed.xml"), "interval": "1h"}])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemons(tmp_path, "--metrics-port", str(port))
    wait_for(lambda: query(tmp_path, "SELECT status FROM runs") == [("ok",)], 30, "a whole crawl")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert 'wirewatch_articles_total{source="wire"} 1.0' in text
    assert 'wirewatch_flags_total{source="wire",topic="russia-dprk"} 1.0' in text
    assert 'wirewatch_crawls_total{source="wire",status="ok"}' in text
    assert 'wirewatch_last_success_age_seconds{source="wire"}' in text


def test_a_daemon_with_a_broken_config_does_not_start(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("sources: [{name: x, url: nowhere, kind: feed}]\n")
    result = run_cli("run", cwd=tmp_path, timeout=30)
    assert result.code == 2
    assert result.err.startswith("config.yaml: sources[0].url: 'nowhere' is not an http(s) URL")


@pytest.mark.parametrize(
    ("line", "problem"),
    [("*/15 * * * *", None), ("0 8 * * 1-5", None), ("every hour", "is not a 5-field cron line"),
     ("61 * * * *", "is not a valid cron line")],
)  # fmt: skip
def test_cron_lines_are_checked(line: str, problem: str | None) -> None:
    found = cron_problem(line, "Asia/Seoul")
    assert (found is None) if problem is None else (problem in (found or ""))


def test_an_adaptive_interval_follows_the_publishing_rate_within_bounds() -> None:
    assert adaptive_interval(7 * 24) == 3600  # an item an hour: poll hourly
    assert adaptive_interval(10_000) == 300  # never more often than every 5 minutes
    assert adaptive_interval(0) == 86400  # never less often than daily


def test_interval_jitter_does_not_add_up_over_rounds() -> None:
    # Issue 7: APScheduler's IntervalTrigger adds each round's jitter to the next, so sources
    # on one interval drifted apart and a 2,000-source round became several crawls.
    start = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    trigger = SteadyIntervalTrigger(seconds=600, jitter=30, start_date=start)
    fire = trigger.get_next_fire_time(None, start)
    for round_ in range(1, 1001):
        fire = trigger.get_next_fire_time(fire, fire)
        offset = (fire - start).total_seconds() - round_ * 600
        assert 0 <= offset <= 30, (round_, offset)


def test_a_source_that_stops_publishing_is_shown_as_silent(tmp_path: Path) -> None:
    from monitor.archive import Archive, RunStatus, SourceRef
    from monitor.records import ArticleRecord
    from monitor.review import sources_status

    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    with Archive.open(tmp_path / "a.db") as archive:
        for hour in range(10):
            when = now - timedelta(hours=48 - hour)
            run = archive.start_run([SourceRef("wire", "feed", "http://127.0.0.1/")], when, 1)
            archive.record_feed(run, "wire", 1)
            archive.add_article(
                ArticleRecord(source="wire", key=f"k{hour}", url=f"http://127.0.0.1/{hour}", guid=None, title="t", summary="", body=f"text {hour}", published=None, published_raw=None, fetched=when.strftime("%Y-%m-%dT%H:%M:%SZ"), language="en", extract_error=None, run_id=run), []
            )  # fmt: skip
            archive.finish_run(run, RunStatus.OK, when)
        (quiet,) = sources_status(archive, now=now)
        (recent,) = sources_status(archive, now=now - timedelta(hours=37))
    assert quiet["state"] == "silent"  # hourly stories, then nothing for 39 hours
    assert recent["state"] == "ok"
