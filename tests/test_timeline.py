"""The timeline on the home page of ``wirewatch serve`` (issue 13 item 5): flagged stories per
day for the last 90 days as an inline SVG, each day's bar a link to its stories, served by a
real ``wirewatch serve`` on 127.0.0.1 over a copy of the demo archive."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import lxml.html
import pytest

from monitor.serve.timeline import DAYS, HEIGHT, chart

from .conftest import copy_demo
from .serving import Served

OLD_TOPIC = "older-than-the-chart"


@pytest.fixture(scope="module")
def served(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server over a copy of the demo archive that also holds one flag from 100 days ago,
    which the chart leaves out."""
    folder = copy_demo(demo_folder, tmp_path_factory.mktemp("timeline"))
    old = (datetime.now(UTC) - timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        article_id = db.execute("SELECT min(article_id) FROM flag_stories").fetchone()[0]
        db.execute(
            "INSERT INTO flag_stories (topic, story, article_id, date, score) "
            "VALUES (?, ?, ?, ?, 1.0)",
            (OLD_TOPIC, article_id, article_id, old),
        )
    db.close()
    with Served(folder) as server:
        yield server


def flagged_rows(served: Served, **params: str) -> list[dict]:
    status, body, _ = served.get(
        "/archive/flagged_stories.json", _shape="array", _size="max", **params
    )
    assert status == 200, body
    rows: list[dict] = json.loads(body)
    return rows


def bars(served: Served) -> list[lxml.html.HtmlElement]:
    status, page, headers = served.get("/")
    assert status == 200, page
    assert headers["content-type"].startswith("text/html")
    tree = lxml.html.fromstring(page)
    charts = tree.xpath("//svg[contains(@class, 'timeline')]")
    assert len(charts) == 1, page
    found: list[lxml.html.HtmlElement] = charts[0].xpath(".//a")
    return found


def test_one_link_per_day_with_stories_adding_up_to_the_flagged_list(served: Served) -> None:
    first = (datetime.now(UTC).date() - timedelta(days=DAYS - 1)).isoformat()
    rows = flagged_rows(served)
    assert any(row["topic"] == OLD_TOPIC for row in rows)  # in the list, not in the chart
    expected = Counter(row["day"] for row in rows if row["day"] >= first)
    links = bars(served)
    shown = {link.get("data-day"): int(link.get("data-stories")) for link in links}
    assert len(links) == len(shown) == len(expected) >= 1
    assert shown == dict(expected)
    assert sum(shown.values()) == sum(1 for row in rows if row["topic"] != OLD_TOPIC)
    for link in links:
        day, stories = link.get("data-day"), int(link.get("data-stories"))
        assert link.get("href") == f"/flagged?day={day}"
        noun = "story" if stories == 1 else "stories"
        assert link.xpath(".//title")[0].text_content() == f"{day}: {stories} {noun}"
        rect = link.xpath(".//rect")[0]
        assert 0 < int(rect.get("height")) <= HEIGHT
    _, page, _ = served.get("/")
    assert f"{sum(shown.values())} flagged stories" in page
    assert "<script" not in page.split('class="timeline"', 1)[1].split("</svg>", 1)[0]


def test_a_day_link_returns_that_days_stories(served: Served) -> None:
    for link in bars(served):
        day, stories = link.get("data-day"), int(link.get("data-stories"))
        status, page, _ = served.get(link.get("href"))
        assert status == 200, page
        rows = flagged_rows(served, day=day)
        assert len(rows) == stories
        assert {row["day"] for row in rows} == {day}
        for row in rows:
            assert lxml.html.fromstring(page).xpath(
                "//a[normalize-space(.)=$title]", title=row["title"]
            ), row["title"]


def test_a_day_without_stories_has_no_link(served: Served) -> None:
    links = bars(served)
    days = {link.get("data-day") for link in links}
    today = datetime.now(UTC).date()
    empty = [
        (today - timedelta(days=n)).isoformat()
        for n in range(DAYS)
        if (today - timedelta(days=n)).isoformat() not in days
    ]
    assert empty
    hrefs = {link.get("href") for link in links}
    for day in empty:
        assert f"/flagged?day={day}" not in hrefs


def test_the_chart_leaves_gaps_and_scales_to_the_busiest_day() -> None:
    start = date(2026, 9, 5)
    drawn = chart(start, {"2026-09-05": 2, "2026-09-07": 8, "2025-01-01": 99}, "/t")
    assert [bar["day"] for bar in drawn["bars"]] == ["2026-09-05", "2026-09-07"]
    assert drawn["total"] == 10
    low, high = drawn["bars"]
    assert (high["height"], high["y"]) == (HEIGHT, 0)
    assert low["height"] == HEIGHT // 4
    assert high["x"] - low["x"] == 2 * (low["width"] + 1)
    assert chart(start, {}, "/t")["bars"] == []
