"""Alerts end to end: the demo's stories crawled from a local newswire, the alerts sent with
apprise's json:// to a webhook receiver on the same local server."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from monitor.demo.stories import load_stories, publish
from monitor.newswire import Hit, Newswire, Reply
from monitor.timeutil import utcnow

from .conftest import run_cli, write_config

pytest.importorskip("apprise", reason="alerts need the optional apprise extra")

HOOK = "/hooks/wirewatch"


class Webhook:
    """The receiving end of alerts: answers 200, or 500 while ``failing`` is set."""

    def __init__(self, wire: Newswire) -> None:
        self.wire = wire
        self.failing = False
        wire.route(HOOK, self.answer)

    def answer(self, hit: Hit) -> Reply:
        if self.failing:
            return Reply(b"busy", status=500, headers={"Content-Type": "text/plain"})
        return Reply(b"{}", headers={"Content-Type": "application/json"})

    def attempts(self) -> int:
        return len(self.wire.hits_for(HOOK))


@pytest.fixture
def desk(newswire: Newswire, tmp_path: Path) -> tuple[Path, Webhook]:
    """The demo's sites on the newswire, and a config whose topic alerts the webhook."""
    sites, stories = load_stories()
    publish(newswire, sites, stories, utcnow())
    hook = Webhook(newswire)
    config = write_config(
        tmp_path,
        [{"name": site.name, "url": newswire.url(site.feed_path())} for site in sites],
    )
    data = config.read_text(encoding="utf-8")
    target = newswire.url(HOOK).replace("http://", "json://")
    config.write_text(data + f"alerts:\n  russia-dprk:\n    - {target}\n", encoding="utf-8")
    return config, hook


def alerts_table(config: Path) -> list[tuple[str, int, str | None]]:
    with sqlite3.connect(config.parent / "archive.db") as db:
        return db.execute("SELECT status, attempts, last_error FROM alerts ORDER BY id").fetchall()


def test_one_alert_per_flagged_story_however_many_outlets_carry_it(desk) -> None:
    config, hook = desk
    result = run_cli("--config", str(config), "crawl")
    assert result.code == 0, result.err
    _, stories = load_stories()
    about = {story.title for story in stories if story.about}
    received = [json.loads(hit.body) for hit in hook.wire.hits_for(HOOK)]
    titles = [alert["title"].removeprefix("[russia-dprk] ") for alert in received]
    # The demo's 14 stories are carried as 18 flagged articles: one alert per story.
    assert sorted(titles) == sorted(about)
    with sqlite3.connect(config.parent / "archive.db") as db:
        (flagged_articles,) = db.execute("SELECT count(*) FROM flags").fetchone()
    assert flagged_articles > len(about)
    assert f"Alerts: {len(about)} sent." in result.out
    putin = next(a for a in received if "Putin lands in Pyongyang" in a["title"])
    assert "3 outlets" in putin["message"]
    assert "http://127.0.0.1" in putin["message"]


def test_a_second_crawl_sends_nothing_again(desk) -> None:
    config, hook = desk
    assert run_cli("--config", str(config), "crawl").code == 0
    first = hook.attempts()
    again = run_cli("--config", str(config), "crawl")
    assert again.code == 0, again.err
    assert hook.attempts() == first
    assert "Alerts:" not in again.out


def test_a_topics_alert_min_score_leaves_the_lower_stories_unalerted(desk) -> None:
    config, hook = desk
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["topics"]["russia-dprk"]["alert_min_score"] = 35
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run_cli("--config", str(config), "crawl")
    assert result.code == 0, result.err
    listed = run_cli("--config", str(config), "flagged", "--format", "json")
    stories = json.loads(listed.out)
    expected = sorted(story["title"] for story in stories if story["score"] >= 35)
    assert 0 < len(expected) < len(stories)  # flagged still lists them all
    received = [json.loads(hit.body) for hit in hook.wire.hits_for(HOOK)]
    assert sorted(a["title"].removeprefix("[russia-dprk] ") for a in received) == expected
    assert f"Alerts: {len(expected)} sent." in result.out


def test_a_failed_send_is_kept_and_retried_then_never_repeated(desk) -> None:
    config, hook = desk
    hook.failing = True
    failed = run_cli("--config", str(config), "crawl")
    assert failed.code == 0, failed.err  # the crawl itself succeeded
    tried = hook.attempts()
    assert tried == 14
    assert "Alerts: 0 sent, 14 failed (tried again after the next crawl" in failed.out
    rows = alerts_table(config)
    assert {status for status, _, _ in rows} == {"failed"}
    assert all(attempts == 1 and error for _, attempts, error in rows)

    status = run_cli("--config", str(config), "status", "--format", "json")
    summary = json.loads(status.out)["alerts"]
    assert summary["failed"] == 14 and summary["sent"] == 0
    # The target's path (which can hold a token) is not shown.
    assert HOOK not in summary["last_failure"]["target"]

    hook.failing = False
    retried = run_cli("--config", str(config), "crawl")
    assert retried.code == 0, retried.err
    assert hook.attempts() == tried + 14
    assert {status for status, _, _ in alerts_table(config)} == {"sent"}
    assert all(attempts == 2 for _, attempts, _ in alerts_table(config))

    assert run_cli("--config", str(config), "crawl").code == 0
    assert hook.attempts() == tried + 14


