"""``wirewatch serve``: Datasette over the live demo archive, as a real server on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import feedparser
import pytest

from monitor.archive.schema import JOINED_FLAGGED_STORIES

from .conftest import copy_demo, run_cli
from .serving import OS_USER, Served

DEMO_STORIES = 14


@pytest.fixture(scope="module")
def served(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory):
    """One server for the tests that only read, on a copy of the demo's archive."""
    with Served(copy_demo(demo_folder, tmp_path_factory.mktemp("serve"))) as server:
        yield server


@pytest.fixture
def desk(demo_folder: Path, tmp_path: Path):
    """A server of its own, on its own copy of the archive, for a test that marks or stops."""
    with Served(copy_demo(demo_folder, tmp_path)) as server:
        yield server


def marks(folder: Path) -> list[tuple]:
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        return db.execute("SELECT article_id, label, note, marked_by FROM marks").fetchall()


def rows(served: Served, path: str, **params: str) -> list[dict]:
    status, body, _ = served.get(path, _shape="array", **params)
    assert status == 200, body
    return json.loads(body)


def test_the_home_page_leads_to_the_flagged_stories(served) -> None:
    status, page, _ = served.get("/")
    assert status == 200
    for link in ("/flagged", "/flagged?label=unreviewed", "/flagged?since=24h",
                 "/flagged?label=follow-up", "/archive/flagged_stories",
                 "/archive/source_health", "/archive/flagged_atom.atom"):  # fmt: skip
        assert f'href="{link}"' in page


def test_the_flagged_view_has_one_row_per_story_and_the_facets(served) -> None:
    stories = rows(served, "/archive/flagged_stories.json")
    assert len(stories) == DEMO_STORIES
    status, body, _ = served.get("/archive/flagged_stories.json")
    assert set(json.loads(body)["facet_results"]) == {"topic", "source", "language", "label", "day"}
    putin = next(s for s in stories if s["title"].startswith("Putin lands in Pyongyang"))
    assert putin["outlets"] == 3
    status, page, _ = served.get("/archive/flagged_stories")
    assert status == 200
    assert f"mark_story?article_id={putin['id']}&amp;label=relevant" in page


def test_the_flagged_view_has_full_text_search(served) -> None:
    found = rows(served, "/archive/flagged_stories.json", _search="Vostochny")
    assert [s["title"] for s in found] == [
        "Kim Jong Un meets Putin at Russia's Vostochny space launch site"
    ]
    assert len(rows(served, "/archive/flagged_stories.json", _search="Пхеньян")) == 1


def test_the_flagged_view_s_search_finds_what_a_search_of_every_article_finds(served) -> None:
    """Issue 12: the web view searches an index of the stories' own articles; it finds the
    stories that a search of every article's words found (the view before 0009)."""
    archive = served.folder / "wirewatch-demo" / "demo.db"
    with sqlite3.connect(archive) as db:
        for query in ("Vostochny", "Pyongyang", "Пхеньян", "북한", "troops treaty", "Kim Jong"):
            found = rows(served, "/archive/flagged_stories.json", _search=query, _size="max")
            expected = db.execute(
                f"SELECT id, topic FROM ({JOINED_FLAGGED_STORIES}) WHERE id IN (SELECT rowid "
                "FROM articles_fts WHERE articles_fts MATCH ?)",
                [" ".join(f'"{word}"' for word in query.split())],  # Datasette's escape_fts
            ).fetchall()
            assert sorted((s["id"], s["topic"]) for s in found) == sorted(expected), query
    assert rows(served, "/archive/flagged_stories.json", _search="Pyongyang") != []


def test_the_articles_table_shows_both_its_facets_in_full(served) -> None:
    status, body, _ = served.get("/archive/articles.json")
    assert status == 200, body
    page = json.loads(body)
    facets = page["facet_results"]
    assert set(facets) == {"source", "language"}  # a facet past its time limit is left out
    for name in ("source", "language"):
        assert (
            sum(value["count"] for value in facets[name]["results"])
            == page["filtered_table_rows_count"]
        )


def test_the_canned_queries_run(served) -> None:
    assert len(rows(served, "/archive/unreviewed.json")) == DEMO_STORIES
    assert len(rows(served, "/archive/last_24h.json")) >= 1
    assert rows(served, "/archive/follow_ups.json") == []
    health = {row["name"]: row for row in rows(served, "/archive/source_health.json")}
    assert health["gone-gazette"]["failures"] == 1
    assert health["harbour-wire"]["articles"] > 0


