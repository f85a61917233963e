"""What a story is about (issue 14 items 1 and 3): the senses of "Kim" and "Kursk", a pair
named only in passing, and the sentence that carries the news."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from monitor.config import Topic, parse
from monitor.errors import ConfigError
from monitor.matcher.engine import Matcher, TopicResult

from .conftest import REPO, run_cli

DEFAULT = Topic.model_validate(
    yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["topics"]["russia-dprk"]
)


def judged(title: str, body: str, topic: Topic = DEFAULT) -> TopicResult:
    (result,) = Matcher({"t": topic}).match(title, body)
    return result


# Kim and Kursk ----------------------------------------------------------------------------


def test_a_k_pop_star_named_kim_is_not_north_korea_s_leader() -> None:
    result = judged(
        "K-pop star Kim tops the charts in Russia",
        "The singer Kim's new album has reached number one in Russia, its label said.",
    )
    assert not result.flagged
    assert result.score < result.threshold
    assert any("Kim not counted" in note for note in result.notes)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Putin and Kim trade birthday greetings",
         "Kim Jong Un sent greetings to the Russian president, state media said."),
        ("Putin hosts Kim in Vladivostok",
         "The Supreme Leader arrived by train for a second summit."),
        ("푸틴, 김 위원장과 극동서 회담",
         "북한 김정은 국무위원장이 러시아 블라디보스토크에 도착했다."),
    ],
)  # fmt: skip
def test_kim_in_north_korean_context_is_the_leader(title: str, body: str) -> None:
    assert judged(title, body).flagged


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("North Korean troops fought in Kursk, Pyongyang says",
         "North Korea said its soldiers had fought in the Kursk region."),
        ("КНДР признала участие своих военных в боях под Курском",
         "Северокорейские военнослужащие воевали под Курском, сообщил Пхеньян."),
        ("북한, 쿠르스크 파병 공식 인정",
         "북한은 쿠르스크 전투에 북한군을 파병했다고 처음으로 인정했다."),
    ],
)  # fmt: skip
def test_kursk_counts_for_russia_beside_the_war(title: str, body: str) -> None:
    result = judged(title, body)
    assert result.flagged
    assert any(hit.label == "kursk" for hit in result.evidence)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("North Korea's new submarine revives memories of the Kursk",
         "Pyongyang showed a nuclear submarine; analysts recalled the loss of the Kursk in 2000."),
        ("КНДР показала атомную подводную лодку",
         "Пхеньян показал подлодку, и эксперты вспомнили гибель «Курска» в 2000 году. "
         "Подлодка КНДР меньше, чем «Курск»."),
        ("북한 핵잠수함 공개",
         "북한이 핵잠수함을 공개하자 2000년 쿠르스크 잠수함 침몰 사고가 다시 거론됐다. "
         "북한 잠수함은 쿠르스크 잠수함보다 작다."),
    ],
)  # fmt: skip
def test_kursk_without_the_war_is_not_russia(title: str, body: str) -> None:
    result = judged(title, body)
    assert not result.flagged
    assert not any(hit.label == "kursk" for hit in result.evidence)


# A pair in passing ------------------------------------------------------------------------

SUMMIT = (
    "Xi hosts Kim for talks on trade",
    "Chinese leader Xi Jinping held talks with Kim Jong Un in Beijing on Thursday.\n"
    "The two sides discussed trade, tourism and aid, state media said.\n"
    "Putin and North Korean officials were among the guests at the parade.\n"
    "Xi said China would keep supporting its neighbour.",
)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        SUMMIT,
        ("Iran and China sign energy accord",
         "Iran and China signed a 25-year energy accord in Tehran on Monday.\n"
         "The deal covers oil, gas and pipelines.\n"
         "Diplomats compared it with Russia's defence treaty with North Korea.\n"
         "Officials said more deals would follow."),
        ("Си Цзиньпин принял лидера Вьетнама",
         "Си Цзиньпин провёл переговоры с лидером Вьетнама в Пекине.\n"
         "Стороны обсудили торговлю и инвестиции.\n"
         "Министр ранее побывал в Пхеньяне, а затем в Москве на переговорах.\n"
         "Визит продлится три дня."),
        ("시진핑, 베트남 정상과 회담",
         "시진핑 중국 국가주석이 베이징에서 베트남 정상과 회담했다.\n"
         "양측은 무역과 투자를 논의했다.\n"
         "앞서 러시아 외무장관은 북한 평양을 방문한 바 있다.\n"
         "방문은 사흘간 이어진다."),
    ],
)  # fmt: skip
def test_a_pair_in_one_passing_sentence_does_not_flag(title: str, body: str) -> None:
    result = judged(title, body)
    assert not result.flagged
    assert any(note.startswith("sentence set aside: only in passing") for note in result.notes)


def test_match_explains_a_pair_set_aside_in_passing() -> None:
    story = json.dumps({"id": "summit", "title": SUMMIT[0], "body": SUMMIT[1]})
    plain = run_cli("match", "-", stdin=story + "\n", cwd=REPO)
    assert plain.code == 0, plain.err
    (verdict,) = map(json.loads, plain.out.splitlines())
    assert verdict["flagged"] is False
    assert verdict["notes"] == [
        "sentence set aside: only in passing (1 sentence below the lead; the subject of a "
        "story is in its headline, its lead or 2 sentences)"
    ]
    explained = run_cli("match", "--explain", "-", stdin=story + "\n", cwd=REPO)
    assert "its terms are there, but sentence set aside: only in passing" in explained.out
    assert "= not flagged: no rule fired" in explained.out


def test_a_pair_in_the_lead_flags() -> None:
    result = judged(
        "Deputy ministers meet",
        "Russia's deputy foreign minister met North Korean officials in Moscow on Monday.\n"
        "They discussed the harvest.",
    )
    assert result.flagged and result.rules_fired == ("sentence",)
    assert result.notes == ()


def test_a_pair_in_two_sentences_below_the_lead_flags() -> None:
    result = judged(
        "Ministers meet in the capital",
        "Ministers met on Monday to discuss the harvest.\n"
        "Russia promised grain to North Korea.\n"
        "Moscow will also send fertiliser to Pyongyang, an official said.",
    )
    assert result.flagged and "sentence" in result.rules_fired
    assert result.notes == ()


def test_another_rule_shows_the_subject_and_keeps_a_passing_pair() -> None:
    # ko-004 of the labelled set: the headline names both in one word (조로).
    result = judged(
        "조로 조약 효력 발생",
        "조약이 4일부터 효력을 발생하였다.\n조선중앙통신에 의하면 비준서 교환은 모스크바에서 진행되였다.",
    )
    assert result.flagged
    assert set(result.rules_fired) == {"pair", "sentence"}
    assert result.notes == ()


SUBJECT = """
topics:
  pair:
    entities:
      a: {en: [Alpha]}
      b: {en: [Beta]}
    rules: {near: a NEAR/sentence b}
    subject: {rules: [near], sentences: 3}
