"""The shape of the four blind sets of issue 14 (tests/data/russia_dprk_unseen_u[a-d].jsonl).

They are held-out measures of the default topic, written by engineers who never read the
topic or the matcher, so these tests check only their form (fields, counts, sizes); nothing
here runs the matcher or the topic over their stories (tests/test_unseen_measure.py does,
printing no story).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO

# Each part: the languages it was written in, 20 true and 20 false stories of each kind.
PARTS = {"ua": ("en", "ru"), "ub": ("ko",), "uc": ("en", "ru"), "ud": ("ko",)}
FIELDS = {"id", "lang", "kind", "title", "body", "label", "set", "note"}


def path_of(part: str) -> Path:
    return REPO / "tests" / "data" / f"russia_dprk_unseen_{part}.jsonl"


def stories(part: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path_of(part).read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("part", PARTS)
def test_every_line_is_one_json_object_written_as_utf8_text(part: str) -> None:
    lines = path_of(part).read_text(encoding="utf-8").splitlines()
    assert lines, "the set is empty"
    for number, line in enumerate(lines, 1):
        assert isinstance(json.loads(line), dict), f"line {number} is not an object"
        assert "\\u" not in line, f"line {number} escapes its text"  # ensure_ascii=False


@pytest.mark.parametrize("part", PARTS)
def test_every_story_has_the_fields_and_is_held_out(part: str) -> None:
    found = stories(part)
    for story in found:
        assert set(story) == FIELDS, story.get("id")
        for field in FIELDS - {"label"}:
            assert isinstance(story[field], str) and story[field].strip(), (story["id"], field)
        assert isinstance(story["label"], bool), story["id"]
        assert story["set"] == "holdout", story["id"]
    ids = [story["id"] for story in found]
    assert sorted(ids) == [f"{part}-{n:03d}" for n in range(1, len(ids) + 1)]
    assert len({story["title"] for story in found}) == len(found)


@pytest.mark.parametrize("part", PARTS)
def test_counts_per_language_kind_and_label_are_as_written(part: str) -> None:
    tally = Counter((story["lang"], story["kind"], story["label"]) for story in stories(part))
    assert tally == {
        (lang, kind, label): 20
        for lang in PARTS[part]
        for kind in ("article", "entry")
        for label in (True, False)
    }


@pytest.mark.parametrize("part", PARTS)
def test_each_story_has_the_size_of_its_kind(part: str) -> None:
    for story in stories(part):
        body = story["body"]
        if story["kind"] == "article":
            paragraphs = body.split("\n")
            assert 4 <= len(paragraphs) <= 7, story["id"]
            assert all(paragraph.strip() for paragraph in paragraphs), story["id"]
            assert 120 <= len(body.split()) <= 300, story["id"]
        else:
            assert "\n" not in body and len(body.split()) <= 80, story["id"]
