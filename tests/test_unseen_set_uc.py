"""The shape of the unseen labelled set C for issue 14 (tests/data/russia_dprk_unseen_uc.jsonl).

It is a held-out measure of the default topic, so these tests check only its form (fields,
counts, sizes); nothing here runs the matcher or the topic over its stories.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

from .conftest import REPO

UNSEEN = REPO / "tests" / "data" / "russia_dprk_unseen_uc.jsonl"
FIELDS = {"id", "lang", "kind", "title", "body", "label", "set", "note"}
# (language, kind, label) -> how many stories of each the set was written to hold.
COUNTS = {
    (lang, kind, label): 20
    for lang in ("en", "ru")
    for kind in ("article", "entry")
    for label in (True, False)
}
# A sentence ends at . ! or ? followed by a space or the end of the text ("0.5" is not an end).
SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def raw_lines() -> list[str]:
    return UNSEEN.read_text(encoding="utf-8").splitlines()


def stories() -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw_lines()]


def test_every_line_is_one_json_object_written_as_utf8_text() -> None:
    lines = raw_lines()
    assert lines, "the set is empty"
    for number, line in enumerate(lines, 1):
        assert line.strip(), f"line {number} is blank"
        assert isinstance(json.loads(line), dict), f"line {number} is not an object"
        # ensure_ascii=False: Cyrillic is stored as itself, not as \\u escapes.
        assert "\\u" not in line, f"line {number} escapes its text"


def test_every_story_has_exactly_the_required_fields_with_their_types() -> None:
    for story in stories():
        assert set(story) == FIELDS, story.get("id")
        for field in FIELDS - {"label"}:
            assert isinstance(story[field], str) and story[field].strip(), (story["id"], field)
        assert isinstance(story["label"], bool), story["id"]


def test_ids_are_unique_and_numbered_in_part_uc() -> None:
    ids = [story["id"] for story in stories()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"uc-\d{3}", story_id) for story_id in ids)
    assert sorted(ids) == [f"uc-{n:03d}" for n in range(1, len(ids) + 1)]


def test_titles_are_unique() -> None:
    titles = [story["title"] for story in stories()]
    assert len(titles) == len(set(titles))


def test_every_story_is_held_out() -> None:
    assert {story["set"] for story in stories()} == {"holdout"}


def test_counts_per_language_kind_and_label_are_as_written() -> None:
    tally = Counter((story["lang"], story["kind"], story["label"]) for story in stories())
    assert tally == COUNTS
    assert sum(tally.values()) == 160


@pytest.mark.parametrize("story", stories(), ids=lambda story: story["id"])
def test_a_story_has_the_size_of_its_kind(story: dict[str, Any]) -> None:
    body = story["body"]
    if story["kind"] == "article":
        paragraphs = body.split("\n")
        assert 4 <= len(paragraphs) <= 7
        assert all(paragraph.strip() for paragraph in paragraphs)
        assert 120 <= len(body.split()) <= 300
    else:
        assert "\n" not in body
        assert 1 <= len(SENTENCE_END.findall(body)) <= 3
