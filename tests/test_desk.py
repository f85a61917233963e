"""The analyst's desk on the demo archive: filters, marks, search in three languages, exports
parsed back, and the digest. Tests that mark work on their own copy of the archive."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import feedparser
import lxml.html
import pytest

from monitor.demo.stories import load_stories

from .conftest import Result, copy_demo, run_cli

DEMO_STORIES = 14  # the demo's stories about the topic, carried as 18 articles
DEMO_FLAGGED_ARTICLES = 18


@pytest.fixture
def desk(demo_folder: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo folder, for tests that write marks."""
    return copy_demo(demo_folder, tmp_path)


def cli(folder: Path, *args: str) -> Result:
    return run_cli("--config", "wirewatch-demo/config.yaml", *args, cwd=folder)


def as_json(folder: Path, *args: str) -> list[dict]:
    result = cli(folder, *args, "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def query(folder: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        return db.execute(sql, params).fetchall()


def story_id(folder: Path, title_start: str) -> int:
    """The ID that ``flagged`` shows for the story whose title starts so: its earliest copy.

    Not the lowest article ID: the demo's outlets are crawled by two processes at once, so
    which copy is archived first varies from run to run.
    """
    rows = as_json(folder, "flagged")
    return next(row["id"] for row in rows if row["title"].startswith(title_start))


# flagged: one row per story, and its filters -------------------------------------------------


def test_flagged_shows_each_story_once_with_its_outlets_and_first_report(demo_folder) -> None:
    rows = as_json(demo_folder, "flagged")
    assert len(rows) == DEMO_STORIES
    assert len({row["title"] for row in rows}) == DEMO_STORIES
    putin = next(row for row in rows if row["title"].startswith("Putin lands in Pyongyang"))
    assert putin["outlets"] == 3
    # The row is the earliest copy: no other copy of the story was published before it.
    copies = query(
        demo_folder,
        "SELECT min(coalesce(published, fetched)) FROM articles WHERE title = ?",
        (putin["title"],),
    )
    assert putin["first_report"] == copies[0][0]
    assert putin["source"] == "harbour-wire"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--source", "eastern-dispatch"], {"eastern-dispatch"}),
        (["--language", "ru"], {"vostok-segodnya"}),
        (["--language", "ko"], {"hanbando-sinmun"}),
    ],
)
def test_flagged_filters_by_source_and_language(demo_folder, options, expected) -> None:
    rows = as_json(demo_folder, "flagged", *options)
    assert rows and {row["source"] for row in rows} == expected


def test_flagged_min_score_and_until_narrow_the_list(demo_folder) -> None:
    every = as_json(demo_folder, "flagged")
    strong = as_json(demo_folder, "flagged", "--min-score", "35")
    assert 0 < len(strong) < len(every)
    assert all(row["score"] >= 35 for row in strong)
    older = as_json(demo_folder, "flagged", "--until", "12h")
    newer = as_json(demo_folder, "flagged", "--since", "12h")
    assert older and newer
    assert len(older) + len(newer) == len(every)
    assert {row["id"] for row in older}.isdisjoint(row["id"] for row in newer)


# mark: triage, history, and the unreviewed list ------------------------------------------------


def test_marks_keep_their_history_and_the_latest_is_the_label(desk) -> None:
    train = story_id(desk, "Direct Moscow-Pyongyang train")
    assert cli(desk, "mark", str(train), "follow-up", "--note", "check the timetable").code == 0
    relevant = cli(desk, "mark", str(train), "relevant")
    assert relevant.code == 0, relevant.err
    assert relevant.out.strip() == f"Marked #{train} relevant."
    history = query(
        desk, "SELECT label, note FROM marks WHERE article_id = ? ORDER BY id", (train,)
    )
    assert history == [("follow-up", "check the timetable"), ("relevant", None)]
    shown = json.loads(cli(desk, "show", str(train), "--format", "json").out)
    assert [mark["label"] for mark in shown["marks"]] == ["follow-up", "relevant"]
    (row,) = [row for row in as_json(desk, "flagged") if row["id"] == train]
    assert row["label"] == "relevant"
    assert [row["id"] for row in as_json(desk, "flagged", "--label", "relevant")] == [train]
    assert as_json(desk, "flagged", "--label", "follow-up") == []


