"""Clocks and time zones: the host's zone and DST changes shift neither the UTC times stored
nor the cron schedules.

Crawls run as real ``wirewatch`` subprocesses with ``TZ`` set to Asia/Seoul, Europe/Moscow
and UTC; cron fire times are computed with the daemon's own trigger, with times passed in.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.collection.children import stop_process_group
from monitor.collection.triggers import cron_trigger, trigger_for
from monitor.config import load
from monitor.newswire import Newswire, Reply
from monitor.timeutil import to_text, utcnow
from tests.conftest import REPO, rss, run_cli, write_config

HOST_ZONES = ("UTC", "Asia/Seoul", "Europe/Moscow")
FOREIGN_ZONES = HOST_ZONES[1:]
TIMEOUT = 60  # seconds for a subprocess or a wait
PORTS_TOPIC = {
    "ports": {
        "description": "Everything about harbours",
        "entities": {"harbour": {"en": ["harbour"]}},
        "rule": "harbour",
        "threshold": 1,
    }
}
# How a feed writes a date, and the UTC time wirewatch must store for it.
DATES = [
    ("Fri, 18 Oct 2024 08:00:00 +0900", "2024-10-17T23:00:00Z"),
    ("Fri, 18 Oct 2024 08:00:00 KST", "2024-10-17T23:00:00Z"),
    ("Fri, 18 Oct 2024 08:00:00 MSK", "2024-10-18T05:00:00Z"),
    ("Fri, 18 Oct 2024 08:00:00 GMT", "2024-10-18T08:00:00Z"),
    ("2024-10-18T08:00:00+09:00", "2024-10-17T23:00:00Z"),
    ("2024-10-18T08:00:00+03:00", "2024-10-18T05:00:00Z"),
    ("2024-10-18T08:00:00", "2024-10-18T08:00:00Z"),  # no zone: UTC, never the host's
    ("Fri, 18 Oct 2024 08:00:00", "2024-10-18T08:00:00Z"),  # regression: was dropped
    ("Sun, 27 Oct 2024 02:30:00 CEST", "2024-10-27T00:30:00Z"),  # the hour clocks went back
    ("Sun, 27 Oct 2024 02:30:00 CET", "2024-10-27T01:30:00Z"),
    ("2024년 10월 18일 08:00", "2024-10-17T23:00:00Z"),
    ("18 октября 2024, 08:00", "2024-10-18T05:00:00Z"),
]


def in_zone(zone: str) -> dict[str, str]:
    return {"TZ": zone}


@pytest.fixture
def dated_feed(newswire: Newswire) -> str:
    """A feed with one story per date form of DATES; return its URL."""
    items = [
        {"title": f"Harbour story {number}", "link": newswire.url(f"/news/{number}.html"),
         "guid": f"story-{number}", "description": f"Harbour news dated {written}.",
         "pubDate": written}
        for number, (written, _) in enumerate(DATES)
    ]  # fmt: skip
    newswire.route("/feed.xml", Reply.xml(rss(items)))
    return newswire.url("/feed.xml")


def stored(archive: Path) -> dict[str, tuple[str | None, str]]:
    with sqlite3.connect(archive) as db:
        rows = db.execute("SELECT title, published, fetched FROM articles").fetchall()
    return {title: (published, fetched) for title, published, fetched in rows}


def crawl_in(folder: Path, url: str, zone: str) -> tuple[str, str]:
    """Crawl the feed into a fresh archive in *folder* under host zone *zone*.

    Returns the UTC times just before and after the crawl.
    """
    folder.mkdir(parents=True)
    source = {"name": "dates", "url": url, "full_text": False}
    write_config(folder, [source], topics=PORTS_TOPIC)
    before = to_text(utcnow() - timedelta(seconds=1))
    result = run_cli("crawl", cwd=folder, env=in_zone(zone), timeout=TIMEOUT)
    after = to_text(utcnow() + timedelta(seconds=1))
    assert result.code == 0, result.err
    return before, after


def test_stored_times_are_the_same_utc_whatever_the_host_zone(
    tmp_path: Path, dated_feed: str
) -> None:
    with ThreadPoolExecutor(len(HOST_ZONES)) as pool:
        windows = dict(
            zip(
                HOST_ZONES,
                pool.map(lambda zone: crawl_in(tmp_path / zone, dated_feed, zone), HOST_ZONES),
                strict=True,
            )
        )
    expected = {f"Harbour story {number}": utc for number, (_, utc) in enumerate(DATES)}
    for zone, (before, after) in windows.items():
        times = stored(tmp_path / zone / "archive.db")
        assert {title: published for title, (published, _) in times.items()} == expected, zone
        for _, fetched in times.values():
            assert fetched.endswith("Z") and before <= fetched <= after, (zone, fetched)


def test_since_windows_and_shown_times_do_not_depend_on_the_host_zone(
    tmp_path: Path, dated_feed: str
) -> None:
    crawl_in(tmp_path / "desk", dated_feed, "Asia/Seoul")
    folder = tmp_path / "desk"
    dates = {f"Harbour story {number}": utc for number, (_, utc) in enumerate(DATES)}

    def titles(*args: str, zone: str) -> set[str]:
        result = run_cli(*args, "--format", "json", cwd=folder, env=in_zone(zone))
        assert result.code == 0, result.err
        data = json.loads(result.out)
        rows = data if isinstance(data, list) else data.get("stories", data.get("results"))
        return {row["title"] for row in rows}

    # A date without an offset is midnight UTC, and an offset is honoured, on any host.
    windows = {
        "2024-10-18": "2024-10-18T00:00:00Z",
        "2024-10-18T06:00+03:00": "2024-10-18T03:00:00Z",
        "2024-10-18T06:00": "2024-10-18T06:00:00Z",
    }
    for since, start in windows.items():
        wanted = {title for title, utc in dates.items() if utc >= start}
        assert 0 < len(wanted) < len(dates)
        for zone in FOREIGN_ZONES:
            assert titles("flagged", "--since", since, zone=zone) == wanted, (since, zone)
    wanted = {title for title, utc in dates.items() if utc >= windows["2024-10-18"]}
    for zone in FOREIGN_ZONES:
        assert titles("search", "harbour", "--since", "2024-10-18", zone=zone) == wanted, zone

    # What people read is UTC, said so, and the same on every host.
    shown = {
        zone: [run_cli(*command, cwd=folder, env=in_zone(zone)).out
               for command in (("flagged",), ("search", "harbour"), ("show", "1"))]
        for zone in ("UTC", "Asia/Seoul")
    }  # fmt: skip
    assert shown["Asia/Seoul"] == shown["UTC"]
    flagged, search, story = shown["UTC"]
    assert "date (UTC)" in flagged and "date (UTC)" in search
    assert "2024-10-17 23:00" in flagged  # the KST story, in UTC
    assert " UTC " in story


def fire_times(trigger: object, start: datetime, count: int) -> list[datetime]:
    """Ask a trigger for its next *count* fire times from *start*, as the scheduler does."""
    times: list[datetime] = []
    previous = None
    now = start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)  # type: ignore[attr-defined]
        assert fire is not None
        if previous is not None:  # the scheduler loops until a fire time is in the future
            assert fire.astimezone(UTC) > previous.astimezone(UTC), (previous, fire)
        times.append(fire.astimezone(UTC))
        previous, now = fire, fire + timedelta(milliseconds=5)
    return times


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Three days around each DST change of 2026, each at 09:00 local: UTC moves by an hour.
NINE_LOCAL = {
    "Europe/Berlin": [
        ("2026-03-28T00:00", ["2026-03-28T08:00", "2026-03-29T07:00", "2026-03-30T07:00"]),
        ("2026-10-24T00:00", ["2026-10-24T07:00", "2026-10-25T08:00", "2026-10-26T08:00"]),
    ],
    "America/New_York": [
        ("2026-03-07T00:00", ["2026-03-07T14:00", "2026-03-08T13:00", "2026-03-09T13:00"]),
        ("2026-10-31T00:00", ["2026-10-31T13:00", "2026-11-01T14:00", "2026-11-02T14:00"]),
    ],
}


def cron_source(tmp_path: Path, **fields: str) -> object:
    """A source as the config loads it, with *fields* such as cron and timezone."""
    source = {"name": "morning", "url": "http://127.0.0.1:9/feed.xml", **fields}
    return load(write_config(tmp_path, [source], topics={})).sources[0]


@pytest.mark.parametrize("zone", NINE_LOCAL)
def test_a_cron_line_fires_at_nine_local_time_across_dst_changes(tmp_path: Path, zone: str) -> None:
    source = cron_source(tmp_path, cron="0 9 * * *", timezone=zone)
    trigger = trigger_for(source, 600.0)  # type: ignore[arg-type]
    for start, expected in NINE_LOCAL[zone]:
        times = fire_times(trigger, utc(start), 3)
        assert times == [utc(text) for text in expected]
        assert {each.astimezone(ZoneInfo(zone)).strftime("%H:%M") for each in times} == {"09:00"}


def test_a_cron_line_without_a_timezone_is_read_in_utc(tmp_path: Path) -> None:
    source = cron_source(tmp_path, cron="0 9 * * *")
    assert source.timezone == "UTC"  # type: ignore[attr-defined]  # the README's default
    times = fire_times(trigger_for(source, 600.0), utc("2026-03-28T12:00"), 3)  # type: ignore[arg-type]
    assert times == [utc("2026-03-29T09:00"), utc("2026-03-30T09:00"), utc("2026-03-31T09:00")]


# Run in a subprocess with another host zone: the fire times it prints must match ours.
FIRE_TIMES_SCRIPT = """
import json, sys
from datetime import datetime, timedelta
from pathlib import Path
from monitor.config import load
from monitor.collection.triggers import trigger_for
start = datetime.fromisoformat(sys.argv[2])
out = {}
for source in load(Path(sys.argv[1])).sources:
    trigger, previous, now, times = trigger_for(source, 600.0), None, start, []
    for _ in range(6):
        fire = trigger.get_next_fire_time(previous, now)
        times.append(fire.isoformat())
        previous, now = fire, fire + timedelta(milliseconds=5)
    out[source.name] = times
