"""Health alerts (issue 16 item 5): every source failing, or one failing too long, is said
once through the topics' alert channels. The decision runs on a passed-in clock; the end to
end tests crawl sources on a closed port of 127.0.0.1 (by ``wirewatch crawl``, run_cycle
and a real ``wirewatch run``) and receive apprise's json:// posts on a local newswire."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import health
from monitor.archive import Archive, RunStatus, SourceRef
from monitor.archive import health_alerts as book
from monitor.archive.health_alerts import Episode, SourceHealth
from monitor.collection.cycle import run_cycle
from monitor.config import HealthSettings, load, parse
from monitor.health import Condition, assess
from monitor.newswire import Newswire, Reply
from monitor.timeutil import utcnow

from .conftest import rss, run_cli, write_config
from .test_daemon import Daemon, query, wait_for

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DEFAULTS = HealthSettings()
HOOK = "/hooks/health"


def failing(name: str, since: datetime, failures: int = 3) -> SourceHealth:
    return SourceHealth(name, since, failures, "http", "HTTP 503 Service Unavailable")


def well(name: str) -> SourceHealth:
    return SourceHealth(name, None, 0, None, None)


def cycle(
    sources: list[SourceHealth], alerted: set[Episode], now: datetime, settings=DEFAULTS
) -> list[str]:
    """Run one decision as the daemon does after a crawl; return the titles raised."""
    verdict = assess(sources, alerted, settings, now)
    alerted.difference_update(verdict.cleared)
    alerted.update(alarm.episode for alarm in verdict.raised)
    return [alarm.title for alarm in verdict.raised]


# The decision, with the clock passed in ------------------------------------------------------


def test_a_source_failing_longer_than_the_limit_alerts_once_not_every_cycle() -> None:
    alerted: set[Episode] = set()
    sources = [failing("wire", T0), well("other")]
    raised = [cycle(sources, alerted, T0 + n * HOUR) for n in range(12)]
    assert [n for n, titles in enumerate(raised) if titles] == [6]  # the limit is 6h
    assert raised[6] == ["[wirewatch] source wire has failed for 6 h"]


def test_the_alert_says_since_when_and_the_last_error() -> None:
    (alarm,) = assess([failing("wire", T0), well("b")], set(), DEFAULTS, T0 + 7 * HOUR).raised
    assert alarm.episode == Episode(Condition.FAILING, "wire", T0)
    assert alarm.body.splitlines()[0] == (
        "source wire has failed for 7 h (since 2026-12-01 06:00 UTC, 3 attempts in a row): "
        "http: HTTP 503 Service Unavailable"
    )


def test_a_source_that_recovers_and_fails_again_alerts_again() -> None:
    alerted: set[Episode] = set()
    assert cycle([failing("wire", T0), well("b")], alerted, T0 + 7 * HOUR)
    assert cycle([failing("wire", T0), well("b")], alerted, T0 + 8 * HOUR) == []
    assert cycle([well("wire"), well("b")], alerted, T0 + 9 * HOUR) == []  # cleared
    assert alerted == set()
    again = T0 + 10 * HOUR
    assert cycle([failing("wire", again), well("b")], alerted, again + 5 * HOUR) == []
    assert cycle([failing("wire", again), well("b")], alerted, again + 6 * HOUR) == [
        "[wirewatch] source wire has failed for 6 h"
    ]


def test_every_source_failing_alerts_once() -> None:
    alerted: set[Episode] = set()
    refused = [
        SourceHealth("a", T0, 1, "refused", "Connection was refused"),
        SourceHealth("b", T0 + timedelta(minutes=1), 1, "dns", "no such host"),
    ]
    first = assess(refused, alerted, DEFAULTS, T0 + timedelta(minutes=2)).raised
    assert [alarm.title for alarm in first] == ["[wirewatch] all 2 sources failed in the last run"]
    assert first[0].body.startswith(
        "all 2 sources failed in the last run: is this machine offline? (refused 1, dns 1)"
    )
    alerted.update(alarm.episode for alarm in first)
    later = [cycle(refused, alerted, T0 + n * timedelta(minutes=10)) for n in range(1, 6)]
    assert later == [[]] * 5
    # One source reads again: the episode ends, and the next time all fail is a new one.
    assert cycle([well("a"), refused[1]], alerted, T0 + HOUR) == []
    assert alerted == set()
    back = [SourceHealth("a", T0 + 2 * HOUR, 1, "refused", "x"), refused[1]]
    assert cycle(back, alerted, T0 + 2 * HOUR) == [
        "[wirewatch] all 2 sources failed in the last run"
    ]


def test_every_source_failing_with_answers_does_not_blame_the_network() -> None:
    sources = [failing("a", T0), failing("b", T0)]
    (alarm,) = [
        a
        for a in assess(sources, set(), DEFAULTS, T0).raised
        if a.episode.condition == "all_failed"
    ]
    assert "offline" not in alarm.body
    assert "none could be read (http 2)" in alarm.body


def test_a_new_archive_with_no_history_raises_nothing() -> None:
    assert assess([], set(), DEFAULTS, T0) == health.Verdict([], [])
    assert assess([well("a"), well("b")], set(), DEFAULTS, T0) == health.Verdict([], [])


def test_each_condition_can_be_turned_off() -> None:
    sources = [failing("a", T0), failing("b", T0)]
    off = HealthSettings(failing_for=None, all_failed=False)
    assert assess(sources, set(), off, T0 + 48 * HOUR).raised == []
    only_all = HealthSettings(failing_for=None)
    raised = assess(sources, set(), only_all, T0 + 48 * HOUR).raised
    assert [alarm.episode.condition for alarm in raised] == [Condition.ALL_FAILED]


def test_a_hostile_error_text_is_quoted_on_one_short_line() -> None:
    source = SourceHealth("a", T0, 2, "http", "bad\r\nX-Injected: yes\x1b[31m" + "z" * 5000)
    (alarm,) = assess([source, well("b")], set(), DEFAULTS, T0 + 7 * HOUR).raised
    first, *rest = alarm.body.splitlines()
    assert rest == ["wirewatch status"]
    assert "\x1b" not in first and "X-Injected: yes" in first
    assert len(first) < 500 and first.endswith("…")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("health:\n  failing_for: 10s\n", "health.failing_for: '10s' is out of range"),
        ("health:\n  failing_for: soon\n", "health.failing_for: 'soon' is not a duration"),
        ("health:\n  all_failed: perhaps\n", "health.all_failed"),
        ("health:\n  failing: 6h\n", "health.failing: unknown key"),
    ],
)
def test_a_bad_health_key_is_named_in_the_error(text: str, problem: str) -> None:
    with pytest.raises(Exception, match=problem.replace(".", r"\.").replace("(", r"\(")):
        parse(text, Path("config.yaml"))


def test_the_health_keys_default_to_six_hours_and_every_source() -> None:
    config = parse("archive: a.db\n", Path("config.yaml"))
    assert (config.health.failing_for, config.health.all_failed) == (6 * 3600.0, True)
    assert parse("health:\n  failing_for: null\n", Path("c.yaml")).health.failing_for is None


# Against the archive: recorded once, kept across a restart ------------------------------------


class Outbox:
    """A notifier that keeps what it is asked to send; fails while ``down`` is set."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.down = False

    def __call__(self, target: str, title: str, body: str) -> str | None:
        if self.down:
            return "the receiver is down"
        self.sent.append((target, title))
        return None