def test_unreviewed_lists_only_stories_no_copy_of_which_is_marked(desk) -> None:
    # Mark the later copy of a two-outlet story: the story is reviewed, whichever row shows.
    title = "Direct Moscow-Pyongyang train service returns after five years"
    first, later = (row[0] for row in query(
        desk, "SELECT id FROM articles WHERE title = ? ORDER BY id", (title,)
    ))  # fmt: skip
    assert cli(desk, "mark", str(later), "irrelevant").code == 0
    unreviewed = as_json(desk, "flagged", "--unreviewed")
    assert len(unreviewed) == DEMO_STORIES - 1
    assert title not in {row["title"] for row in unreviewed}
    shown = cli(desk, "show", str(first))
    assert "irrelevant, by " in shown.out and f"on #{later}" in shown.out
    table = cli(desk, "flagged").out
    assert "mark" in table.splitlines()[0] and "irrelevant" in table


def test_marking_an_unknown_story_or_with_an_unknown_label_fails_cleanly(desk) -> None:
    missing = cli(desk, "mark", "9999", "relevant")
    assert missing.code == 1
    assert missing.err.startswith("wirewatch: no article with ID 9999")
    bad = cli(desk, "mark", "1", "maybe")
    assert bad.code == 2 and "'maybe' is not one of 'relevant', 'irrelevant', 'follow-up'" in (
        bad.err
    )
    assert query(desk, "SELECT count(*) FROM marks") == [(0,)]


def test_mark_json_says_what_was_recorded(desk) -> None:
    record = json.loads(cli(desk, "mark", "1", "follow-up", "--format", "json").out)
    assert record["id"] == 1 and record["label"] == "follow-up" and record["created"]


# search: English, Russian and Korean, and malformed queries -------------------------------------


def titles(folder: Path, *args: str) -> list[str]:
    return [row["title"] for row in as_json(folder, "search", *args)]


def test_search_finds_english_words_in_any_form(demo_folder) -> None:
    found = titles(demo_folder, "holidaymaker")  # the texts say holidaymakers
    assert sorted(found) == [
        "Russian holidaymakers among first guests at North Korea's Wonsan-Kalma resort",
        "Russian visitors return in force to Thai beaches",
    ]


def test_search_finds_russian_inflected_forms(demo_folder) -> None:
    # The text has Пхеньяне and Пхеньян; the query is the dictionary form.
    (found,) = titles(demo_folder, "Пхеньян")
    assert found.startswith("Лавров в Пхеньяне")
    # and the other way round: an inflected query finds the other forms.
    assert titles(demo_folder, "Пхеньяном") == [found]
    assert titles(demo_folder, "Лаврову") == [found]


def test_search_finds_korean_words_with_their_particles(demo_folder) -> None:
    found = titles(demo_folder, "북한")  # the text has 북한은, 북한이 and 북한
    assert sorted(found) == sorted(
        ["북한 노동자 수천 명, 러시아 건설 현장으로 파견", "북한, 동해상으로 탄도미사일 발사"]
    )
    assert titles(demo_folder, "러시아") == ["북한 노동자 수천 명, 러시아 건설 현장으로 파견"]


def test_search_supports_phrases_prefixes_and_boolean_operators(demo_folder) -> None:
    wonsan = titles(demo_folder, "Wonsan*")
    assert any("Wonsan-Kalma" in title for title in wonsan)
    phrase = titles(demo_folder, '"Kim Jong Un"')
    both = titles(demo_folder, '"Kim Jong Un" AND Vostochny')
    assert both and set(both) < set(phrase)
    without = titles(demo_folder, '"Kim Jong Un" NOT Vostochny')
    assert set(without) == set(phrase) - set(both)
    either = titles(demo_folder, "(Vostochny OR Kursk) AND Putin", "--limit", "0")
    assert any("Vostochny" in title for title in either)


def test_search_takes_the_filters_of_flagged(demo_folder) -> None:
    everything = as_json(demo_folder, "search", "Korea", "--limit", "0")
    flagged_only = as_json(demo_folder, "search", "Korea", "--flagged", "--limit", "0")
    assert 0 < len(flagged_only) < len(everything)
    assert all(row["topics"] == ["russia-dprk"] for row in flagged_only)
    one_source = as_json(demo_folder, "search", "Korea", "--source", "capital-briefs")
    assert {row["source"] for row in one_source} == {"capital-briefs"}
    assert as_json(demo_folder, "search", "Пхеньян", "--language", "en") == []


