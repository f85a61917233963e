"""Nothing ``wirewatch serve`` shows reveals an alert target or a password (issue 13 item 7).

A real ``wirewatch serve`` behind a password, on a copy of the demo archive that holds an
alert whose target carries a webhook token. The analyst logs in and asks every page that
shows configuration, the alerts tables (a topic's, the health and the change alerts), and
read-only SQL written several ways.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import copy_demo
from tests.serving import Served

PASSWORD = "correct horse battery staple"
TOKEN = "T0KEN-6f1e2d"  # written into the alert's target and its last error
TARGET = f"json://hooks.example.org/{TOKEN}"

pytestmark = pytest.mark.xdist_group("serve-secrets")


@pytest.fixture(scope="module")
def served(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = copy_demo(demo_folder, tmp_path_factory.mktemp("serve-secrets"))
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        article = db.execute("SELECT min(id) FROM articles").fetchone()[0]
        db.execute(
            "INSERT INTO alerts (topic, cluster_id, article_id, target, status, attempts, "
            "last_error, created) VALUES ('russia-dprk', ?, ?, ?, 'failed', 1, ?, "
            "'2026-12-03T00:00:00Z')",
            [article, article, TARGET, f"could not reach {TARGET}"],
        )
        db.execute(  # a change alert of a re-check of the demo's (migration 0012)
            "INSERT INTO change_alerts (recheck_id, change, target, status, attempts, "
            "last_error, created) VALUES ((SELECT min(id) FROM rechecks), 'edited', ?, "
            "'failed', 1, ?, '2026-12-03T00:00:00Z')",
            [TARGET, f"could not reach {TARGET}"],
        )
        db.execute(
            "INSERT INTO health_alerts (condition, subject, since, target, title, body, "
            "status, attempts, last_error, created) VALUES ('failing', 'harbour-wire', "
            "'2026-12-02T00:00:00Z', ?, 'source harbour-wire has failed for 7 h', 'x', "
            "'failed', 1, ?, '2026-12-03T00:00:00Z')",
            [TARGET, f"could not reach {TARGET}"],
        )
        db.execute(  # a role's coverage (migration 0014)
            "INSERT INTO coverage_alerts (topic, role, condition, since, target, title, body, "
            "status, attempts, last_error, created) VALUES ('russia-dprk', 'kp-state', "
            "'silent', '2026-12-02T00:00:00Z', ?, 'kp-state silent', 'x', 'failed', 1, ?, "
            "'2026-12-03T00:00:00Z')",
            [TARGET, f"could not reach {TARGET}"],
        )
    with Served(folder, env={"WIREWATCH_SERVE_PASSWORD": PASSWORD}) as web:
        status, _, _ = web.post("/-/login", {"username": "analyst", "password": PASSWORD})
        assert status == 302
        yield web


def sql(query: str) -> str:
    return "/archive.json?" + urllib.parse.urlencode({"sql": query, "_shape": "array"})


@pytest.mark.parametrize(
    "path",
    [
        "/-/metadata.json",
        "/-/plugins.json",
        "/-/settings.json",
        "/-/config.json",
        "/archive/alerts.json",
        "/archive/alerts",
        sql("SELECT target, last_error FROM alerts"),
        sql("SELECT * FROM alerts"),
        sql("SELECT group_concat(target) AS t FROM alerts"),
        sql("SELECT (SELECT target FROM alerts) AS t, instr(target, 'T0KEN') AS i FROM alerts"),
        sql("SELECT substr(a.last_error, 1, 80) AS e FROM alerts a JOIN articles ON 1"),
        "/archive/health_alerts.json",
        "/archive/health_alerts",
        sql("SELECT * FROM health_alerts"),
        sql("SELECT h.target || h.last_error AS t FROM health_alerts h"),
        "/archive/change_alerts.json",
        sql("SELECT * FROM change_alerts"),
        sql("SELECT c.target || c.last_error AS t FROM change_alerts c"),
        "/archive/coverage_alerts.json",
        sql("SELECT * FROM coverage_alerts"),
        sql("SELECT c.target || c.last_error AS t FROM coverage_alerts c"),
    ],
)
def test_no_page_or_query_shows_an_alert_target_or_the_password_hash(served, path) -> None:
    status, body, _ = served.get(path)
    assert status in (200, 301, 302), body[:300]
    assert TOKEN not in body
    assert "hooks.example.org" not in body
    assert "pbkdf2" not in body  # the password's hash, as datasette-auth-passwords writes it
    assert PASSWORD not in body


def test_every_table_with_a_target_is_a_table_of_alerts_that_serve_keeps_private(
    demo_folder: Path,
) -> None:
    """A new table that keeps an apprise URL must be named ...alerts, or serve shows it."""
    from monitor.serve.private import private

    with sqlite3.connect(demo_folder / "wirewatch-demo" / "demo.db") as db:
        tables = [
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        with_target = [
            table
            for table in tables
            if any(column[1] == "target" for column in db.execute(f'PRAGMA table_info("{table}")'))
        ]
    assert with_target and all(private(table, "target") for table in with_target), with_target
    assert {"alerts", "health_alerts", "change_alerts", "coverage_alerts"} <= set(with_target)


def test_a_query_cannot_test_an_alert_target_letter_by_letter(served) -> None:
    status, body, _ = served.get(sql("SELECT instr(target, 'T0KEN') AS i FROM alerts"))
    assert status == 200
    assert '"i": null' in body


def test_the_alerts_are_still_counted_and_their_status_read(served) -> None:
    status, body, _ = served.get(sql("SELECT count(*) AS n, max(status) AS s FROM alerts"))
    assert status == 200
    assert '"n": 1' in body and '"s": "failed"' in body