def crawled(path: Path, results: dict[str, str | None], when: datetime) -> None:
    """Record one run in which each source of *results* failed with its error, or read well."""
    with Archive.open(path) as archive:
        run = archive.start_run([SourceRef(name, "feed", "http://x/") for name in results], when, 1)
        for name, error in results.items():
            if error is None:
                archive.record_feed(run, name, 1)
            else:
                archive.record_source_error(run, name, "refused", error, when)
        archive.finish_run(run, RunStatus.OK, when + timedelta(seconds=5))


def check(path: Path, now: datetime, outbox: Outbox, targets=("json://a/", "json://b/")):
    with Archive.open(path) as archive:
        return health.check(archive, ["a", "b"], DEFAULTS, list(targets), now, outbox)


def test_an_episode_is_sent_to_each_target_once_even_after_a_restart(tmp_path: Path) -> None:
    path, outbox = tmp_path / "archive.db", Outbox()
    assert check(path, T0, outbox) == (0, 0)  # a new archive: nothing
    for n in range(3):
        crawled(path, {"a": "refused", "b": "refused"}, T0 + n * HOUR)
        check(path, T0 + n * HOUR + timedelta(minutes=1), outbox)  # each open is a "restart"
    assert outbox.sent == [
        ("json://a/", "[wirewatch] all 2 sources failed in the last run"),
        ("json://b/", "[wirewatch] all 2 sources failed in the last run"),
    ]
    with Archive.open(path) as archive:
        assert [title for title, _ in book.active(archive)] == [
            "[wirewatch] all 2 sources failed in the last run"
        ]
        # The failing streaks began with the first failed run, not the latest one.
        assert {s.name: s.failing_since for s in book.source_health(archive, ["a", "b"])} == {
            "a": T0,
            "b": T0,
        }


