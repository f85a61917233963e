"""The classes of mistakes that issue 14 names, in three languages: lists of states in a
headline or joined by "as well as", a pair named once in a story about a third party, North
Korean official style, arms fired at Ukraine, the Kursk region, and a roundup's semicolon."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.config import Topic
from monitor.matcher.engine import Matcher, TopicResult

from .conftest import REPO, run_cli

DEFAULT = Topic.model_validate(
    yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["topics"]["russia-dprk"]
)


def judged(title: str, body: str, topic: Topic = DEFAULT) -> TopicResult:
    (result,) = Matcher({"t": topic}).match(title, body)
    return result


# Lists of states ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "G7 ministers condemn Russia, Iran, China and North Korea",
        "Watchdog lists firms tied to Iran/Russia/North Korea/Belarus",
        "G7 осудила Россию, Иран, Китай и КНДР",
        "Китайские, российские, иранские и северокорейские хакеры атаковали больницы",
        'G7 "러시아·이란·중국·북한이 안보 위협"',
        "제재 대상국은 이란、시리아、러시아、북한",
    ],
)
def test_a_list_of_states_in_a_headline_pairs_nothing(title: str) -> None:
    result = judged(title, "The statement was issued on Friday.")
    assert not result.flagged
    assert "headline" not in result.rules_fired
    assert any(note.startswith("enumeration ignored:") for note in result.notes)


def test_a_headline_about_both_still_fires_the_headline_rule() -> None:
    result = judged("Putin and Kim meet in Pyongyang", "The leaders met on Wednesday.")
    assert result.flagged and "headline" in result.rules_fired


@pytest.mark.parametrize(
    ("body", "items"),
    [
        ("Pakistan, India and Israel, along with Russia and North Korea, added warheads.",
         "Pakistan, India, Israel, Russia, North Korea"),
        ("Officials named Iran and Syria as well as Russia and North Korea.",
         "Iran, Syria, Russia, North Korea"),
        ("Под ограничения подпадают Иран и Сирия, а также Россия и КНДР.",
         "Иран, Сирия, Россия, КНДР"),
    ],
)  # fmt: skip
def test_a_list_that_goes_on_with_as_well_as_is_one_enumeration(body: str, items: str) -> None:
    # Only NEAR, which an enumeration changes: WITHOUT/2 others would drop some names anyway.
    # The two names after "as well as" alone are no list: the note shows them joined to it.
    topic = DEFAULT.model_copy(
        update={"rules": {"pair": "russia NEAR/sentence dprk"}, "subject": None}
    )
    result = judged("Annual report published", body, topic)
    assert not result.flagged
    assert f"enumeration ignored: {items}" in result.notes


def test_names_in_a_list_are_not_counted_by_at_least() -> None:
    topic = DEFAULT.model_copy(
        update={"rules": {"story": "russia>=2 AND dprk>=2"}, "subject": None}
    )
    lists = ("Sanctions hit Iran, Russia, North Korea and Syria.\n"
             "The list of Iran, Russia, North Korea and Cuba was not changed.")  # fmt: skip
    assert not judged("Annual sanctions review", lists, topic).flagged
    mentions = ("Russia sent a delegation to North Korea.\n"
                "Russia and North Korea signed a deal.")  # fmt: skip
    assert judged("Annual sanctions review", mentions, topic).flagged


def test_an_enumeration_note_is_given_once_for_a_list_repeated_in_the_text() -> None:
    result = judged(
        "Nuclear arsenals grow in Russia, China, North Korea and Pakistan",
        "Nuclear arsenals grow in Russia, China, North Korea and Pakistan, the survey said.",
    )
    assert not result.flagged
    assert len(result.notes) == len(set(result.notes)) == 1


# A pair in passing --------------------------------------------------------------------------


CHINA_SUMMIT = (
    "Xi and Kim pledge closer ties as Chinese leader ends Pyongyang trip",
    "Chinese President Xi Jinping and North Korean leader Kim Jong Un agreed to expand trade.\n"
    "Xi was given a parade through Pyongyang and a banquet.\n"
    "Kim has also hosted Russian President Vladimir Putin, analysts noted.\n"
    "The two sides signed documents on customs, health and tourism.",
)


def test_each_side_of_the_story_rule_must_be_the_subject() -> None:
    result = judged(*CHINA_SUMMIT)
    assert not result.flagged
    assert any(note.startswith("story set aside: only in passing") for note in result.notes)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Си Цзиньпин и Ким Чен Ын договорились расширить торговлю",
         "Председатель КНР Си Цзиньпин и лидер КНДР Ким Чен Ын договорились о торговле.\n"
         "Си впервые за шесть лет посетил Пхеньян.\n"
         "В прошлом году Пхеньян принимал и президента России Владимира Путина.\n"
         "Стороны подписали документы о туризме."),
        ("시진핑·김정은, 교역 확대 합의",
         "시진핑 중국 국가주석과 김정은 북한 국무위원장이 교역 확대에 합의했다.\n"
         "시 주석은 6년 만에 평양을 찾았다.\n"
         "북한은 지난해 푸틴 러시아 대통령도 맞이했다.\n"
         "양측은 관광 분야 문서에 서명했다."),
    ],
)  # fmt: skip
def test_putin_named_once_in_a_china_north_korea_summit_is_in_passing(
    title: str, body: str
) -> None:
    assert not judged(title, body).flagged


def test_a_story_about_both_sides_all_through_is_still_flagged() -> None:
    result = judged(
        "Trade talks in Vladivostok",
        "Officials met in Vladivostok to discuss coal and fertiliser.\n"
        "Russia will ship more grain, and North Korea more labour, officials said.\n"
        "Moscow and Pyongyang plan a second round in the spring.",
    )
    assert result.flagged


def test_match_explain_says_the_story_rule_was_set_aside(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    line = json.dumps({"id": "xi", "title": CHINA_SUMMIT[0], "body": CHINA_SUMMIT[1]})
    result = run_cli("match", "-", "--explain", cwd=tmp_path, stdin=line)
    assert result.code == 0, result.err
    assert "story set aside: only in passing" in result.out
    assert "= not flagged" in result.out


# North Korean official style ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("김정은동지께서 로씨야련방 국방성 대표단을 접견하시였다",
         "경애하는 김정은동지께서 로씨야 국방성 부상이 인솔하는 군사대표단을 접견하시였다."),
        ("김정은동지께서 로씨야련방 대통령에게 축전을 보내시였다",
         "김정은동지의 축전은 조로친선을 강조하였다."),
        ("Уважаемый товарищ Ким Чен Ын принял делегацию Российской Федерации",
         "Товарищ Ким Чен Ын тепло приветствовал делегацию Министерства обороны."),
        ("Respected Comrade Kim Jong Un receives delegation of Russian Federation",
         "He had a friendly talk with the delegation of the Ministry of Defence."),
    ],
)  # fmt: skip
def test_north_korean_official_style_is_flagged(title: str, body: str) -> None:
    assert judged(title, body).flagged


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("김정은동지께서 도착하시였다", "김정은"),
        ("김정은동지의 축전", "김정은"),
        ("김정은원수님께서", "김정은"),
        ("러시아군이 발사했다", "러시아"),
        ("우크라이나군은 격퇴했다", "우크라이나"),
    ],
)
def test_a_korean_title_or_army_glued_to_a_name_still_matches(text: str, found: str) -> None:
    topic = Topic(entities={"name": {"ko": ["김정은", "러시아", "우크라이나"]}}, rule="name")
    (result,) = Matcher({"t": topic}).match(text, "")
    assert [text[hit.start : hit.end] for hit in result.hits] == [found]


def test_a_one_syllable_name_takes_no_title_or_army_and_a_mountain_is_no_country() -> None:
    topic = Topic(entities={"name": {"ko": ["북", "북한"]}}, rule="name")
    for text in ("북군이 남하했다", "북한산 등산로가 붐볐다"):
        (result,) = Matcher({"t": topic}).match(text, "")
        assert result.hits == ()


# Arms fired at Ukraine, troops in Kursk ---------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Debris in Kharkiv matches North Korean missile",
         "Fragments came from a Hwasong-11 made in North Korea, prosecutors said.\n"
         "Investigators found Korean markings on the motor casing.\n"
         "The missile was launched by Russian forces from Belgorod region."),
        ("ГУР: половина снарядов, выпущенных по ВСУ, произведена в Северной Корее",
         "Российские артиллеристы выпускают около 10 тысяч снарядов в сутки."),
        ("우크라 정보당국 \"전선 포탄 절반이 북한산\"",
         "러시아군 포병은 하루 1만 발가량을 쐈다."),
    ],
)  # fmt: skip
def test_a_north_korean_weapon_fired_at_ukraine_is_the_arms_transfer(title: str, body: str) -> None:
    result = judged(title, body)
    assert result.flagged
    assert "arms" in result.rules_fired


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Zelensky asks allies for air defence after strikes on Kyiv",
         "Russian drones and missiles hit energy sites overnight; separately, North Korea "
         "said it had test-fired a new cruise missile."),
        ("Зеленский попросил союзников о ПВО после ударов по Киеву",
         "Российские дроны и ракеты ночью поразили энергообъекты; тем временем КНДР "
         "сообщила об испытании новой крылатой ракеты."),
        ("젤렌스키, 키이우 공습 뒤 방공망 지원 요청",
         "러시아 드론과 미사일이 에너지 시설을 타격했다; 한편 북한은 순항미사일을 시험발사했다."),
    ],
)  # fmt: skip
def test_a_semicolon_before_other_news_ends_the_sentence(title: str, body: str) -> None:
    result = judged(title, body)
    assert not result.flagged
    assert result.rules_fired == ()


def test_a_semicolon_between_two_sides_of_one_event_keeps_them_in_one_sentence() -> None:
    result = judged("Summit ends", "Putin left Pyongyang on Thursday; Kim Jong Un saw him off.")
    assert result.flagged and "sentence" in result.rules_fired


def test_a_bukhansan_mountain_story_is_no_arms_transfer() -> None:
    result = judged(
        "북한산 등산객 급증",
        "우크라이나 출신 관광객들도 북한산을 찾았다. 러시아 관광객도 늘었다.",
    )
    assert not result.flagged


def test_north_korean_soldiers_in_the_lead_fighting_at_kursk_below_are_flagged() -> None:
    result = judged(
        "Kim welcomes home soldiers who fought overseas",
        "Kim Jong Un embraced returning soldiers at a ceremony in Pyongyang.\n"
        "The leader praised the unit for clearing mines under fire.\n"
        "Moscow has said the contingent helped drive Ukrainian forces out of the Kursk region.",
    )
    assert result.flagged and "troops" in result.rules_fired


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("North Korean workers to rebuild towns in Kursk region",
         "Thousands of builders from North Korea will arrive next month."),
        ("Северокорейских рабочих направят на стройки Курской области",
         "Тысячи строителей из КНДР помогут восстанавливать разрушенные районы."),
        ("북한 노동자, 쿠르스크주 재건 투입", "북한 건설 노동자 수천 명이 다음 달 도착한다."),
    ],
)  # fmt: skip
def test_the_kursk_region_is_russia_without_a_war_word(title: str, body: str) -> None:
    result = judged(title, body)
    assert result.flagged
    assert any(hit.label == "russia" for hit in result.evidence)


# The terms of a flag ------------------------------------------------------------------------------


def test_the_terms_of_a_flag_are_in_the_same_order_in_every_process(tmp_path: Path) -> None:
    # "shells" and "missiles" are weapons and interaction words: two hits on one word.
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    line = json.dumps({
        "id": "a", "title": "Putin visits Pyongyang",
        "body": "Russia buys shells and missiles from North Korea for the war in Ukraine.",
    })  # fmt: skip
    answers = set()
    for seed in ("1", "2", "3"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", "from monitor.cli import main; main()", "match", "-"],
            input=line, cwd=tmp_path,
            capture_output=True, text=True, timeout=60, env=environment, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        answers.add(json.dumps(json.loads(done.stdout)["terms"]))
    assert len(answers) == 1


# One mention, one side ----------------------------------------------------------------------------


def test_the_north_in_the_north_korean_units_is_one_mention_not_two() -> None:
    topic = Topic(
        entities={"dprk": {"en": ["North Korean(|s)"]}, "north": {"en": ["=the North"]}},
        rule="dprk>=2 OR north",
    )
    (result,) = Matcher({"t": topic}).match("", "He praised the North Korean units.")
    assert [(hit.label, hit.alias) for hit in result.hits] == [("dprk", "North Korean(|s)")]
    assert not result.flagged


def test_the_best_sentence_counts_alternatives_of_one_place_as_one_side() -> None:
    # The headline names Moscow, Pyongyang and Kursk; Kursk stands in Russia's place (russia
    # OR kursk), so it holds the same two sides as the lead, which carries the news.
    lead = "North Korea said its soldiers had fought in Russia's Kursk region on Kim's orders."
    result = judged(
        "Moscow and Pyongyang confirm North Korean troops fought in Kursk",
        f"{lead}\nGerasimov told Putin the region was retaken and praised the North Korean units.",
    )
    assert result.flagged
    assert result.snippet == lead
