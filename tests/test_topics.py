"""The topic language, the default topic on our labelled set, and match/rematch/topic-test."""

from __future__ import annotations

import json
import shutil
import sqlite3
import unicodedata
from pathlib import Path

import pytest
import yaml

from monitor.config import Topic, load, parse
from monitor.errors import ConfigError
from monitor.matcher.aliases import AliasError, parse_alias
from monitor.matcher.engine import Matcher
from monitor.topictest import evaluate_topic, read_stories

from .conftest import REPO, default_topics, run_cli

LABELLED = REPO / "tests" / "data" / "russia_dprk_labelled.jsonl"


def hits(aliases: list[str], text: str) -> list[str]:
    """Return what the aliases find in *text*, as the text spells it."""
    topic = Topic(entities={"e": {"any": aliases}}, rule="e")
    (result,) = Matcher({"t": topic}).match("", text)
    body = unicodedata.normalize("NFKC", text)
    return [body[hit.start : hit.end] for hit in result.hits]


# Aliases --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aliases", "text", "found"),
    [
        # Russian: a stem with a closed set of endings, and ё read as е.
        (["Росси(я|и|ю|ей)"], "Россия, России и Россией", ["Россия", "России", "Россией"]),
        (
            ["Пхеньян(|а|е|у|ом)"],
            "в Пхеньяне, из Пхеньяна, Пхеньян",
            ["Пхеньяне", "Пхеньяна", "Пхеньян"],
        ),
        (
            ["Ким Чен Ын(|а|у|ом)"],
            "встреча Ким Чен Ына с Ким Чен Ыном",
            ["Ким Чен Ына", "Ким Чен Ыном"],
        ),
        (["Ким Ё Чжон"], "заявила Ким Е Чжон", ["Ким Е Чжон"]),
        (["Лавров(|а|у|ым)"], "в деревне Лавровка, балет Лавровского", []),
        (["Путин(|а|у|ым)"], "фермер Путинцев", []),
        # Korean: particles glued on, never inside a longer word.
        (["북한"], "북한은 평양에서 러시아와", ["북한"]),
        (["평양", "러시아"], "북한은 평양에서 러시아와 회담했다", ["평양", "러시아"]),
        (["북한"], "남북한 교류와 북한산 등산로", []),
        (["조선", "로씨야"], "조선과 로씨야의 친선", ["조선", "로씨야"]),
        (["북러*"], "북러관계 북러정상회담", ["북러관계", "북러정상회담"]),
        # English: hyphen or space, dotted acronyms, no hits inside longer words.
        (["Kim Jong Un"], "Kim Jong-un and Kim Jong Un", ["Kim Jong-un", "Kim Jong Un"]),
        (["D.P.R.K."], "the D.P.R.K. said", ["D.P.R.K."]),
        (["Russia"], "Prussia and Belorussia, not Russia", ["Russia"]),
        (["Korea*"], "Koreans in Korea", ["Koreans", "Korea"]),
        # Case-sensitive acronyms.
        (["=DPRK"], "DPRK, dprk and Dprk", ["DPRK"]),
        (["=US"], "the US said; tell us", ["US"]),
        # NFKC: full-width letters and decomposed Hangul are found.
        (["=DPRK"], "ＤＰＲＫ", ["DPRK"]),
        (["북한"], unicodedata.normalize("NFD", "북한은"), ["북한"]),
    ],
)
def test_aliases_find_what_they_should_and_nothing_else(
    aliases: list[str], text: str, found: list[str]
) -> None:
    assert hits(aliases, text) == found


@pytest.mark.parametrize(
    ("alias", "problem"),
    [
        ("()", "can never match: it has no letters or digits"),
        ("---", "can never match: it has no letters or digits"),
        ("Росси(я|и", "unbalanced or nested parentheses"),
        ("Pyong*yang", "'*' may only end an alias"),
    ],
)
def test_an_alias_that_cannot_match_is_refused(alias: str, problem: str) -> None:
    with pytest.raises(AliasError, match=problem.replace("(", r"\(").replace("*", r"\*")):
        parse_alias(alias)


# Rules ----------------------------------------------------------------------------------------


def judge(rules: dict[str, str] | str, title: str, body: str, **extra: object):
    entities = {
        "russia": {"en": ["Russia", "Moscow"]},
        "dprk": {"en": ["North Korea", "Pyongyang"]},
        "others": {"en": ["China", "Iran"]},
        "talk": {"en": ["talks", "treaty"]},
        "sport": {"en": ["match"]},
    }
    key = "rules" if isinstance(rules, dict) else "rule"
    topic = Topic(entities=entities, **{key: rules}, **extra)  # type: ignore[arg-type]
    (result,) = Matcher({"t": topic}).match(title, body)
    return result


def test_field_scopes_look_only_in_their_part_of_the_story() -> None:
    assert judge("title:russia AND title:dprk", "Moscow hosts Pyongyang", "").flagged
    assert not judge("title:russia AND title:dprk", "Moscow hosts", "Pyongyang came.").flagged
    assert judge("lead:dprk", "", "Pyongyang said.\nMore.").flagged
    assert not judge("lead:dprk", "", "First.\nPyongyang said.").flagged
    assert judge("body:dprk", "", "First.\nPyongyang said.").flagged


