"""Learning from triage (issue 14 items 2 and 4): marks and exports as labelled stories for
topic-test, and the per-topic scores that alerts and the digest ask for.

Every test that marks works on its own copy of the demo archive.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from monitor.alerts import dispatch
from monitor.archive import Archive

from .conftest import Result, copy_demo, run_cli, write_config

CONFIG = "wirewatch-demo/config.yaml"
TOPIC = "russia-dprk"


@pytest.fixture
def desk(demo_folder: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo folder, for tests that write marks or edit the config."""
    return copy_demo(demo_folder, tmp_path)


def cli(folder: Path, *args: str) -> Result:
    return run_cli("--config", CONFIG, *args, cwd=folder)


def as_json(folder: Path, *args: str) -> object:
    result = cli(folder, *args, "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def mark(folder: Path, article: int, label: str) -> None:
    result = cli(folder, "mark", str(article), label)
    assert result.code == 0, result.err


def flagged_ids(folder: Path) -> dict[str, int]:
    """The flagged stories' IDs (as flagged shows them) by title."""
    rows = as_json(folder, "flagged", "--limit", "0")
    assert isinstance(rows, list)
    return {row["title"]: row["id"] for row in rows}


def unflagged_article(folder: Path) -> dict:
    """An article no topic flagged, from the full export."""
    rows = [json.loads(line) for line in cli(folder, "export").out.splitlines()]
    return next(row for row in rows if not row["topics"])


def set_topic_keys(folder: Path, **keys: object) -> None:
    """Set keys of the demo config's topic."""
    path = folder / CONFIG
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["topics"][TOPIC].update(keys)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# topic-test --from-marks ----------------------------------------------------------------------


def test_topic_test_from_marks_scores_each_story_by_its_latest_mark(desk: Path) -> None:
    ids = flagged_ids(desk)
    putin = ids["Putin lands in Pyongyang on first visit in 24 years"]
    bridge = ids["Work begins on first road bridge between Russia and North Korea"]
    train = ids["Direct Moscow-Pyongyang train service returns after five years"]
    missed = unflagged_article(desk)
    mark(desk, putin, "relevant")
    mark(desk, bridge, "follow-up")
    mark(desk, train, "relevant")
    mark(desk, train, "irrelevant")  # the latest mark counts: a false positive now
    mark(desk, missed["id"], "relevant")  # an analyst says the topic missed it

    report = as_json(desk, "topic-test", "--from-marks")
    assert isinstance(report, dict)
    # 4 stories: 3 about the topic (putin, bridge, missed), 3 flagged (putin, bridge, train).
    assert report["overall"] == {
        "stories": 4, "positives": 3, "flagged": 3,
        "precision": 0.6667, "recall": 0.6667, "f1": 0.6667,
    }  # fmt: skip
    assert report["unlabelled"] == 0
    assert [m["id"] for m in report["false_positives"]] == [str(train)]
    assert [m["id"] for m in report["false_negatives"]] == [str(missed["id"])]
    assert report["false_negatives"][0]["title"] == missed["title"]

    text = cli(desk, "topic-test", "--from-marks")
    assert text.code == 0, text.err
    assert f"{TOPIC} on the marks in " in text.out and "(4 stories)" in text.out
    assert "all         4          3         3       0.667    0.667   0.667" in text.out
    assert "False positives (1):" in text.out and "False negatives (1):" in text.out


def test_a_story_marked_on_two_copies_counts_once_by_the_later_mark(desk: Path) -> None:
    rows = [json.loads(line) for line in cli(desk, "export", "--flagged").out.splitlines()]
    story = next(row["story"] for row in rows if "Putin lands" in row["title"])
    copies = [row["id"] for row in rows if row["story"] == story]
    assert len(copies) == 3
    mark(desk, copies[0], "irrelevant")
    mark(desk, copies[1], "relevant")
    report = as_json(desk, "topic-test", "--from-marks")
    assert isinstance(report, dict)
    assert report["overall"]["stories"] == 1
    assert report["overall"]["positives"] == 1 and report["false_positives"] == []


def test_topic_test_from_marks_without_marks_says_how_to_make_them(desk: Path) -> None:
    result = cli(desk, "topic-test", "--from-marks")
    assert result.code == 2
    assert result.err.strip() == (
        f"wirewatch: {(desk / 'wirewatch-demo' / 'demo.db').resolve()}: no marks yet: triage "
        "stories with 'wirewatch mark ID relevant|irrelevant|follow-up' or in 'wirewatch "
        "serve', then test on them"
    )
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-marks", "x.jsonl"], "give a labelled FILE or --from-marks, not both"),
        ([], "give a labelled FILE, or --from-marks to test on the archive's marks"),
        (["--from-marks", "--set", "holdout"], "--set picks lines of a FILE"),
    ],
)
def test_topic_test_takes_one_source_of_labels(desk: Path, args: list[str], message: str) -> None:
    (desk / "x.jsonl").write_text("", encoding="utf-8")
    result = cli(desk, "topic-test", *args)
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1


