"""End to end: real Scrapy crawls in a child process against a real local HTTP server."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.collection.children import stop_process_group
from monitor.collection.cycle import AFTER_CRAWL, Aftermath, run_cycle
from monitor.collection.result import CycleResult
from monitor.config import load
from monitor.newswire import Newswire, Reply
from monitor.procmark import marked, new_mark

from .conftest import article_page, rss, run_cli, write_config

RELATIONS = [
    "Russian President Vladimir Putin arrived in Pyongyang early on Wednesday, the Kremlin said.",
    "He was met at the airport by Kim Jong Un, and the two are expected to sign a defence pact.",
]
MISSILE = [
    "North Korea fired a short-range ballistic missile into the sea on Tuesday.",
    "South Korea's military said it was tracking further launch preparations.",
]


def closed_port() -> int:
    """Return a port on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def publish_good_sources(wire: Newswire) -> None:
    wire.route(
        "/good/feed.xml",
        Reply.xml(
            rss(
                [
                    {
                        "title": "Putin lands in Pyongyang",
                        "link": wire.url("/good/putin.html") + "?utm_source=rss",
                        "guid": "good-1",
                        "description": "The Russian leader is on a state visit.",
                        "pubDate": "Wed, 19 Jun 2024 01:00:00 +0900",
                    },
                    {
                        "title": "Missile launch",
                        "link": wire.url("/good/missile.html"),
                        "guid": "good-2",
                        "description": "A launch off the east coast.",
                    },
                    {
                        "title": "Lavrov flies to Pyongyang",
                        "link": wire.url("/good/gone.html"),
                        "guid": "good-3",
                        "description": "Lavrov flew to Pyongyang for talks.",
                    },
                ]
            )
        ),
    )
    wire.route(
        "/good/putin.html",
        Reply.html(
            article_page(
                "Putin lands in Pyongyang",
                RELATIONS,
                comments=["What about the football results?"],
                canonical=wire.url("/good/putin.html"),
            )
        ),
    )
    wire.route(
        "/good/missile.html",
        Reply.html(
            article_page(
                "Missile launch", MISSILE, comments=["Russia and North Korea are friends now."]
            )
        ),
    )
    wire.route(
        "/atom/feed.xml",
        Reply.xml(
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
            "<entry><title>Atom story</title><id>tag:a,2025:1</id>"
            f'<link href="{wire.url("/atom/1.html")}"/>'
            "<updated>2025-07-12T01:30:00Z</updated><summary>Short.</summary></entry></feed>"
        ),
    )
    wire.route(
        "/atom/1.html",
        Reply.html(article_page("Atom story", ["A quiet day in the harbour, officials said."])),
    )


BROKEN = {
    "http-500": ("/broken/500.xml", Reply(b"oops", status=500), "http", "HTTP 500"),
    "http-404": ("/broken/404.xml", Reply(b"nope", status=404), "http", "HTTP 404"),
    "slow": ("/broken/slow.xml", Reply.xml(rss([]), delay=4), "timeout", ""),
    "malformed": (
        "/broken/malformed.xml",
        Reply.xml('<?xml version="1.0"?><rss version="2.0"><channel><title>x</ti'),
        "malformed",
        "no entries",
    ),
    "html-page": (
        "/broken/page.xml",
        Reply.html("<!DOCTYPE html><html><body><h1>Welcome!</h1></body></html>"),
        "not_a_feed",
        "HTML page",
    ),
}


# One worker runs this module, so its module fixture is built once (pytest-xdist).
pytestmark = pytest.mark.xdist_group("crawl")