def test_a_minimum_count_needs_that_many_hits() -> None:
    assert not judge("dprk>=2", "", "Pyongyang said.").flagged
    assert judge("dprk>=2", "", "Pyongyang said. North Korea agreed.").flagged


def test_without_drops_hits_that_stand_in_a_list() -> None:
    rule = "(russia WITHOUT/2 others) NEAR/sentence (dprk WITHOUT/2 others)"
    listed = "Threats come from China, Russia, Iran and North Korea."
    assert not judge(rule, "", listed).flagged
    assert judge(rule, "", "Russia and North Korea signed a treaty, China said.").flagged


def test_an_exclusion_vetoes_the_flag_and_says_so() -> None:
    result = judge("russia NEAR/sentence dprk", "Russia beat North Korea in the match", "",
                   exclude="title:sport")  # fmt: skip
    assert result.excluded and not result.flagged and result.rules_fired == ("rule",)


def test_named_rules_report_which_one_fired() -> None:
    rules = {"together": "russia NEAR/sentence dprk", "headline": "title:russia AND title:dprk"}
    result = judge(rules, "", "Moscow and Pyongyang held talks.")
    assert result.rules_fired == ("together",)
    assert result.rule == "together: russia NEAR/sentence dprk"


def test_scoring_weighs_place_and_boosts_nearby_interaction_words() -> None:
    plain = judge("russia NEAR/sentence dprk", "", "Intro.\nMoscow and Pyongyang met.")
    assert plain.score == 2  # two body hits
    boosted = judge(
        "russia NEAR/sentence dprk", "", "Intro.\nMoscow and Pyongyang held talks.",
        scoring={"entities": {"talk": 0.5}},
    )  # fmt: skip
    assert boosted.score == 2.5
    assert judge("russia NEAR/sentence dprk", "", "Moscow and Pyongyang met.").score == 3  # lead
    assert not judge(
        "russia NEAR/sentence dprk", "", "Moscow and Pyongyang met.", threshold=4
    ).flagged


def test_every_flag_explains_itself() -> None:
    matcher = Matcher({name: Topic(**spec) for name, spec in default_topics().items()})
    (result,) = matcher.match(
        "Lavrov lands in Pyongyang",
        "Russian Foreign Minister Sergei Lavrov arrived in Pyongyang on Friday for talks.\n"
        "He is due to meet Kim Jong Un.",
    )
    explained = result.to_dict()
    assert explained["flagged"] and explained["score"] >= explained["threshold"]
    assert {"sentence", "headline"} <= set(explained["rules"])
    aliases = {(term["entity"], term["alias"], term["field"]) for term in explained["terms"]}
    assert ("dprk", "Pyongyang", "title") in aliases and ("russia", "Lavrov", "body") in aliases
    assert all(isinstance(term["start"], int) for term in explained["terms"])
    assert explained["snippet"].startswith("Russian Foreign Minister Sergei Lavrov arrived")


# Lint -----------------------------------------------------------------------------------------