"""


def test_subject_sentences_sets_how_many_sentences_make_the_subject() -> None:
    topic = parse(SUBJECT, Path("config.yaml")).topics["pair"]
    body = "Nothing here.\nAlpha met Beta.\nAlpha and Beta again."
    assert not judged("", body, topic).flagged
    assert judged("", body + "\nBeta thanked Alpha.", topic).flagged


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("rules: [near]", "rules: [far]",
         "topics.pair.subject.rules: unknown rule 'far' (the rules are: near)"),
        ("sentences: 3", "sentences: 0", "topics.pair.subject.sentences: 0 is out of range (use 1 to 100)"),
    ],
)  # fmt: skip
def test_check_names_the_key_of_a_bad_subject(old: str, new: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(SUBJECT.replace(old, new), Path("config.yaml"))
    assert str(caught.value).startswith(f"config.yaml: {expected}")


# The sentence that carries the news ------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "lead", "background"),
    [
        ("Putin lands in Pyongyang",
         "Russian President Vladimir Putin arrived in Pyongyang on Wednesday.",
         "Washington and Seoul accuse Pyongyang of supplying shells and missiles to Moscow "
         "in breach of sanctions."),
        ("Лавров в Пхеньяне",
         "Министр иностранных дел России Лавров прибыл в Пхеньян.",
         "Москва и Пхеньян намерены расширять торговлю и обмен туристами."),
        ("북한 노동자, 러시아로",
         "북한이 러시아 건설 현장에 노동자 수천 명을 보냈다.",
         "러시아는 북한 인력을 받아들이며 경제 협력과 무역을 넓히고 있다."),
    ],
)  # fmt: skip
def test_the_best_sentence_is_the_lead_not_the_background(
    title: str, lead: str, background: str
) -> None:
    result = judged(title, f"{lead}\nMore later.\n{background}")
    assert result.flagged
    assert result.snippet == lead
    # The background holds more interaction words; the lead still carries the news.
    assert (result.snippet_field, result.snippet_start) == ("body", 0)


def test_the_best_sentence_prefers_an_interaction_word_within_the_lead() -> None:
    lead = "Russia and North Korea opened a bridge. Russia and North Korea held talks."
    result = judged("Russia and North Korea", lead.replace("opened a bridge", "had a day"))
    assert result.snippet == "Russia and North Korea held talks."


def test_the_best_sentence_holds_both_sides_before_it_holds_the_lead() -> None:
    body = (
        "Moscow said on Monday that talks were planned.\n"
        "Russia and North Korea will sign a treaty, officials said.\n"
        "Pyongyang agreed."
    )
    result = judged("Russia and North Korea to sign treaty", body)
    assert result.snippet == "Russia and North Korea will sign a treaty, officials said."
