"""Rules that see structure (issue 14): names in a list of states pair with nothing, and an
ambiguous name counts only in its context; both say so when they change a verdict."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from monitor.config import Topic, parse
from monitor.errors import ConfigError
from monitor.matcher.engine import Matcher, TopicResult

from .conftest import REPO, copy_demo, run_cli

STATES = {
    "russia": {
        "en": ["Russia", "Putin", "Lavrov", "Belousov"],
        "ru": ["Росси(я|и|ю|ей|е)", "Путин(|а|у|ым|е)"],
        "ko": ["러시아", "푸틴"],
    },
    "dprk": {
        "en": ["North Korea", "Pyongyang", "Kim Jong Un"],
        "ru": ["=КНДР", "Пхеньян(|а|е|у|ом)", "Ким Чен Ын(|а|у|ом|е)"],
        "ko": ["북한", "평양", "김정은"],
    },
    "others": {
        "en": ["Iran", "Syria", "China"],
        "ru": ["Иран(|а|у|ом|е)", "Кита(й|я|ю|ем|е)"],
        "ko": ["이란", "중국"],
    },
}
LISTS = Topic(
    entities=STATES, rule="russia NEAR/sentence dprk", enumerations=["russia", "dprk", "others"]
)
PLAIN = Topic(entities=STATES, rule="russia NEAR/sentence dprk")


def judged(body: str, topic: Topic = LISTS, title: str = "") -> TopicResult:
    (result,) = Matcher({"t": topic}).match(title, body)
    return result


@pytest.mark.parametrize(
    ("body", "items"),
    [
        ("The US imposed sanctions on Iran, Russia, North Korea and Syria.",
         "Iran, Russia, North Korea, Syria"),
        ("Hackers from China, Russia, Iran, and North Korea were blamed.",
         "China, Russia, Iran, North Korea"),
        ("Россия, Иран, КНДР и Китай остались в списке.", "Россия, Иран, КНДР, Китай"),
        ("Санкции против России, Ирана или КНДР не отменят.", "России, Ирана, КНДР"),
        ("러시아, 이란, 북한, 중국이 명단에 올랐다.", "러시아, 이란, 북한, 중국"),
        ("보고서는 북한과 러시아, 이란을 지목했다.", "북한, 러시아, 이란"),
        ("러시아·북한·이란 등 제재 대상국", "러시아, 북한, 이란"),
        ("제재 대상은 러시아 및 북한 및 이란이다.", "러시아, 북한, 이란"),
        # A capitalised name no entity knows is an item after the first.
        ("The index placed Russia, North Korea and Turkmenistan last.",
         "Russia, North Korea, Turkmenistan"),
        ("Рейтинг замыкают Россия, КНДР и Туркмения.", "Россия, КНДР, Туркмения"),
    ],
)  # fmt: skip
def test_names_in_a_list_of_three_states_do_not_pair(body: str, items: str) -> None:
    assert judged(body, PLAIN).flagged  # without the key, the two sides pair
    result = judged(body)
    assert not result.flagged
    assert result.notes == (f"enumeration ignored: {items}",)


@pytest.mark.parametrize(
    "body",
    [
        "Putin, who arrived in Pyongyang on Tuesday, met Kim Jong Un.",
        "On Tuesday, Putin and Kim Jong Un signed a treaty.",
        "In Pyongyang, Putin and Kim Jong Un signed a treaty.",
        "Putin, Lavrov and Belousov flew to Pyongyang.",  # three names, one entity
        "Russia and North Korea, China said, are drawing closer.",  # "and" ends a list
        "Russia, North Korea sign defence pact",
        "Путин, прибывший в Пхеньян во вторник, встретился с Ким Чен Ыном.",
        "Россия и КНДР, по словам Китая, сближаются.",
        "푸틴 대통령은 평양에 도착해, 김정은 위원장과 회담했다.",
        "러시아와 북한, 조약 서명",
    ],
)
def test_a_comma_or_two_names_make_no_list(body: str) -> None:
    result = judged(body)
    assert result.flagged
    assert result.notes == ()


def test_names_in_a_list_still_count_outside_near() -> None:
    topic = Topic(
        entities=STATES, rule="russia AND dprk", enumerations=["russia", "dprk", "others"]
    )
    result = judged("Sanctions hit Iran, Russia, North Korea and Syria.", topic)
    assert result.flagged
    assert {hit.alias for hit in result.evidence} == {"Russia", "North Korea"}
    assert result.notes == ()  # the list changed nothing, so nothing is said


def test_a_list_elsewhere_does_not_stop_a_pair_in_another_sentence() -> None:
    result = judged(
        "Iran, Russia, North Korea and Syria face sanctions. Putin later met Kim Jong Un."
    )
    assert result.flagged
    assert {hit.alias for hit in result.evidence} == {"Putin", "Kim Jong Un"}
    # The list still changed the score (its names are no evidence), so the note says so.
    assert result.notes == ("enumeration ignored: Iran, Russia, North Korea, Syria",)


def test_a_list_of_one_entity_s_names_is_not_an_enumeration() -> None:
    result = judged("Iran, Syria and China backed Russia and North Korea.")
    assert result.flagged


# Context --------------------------------------------------------------------------------

NORTH = Topic(
    entities={
        "russia": STATES["russia"],
        "north": {"en": ["=the North"], "ru": ["=Север(|а|у|ом|е)"], "ko": ["북측"]},
        "korea": {"en": ["Korea", "Seoul"], "ru": ["Сеул(|а|е|у|ом)"], "ko": ["한국", "서울"]},
    },
    rule="russia NEAR/sentence north",
    context={"north": ["korea"]},
)


@pytest.mark.parametrize(
    ("title", "body", "note"),
    [
        ("Arctic plans", "Putin promised the North new ports.\nSeoul was not mentioned.",
         "the North not counted: no korea in its paragraph or the lead"),
        ("Арктика", "Путин пообещал Северу новые порты.\nО Сеуле ни слова.",
         "Северу not counted: no korea in its paragraph or the lead"),
        ("북극 개발", "푸틴은 북측 항로를 강조했다.\n서울은 언급되지 않았다.",
         "북측 not counted: no korea in its paragraph or the lead"),
    ],
)  # fmt: skip
def test_an_ambiguous_name_without_its_context_does_not_count(
    title: str, body: str, note: str
) -> None:
    plain = NORTH.model_copy(update={"context": {}})
    assert judged(body, plain, title).flagged
    result = judged(body, NORTH, title)
    assert not result.flagged
    assert result.notes == (note,)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Talks", "Putin told the North that Seoul would not stop him."),  # same paragraph
        ("Putin in Korea", "Putin promised the North new ports."),  # the headline
        ("Talks", "Korea watched closely.\nLater, Putin promised the North new ports."),  # lead
        ("Переговоры", "Путин обещал Северу поддержку, заявили в Сеуле."),
        ("회담", "푸틴은 북측과 회담했다고 서울의 소식통이 전했다."),
    ],
)
def test_an_ambiguous_name_in_its_context_counts(title: str, body: str) -> None:
    result = judged(body, NORTH, title)
    assert result.flagged
    assert "north" in {hit.label for hit in result.evidence}
    assert result.notes == ()


# Configuration ----------------------------------------------------------------------------

TOPIC = """
topics:
  pair:
    entities:
      a: {en: [Alpha]}
      b: {en: [Beta]}
    rule: a NEAR/sentence b
    enumerations: [a, b]
    context: {b: [a]}
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("enumerations: [a, b]", "enumerations: [a, z]",
         "topics.pair.enumerations: unknown entity 'z' (the entities are: a, b)"),
        ("context: {b: [a]}", "context: {q: [a]}",
         "topics.pair.context.q: unknown entity 'q' (the entities are: a, b)"),
        ("context: {b: [a]}", "context: {b: [y]}",
         "topics.pair.context.b: unknown entity 'y' (the entities are: a, b)"),
        ("context: {b: [a]}", "context: {b: []}",
         "topics.pair.context.b: list the entities it needs nearby, e.g. [korea]"),
        ("context: {b: [a]}", "context: {b: [b]}",
         "topics.pair.context.b: 'b' cannot be its own context"),
    ],
)  # fmt: skip
def test_check_names_the_key_of_a_bad_list_or_context(old: str, new: str, expected: str) -> None:
    assert parse(TOPIC, Path("config.yaml")).topics["pair"].context == {"b": ["a"]}
    with pytest.raises(ConfigError) as caught:
        parse(TOPIC.replace(old, new), Path("config.yaml"))
    assert str(caught.value) == f"config.yaml: {expected}"