# export → topic-test --------------------------------------------------------------------------


def test_topic_test_reads_an_export_as_it_is_skipping_unmarked_rows(desk: Path) -> None:
    ids = flagged_ids(desk)
    mark(desk, ids["Putin lands in Pyongyang on first visit in 24 years"], "relevant")
    mark(desk, ids["Work begins on first road bridge between Russia and North Korea"], "follow-up")
    mark(desk, ids["Direct Moscow-Pyongyang train service returns after five years"], "irrelevant")
    missed = unflagged_article(desk)
    mark(desk, missed["id"], "relevant")
    done = cli(desk, "export", "--format", "jsonl", "-o", "marked.jsonl")
    assert done.code == 0, done.err
    rows = [json.loads(line) for line in (desk / "marked.jsonl").read_text().splitlines()]
    labelled = [row for row in rows if row["label"]]
    # Marks label stories: every copy of a marked story carries its label. Putin's visit
    # ran at 3 outlets, the bridge at 1, the train at 2, and the missed story at 1.
    assert len(labelled) == 3 + 1 + 2 + 1

    report = as_json(desk, "topic-test", "marked.jsonl")
    assert isinstance(report, dict)
    about = [row for row in labelled if row["label"] in ("relevant", "follow-up")]
    flagged = [row for row in labelled if TOPIC in row["topics"]]
    hits = [row for row in about if TOPIC in row["topics"]]
    assert report["overall"]["stories"] == len(labelled) == 7
    assert report["overall"]["positives"] == len(about) == 5
    assert report["overall"]["flagged"] == len(flagged) == 6
    assert report["overall"]["precision"] == round(len(hits) / len(flagged), 4) == 0.6667
    assert report["overall"]["recall"] == round(len(hits) / len(about), 4) == 0.8
    assert report["unlabelled"] == len(rows) - len(labelled)
    assert set(report["by_language"]) == {"en"}  # export's "language" stands for "lang"
    assert [m["id"] for m in report["false_negatives"]] == [str(missed["id"])]

    text = cli(desk, "topic-test", "marked.jsonl")
    assert text.code == 0, text.err
    assert f"{len(rows) - len(labelled)} more without a label were skipped." in text.out


def test_an_export_with_no_marks_is_refused_with_the_count_of_unlabelled_rows(desk: Path) -> None:
    assert cli(desk, "export", "-o", "all.jsonl").code == 0
    count = len((desk / "all.jsonl").read_text().splitlines())
    result = cli(desk, "topic-test", "all.jsonl")
    assert result.code == 2
    assert f"all.jsonl: no labelled stories ({count} without a label)" in result.err