def test_search_table_shows_the_matching_passage(demo_folder) -> None:
    out = cli(demo_folder, "search", "Tumangang").out
    assert "Tumangang" in out
    assert out.splitlines()[0].split() == ["id", "date", "(UTC)", "source", "outlets", "lang",
                                           "mark", "title", "and", "match"]  # fmt: skip


def test_search_lists_a_story_once_with_its_outlets_as_flagged_does(demo_folder) -> None:
    """Issue 13: search listed every wire copy of a story, and gave its topics as a string."""
    putin = "Putin lands in Pyongyang on first visit in 24 years"
    copies = query(demo_folder, "SELECT count(*) FROM articles WHERE title = ?", (putin,))
    assert copies == [(3,)]
    rows = as_json(demo_folder, "search", '"Putin lands in Pyongyang"')
    (row,) = rows
    assert (row["title"], row["outlets"], row["topics"]) == (putin, 3, ["russia-dprk"])
    listed = next(one for one in as_json(demo_folder, "flagged") if one["title"] == putin)
    assert row["story"] == listed["story"] and row["outlets"] == listed["outlets"]
    everything = as_json(demo_folder, "search", "Pyongyang", "--limit", "0")
    assert len({one["story"] for one in everything}) == len(everything)
    table = cli(demo_folder, "search", '"Putin lands in Pyongyang"').out
    # id, date, time, source, then the outlets
    assert [line.split()[4:6] for line in table.splitlines() if putin in line] == [["3", "en"]]
    sheet = list(csv.DictReader(io.StringIO(cli(demo_folder, "search", "Putin", "--format",
                                                "csv").out)))  # fmt: skip
    assert next(one for one in sheet if one["title"] == putin)["topics"] == "russia-dprk"
    assert (
        "Showing the best 2 stories ("
        in cli(demo_folder, "search", "Pyongyang", "--limit", "2").out
    )


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("Kim AND (", "a '(' is never closed"),
        ('"Kim Jong', "a phrase is not closed"),
        ("NOT Kim", "NOT needs a word before it"),
        ("Kim OR", "the query ends with OR"),
        ("   ", "the query is empty"),
        ("()", "closes an empty group"),
        ("***", "has no letters or digits"),
    ],
)
def test_a_malformed_query_is_one_line_and_exit_2(demo_folder, query, reason) -> None:
    result = cli(demo_folder, "search", query)
    assert result.code == 2
    assert result.err.startswith(f"wirewatch: search query {query!r}: ")
    assert reason in result.err
    assert len(result.err.splitlines()) == 1 and "Traceback" not in result.err


# export: every format is valid and parses back -----------------------------------------------


def test_export_atom_is_a_valid_feed_of_one_entry_per_story(demo_folder) -> None:
    result = cli(demo_folder, "export", "--format", "atom", "--flagged")
    assert result.code == 0, result.err
    feed = feedparser.parse(result.out.encode("utf-8"))
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert len(feed.entries) == DEMO_STORIES
    ids = [entry.id for entry in feed.entries]
    assert len(set(ids)) == len(ids)
    assert feed.feed.id == "tag:wirewatch,2026:flagged/all"
    _, stories = load_stories()
    assert {entry.title for entry in feed.entries} == {s.title for s in stories if s.about}
    for entry in feed.entries:
        assert entry.link.startswith("http://127.0.0.1:")
        assert entry.published_parsed and entry.tags[0].term == "russia-dprk"
    putin = next(e for e in feed.entries if e.title.startswith("Putin lands"))
    carried = putin.summary.rsplit("(", 1)[1]
    assert all(name in carried for name in ("harbour-wire", "capital-briefs", "eastern-dispatch"))


def test_export_atom_ids_are_stable_from_one_export_to_the_next(demo_folder) -> None:
    first = feedparser.parse(cli(demo_folder, "export", "--format", "atom").out.encode())
    second = feedparser.parse(cli(demo_folder, "export", "--format", "atom").out.encode())
    assert [e.id for e in first.entries] == [e.id for e in second.entries]