def test_a_failed_send_is_tried_again_after_the_next_crawl_and_then_never(tmp_path: Path) -> None:
    path, outbox = tmp_path / "archive.db", Outbox()
    crawled(path, {"a": "refused", "b": None}, T0)
    crawled(path, {"a": "refused", "b": None}, T0 + 7 * HOUR)
    outbox.down = True
    assert check(path, T0 + 7 * HOUR, outbox, ["json://a/"]) == (0, 1)
    outbox.down = False
    assert check(path, T0 + 8 * HOUR, outbox, ["json://a/"]) == (1, 0)
    assert check(path, T0 + 9 * HOUR, outbox, ["json://a/"]) == (0, 0)
    assert outbox.sent == [("json://a/", "[wirewatch] source a has failed for 7 h")]
    # It reads again: the episode is cleared, and status has nothing to show.
    crawled(path, {"a": None, "b": None}, T0 + 10 * HOUR)
    assert check(path, T0 + 10 * HOUR, outbox, ["json://a/"]) == (0, 0)
    with Archive.open(path) as archive:
        assert book.active(archive) == []


def test_without_alert_targets_nothing_is_recorded(tmp_path: Path) -> None:
    path, outbox = tmp_path / "archive.db", Outbox()
    crawled(path, {"a": "refused", "b": "refused"}, T0)
    assert check(path, T0, outbox, targets=()) == (0, 0)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM health_alerts").fetchone() == (0,)


# End to end: real crawls of a closed port, a real apprise json:// receiver ---------------------


def closed_port() -> int:
    """Return a port of 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def desk(tmp_path: Path, wire: Newswire, sources: list[dict[str, object]], health: str) -> Path:
    """Write a config whose topic alerts go to a json:// receiver on *wire*."""
    pytest.importorskip("apprise", reason="alerts need the optional apprise extra")
    wire.route(HOOK, Reply(b"{}", headers={"Content-Type": "application/json"}))
    config = write_config(tmp_path, sources, crawl={"timeout": 3})
    target = wire.url(HOOK).replace("http://", "json://")
    text = config.read_text(encoding="utf-8")
    config.write_text(text + f"alerts:\n  russia-dprk: [{target}]\n{health}", encoding="utf-8")
    return config


def received(wire: Newswire) -> list[dict[str, str]]:
    return [json.loads(hit.body) for hit in wire.hits_for(HOOK)]


def test_every_source_refused_sends_one_alert_however_many_crawls_fail(
    tmp_path: Path, newswire: Newswire
) -> None:
    port = closed_port()
    sources = [{"name": f"wire-{n}", "url": f"http://127.0.0.1:{port}/feed-{n}.xml"}
               for n in range(2)]  # fmt: skip
    config = desk(tmp_path, newswire, sources, "")
    for _ in range(3):
        result = run_cli("--config", str(config), "crawl")
        assert "Traceback" not in result.err
        assert "no source was reachable" in result.err
    (alert,) = received(newswire)
    assert alert["title"] == "[wirewatch] all 2 sources failed in the last run"
    assert "is this machine offline? (refused 2)" in alert["message"]
    status = run_cli("--config", str(config), "status")
    assert "Health: all 2 sources failed in the last run (failing since" in status.out
    listed = json.loads(run_cli("--config", str(config), "status", "--format", "json").out)
    assert [trouble["alert"] for trouble in listed["health"]] == [
        "all 2 sources failed in the last run"
    ]
    assert HOOK not in json.dumps(listed)  # the target is never shown