# The default topic, match and show --------------------------------------------------------


def test_match_says_what_a_list_and_a_missing_context_changed() -> None:
    result = run_cli("match", str(REPO / "tests" / "data" / "lists_and_context.jsonl"), cwd=REPO)
    assert result.code == 0, result.err
    verdicts = {line["id"]: line for line in map(json.loads, result.out.splitlines())}
    assert verdicts["rsf"]["notes"] == ["enumeration ignored: Russia, North Korea, Turkmenistan"]
    assert verdicts["arctic"]["notes"] == [
        "the North not counted: no dprk or korea in its paragraph or the lead"
    ]
    assert not any(verdict["flagged"] for verdict in verdicts.values())


def test_show_prints_the_note_of_a_flag(demo_folder: Path, tmp_path: Path) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    config = folder / "wirewatch-demo" / "config.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    # A rule that flags the Arctic story anyway, so its flag carries the note of "the North".
    data["topics"]["russia-dprk"]["rules"]["russia"] = "russia>=2"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert run_cli("--config", str(config), "rematch", cwd=folder).code == 0
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        ((article_id, rule),) = db.execute(
            "SELECT a.id, f.rule FROM articles a JOIN flags f ON f.article_id = a.id "
            "WHERE a.title LIKE 'Icebreakers clear the way%' ORDER BY a.id LIMIT 1"
        ).fetchall()
    note = "the North not counted: no dprk or korea in its paragraph or the lead"
    assert rule == f"russia: russia>=2\n{note}"
    shown = run_cli("--config", str(config), "show", str(article_id), cwd=folder)
    assert shown.code == 0, shown.err
    assert "  rules: russia\n" in shown.out
    assert f"  {note}\n" in shown.out
    record = json.loads(
        run_cli("--config", str(config), "show", str(article_id), "--format", "json",
                cwd=folder).out
    )  # fmt: skip
    (flag,) = record["flags"]
    assert (flag["rule"], flag["notes"]) == ("russia: russia>=2", [note])


def test_the_default_topic_sets_aside_lists_and_the_arctic_north() -> None:
    topics = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["topics"]
    topic = Topic.model_validate(topics["russia-dprk"])
    assert topic.enumerations == ["russia", "dprk", "others"]
    assert topic.context["north"] == ["dprk", "korea"]
    (result,) = Matcher({"russia-dprk": topic}).match(
        "Putin sets out plans for the North",
        "Putin said the North would get new ports and railways, and more trade with Asia.\n"
        "The Northern Sea Route will carry more cargo, he said.",
    )
    assert not result.flagged