def test_triage_from_the_browser_writes_a_mark_to_the_archive(desk) -> None:
    story = rows(desk, "/archive/unreviewed.json")[0]
    status, _, headers = desk.post(
        "/archive/mark_story",
        {"article_id": story["id"], "label": "follow-up", "note": "ask the Seoul desk"},
    )
    assert status == 302 and headers["location"].endswith("/archive/unreviewed")
    assert marks(desk.folder) == [(story["id"], "follow-up", "ask the Seoul desk", OS_USER)]
    assert story["id"] not in {row["id"] for row in rows(desk, "/archive/unreviewed.json")}
    (follow_up,) = rows(desk, "/archive/follow_ups.json")
    assert follow_up["id"] == story["id"]


def test_a_bad_mark_from_the_browser_is_refused_and_nothing_is_written(desk) -> None:
    for form in ({"article_id": 9999, "label": "relevant", "note": ""},
                 {"article_id": 1, "label": "maybe", "note": ""}):  # fmt: skip
        status, _, headers = desk.post("/archive/mark_story", form)
        assert status == 302 and headers["location"].endswith("/archive/mark_story")
    assert marks(desk.folder) == []


def test_the_view_is_live_a_mark_from_the_cli_shows_at_once(desk) -> None:
    story = rows(desk, "/archive/flagged_stories.json")[0]
    result = run_cli(
        "--config", "wirewatch-demo/config.yaml", "mark", str(story["id"]), "relevant",
        cwd=desk.folder,
    )  # fmt: skip
    assert result.code == 0, result.err
    again = rows(desk, "/archive/flagged_stories.json", label="relevant")
    assert [row["id"] for row in again] == [story["id"]]


def test_the_atom_feed_of_flagged_stories_is_served_at_a_stable_url(served) -> None:
    status, body, headers = served.get("/archive/flagged_atom.atom")
    assert status == 200 and "xml" in headers["content-type"]
    feed = feedparser.parse(body.encode("utf-8"))
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == DEMO_STORIES
    assert len({entry.id for entry in feed.entries}) == DEMO_STORIES


def test_serve_stops_cleanly_on_sigterm(desk) -> None:
    assert desk.get("/")[0] == 200
    assert desk.stop() == 0


def test_serving_beyond_loopback_needs_a_password(demo_folder: Path) -> None:
    result = run_cli(
        "--config", "wirewatch-demo/config.yaml", "serve", "--host", "0.0.0.0", "--port", "0",
        cwd=demo_folder, env={"WIREWATCH_SERVE_PASSWORD": ""}, timeout=60,
    )  # fmt: skip
    assert result.code == 2
    assert "--host 0.0.0.0 is reachable from other machines: give the analysts' accounts " in (
        result.err
    )
    assert "or set WIREWATCH_SERVE_PASSWORD (user: analyst)" in result.err
    assert "Traceback" not in result.err


def test_with_a_password_the_archive_is_closed_until_one_logs_in(demo_folder, tmp_path) -> None:
    copy_demo(demo_folder, tmp_path)
    secret = "correct horse battery staple"
    # Listening on all addresses, but the test talks to it on loopback only.
    with Served(tmp_path, "--host", "0.0.0.0", env={"WIREWATCH_SERVE_PASSWORD": secret}) as web:
        web.url = web.url.replace("0.0.0.0", "127.0.0.1")
        assert web.get("/archive/flagged_stories.json")[0] == 403
        web.post("/-/login", {"username": "analyst", "password": "wrong"})
        assert web.get("/archive/flagged_stories.json")[0] == 403
        status, _, _ = web.post("/-/login", {"username": "analyst", "password": secret})
        assert status == 302
        assert web.get("/archive/flagged_stories.json")[0] == 200


def test_a_port_in_use_is_a_clear_error(served) -> None:
    port = served.url.rsplit(":", 1)[1].strip("/")
    result = run_cli(
        "--config", "wirewatch-demo/config.yaml", "serve", "--port", port,
        cwd=served.folder, timeout=60,
    )  # fmt: skip
    assert result.code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.err