def test_export_csv_parses_back_with_a_row_per_article(demo_folder) -> None:
    result = cli(demo_folder, "export", "--format", "csv", "--flagged")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert len(rows) == DEMO_FLAGGED_ARTICLES
    assert {"id", "url", "source", "title", "snippet", "body", "topics", "label"} <= set(rows[0])
    # Bodies with commas, quotes and newlines survive the round trip.
    body = query(demo_folder, "SELECT body FROM articles WHERE id = ?", (int(rows[0]["id"]),))
    assert rows[0]["body"] == body[0][0]


def test_export_markdown_to_a_file_has_a_section_per_story(demo_folder) -> None:
    result = cli(demo_folder, "export", "--format", "md", "-o", "flagged.md")
    assert result.code == 0, result.err
    assert result.err.strip() == f"Wrote {DEMO_STORIES} stories to flagged.md."
    text = (demo_folder / "flagged.md").read_text(encoding="utf-8")
    assert text.count("\n## [") == DEMO_STORIES
    assert "[harbour-wire](http://127.0.0.1:" in text


def test_export_takes_the_topic_and_since_filters(demo_folder) -> None:
    recent = cli(demo_folder, "export", "--flagged", "--topic", "russia-dprk", "--since", "6h")
    lines = recent.out.splitlines()
    assert 0 < len(lines) < DEMO_FLAGGED_ARTICLES


# digest ---------------------------------------------------------------------------------------


def test_digest_markdown_groups_by_topic_and_story(demo_folder) -> None:
    result = cli(demo_folder, "digest", "--since", "7d")
    assert result.code == 0, result.err
    text = result.out
    assert text.startswith("# wirewatch digest\n")
    assert f"{DEMO_STORIES} flagged stories from " in text
    assert "\n## russia-dprk\n" in text
    assert text.count("\n### ") == DEMO_STORIES
    putin = text[text.index("### Putin lands in Pyongyang") :].split("\n### ")[0]
    assert "- Outlets (3): [harbour-wire](" in putin
    assert "- First report: " in putin and ", harbour-wire" in putin
    assert "\n> " in putin


def test_digest_html_to_a_file_is_a_page_with_each_story(demo_folder) -> None:
    result = cli(demo_folder, "digest", "--since", "7d", "--format", "html", "-o", "d.html")
    assert result.code == 0, result.err
    assert result.err.strip() == f"Wrote a digest of {DEMO_STORIES} stories to d.html."
    page = lxml.html.fromstring((demo_folder / "d.html").read_text(encoding="utf-8"))
    assert [h.text_content() for h in page.iter("h2")] == ["russia-dprk"]
    assert len(page.find_class("story")) == DEMO_STORIES


def test_a_digest_of_a_quiet_day_says_so(demo_folder) -> None:
    result = cli(demo_folder, "digest", "--since", "2099-01-01")
    assert result.code == 0, result.err
    assert "Nothing was flagged." in result.out


def digest_titles(folder: Path, *args: str) -> list[str]:
    result = cli(folder, "digest", "--since", "7d", *args)
    assert result.code == 0, result.err
    return [
        line.removeprefix("### ") for line in result.out.splitlines() if line.startswith("### ")
    ]


def test_digest_leaves_out_irrelevant_stories_and_takes_the_review_filters(desk) -> None:
    """Issue 13: the digest listed stories marked irrelevant, and could not be filtered."""
    putin, pact = "Putin lands in Pyongyang", "Russia-North Korea mutual defence pact"
    assert cli(desk, "mark", str(story_id(desk, putin)), "irrelevant").code == 0
    assert cli(desk, "mark", str(story_id(desk, pact)), "follow-up").code == 0
    every = digest_titles(desk)
    assert len(every) == DEMO_STORIES - 1
    assert not any(title.startswith(putin) for title in every)

    assert [t[: len(putin)] for t in digest_titles(desk, "--label", "irrelevant")] == [putin]
    assert [t[: len(pact)] for t in digest_titles(desk, "--label", "follow-up")] == [pact]
    unreviewed = digest_titles(desk, "--unreviewed")
    assert len(unreviewed) == DEMO_STORIES - 2 and not any(t.startswith(pact) for t in unreviewed)

    scores = {row["title"]: row["score"] for row in as_json(desk, "flagged", "--limit", "0")}
    high = digest_titles(desk, "--min-score", "35")
    assert high and all(scores[title] >= 35 for title in high)
    assert len(high) == sum(1 for t, s in scores.items() if s >= 35 and not t.startswith(putin))
