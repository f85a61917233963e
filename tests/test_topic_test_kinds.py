"""The fresh labelled set (tests/data/russia_dprk_fresh.jsonl) and topic-test's figures per
language and per kind of story: full articles and feed entries."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from .conftest import REPO, run_cli

FRESH = REPO / "tests" / "data" / "russia_dprk_fresh.jsonl"
FIGURES = ("stories", "positives", "flagged", "precision", "recall", "f1")
# A row of the text table: name, three counts, then precision, recall and F1 to 3 places.
ROW = re.compile(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([01]\.\d{3})\s+([01]\.\d{3})\s+([01]\.\d{3})$")


def fresh() -> list[dict[str, Any]]:
    lines = FRESH.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def rows_of(text: str) -> dict[str, tuple[int, ...]]:
    """Return each table row of topic-test's text output by its name: the three counts."""
    rows = {}
    for line in text.splitlines():
        if match := ROW.match(line.strip()):
            rows[match[1]] = tuple(int(count) for count in match.group(2, 3, 4))
    return rows


def well_formed(tally: dict[str, Any]) -> None:
    assert set(tally) == set(FIGURES)
    assert 0 <= tally["positives"] <= tally["stories"] and 0 <= tally["flagged"] <= tally["stories"]
    for figure in ("precision", "recall", "f1"):
        assert 0.0 <= tally[figure] <= 1.0
    low, high = sorted((tally["precision"], tally["recall"]))
    assert low - 0.001 <= tally["f1"] <= high + 0.001  # a harmonic mean lies between the two


def first_written(story: dict[str, Any]) -> bool:
    """The 120 stories written first (f001 to f040 in each language), a third held out;
    those added later to drive the rules of issue 14 (f041 on) are all dev."""
    return int(story["id"].rsplit("-f", 1)[1]) <= 40


def test_fresh_set_covers_each_language_kind_and_class_with_a_holdout_third() -> None:
    stories = fresh()
    assert len(stories) >= 180
    assert len({story["id"] for story in stories}) == len(stories)
    languages = Counter(story["lang"] for story in stories)
    assert set(languages) == {"en", "ru", "ko"} and len(set(languages.values())) == 1
    for story in stories:
        assert story["kind"] in ("article", "entry") and story["set"] in ("dev", "holdout")
        assert isinstance(story["label"], bool) and story["title"] and story["body"]
        assert story["id"].startswith(story["lang"] + "-f")
        if story["kind"] == "entry":
            assert "\n" not in story["body"]
        else:
            assert story["body"].count("\n") >= 2
    later = [story for story in stories if not first_written(story)]
    assert all(story["set"] == "dev" for story in later)
    assert {(s["lang"], s["kind"], s["label"]) for s in later} == {
        (lang, kind, label) for lang in languages for kind in ("article", "entry")
        for label in (True, False)
    }  # fmt: skip
    stories = [story for story in stories if first_written(story)]
    assert Counter(story["lang"] for story in stories) == {"en": 40, "ru": 40, "ko": 40}
    groups = Counter((s["lang"], s["kind"], s["label"]) for s in stories)
    held = Counter((s["lang"], s["kind"], s["label"]) for s in stories if s["set"] == "holdout")
    assert set(groups) == set(held)  # every language, kind and class has held-out stories
    for group, count in groups.items():
        assert count // 4 <= held[group] <= count // 2


def test_topic_test_reports_each_language_and_kind_of_the_fresh_dev_set(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    dev = [story for story in fresh() if story["set"] == "dev"]
    result = run_cli("topic-test", str(FRESH), "--set", "dev", "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["overall"]["stories"] == len(dev)
    assert report["overall"]["positives"] == sum(story["label"] for story in dev)
    for part, key in (("by_language", "lang"), ("by_kind", "kind")):
        counts = Counter(story[key] for story in dev)
        assert {name: tally["stories"] for name, tally in report[part].items()} == counts
        for tally in report[part].values():
            well_formed(tally)
        for figure in ("stories", "positives", "flagged"):
            assert sum(t[figure] for t in report[part].values()) == report["overall"][figure]
    well_formed(report["overall"])

    text = run_cli("topic-test", str(FRESH), "--set", "dev", cwd=tmp_path)
    assert text.code == 0, text.err
    rows = rows_of(text.out)
    assert set(rows) == {"all", "en", "ru", "ko", "article", "entry"}
    for name, tally in [("all", report["overall"]), *report["by_language"].items(),
                        *report["by_kind"].items()]:  # fmt: skip
        assert rows[name] == (tally["stories"], tally["positives"], tally["flagged"])
    assert re.search(r"^kind\s+stories\s+about it\s+flagged\s+precision\s+recall\s+F1", text.out,
                     re.M)  # fmt: skip


def test_topic_test_without_kinds_prints_no_kind_table_and_escapes_a_kind(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    story = {"title": "Putin and Kim sign a defence treaty in Pyongyang",
             "body": "Russia and North Korea signed a mutual defence treaty.", "lang": "en"}  # fmt: skip
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"id": "a", "label": True, **story}) + "\n", encoding="utf-8")
    report = json.loads(run_cli("topic-test", str(plain), "--format", "json", cwd=tmp_path).out)
    assert report["by_kind"] == {} and report["overall"]["stories"] == 1
    text = run_cli("topic-test", str(plain), cwd=tmp_path).out
    assert "about it" in text and not re.search(r"^kind\s", text, re.M)

    hostile = tmp_path / "hostile.jsonl"
    kind = "[red]wire\x1b[2Jfeed"
    hostile.write_text(
        json.dumps({"id": "b", "label": True, "kind": kind, **story}) + "\n", encoding="utf-8"
    )
    report = json.loads(run_cli("topic-test", str(hostile), "--format", "json", cwd=tmp_path).out)
    assert list(report["by_kind"]) == [kind]
    text = run_cli("topic-test", str(hostile), cwd=tmp_path).out
    assert "\x1b" not in text and "[red]wire" in text