def test_a_receiver_that_is_down_does_not_stop_the_crawl(desk, newswire: Newswire) -> None:
    config, _ = desk
    data = config.read_text(encoding="utf-8").replace(
        newswire.url(HOOK).replace("http://", "json://"), "json://127.0.0.1:9/closed"
    )
    config.write_text(data, encoding="utf-8")
    result = run_cli("--config", str(config), "crawl")
    assert result.code == 0, result.err
    with sqlite3.connect(config.parent / "archive.db") as db:
        (articles,) = db.execute("SELECT count(*) FROM articles").fetchone()
    assert articles == 45
    assert all(status == "failed" for status, _, _ in alerts_table(config))
    assert "could not be sent" in result.err


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        (
            "alerts:\n  no-such-topic: [json://127.0.0.1:9/x]\n",
            "alerts.no-such-topic: there is no topic 'no-such-topic' (topics: russia-dprk)",
        ),
        (
            "alerts:\n  russia-dprk: [nosuchservice://x]\n",
            "alerts.russia-dprk[0]: apprise cannot use nosuchservice:// URLs",
        ),
        (
            "alerts:\n  russia-dprk: ['slack://$WIREWATCH_TEST_UNSET_TOKEN']\n",
            "alerts.russia-dprk[0]: the environment variable WIREWATCH_TEST_UNSET_TOKEN is not set",
        ),
    ],
)
def test_a_bad_alerts_section_is_named_in_the_error(tmp_path: Path, alerts, message) -> None:
    config = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/feed"}])
    config.write_text(config.read_text(encoding="utf-8") + alerts, encoding="utf-8")
    result = run_cli("--config", str(config), "check")
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_alert_urls_take_secrets_from_the_environment(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/feed"}])
    alerts = "alerts:\n  russia-dprk: ['json://127.0.0.1:9/${WIREWATCH_TEST_HOOK}']\n"
    config.write_text(config.read_text(encoding="utf-8") + alerts, encoding="utf-8")
    result = run_cli("--config", str(config), "check", env={"WIREWATCH_TEST_HOOK": "token"})
    assert result.code == 0, result.err


def test_a_secret_is_filled_in_to_send_and_never_stored(desk) -> None:
    config, hook = desk
    data = config.read_text(encoding="utf-8")
    target = hook.wire.url(HOOK).replace("http://", "json://")
    written = target.replace("json://", "json://analyst:${WIREWATCH_TEST_SECRET}@")
    config.write_text(data.replace(target, written), encoding="utf-8")
    # A secret that itself holds "$X" is sent as it is, and crawl children never see it.
    secret = "s3cr$Xet-do-not-store"
    result = run_cli("--config", str(config), "crawl", env={"WIREWATCH_TEST_SECRET": secret})
    assert result.code == 0, result.err
    assert "Alerts: 14 sent." in result.out

    received = hook.wire.hits_for(HOOK)
    assert len(received) == 14
    authorization = received[0].headers["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(authorization).decode() == f"analyst:{secret}"
    with sqlite3.connect(config.parent / "archive.db") as db:
        targets = {target for (target,) in db.execute("SELECT DISTINCT target FROM alerts")}
        everything = "\n".join(line for line in db.iterdump())
    assert targets == {written}
    assert secret not in everything
    assert secret not in result.out + result.err


def test_alerts_stored_with_their_secret_by_an_older_wirewatch_lose_it(desk) -> None:
    config, hook = desk
    data = config.read_text(encoding="utf-8")
    target = hook.wire.url(HOOK).replace("http://", "json://")
    secret = "older-secret"
    assert run_cli("--config", str(config), "crawl").code == 0
    # An older wirewatch stored the URL with its secret filled in; one alert is still owed.
    filled = target.replace("json://", f"json://analyst:{secret}@")
    with sqlite3.connect(config.parent / "archive.db") as db:
        db.execute("UPDATE alerts SET target = ?", (filled,))
        db.execute("UPDATE alerts SET status = 'pending' WHERE id = 1")
    written = target.replace("json://", "json://analyst:$WIREWATCH_TEST_SECRET@")
    config.write_text(data.replace(target, written), encoding="utf-8")
    sent = hook.attempts()

    again = run_cli("--config", str(config), "crawl", env={"WIREWATCH_TEST_SECRET": secret})
    assert again.code == 0, again.err
    assert hook.attempts() == sent + 1  # the owed alert, and nothing sent twice
    with sqlite3.connect(config.parent / "archive.db") as db:
        rows = db.execute("SELECT target, status FROM alerts").fetchall()
    assert len(rows) == 14
    assert set(rows) == {(written, "sent")}
