"""The shape of the unseen labelled set A for issue 14 (tests/data/russia_dprk_unseen_ua.jsonl).

The set is the held-out measure of the default topic, so this test reads only its form: one
JSON object a line with the fields topic-test reads, unique IDs, and 20 stories of each label
for each language and kind. It never runs the matcher over the stories.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

from .conftest import REPO

UNSEEN = REPO / "tests" / "data" / "russia_dprk_unseen_ua.jsonl"
FIELDS = {"id", "lang", "kind", "title", "body", "label", "set", "note"}
PER_GROUP = 20  # stories for each language, kind and label


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
        assert re.fullmatch(r"ua-\d{3}", story["id"]), story["id"]
        assert story["lang"] in {"en", "ru"}, story["id"]
        assert story["kind"] in {"article", "entry"}, story["id"]
        assert isinstance(story["label"], bool), story["id"]
        for field in ("title", "body", "note"):
            assert isinstance(story[field], str), (story["id"], field)
            assert story[field].strip(), (story["id"], field)


def test_ids_are_unique() -> None:
    counts = Counter(story["id"] for story in stories())
    assert [story_id for story_id, n in counts.items() if n > 1] == []
    assert len(counts) == 4 * 2 * PER_GROUP


def test_every_story_is_held_out() -> None:
    assert {story["set"] for story in stories()} == {"holdout"}


def test_each_language_and_kind_has_twenty_true_and_twenty_false() -> None:
    counts = Counter((story["lang"], story["kind"], story["label"]) for story in stories())
    expected = {
        (lang, kind, label): PER_GROUP
        for lang in ("en", "ru")
        for kind in ("article", "entry")
        for label in (True, False)
    }
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


def test_text_is_written_as_utf8_not_escaped() -> None:
    text = UNSEEN.read_text(encoding="utf-8")
    assert "\\u04" not in text  # Cyrillic kept as itself (ensure_ascii=False)
    assert "Ким Чен Ын" in text