@pytest.mark.parametrize("label", ["maybe", 1, ["relevant"]])
def test_a_label_that_is_neither_a_verdict_nor_a_mark_is_named_with_its_line(
    desk: Path, label: object
) -> None:
    story = {"id": "a", "title": "Lavrov in Pyongyang", "body": "Talks.", "label": label}
    good = {**story, "id": "b", "label": "relevant"}
    (desk / "bad.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(story) + "\n")
    result = cli(desk, "topic-test", "bad.jsonl")
    assert result.code == 2
    assert result.err.strip() == (
        f"wirewatch: bad.jsonl: line 2: label must be true, false, relevant, follow-up or "
        f"irrelevant, not {label!r}"
    )


# thresholds for alerts and the digest ---------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ({"alert_min_score": 2}, "alert_min_score: 2 is below the threshold (4), where nothing "
                                 "is flagged: leave it out, or give the threshold or more"),
        ({"digest_min_score": 20_000}, "digest_min_score: 20000 is out of range (use 0 to 10,000)"),
        ({"digest_min_score": "high"}, "digest_min_score: 'high' is not a number"),
    ],
)  # fmt: skip
def test_a_bad_min_score_is_named_with_its_file_and_key(
    desk: Path, keys: dict[str, object], problem: str
) -> None:
    set_topic_keys(desk, **keys)
    result = cli(desk, "check")
    assert result.code == 2
    assert f"config.yaml: topics.{TOPIC}.{problem}" in result.err
    assert "Traceback" not in result.err


def test_digest_leaves_out_stories_below_the_topics_digest_min_score(desk: Path) -> None:
    rows = as_json(desk, "flagged", "--limit", "0")
    assert isinstance(rows, list)
    kept = sorted(row["title"] for row in rows if row["score"] >= 35)
    assert 0 < len(kept) < len(rows)
    before = cli(desk, "digest", "--since", "7d").out
    assert before.count("\n### ") == len(rows)
    set_topic_keys(desk, digest_min_score=35)
    after = cli(desk, "digest", "--since", "7d")
    assert after.code == 0, after.err
    titles = sorted(part.split("\n")[0] for part in after.out.split("\n### ")[1:])
    assert titles == kept
    assert f"{len(kept)} flagged stories from " in after.out
    # flagged still lists every story: the minimum is the digest's alone.
    assert len(as_json(desk, "flagged", "--limit", "0")) == len(rows)  # type: ignore[arg-type]


def test_alerts_are_queued_only_for_stories_scored_at_least_the_minimum(desk: Path) -> None:
    rows = as_json(desk, "flagged", "--limit", "0")
    assert isinstance(rows, list)
    expected = sorted(row["title"] for row in rows if row["score"] >= 35)
    assert 0 < len(expected) < len(rows)
    sent: list[str] = []

    def notify(target: str, title: str, body: str) -> str | None:
        sent.append(title.removeprefix(f"[{TOPIC}] "))
        return None

    targets = {TOPIC: ["json://127.0.0.1:9/hook"]}
    # The demo's flags were made when the demo ran, within the last day.
    now = datetime.now(UTC)
    with Archive.open(desk / "wirewatch-demo" / "demo.db") as archive:
        done = dispatch(archive, targets, now, notify, min_scores={TOPIC: 35})
        assert (done.queued, done.sent, done.failed) == (len(expected), len(expected), 0)
        assert sorted(sent) == expected
        # Lowered to the threshold, the other stories are alerted, each once.
        again = dispatch(archive, targets, now, notify, min_scores={TOPIC: 4})
    assert again.sent == len(rows) - len(expected)
    assert sorted(sent) == sorted(row["title"] for row in rows)


# match --explain ------------------------------------------------------------------------------

EXPLAINED_TOPIC = {
    "t": {
        "entities": {
            "russia": {"en": ["Russia", "Moscow", "Putin"]},
            "dprk": {"en": ["North Korea", "Pyongyang"]},
            "sport": {"en": ["football"]},
        },
        "rules": {
            "sentence": "russia NEAR/sentence dprk",
            "close": "russia NEAR/3 dprk",
            "headline": "title:russia AND title:dprk",
            "twice": "dprk>=2",
        },
        "exclude": "title:sport",
        "threshold": 4,
    }
}
NEAR_MISSES = [
    {"id": "alone", "title": "Moscow weather", "body": "Snow fell in Moscow. Putin stayed in."},
    {"id": "apart", "title": "A long week",
     "body": "Putin spoke in Moscow on Monday about the harvest.\n\nLater, Pyongyang tested a "
             "missile over the sea."},
    {"id": "sport", "title": "Russia play North Korea at football",
     "body": "Russia met North Korea in a qualifier."},
    {"id": "weak", "title": "Notes", "body": "Russia and North Korea signed a memorandum."},
]  # fmt: skip


