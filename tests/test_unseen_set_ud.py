"""The shape of the unseen labelled set D for issue 14 (tests/data/russia_dprk_unseen_ud.jsonl).

Set D is 80 Korean stories held out as a final measure of the default topic. This test reads
only their form: one JSON object a line with the fields topic-test reads, unique IDs, every
story in holdout, and 20 true and 20 false stories for each kind. It never runs the matcher.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

from .conftest import REPO

UNSEEN = REPO / "tests" / "data" / "russia_dprk_unseen_ud.jsonl"
FIELDS = {"id", "lang", "kind", "title", "body", "label", "set", "note"}
KINDS = ("article", "entry")
PER_GROUP = 20  # stories for each kind and label, all in Korean


def stories() -> list[dict[str, Any]]:
    """Every line of the set, parsed, failing the test on a line that is not a JSON object."""
    parsed = []
    lines = UNSEEN.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        try:
            story = json.loads(line)
        except json.JSONDecodeError as error:
            pytest.fail(f"line {number} is not JSON: {error}")
        assert isinstance(story, dict), f"line {number} is not a JSON object"
        parsed.append(story)
    return parsed


def test_every_line_has_exactly_the_fields_of_a_labelled_story() -> None:
    for story in stories():
        assert set(story) == FIELDS, story.get("id")
        assert re.fullmatch(r"ud-\d{3}", story["id"]), story["id"]
        assert story["lang"] == "ko", story["id"]
        assert story["kind"] in KINDS, story["id"]
        assert isinstance(story["label"], bool), story["id"]
        for field in ("title", "body", "note"):
            assert isinstance(story[field], str), (story["id"], field)
            assert story[field].strip(), (story["id"], field)


def test_ids_are_unique() -> None:
    counts = Counter(story["id"] for story in stories())
    assert [story_id for story_id, n in counts.items() if n > 1] == []
    assert len(counts) == len(KINDS) * 2 * PER_GROUP


def test_every_story_is_held_out() -> None:
    assert {story["set"] for story in stories()} == {"holdout"}


def test_each_kind_has_twenty_true_and_twenty_false_korean_stories() -> None:
    counts = Counter((story["lang"], story["kind"], story["label"]) for story in stories())
    expected = {("ko", kind, label): PER_GROUP for kind in KINDS for label in (True, False)}
    assert counts == expected


def test_articles_are_whole_stories_and_entries_short_summaries() -> None:
    for story in stories():
        body = story["body"]
        if story["kind"] == "article":
            assert 4 <= len(body.split("\n")) <= 7, story["id"]
            assert 120 <= len(body.split()) <= 300, story["id"]
        else:
            assert "\n" not in body, story["id"]
            assert len(body.split()) <= 80, story["id"]


def test_hangul_is_written_as_utf8_not_escaped() -> None:
    text = UNSEEN.read_text(encoding="utf-8")
    assert "\\u" not in text  # ensure_ascii=False: Hangul kept as itself
    assert "로씨야련방" in text
    assert "쿠르스크" in text
