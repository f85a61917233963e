"""The flagged stories as an inbox at ``/flagged`` (issue 13 item 4): what its address asks
for, checked without a server, then the page as a real ``wirewatch serve`` on 127.0.0.1
renders it over a copy of the demo archive."""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.html
import pytest

from monitor import review
from monitor.archive import Archive
from monitor.archive.stories import Filters
from monitor.serve.inbox import ListQuery, list_of, parse

from .conftest import copy_demo, run_cli
from .serving import Served

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_the_address_names_the_filters_and_the_list_rebuilds_it() -> None:
    listed = parse({"label": "unreviewed", "since": "7d", "source": "capital-briefs",
                    "min_score": "10", "q": "troops", "page": "2"}, NOW)  # fmt: skip
    assert listed.problems == ()
    assert listed.filters == Filters(
        unreviewed=True, since=NOW - timedelta(days=7), source="capital-briefs", min_score=10.0
    )
    assert listed.page == 2
    again = list_of(listed.href(), NOW)
    assert again == listed
    assert listed.href(page=None, label="relevant").startswith("/flagged?")
    assert "page" not in listed.href(page=None)


def test_a_search_keeps_the_inflection_of_the_cli() -> None:
    # The FTS expression is the one 'wirewatch search' runs: word forms are folded.
    assert parse({"q": "troops"}, NOW).match == parse({"q": "troop"}, NOW).match


def test_a_day_is_one_utc_day() -> None:
    listed = parse({"day": "2026-11-27"}, NOW)
    assert listed.filters.since == datetime(2026, 11, 27, tzinfo=UTC)
    assert listed.filters.until == datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"label": "maybe"}, "No such mark"),
        ({"since": "1y"}, "No such period"),
        ({"day": "2026-13-45"}, "A day is written YYYY-MM-DD"),
        ({"day": "yesterday"}, "A day is written YYYY-MM-DD"),
        ({"min_score": "nan"}, "The least score is a number"),
        ({"min_score": "high"}, "The least score is a number"),
        ({"q": '"unclosed'}, "a phrase is not closed"),
        ({"q": "x" * 501}, "at most 500 characters"),
        ({"source": "s" * 201}, "too long"),
    ],
)
def test_a_value_not_understood_is_named_and_left_out(args: dict[str, str], problem: str) -> None:
    listed = parse(args, NOW)
    assert len(listed.problems) == 1 and problem in listed.problems[0]
    assert listed.filters == Filters()


def test_a_page_number_is_kept_within_bounds() -> None:
    assert parse({"page": "-3"}, NOW).page == 1
    assert parse({"page": "many"}, NOW).page == 1
    assert parse({"page": "99999999"}, NOW).page == 10_000


def test_only_the_inbox_and_the_unreviewed_query_are_lists_a_story_walks() -> None:
    assert list_of("/archive/unreviewed", NOW) == ListQuery(Filters(unreviewed=True))
    assert list_of("/flagged?source=x", NOW) == parse({"source": "x"}, NOW)
    assert list_of("/archive/flagged_stories", NOW) is None
    assert list_of("/story/3", NOW) is None


def test_a_page_of_the_list_is_the_same_rows_as_the_whole_list(demo_folder: Path) -> None:
    path = demo_folder / "wirewatch-demo" / "demo.db"
    with Archive.open(path, create=False) as archive:
        everything, total = review.flagged(archive)
        second, same_total = review.flagged(archive, limit=5, offset=5)
    assert total == same_total == len(everything) >= 10
    assert [row["id"] for row in second] == [row["id"] for row in everything[5:10]]