def explained(tmp_path: Path, *args: str, stories: list[dict] = NEAR_MISSES) -> Result:
    config = write_config(tmp_path, [], topics=EXPLAINED_TOPIC)
    lines = "\n".join(json.dumps(story) for story in stories)
    return run_cli("--config", str(config), "match", "--explain", *args, stdin=lines)


def test_match_explain_says_which_part_of_each_rule_failed(tmp_path: Path) -> None:
    result = explained(tmp_path)
    assert result.code == 0, result.err
    alone, apart, sport, weak = _by_story(result.out)
    assert "found: russia (3): Moscow ×2, Putin" in alone
    assert "rule sentence (russia NEAR/sentence dprk): needs russia and dprk in one sentence: " \
           "dprk never found" in alone  # fmt: skip
    assert "rule headline (title:russia AND title:dprk): in the headline: dprk never found" in alone
    assert "rule twice (dprk>=2): needs 2 hits of dprk, found 0" in alone
    assert "= not flagged: no rule fired" in alone
    assert "needs russia and dprk in one sentence: both found, never in one sentence" in apart
    assert "needs russia and dprk within 3 words: never, the closest " in apart
    assert "exclude (title:sport): fired on sport (1): football" in sport
    assert "= not flagged: the exclusion fired" in sport
    assert "rule sentence (russia NEAR/sentence dprk): fired" in weak
    assert "= not flagged: score 3 is below the threshold 4" in weak


def _by_story(text: str) -> list[str]:
    """Split match's text output into one block per story (a block starts unindented)."""
    blocks: list[str] = []
    for line in text.splitlines():
        if not line.startswith(" "):
            blocks.append("")
        blocks[-1] += line + "\n"
    return blocks


def test_match_explain_as_json_gives_the_same_as_a_structure(tmp_path: Path) -> None:
    result = explained(tmp_path, "--format", "json")
    assert result.code == 0, result.err
    answers = {answer["id"]: answer for answer in map(json.loads, result.out.splitlines())}
    alone = answers["alone"]
    assert alone["flagged"] is False and alone["terms"] == []  # the verdict, as without
    assert alone["explain"]["terms"] == [
        {"entity": "russia", "count": 3, "aliases": {"Moscow": 2, "Putin": 1}}
    ]
    rules = {rule["name"]: rule for rule in alone["explain"]["rules"]}
    assert rules["sentence"] == {
        "name": "sentence",
        "rule": "russia NEAR/sentence dprk",
        "fired": False,
        "why": "needs russia and dprk in one sentence: dprk never found",
    }
    assert alone["explain"]["verdict"] == "not flagged: no rule fired"
    assert answers["sport"]["explain"]["exclude"] == {
        "rule": "title:sport",
        "fired": True,
        "terms": [{"entity": "sport", "count": 1, "aliases": {"football": 1}}],
    }
    weak = answers["weak"]["explain"]
    assert [rule["name"] for rule in weak["rules"] if rule["fired"]] == ["sentence", "close"]
    assert [rule["why"] for rule in weak["rules"] if rule["fired"]] == [None, None]


def test_match_explain_shows_a_hostile_title_as_text(tmp_path: Path) -> None:
    story = {"id": "x\x1b]8;;http://evil\x07", "title": "\x1b[2JRussia\u202e and Pyongyang",
             "body": "Nothing here."}  # fmt: skip
    result = explained(tmp_path, stories=[story])
    assert result.code == 0, result.err
    assert "\x1b" not in result.out and "\x07" not in result.out and "\u202e" not in result.out
    assert "␛[2JRussia" in result.out


def test_match_without_explain_still_answers_in_json_lines(tmp_path: Path) -> None:
    config = write_config(tmp_path, [], topics=EXPLAINED_TOPIC)
    lines = "\n".join(json.dumps(story) for story in NEAR_MISSES)
    result = run_cli("--config", str(config), "match", stdin=lines)
    assert result.code == 0, result.err
    answers = [json.loads(line) for line in result.out.splitlines()]
    assert [answer["id"] for answer in answers] == ["alone", "apart", "sport", "weak"]
    assert all("explain" not in answer for answer in answers)
    text = run_cli("--config", str(config), "match", "--format", "text", stdin=lines)
    assert "alone  Moscow weather\n  not flagged, score 0 (threshold 4)\n" in text.out