print(json.dumps(out))
"""


def test_cron_schedules_are_the_same_whatever_the_host_zone(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [
            {"name": "berlin", "url": "http://127.0.0.1:9/a", "cron": "0 9 * * *",
             "timezone": "Europe/Berlin"},
            {"name": "new-york", "url": "http://127.0.0.1:9/b", "cron": "0 9 * * *",
             "timezone": "America/New_York"},
            {"name": "plain", "url": "http://127.0.0.1:9/c", "cron": "0 9 * * *"},
            {"name": "night", "url": "http://127.0.0.1:9/d", "cron": "30 2 * * *",
             "timezone": "Europe/Berlin"},
        ],
        topics={},
    )  # fmt: skip
    start = "2026-10-23T12:00:00+00:00"
    printed = {}
    for zone in HOST_ZONES:
        done = subprocess.run(
            [sys.executable, "-c", FIRE_TIMES_SCRIPT, str(config), start],
            capture_output=True, text=True, timeout=TIMEOUT, cwd=REPO,
            env={**os.environ, "TZ": zone},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        printed[zone] = {
            name: [datetime.fromisoformat(text).astimezone(UTC) for text in times]
            for name, times in json.loads(done.stdout).items()
        }
    assert printed["Asia/Seoul"] == printed["UTC"] == printed["Europe/Moscow"]
    ours = {
        source.name: fire_times(trigger_for(source, 600.0), datetime.fromisoformat(start), 6)
        for source in load(config).sources
    }
    assert printed["UTC"] == ours
    assert ours["plain"][0] == utc("2026-10-24T09:00")
    assert ours["berlin"][1] == utc("2026-10-25T08:00")  # 09:00 CET, the day clocks go back


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Every half hour of real time, through both passes of the repeated hour.
        ("*/30 * * * *", ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]),
        # 02:30 happens twice that night; it fires at each, then the next night.
        ("30 2 * * *", ["00:30", "01:30", "26T01:30"]),
    ],
)
def test_a_cron_line_in_the_hour_clocks_go_back_never_goes_back_in_time(
    line: str, expected: list[str]
) -> None:
    trigger = cron_trigger(line, "Europe/Berlin")
    times = fire_times(trigger, utc("2026-10-24T23:59"), len(expected))
    wanted = [utc(f"2026-10-{text}" if "T" in text else f"2026-10-25T{text}") for text in expected]
    assert times == wanted


@pytest.fixture
def daemon_in_seoul(tmp_path: Path, newswire: Newswire) -> Iterator[Path]:
    """``wirewatch run`` on a host in Asia/Seoul, with cron sources in Berlin and in UTC."""
    newswire.route("/feed.xml", Reply.xml(rss([])))
    url = newswire.url("/feed.xml")
    write_config(
        tmp_path,
        [{"name": "berlin", "url": url, "cron": "0 9 * * *", "timezone": "Europe/Berlin"},
         {"name": "plain", "url": url + "?plain", "cron": "0 9 * * *"}],
        topics={},
    )  # fmt: skip
    log = (tmp_path / "daemon.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        env={**os.environ, "TZ": "Asia/Seoul"},
    )  # fmt: skip
    try:
        yield tmp_path
    finally:
        stop_process_group(process, grace=20)
        log.close()


def schedule_rows(folder: Path) -> dict[str, tuple[str | None, str]]:
    try:
        with sqlite3.connect(f"file:{folder / 'archive.db'}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT source, next_run, trigger FROM schedule").fetchall()
    except sqlite3.OperationalError:  # not made yet
        return {}
    return {source: (next_run, trigger) for source, next_run, trigger in rows}


def test_the_daemon_schedule_and_status_show_cron_runs_in_utc(daemon_in_seoul: Path) -> None:
    folder = daemon_in_seoul
    deadline = time.monotonic() + TIMEOUT
    rows = schedule_rows(folder)
    while not (len(rows) == 2 and all(next_run for next_run, _ in rows.values())):
        if time.monotonic() > deadline:
            log = (folder / "daemon.log").read_text(encoding="utf-8")
            pytest.fail(f"the daemon wrote no schedule within {TIMEOUT}s: {log}")
        time.sleep(0.2)
        rows = schedule_rows(folder)
    now = utcnow()
    expected = {
        name: to_text(cron_trigger("0 9 * * *", zone).get_next_fire_time(None, now))
        for name, zone in (("berlin", "Europe/Berlin"), ("plain", "UTC"))
    }
    assert {name: next_run for name, (next_run, _) in rows.items()} == expected
    assert rows["berlin"][1] == "cron 0 9 * * * (Europe/Berlin)"
    assert rows["plain"][1] == "cron 0 9 * * * (UTC)"
    assert expected["plain"].endswith("T09:00:00Z")

    for zone in ("Asia/Seoul", "UTC"):
        report = run_cli("status", "--format", "json", cwd=folder, env=in_zone(zone))
        assert report.code == 0, report.err
        shown = {row["name"]: row["next_run"] for row in json.loads(report.out)["sources"]}
        assert shown == expected, zone
        table = run_cli("status", cwd=folder, env=in_zone(zone)).out
        for next_run in expected.values():
            assert next_run[:16].replace("T", " ") in table