@pytest.fixture(scope="module")
def served(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with Served(copy_demo(demo_folder, tmp_path_factory.mktemp("inbox"))) as server:
        yield server


def inbox(served: Served, status: int = 200, **params: str) -> lxml.html.HtmlElement:
    got, body, headers = served.get("/flagged", **params)
    assert got == status, body
    assert headers["content-type"].startswith("text/html")
    return lxml.html.fromstring(body)


def rows_of(page: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    return page.cssselect("table.inbox tbody tr") if page.find_class("inbox") else []


def titles(page: lxml.html.HtmlElement) -> list[str]:
    return [row.find_class("title")[0].text_content() for row in rows_of(page)]


def flagged_json(served: Served, *args: str) -> list[dict]:
    result = run_cli("--config", "wirewatch-demo/config.yaml", "flagged", "--format", "json",
                     *args, cwd=served.folder)  # fmt: skip
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_the_inbox_lists_one_compact_row_per_story_as_the_cli_does(served) -> None:
    page = inbox(served)
    expected = flagged_json(served)
    assert titles(page) == [row["title"] for row in expected]
    first = rows_of(page)[0]
    cells = [" ".join(cell.text_content().split()) for cell in first.iter("td")]
    row = expected[0]
    date = row["published"] or row["fetched"]
    assert cells[:5] == [
        "new",
        row["title"],
        row["source"],
        str(row["outlets"]),
        f"{row['score']:g}",
    ]
    assert cells[5] == f"{date[:10]} {date[11:16]}"
    link = first.find_class("title")[0].find("a").get("href")
    assert link == f"/story/{row['id']}?next=%2Fflagged"
    # Each row posts its mark with the CSRF token, and returns to the list on the next row.
    form = first.find(".//form")
    assert form.get("method") == "post" and form.get("action") == f"/story/{row['id']}/mark"
    assert form.find(".//input[@name='csrftoken']").get("value")
    assert form.find(".//input[@name='next']").get("value") == f"/flagged#story-{expected[1]['id']}"
    assert [b.get("value") for b in form.iter("button")] == ["relevant", "irrelevant", "follow-up"]


def test_the_filters_stay_folded_until_one_is_asked_for(served) -> None:
    assert "open" not in inbox(served).find_class("filters")[0].attrib
    assert "open" not in inbox(served, label="unreviewed").find_class("filters")[0].attrib
    page = inbox(served, source="capital-briefs")
    assert "open" in page.find_class("filters")[0].attrib
    assert set(titles(page)) == {
        r["title"] for r in flagged_json(served, "--source", "capital-briefs")
    }


def cli_json(served: Served, *args: str) -> list[dict]:
    result = run_cli("--config", "wirewatch-demo/config.yaml", *args, "--format", "json",
                     cwd=served.folder)  # fmt: skip
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.mark.parametrize("query", ["troop", "troops", "Пхеньяном", "북한은"])
def test_the_search_box_finds_the_stories_the_cli_search_finds(served, query: str) -> None:
    story_of = {row["id"]: row["story"] for row in flagged_json(served)}
    found = {story_of[int(row.get("data-story"))] for row in rows_of(inbox(served, q=query))}
    expected = {row["story"] for row in cli_json(served, "search", query, "--flagged")}
    assert found == expected != set()


def test_a_day_of_the_timeline_lists_that_day_s_stories(served) -> None:
    expected = flagged_json(served)
    day = (expected[-1]["published"] or expected[-1]["fetched"])[:10]
    page = inbox(served, day=day)
    assert titles(page) == [
        r["title"] for r in expected if (r["published"] or r["fetched"])[:10] == day
    ]


def test_values_not_understood_are_explained_on_the_page_with_a_400(served) -> None:
    page = inbox(served, 400, q='"unclosed', label="maybe")
    problems = [p.text_content() for p in page.find_class("problems")]
    assert len(problems) == 2 and "No such mark" in problems[0]
    assert "a phrase is not closed" in problems[1]
    assert rows_of(page) == []
    assert not [line for line in served.stderr if "Traceback" in line]


def test_a_list_with_nothing_in_it_says_so(served) -> None:
    page = inbox(served, q="zzzzqqq")
    assert rows_of(page) == []
    assert "No flagged story matches these filters" in page.text_content()


def test_a_story_opened_from_a_filtered_list_walks_that_list(served) -> None:
    listed = flagged_json(served, "--source", "capital-briefs")
    assert len(listed) >= 3
    back = "/flagged?source=capital-briefs"
    status, body, _ = served.get(f"/story/{listed[1]['id']}", next=back)
    assert status == 200, body
    page = lxml.html.fromstring(body)
    walk = {a.get("id"): a.get("href") for a in page.find_class("walk")[0].iter("a")}
    quoted = urllib.parse.quote(back, safe="")
    assert walk["next-story"] == f"/story/{listed[2]['id']}?next={quoted}"
    assert walk["previous-story"] == f"/story/{listed[0]['id']}?next={quoted}"
    assert walk["back-to-list"] == back
    # The triage form goes on to the next story of the list.
    assert (
        page.find(".//form[@class='triage']/input[@name='next']").get("value") == walk["next-story"]
    )


def test_a_mark_from_the_list_returns_to_it_on_the_next_row(
    demo_folder: Path, tmp_path: Path
) -> None:
    with Served(copy_demo(demo_folder, tmp_path), "--analyst", "ana") as server:
        page = inbox(server, label="unreviewed")
        first, second = rows_of(page)[:2]
        form = first.find(".//form")
        fields = {field.get("name"): field.get("value") for field in form.iter("input")}
        status, _, headers = server.post(
            form.get("action"),
            {"label": "irrelevant", "next": fields["next"]},
            page="/flagged?label=unreviewed",
        )
        assert status == 302
        assert headers["location"] == f"/flagged?label=unreviewed#{second.get('id')}"
        after = inbox(server, label="unreviewed")
        assert rows_of(after)[0].get("id") == second.get("id")
        assert len(rows_of(after)) == len(rows_of(page)) - 1
        story = int(first.get("data-story"))
        with sqlite3.connect(server.folder / "wirewatch-demo" / "demo.db") as db:
            marks = db.execute("SELECT article_id, label, marked_by FROM marks").fetchall()
        assert marks == [(story, "irrelevant", "ana")]
        assert "irrelevant" in inbox(server).get_element_by_id(f"story-{story}").text_content()


def test_the_home_page_and_its_timeline_lead_to_the_inbox(served) -> None:
    status, body, _ = served.get("/")
    assert status == 200
    hrefs = [a.get("href") for a in lxml.html.fromstring(body).iter("a")]
    assert "/flagged" in hrefs and "/flagged?label=unreviewed" in hrefs
    assert any(href.startswith("/flagged?day=") for href in hrefs)
