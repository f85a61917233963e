"""Triage labels are defined once (monitor.archive.marks) and kept as a story's history.

The same labels feed the `mark` command's choices, the web triage links and the CHECK
constraint of the marks table (issue 11).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.archive import Archive
from monitor.archive.labels import LABELS, Label, label_check
from monitor.archive.marks import add_mark, story_marks
from monitor.commands.desk import mark
from monitor.serve.metadata import metadata
from monitor.serve.triage import render_cell

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def archive(tmp_path: Path):
    """An archive with one story carried by two outlets, and a story of its own."""
    with Archive.open(tmp_path / "archive.db") as opened:
        with opened.writing() as db:
            db.execute("INSERT INTO sources (name, kind, url) VALUES ('wire', 'feed', 'http://x/')")
            for number, cluster in ((1, 1), (2, 1), (3, None)):
                db.execute(
                    "INSERT INTO articles (id, key, url, source, fetched, title, body, "
                    "content_hash, cluster_id) "
                    "VALUES (?, ?, ?, 'wire', '2026-11-27T10:00:00Z', 't', 'b', ?, ?)",
                    [number, f"k{number}", f"http://x/{number}", f"h{number}", cluster],
                )
        yield opened


def constraint_labels(archive: Archive) -> set[str]:
    (sql,) = archive.db.execute("SELECT sql FROM sqlite_master WHERE name = 'marks'").fetchone()
    check = re.search(r"CHECK \(label IN \(([^)]*)\)\)", sql)
    assert check, sql
    return {quoted.strip().strip("'") for quoted in check.group(1).split(",")}


def test_the_marks_table_takes_every_label_and_nothing_else(archive: Archive) -> None:
    assert constraint_labels(archive) == set(LABELS) == {"relevant", "irrelevant", "follow-up"}
    for minutes, label in enumerate(Label):
        add_mark(archive, 3, label, note=None, by="a", now=NOW + timedelta(minutes=minutes))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"), archive.writing() as db:
        db.execute(
            "INSERT INTO marks (article_id, label, created) VALUES (3, 'maybe', '2026-11-27')"
        )
    assert [one["label"] for one in story_marks(archive, 3)] == list(LABELS)


def test_the_check_text_is_built_from_the_labels() -> None:
    assert label_check() == "label IN ('relevant', 'irrelevant', 'follow-up')"
    assert label_check("m.label").startswith("m.label IN (")


def test_a_story_s_marks_are_those_of_every_copy_oldest_first(archive: Archive) -> None:
    add_mark(archive, 2, Label.FOLLOW_UP, note="ask Seoul", by="ana", now=NOW)
    add_mark(archive, 1, Label.RELEVANT, note=None, by="bo", now=NOW + timedelta(minutes=1))
    add_mark(archive, 3, Label.IRRELEVANT, note=None, by="bo", now=NOW)
    assert story_marks(archive, 1) == [
        {"article_id": 2, "label": "follow-up", "note": "ask Seoul", "marked_by": "ana",
         "created": "2026-11-27T12:00:00Z"},
        {"article_id": 1, "label": "relevant", "note": None, "marked_by": "bo",
         "created": "2026-11-27T12:01:00Z"},
    ]  # fmt: skip
    assert [one["label"] for one in story_marks(archive, 3)] == ["irrelevant"]


def test_the_mark_command_offers_the_labels_in_order() -> None:
    (label,) = [param for param in mark.params if param.name == "label"]
    assert tuple(label.type.choices) == LABELS  # type: ignore[attr-defined]


def test_the_web_triage_links_one_mark_form_per_label() -> None:
    row = {"id": 7, "title": "Story", "triage": 7}
    cell = str(render_cell(row, 7, "triage", "flagged_stories", "archive"))
    assert re.findall(r"label=([\w-]+)", cell) == list(LABELS)
    assert 'href="/story/7"' in str(
        render_cell(row, "Story", "title", "flagged_stories", "archive")
    )
    assert render_cell({"name": "x"}, "x", "name", "flagged_stories", "archive") is None
    queries = metadata("archive")["databases"]["archive"]["queries"]
    assert "label = 'follow-up'" in queries["follow_ups"]["sql"]
    assert "relevant, irrelevant or follow-up" in queries["mark_story"]["on_error_message"]