TOPIC = """\
topics:
  pair:
    entities:
      a: {en: [Alpha]}
      b: {en: [Beta]}
    rules:
      near: a NEAR/sentence b
    exclude: a AND NOT b
    scoring: {entities: {a: 2}}
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("near: a NEAR/sentence b", "near: a NEAR/sentence c",
         "topics.pair.rules.near: unknown entity 'c' (the entities are: a, b)"),
        ("exclude: a AND NOT b", "exclude: a AND NOT z",
         "topics.pair.exclude: unknown entity 'z' (the entities are: a, b)"),
        ("{entities: {a: 2}}", "{entities: {q: 2}}",
         "topics.pair.scoring.entities: unknown entity 'q' (the entities are: a, b)"),
        ("b: {en: [Beta]}", "b: {en: []}", "topics.pair.entities.b.en: the alias list is empty (list a word)"),
        ("near: a NEAR/sentence b", "near: a NEAR/sentence (b",
         "topics.pair.rules.near: the '(' at column 17 is never closed"),
        ("near: a NEAR/sentence b", "near: a NEAR/week b",
         "topics.pair.rules.near: NEAR/week at column 3: use NEAR/<words>, NEAR/sentence or NEAR/paragraph"),
        ("a: {en: [Alpha]}", "a: {en: [Alpha, '...']}",
         "topics.pair.entities.a.en[1]: '...' can never match: it has no letters or digits"),
        ("    rules:\n      near: a NEAR/sentence b\n", "",
         "topics.pair.rule: give one rule, or rules: with named ones (not both)"),
    ],
)  # fmt: skip
def test_check_lints_topics_naming_the_key(old: str, new: str, expected: str) -> None:
    assert old in TOPIC
    with pytest.raises(ConfigError) as caught:
        parse(TOPIC.replace(old, new), Path("config.yaml"))
    assert str(caught.value) == f"config.yaml: {expected}"


def test_the_lint_is_what_check_prints(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(TOPIC.replace("a NEAR/sentence b", "a AND AND b"))
    result = run_cli("check", cwd=tmp_path)
    assert result.code == 2
    assert result.err == "config.yaml: topics.pair.rules.near: unexpected 'AND' at column 7\n"


# The default topic on our labelled set ------------------------------------------------------


def labelled(subset: str | None = None) -> list:
    with LABELLED.open(encoding="utf-8") as lines:
        stories = list(read_stories(lines, labelled=True))
    assert all(not isinstance(story, ValueError) for story in stories)
    return [s for s in stories if subset is None or s.fields.get("set") == subset]


def test_the_labelled_set_is_large_and_covers_three_languages() -> None:
    stories = labelled()
    assert len(stories) >= 150
    assert {story.lang for story in stories} == {"en", "ru", "ko"}
    assert len(labelled("holdout")) >= 45


@pytest.mark.parametrize("subset", [None, "holdout"])
def test_the_default_topic_meets_precision_and_recall_of_090(subset: str | None) -> None:
    config = load(REPO / "config.yaml")
    report = evaluate_topic(Matcher(config.topics), "russia-dprk", labelled(subset))
    assert report.overall.precision >= 0.90, report.to_dict()["false_positives"]
    assert report.overall.recall >= 0.90, report.to_dict()["false_negatives"]
    for language, tally in report.by_language.items():
        assert tally.f1 >= 0.85, (language, tally.to_dict())


# Commands -------------------------------------------------------------------------------------


def test_match_answers_each_line_and_names_a_bad_one(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    lines = "\n".join(
        [
            json.dumps({"id": "a", "title": "Lavrov in Pyongyang",
                        "body": "Russia's Lavrov met Choe Son Hui in Pyongyang for talks."}),
            "{not json",
            json.dumps({"id": "b", "title": "Missile test", "body": "North Korea fired a missile."}),
            json.dumps({"id": "c", "body": "no title"}),
        ]
    )  # fmt: skip
    result = run_cli("match", "-", cwd=tmp_path, stdin=lines)
    assert result.code == 2
    answers = [json.loads(line) for line in result.out.splitlines()]
    assert [(a["id"], a["flagged"]) for a in answers] == [("a", True), ("b", False)]
    assert {"id", "flagged", "score", "terms", "snippet"} <= set(answers[0])
    assert "line 2: not JSON" in result.err
    assert "line 4: missing 'title'" in result.err
    assert "2 input lines could not be matched" in result.err


def test_topic_test_reports_scores_and_mistakes(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    result = run_cli("topic-test", str(LABELLED), "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert set(report["by_language"]) == {"en", "ko", "ru"}
    assert report["overall"]["stories"] == len(labelled())
    text = run_cli("topic-test", str(LABELLED), "--set", "holdout", cwd=tmp_path).out
    assert "precision" in text and "False positives" in text and "False negatives" in text
    failing = run_cli("topic-test", str(LABELLED), "--fail-under", "1.0", cwd=tmp_path)
    assert failing.code == 1 and "is below --fail-under 1.0" in failing.err


def test_rematch_follows_topic_edits_without_duplicating_flags(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    assert run_cli("demo", "--dir", "demo", cwd=tmp_path).code == 0
    config = tmp_path / "demo" / "config.yaml"
    again = run_cli("--config", str(config), "rematch", "--format", "json", cwd=tmp_path)
    assert json.loads(again.out)["russia-dprk"] == {"kept": 18, "unflagged": 27}

    # Narrow the topic to the one story about the train (two outlets carried it).
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["topics"]["russia-dprk"]["rules"] = {"train": 'title:"train" AND russia AND dprk'}
    del data["topics"]["russia-dprk"]["subject"]  # it names the sentence rule, gone now
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    narrowed = json.loads(
        run_cli("--config", str(config), "rematch", "--format", "json", cwd=tmp_path).out
    )["russia-dprk"]
    assert (narrowed["removed"], narrowed["updated"], narrowed.get("added", 0)) == (16, 2, 0)
    with sqlite3.connect(tmp_path / "demo" / "demo.db") as db:
        rows = db.execute(
            "SELECT a.title, f.rule FROM flags f JOIN articles a ON a.id = f.article_id"
        )
        found = rows.fetchall()
    assert len(found) == 2
    for title, rule in found:
        assert "train" in title and rule == 'train: title:"train" AND russia AND dprk'
    # Back to the default topic: the 16 come back, and nothing is doubled.
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    data["topics"] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["topics"]
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    restored = json.loads(
        run_cli("--config", str(config), "rematch", "--format", "json", cwd=tmp_path).out
    )["russia-dprk"]
    assert (restored["added"], restored["updated"]) == (16, 2)
    with sqlite3.connect(tmp_path / "demo" / "demo.db") as db:
        counts = db.execute("SELECT count(*), count(DISTINCT article_id) FROM flags").fetchone()
    assert counts == (18, 18)
