"""``wirewatch timeline`` (issue 15 part 2): the flagged stories as events, oldest first,
each with who reported it first; the same events on serve's home page, the readout on the
story page, and the demo's story carried by several roles, against the local newswire."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.html
import pytest

from monitor.archive import Archive
from monitor.archive.readout import first_flagged, flagged_copies, story_copies

from .conftest import Result, copy_demo, run_cli
from .serving import Served
from .test_review_at_scale import plans_of, scans_of_articles
from .test_roles import START, add_story, write_config


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    """Three flagged stories of two topics over three days, the middle one at three roles."""
    write_config(tmp_path)
    with Archive.open(tmp_path / "archive.db") as archive:
        add_story(archive, "a", [("tass", 0)], START, title="First")
        add_story(archive, "b", [("kcna", 0), ("tass", 40), ("yonhap", 180)],
                  START + timedelta(days=1), title="=HYPERLINK(\"http://x\")")  # fmt: skip
        add_story(archive, "c", [("meduza", 0), ("unknown-blog", -30)],
                  START + timedelta(days=2), title="Third", topic="other")  # fmt: skip
    return tmp_path


def test_timeline_json_lists_events_oldest_first_with_first_report_and_roles(desk: Path) -> None:
    result = run_cli("timeline", "--since", "2026-11-01", "--format", "json", cwd=desk)
    assert result.code == 0, result.err
    events = json.loads(result.out)
    assert [event["title"] for event in events] == ["First", '=HYPERLINK("http://x")', "Third"]
    middle = events[1]
    flagged = json.loads(
        run_cli("flagged", "--since", "2026-11-01", "--format", "json", cwd=desk).out
    )
    assert middle["story"] in {row["id"] for row in flagged}  # the ID flagged gives
    assert middle["first_seen"] == "2026-11-28T08:00:00Z"
    assert (middle["first_source"], middle["first_role"]) == ("kcna", "kp-state")
    assert middle["roles"] == {"kp-state": "2026-11-28T08:00:00Z",
                               "ru-state": "2026-11-28T08:40:00Z",
                               "kr-media": "2026-11-28T11:00:00Z"}  # fmt: skip
    assert middle["never"] == ["independent", "wire"]
    # A source with no role can be first; it names no role.
    last = events[2]
    assert (last["first_source"], last["first_role"]) == ("unknown-blog", None)
    assert last["first_seen"] == "2026-11-29T07:30:00Z"
    assert last["roles"] == {"independent": "2026-11-29T08:00:00Z"}


def test_timeline_picks_a_topic_and_a_since(desk: Path) -> None:
    other = run_cli("timeline", "--since", "2026-11-01", "--topic", "other", "--format", "json",
                    cwd=desk)  # fmt: skip
    assert [event["title"] for event in json.loads(other.out)] == ["Third"]
    later = run_cli("timeline", "--since", "2026-11-28T12:00:00Z", "--format", "json", cwd=desk)
    assert [event["title"] for event in json.loads(later.out)] == ["Third"]
    recent = run_cli("timeline", cwd=desk)  # 90 days back from today: none of 2026-11
    assert recent.code == 0, recent.err


def test_timeline_refuses_an_unknown_topic_and_a_bad_since_in_one_line(desk: Path) -> None:
    topic = run_cli("timeline", "--topic", "nope", cwd=desk)
    assert topic.code == 2 and "unknown topic 'nope'" in topic.err
    since = run_cli("timeline", "--since", "yesterdayish", cwd=desk)
    assert since.code == 2 and since.err.startswith("wirewatch: --since")
    assert "Traceback" not in topic.err + since.err


def test_timeline_csv_defuses_formulas_and_the_table_shows_who_followed(desk: Path) -> None:
    result = run_cli("timeline", "--since", "2026-11-01", "--format", "csv", cwd=desk)
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert rows[1]["title"].startswith("'=HYPERLINK")  # never a live formula
    assert rows[1]["roles"] == ("kp-state=2026-11-28T08:00:00Z ru-state=2026-11-28T08:40:00Z "
                                "kr-media=2026-11-28T11:00:00Z")  # fmt: skip
    table = run_cli("timeline", "--since", "2026-11-01", cwd=desk)
    assert table.code == 0, table.err
    text = " ".join(table.out.split())
    assert "ru-state +40 min, kr-media +3 h; never: independent, wire" in text
    assert "3 flagged stories since 2026-11-01." in text


def test_timeline_and_readout_queries_read_copies_through_the_story_index(desk: Path) -> None:
    with Archive.open(desk / "archive.db") as archive:
        for run in (
            lambda: flagged_copies(archive, since=START),
            lambda: flagged_copies(archive, since=START, topic="russia-dprk"),
            lambda: flagged_copies(archive, latest=20),
            lambda: story_copies(archive, 1),
            lambda: first_flagged(archive, "russia-dprk"),
        ):
            plans = plans_of(archive, run)
            assert plans
            assert not [line for plan in plans for line in scans_of_articles(plan)], plans
            text = "\n".join(plans)
            assert "idx_articles_story" in text or "idx_flag_stories_topic_date" in text, text
            scans = [line for plan in plans for line in plan.splitlines()
                     if line.startswith("SCAN") and "USING" not in line]  # fmt: skip
            assert set(scans) <= {"SCAN p", "SCAN c"}, plans
        dated = "\n".join(plans_of(archive, lambda: flagged_copies(archive, since=START)))
        assert "idx_flag_stories_date (date>?)" in dated
        topical = "\n".join(
            plans_of(archive, lambda: flagged_copies(archive, since=START, topic="other"))
        )
        assert "idx_flag_stories_topic_date (topic=? AND date>?)" in topical


# Against the local newswire: the demo's sites have roles, and one story is carried by three.


def carried_widest(events: list[dict]) -> dict:
    return max(events, key=lambda event: len(event["roles"]))


def test_the_demo_archive_has_a_story_carried_by_three_roles_at_different_times(
    demo_folder: Path,
) -> None:
    result = run_cli("--config", "wirewatch-demo/config.yaml", "timeline", "--format", "json",
                     cwd=demo_folder)  # fmt: skip
    assert result.code == 0, result.err
    events = json.loads(result.out)
    assert len(events) >= 10
    assert [event["first_seen"] for event in events] == sorted(e["first_seen"] for e in events)
    widest = carried_widest(events)
    assert widest["title"] == "Putin lands in Pyongyang on first visit in 24 years"
    assert widest["first_role"] == "wire"
    assert list(widest["roles"]) == ["wire", "kr-media", "independent"]
    times = [datetime.fromisoformat(when) for when in widest["roles"].values()]
    assert [t - times[0] for t in times] == [timedelta(0), timedelta(minutes=30),
                                             timedelta(hours=2)]  # fmt: skip
    assert widest["never"] == ["ru-state"]
    shown = run_cli("--config", "wirewatch-demo/config.yaml", "show", str(widest["story"]),
                    cwd=demo_folder)  # fmt: skip
    assert "Readout: harbour-wire first (wire)" in shown.out
    assert "kr-media +30 min; independent +2 h; never: ru-state" in " ".join(shown.out.split())


def test_the_demo_prints_a_readout_and_the_timeline(demo_run: tuple[Path, Result]) -> None:
    _, result = demo_run  # wirewatch demo, run once with the repository's config.yaml
    assert result.code == 0, result.err
    out = " ".join(result.out.split())
    assert "reached the most roles: Putin lands in Pyongyang on first visit in 24 years" in out
    assert "harbour-wire first (wire)" in out and "kr-media +30 min; independent +2 h" in out
    assert "The timeline has 14 flagged stories" in out
    # Its latest five events, as `wirewatch timeline` prints them, the newest last.
    shown = result.out.split("the latest 5:")[1].split("names an entry")[0]
    rows = [line for line in shown.splitlines() if re.match(r" *[0-9]+ ", line)]
    assert len(rows) == 5
    assert "Putin lands in Pyongyang" in rows[-2] and "kr-media +30 min" in rows[-2]
    assert "flagged 14 of them, with 0 false alarms" in out
    assert "timeline" in result.out.split("Explore the demo archive:")[1]


@pytest.fixture(scope="module")
def served(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = copy_demo(demo_folder, tmp_path_factory.mktemp("readout"))
    with Served(folder) as server:
        yield server


def test_the_home_page_lists_the_latest_events_linked_to_their_stories(
    served: Served, demo_folder: Path
) -> None:
    status, page, _ = served.get("/")
    assert status == 200, page
    items = lxml.html.fromstring(page).xpath("//ol[contains(@class, 'events')]/li")
    events = json.loads(
        run_cli("--config", "wirewatch-demo/config.yaml", "timeline", "--format", "json",
                cwd=demo_folder).out
    )  # fmt: skip
    assert len(items) == min(20, len(events))
    newest = items[0]
    assert newest.xpath(".//a")[0].get("href") == f"/story/{events[-1]['story']}"
    putin = carried_widest(events)
    item = next(li for li in items if li.xpath(".//a")[0].get("href") == f"/story/{putin['story']}")
    text = " ".join(item.text_content().split())
    assert "first harbour-wire (wire); kr-media +30 min, independent +2 h; never: ru-state" in text


def test_the_story_page_shows_the_readout(served: Served, demo_folder: Path) -> None:
    events = json.loads(
        run_cli("--config", "wirewatch-demo/config.yaml", "timeline", "--format", "json",
                cwd=demo_folder).out
    )  # fmt: skip
    putin = carried_widest(events)
    status, page, _ = served.get(f"/story/{putin['story']}")
    assert status == 200, page
    readout = lxml.html.fromstring(page).xpath("//p[@class='readout']")[0].text_content()
    first = datetime.fromisoformat(putin["first_seen"]).astimezone(UTC)
    assert readout == (
        f"harbour-wire first (wire) {first:%Y-%m-%d %H:%M} UTC; kr-media +30 min; "
        "independent +2 h; never: ru-state"
    )