def test_a_source_failing_past_the_limit_alerts_once_and_again_after_it_recovers(
    tmp_path: Path, newswire: Newswire
) -> None:
    newswire.route("/steady.xml", Reply.xml(rss([{"title": "Steady", "guid": "s1"}])))
    port = closed_port()
    flaky_url = f"http://127.0.0.1:{port}/feed.xml"
    sources = [
        {"name": "steady", "url": newswire.url("/steady.xml"), "full_text": False},
        {"name": "flaky", "url": flaky_url, "full_text": False},
    ]
    config_path = desk(tmp_path, newswire, sources, "health:\n  failing_for: 6h\n")
    start = utcnow()

    def crawl_at(hours: float) -> None:
        run_cycle(load(config_path), clock=lambda: start + hours * HOUR, timeout=60)

    for hours in (0, 3, 7, 8):  # fails from the start: one alert, at 7 h
        crawl_at(hours)
    assert [alert["title"] for alert in received(newswire)] == [
        "[wirewatch] source flaky has failed for 7 h"
    ]
    assert "refused" in received(newswire)[0]["message"]
    # It reads again (the site moves to the newswire), then fails anew: a new episode.
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace(flaky_url, newswire.url("/steady.xml")), "utf-8")
    crawl_at(9)
    config_path.write_text(text, encoding="utf-8")
    for hours in (10, 12, 16, 17):
        crawl_at(hours)
    assert [alert["title"] for alert in received(newswire)] == [
        "[wirewatch] source flaky has failed for 7 h",
        "[wirewatch] source flaky has failed for 6 h",
    ]


@pytest.fixture
def daemon_runs(tmp_path: Path) -> Iterator[Callable[[], Daemon]]:
    """Start ``wirewatch run`` in *tmp_path*; every daemon started is killed at the end."""
    started: list[Daemon] = []

    def start() -> Daemon:
        started.append(Daemon(tmp_path))
        return started[-1]

    yield start
    for daemon in started:
        daemon.close()


def test_the_daemon_alerts_once_and_a_restart_does_not_alert_again(
    tmp_path: Path, newswire: Newswire, daemon_runs
) -> None:
    port = closed_port()
    sources = [{"name": f"wire-{n}", "url": f"http://127.0.0.1:{port}/feed-{n}.xml",
                "interval": "1s"} for n in range(2)]  # fmt: skip
    desk(tmp_path, newswire, sources, "")

    def runs() -> int:
        found = query(tmp_path, "SELECT count(*) FROM runs WHERE finished IS NOT NULL")
        return int(found[0][0]) if found else 0  # no archive yet

    first = daemon_runs()
    wait_for(lambda: runs() >= 3, 60, "three crawls that all fail")
    first.signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0, first.output()
    assert len(received(newswire)) == 1, first.output()
    assert "health alert, sent once to each alert target: all 2 sources" in first.output()
    before = runs()
    second = daemon_runs()
    wait_for(lambda: runs() >= before + 2, 60, "two more failed crawls after the restart")
    second.signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0, second.output()
    assert [alert["title"] for alert in received(newswire)] == [
        "[wirewatch] all 2 sources failed in the last run"
    ]


def test_a_source_never_crawled_keeps_every_source_from_having_failed(tmp_path: Path) -> None:
    path, outbox = tmp_path / "archive.db", Outbox()
    crawled(path, {"a": "refused"}, T0)  # 'wirewatch crawl a': b was never tried
    assert check(path, T0 + timedelta(minutes=1), outbox) == (0, 0)
    crawled(path, {"b": "refused"}, T0 + timedelta(minutes=2))
    assert check(path, T0 + timedelta(minutes=3), outbox, ["json://a/"]) == (1, 0)
    assert outbox.sent == [("json://a/", "[wirewatch] all 2 sources failed in the last run")]