def test_under_xdist_this_module_runs_whole_on_one_worker(request: pytest.FixtureRequest) -> None:
    """The costly module fixtures (here, test_corpus, test_review, ...) are made once only if
    --dist loadgroup keeps each module on one worker. pytest 9.2 broke that without a word
    (pytest-xdist #1386): the group's suffix never reached the node ID. This says so."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not running under pytest -n with --dist loadgroup")
    assert request.node.nodeid.endswith("@crawl"), request.node.nodeid


@pytest.fixture(scope="module")
def wire() -> Iterator[Newswire]:
    with Newswire() as server:
        publish_good_sources(server)
        for path, reply, _, _ in BROKEN.values():
            server.route(path, reply)
        yield server


@pytest.fixture(scope="module")
def crawled(
    wire: Newswire, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[CycleResult]]:
    """Two crawls of every source, good and broken; returns the config and both results."""
    folder = tmp_path_factory.mktemp("crawl")
    sources = [
        {"name": "good", "url": wire.url("/good/feed.xml")},
        {"name": "atom", "url": wire.url("/atom/feed.xml")},
        *({"name": name, "url": wire.url(path)} for name, (path, _, _, _) in BROKEN.items()),
        {"name": "refused", "url": f"http://127.0.0.1:{closed_port()}/feed.xml"},
    ]
    sources[2 + list(BROKEN).index("slow")]["timeout"] = 1
    path = write_config(
        folder, sources, crawl={"user_agent": "wirewatch-test/1.0 (+http://127.0.0.1/)"}
    )
    config = load(path)
    results = [run_cycle(config, timeout=60), run_cycle(config, timeout=60)]
    return path, results


def query(config_path: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(load(config_path).archive) as db:
        return db.execute(sql, params).fetchall()


def test_a_failing_source_does_not_stop_the_others(crawled) -> None:
    _, (first, _) = crawled
    outcomes = {outcome.source: outcome for outcome in first.outcomes}
    assert first.status == "ok"
    assert (outcomes["good"].status, outcomes["good"].new) == ("ok", 3)
    assert (outcomes["atom"].status, outcomes["atom"].new) == ("ok", 1)
    for name, (_, _, error_class, words) in BROKEN.items():
        assert outcomes[name].status == "failed", name
        assert outcomes[name].error_class == error_class, (name, outcomes[name])
        assert words in (outcomes[name].error or ""), (name, outcomes[name])
    assert outcomes["refused"].error_class == "refused"


def test_source_health_records_the_last_error(crawled) -> None:
    path, _ = crawled
    rows = {
        name: (failures, error_class)
        for name, failures, error_class in query(
            path, "SELECT name, failures, last_error_class FROM sources"
        )
    }
    assert rows["good"] == (0, None)
    assert rows["http-500"] == (2, "http")  # two crawls, two failures


def test_a_second_crawl_adds_nothing_and_fetches_no_page_again(crawled, wire: Newswire) -> None:
    path, (_, second) = crawled
    assert second.new == 0
    assert query(path, "SELECT count(*) FROM articles") == [(4,)]
    assert query(path, "SELECT count(DISTINCT url) FROM articles") == [(4,)]
    assert wire.requests_for("/good/feed.xml") == 2
    assert wire.requests_for("/good/putin.html") == 1
    assert wire.requests_for("/good/missile.html") == 1


def test_articles_are_stored_with_canonical_url_text_and_utc_time(crawled, wire: Newswire) -> None:
    path, _ = crawled
    ((url, body, published, language, error),) = query(
        path,
        "SELECT url, body, published, language, extract_error FROM articles WHERE title = ?",
        "Putin lands in Pyongyang",
    )
    assert url == wire.url("/good/putin.html")  # no utm_source
    assert body == "\n".join(RELATIONS)  # no headline, no comments
    assert published == "2024-06-18T16:00:00Z"
    assert language == "en"
    assert error is None


def test_an_article_page_that_fails_keeps_the_feed_summary(crawled) -> None:
    path, _ = crawled
    ((body, error),) = query(
        path,
        "SELECT body, extract_error FROM articles WHERE title = ?",
        "Lavrov flies to Pyongyang",
    )
    assert body == "Lavrov flew to Pyongyang for talks."
    assert "HTTP 404" in error


def test_only_stories_about_the_topic_are_flagged(crawled) -> None:
    path, (first, _) = crawled
    flagged = query(
        path,
        "SELECT a.title, f.topic, f.snippet FROM flags f JOIN articles a ON a.id = f.article_id "
        "ORDER BY a.title DESC",
    )
    assert [(title, topic) for title, topic, _ in flagged] == [
        ("Putin lands in Pyongyang", "russia-dprk"),
        ("Lavrov flies to Pyongyang", "russia-dprk"),
    ]
    assert flagged[0][2] == RELATIONS[0]
    assert first.flagged == 2


def test_requests_carry_the_configured_user_agent(crawled, wire: Newswire) -> None:
    agents = {hit.headers.get("User-Agent") for hit in wire.hits if hit.path.startswith("/good/")}
    assert agents == {"wirewatch-test/1.0 (+http://127.0.0.1/)"}


def test_the_crawl_command_prints_a_line_per_source_and_exits_0(
    tmp_path: Path, newswire: Newswire
) -> None:
    publish_good_sources(newswire)
    newswire.route("/down.xml", Reply(b"", status=503))
    write_config(
        tmp_path,
        [
            {"name": "good", "url": newswire.url("/good/feed.xml")},
            {"name": "down", "url": newswire.url("/down.xml")},
        ],
    )
    result = run_cli("crawl", cwd=tmp_path)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    good = next(line for line in lines if line.startswith("good"))
    down = next(line for line in lines if line.startswith("down"))
    assert good.split()[:3] == ["good", "3", "2"]
    assert "http: HTTP 503 Service Unavailable" in down
    assert "3 new articles, 2 flagged, 1 of 2 sources failed" in result.out

    as_json = json.loads(run_cli("crawl", "good", "--format", "json", cwd=tmp_path).out)
    assert as_json["status"] == "ok"
    assert [source["source"] for source in as_json["sources"]] == ["good"]
    assert as_json["sources"][0]["new"] == 0


def test_a_crawl_that_reaches_no_source_exits_3_and_asks_first_whether_it_is_offline(
    tmp_path: Path, newswire: Newswire
) -> None:
    """Issue 13: 22 of 22 sources failed offline, and crawl exited 0 with "status": "ok"."""
    write_config(
        tmp_path,
        [
            {"name": "one", "url": f"http://127.0.0.1:{closed_port()}/feed.xml"},
            {"name": "two", "url": f"http://127.0.0.1:{closed_port()}/feed.xml"},
        ],
    )
    result = run_cli("crawl", "--format", "json", cwd=tmp_path)
    assert result.code == 3, result.err
    assert result.err.startswith("wirewatch: no source was reachable: is this machine offline?")
    assert "(2 of 2 failed before any server answered: refused 2)" in result.err
    report = json.loads(result.out)
    assert report["status"] == "failed" and report["failed"] == 2
    assert report["error"].startswith("no source was reachable")
    # The run itself went well, and each source's failure is counted as ever.
    assert query(tmp_path / "config.yaml", "SELECT status, failed FROM runs") == [("ok", 2)]

    # Servers that answer, all with errors: not offline, but still nothing read.
    newswire.route("/down.xml", Reply(b"", status=503))
    write_config(tmp_path, [{"name": "down", "url": newswire.url("/down.xml")}])
    table = run_cli("crawl", cwd=tmp_path)
    assert table.code == 3
    assert "http: HTTP 503 Service Unavailable" in table.out
    assert table.err == (
        "wirewatch: no source could be read: 1 of 1 failed (http 1); each source is tried "
        "again when it is next due\n"
    )


def test_the_steps_after_a_crawl_run_in_order_once_the_run_is_recorded(
    tmp_path: Path, wire: Newswire
) -> None:
    config = load(write_config(tmp_path, [{"name": "good", "url": wire.url("/good/feed.xml")}]))
    seen: list[tuple[str, object]] = []

    def first(after: Aftermath) -> None:
        (status,) = after.archive.db.execute("SELECT status FROM runs").fetchone()
        seen.append(("first", status))

    def second(after: Aftermath) -> None:
        grouped = after.archive.db.execute(
            "SELECT count(*) FROM articles WHERE cluster_id IS NOT NULL"
        ).fetchone()[0]
        seen.append(("second", grouped))

    result = run_cycle(config, timeout=60, steps=[first, second])
    assert result.status == "ok" and result.new == 3
    # The run was settled before the steps; without group_copies, no story was grouped.
    assert seen == [("first", "ok"), ("second", 0)]
    assert [step.__name__ for step in AFTER_CRAWL] == [
        "group_copies",
        "send_alerts",
        "check_health",
        "match_sanctions",
        "check_coverage",
        "truncate_wal",
    ]


def test_crawling_an_unknown_source_exits_2_naming_the_known_ones(tmp_path: Path) -> None:
    write_config(tmp_path, [{"name": "good", "url": "http://127.0.0.1:9/feed.xml"}])
    result = run_cli("crawl", "goood", cwd=tmp_path)
    assert result.code == 2
    assert result.err == "wirewatch: unknown source 'goood' (the sources in config.yaml: good)\n"


def test_a_hung_crawl_is_killed_at_the_hard_timeout(tmp_path: Path, newswire: Newswire) -> None:
    publish_good_sources(newswire)
    newswire.route("/hang.xml", Reply.xml(rss([]), delay=60))
    write_config(
        tmp_path,
        [
            {"name": "good", "url": newswire.url("/good/feed.xml")},
            {"name": "hang", "url": newswire.url("/hang.xml"), "timeout": 120},
        ],
        crawl={"cycle_timeout": 3},
    )
    started = time.monotonic()
    mark = new_mark()
    result = run_cli("crawl", "--format", "json", cwd=tmp_path, timeout=60, env=mark)
    elapsed = time.monotonic() - started
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["status"] == "timeout"
    assert elapsed < 3 + 10
    hang = next(source for source in report["sources"] if source["source"] == "hang")
    assert hang["status"] == "interrupted"
    assert "killed after the 3s cycle_timeout" in result.err
    # Its child left the hung download and stopped on SIGTERM: SIGKILL was never needed.
    assert "did not stop within" not in result.err
    assert marked(mark) == [], "a crawl child outlived its timeout"
    (status,) = query(
        tmp_path / "config.yaml", "SELECT status FROM runs WHERE id = ?", report["run_id"]
    )
    assert status == ("timeout",)


def test_a_child_that_ignores_sigterm_is_killed_and_the_log_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, sys, time\n"
         "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint(flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline() == b"\n"
        with caplog.at_level(logging.WARNING, logger="monitor.collection.children"):
            stop_process_group(stubborn, grace=0.5)
        assert stubborn.returncode == -signal.SIGKILL
        assert f"crawl process {stubborn.pid} did not stop within 0.5s of SIGTERM" in caplog.text
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
        stubborn.wait(timeout=10)
        assert stubborn.stdout is not None
        stubborn.stdout.close()


def test_robots_txt_is_obeyed_for_article_pages(tmp_path: Path, newswire: Newswire) -> None:
    publish_good_sources(newswire)
    newswire.route(
        "/robots.txt",
        Reply(
            b"User-agent: *\nDisallow: /good/putin.html\n", headers={"Content-Type": "text/plain"}
        ),
    )
    write_config(tmp_path, [{"name": "good", "url": newswire.url("/good/feed.xml")}])
    assert run_cli("crawl", cwd=tmp_path).code == 0
    assert newswire.requests_for("/good/putin.html") == 0
    ((body, error),) = query(
        tmp_path / "config.yaml",
        "SELECT body, extract_error FROM articles WHERE title = 'Putin lands in Pyongyang'",
    )
    assert body == "The Russian leader is on a state visit."
    assert "robots.txt forbids" in error


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def test_sigterm_stops_a_crawl_cleanly_and_the_next_crawl_completes(
    tmp_path: Path, newswire: Newswire
) -> None:
    publish_good_sources(newswire)
    slow_feed = rss([{"title": "Slow story", "link": newswire.url("/slow/1.html"), "guid": "s1"}])
    newswire.route("/slow/feed.xml", Reply.xml(slow_feed))
    slow_page = article_page("Slow story", ["Lavrov and Choe Son Hui met in Wonsan."])
    newswire.route("/slow/1.html", Reply.html(slow_page, delay=60))
    config = write_config(
        tmp_path,
        [
            {"name": "good", "url": newswire.url("/good/feed.xml")},
            {"name": "slow", "url": newswire.url("/slow/feed.xml"), "timeout": 120},
        ],
    )
    mark = new_mark()
    crawl = subprocess.Popen(
        [sys.executable, "-m", "monitor", "crawl"],
        cwd=tmp_path,
        env={**os.environ, **mark},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: newswire.requests_for("/slow/1.html") > 0, 60, "the slow page request")
        started = time.monotonic()
        crawl.send_signal(signal.SIGTERM)
        _, err = crawl.communicate(timeout=30)
    finally:
        if crawl.poll() is None:
            os.killpg(crawl.pid, signal.SIGKILL)
            crawl.wait(timeout=10)
    assert crawl.returncode == 130
    assert time.monotonic() - started < 15
    assert err == "wirewatch: crawl interrupted; the run is recorded as interrupted\n"
    assert marked(mark) == [], "the crawl child outlived the SIGTERM"
    assert query(config, "SELECT status FROM runs") == [("interrupted",)]
    assert query(config, "PRAGMA integrity_check") == [("ok",)]

    newswire.route("/slow/1.html", Reply.html(slow_page))
    assert run_cli("crawl", cwd=tmp_path).code == 0
    titles = sorted(title for (title,) in query(config, "SELECT title FROM articles"))
    assert titles == [
        "Lavrov flies to Pyongyang",
        "Missile launch",
        "Putin lands in Pyongyang",
        "Slow story",
    ]
