"""Issue 14, second round: names that the words around them make no side of the pair (a
rank, a comparison, a stop on a journey), headlines about a third party, and the war's
arms and border crossings where Russia is never named; in three languages."""

from __future__ import annotations

import json

import pytest
import yaml

from monitor.config import Topic
from monitor.matcher.engine import Matcher, TopicResult

from .conftest import REPO, run_cli

DEFAULT = Topic.model_validate(
    yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["topics"]["russia-dprk"]
)
PAIR_ONLY = DEFAULT.model_copy(
    update={"rules": {"pair": "russia NEAR/sentence dprk"}, "subject": None}
)


def judged(title: str, body: str, topic: Topic = DEFAULT) -> TopicResult:
    (result,) = Matcher({"t": topic}).match(title, body)
    return result


# Rankings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "note"),
    [
        ("Russia ranked 158th, North Korea 149th and Afghanistan last in the index.",
         "ranking ignored: Russia, North Korea, Afghanistan"),
        ("Eritrea came last, with Russia in 171st place and North Korea in 177th place.",
         "ranking ignored: Eritrea, Russia, North Korea"),
        ("The index put Russia and North Korea near the bottom.",
         "ranking ignored: Russia, North Korea"),
        ("Россия на последнем месте, КНДР — в нижней двадцатке рейтинга.",
         "ranking ignored: Россия, КНДР"),
        ("Россия заняла 171-е место, КНДР — 177-е.", "ranking ignored: Россия, КНДР"),
        ("러시아는 158위, 북한은 149위였다.", "ranking ignored: 러시아, 북한"),
    ],
)  # fmt: skip
def test_states_given_a_rank_pair_nothing(body: str, note: str) -> None:
    result = judged("Annual index published", body, PAIR_ONLY)
    assert not result.flagged
    assert note in result.notes


@pytest.mark.parametrize(
    "body",
    [
        "Russia marked the 80th anniversary of victory with North Korean guests.",
        "North Korea last year sent troops to Russia.",
        "Russia signed its 3rd accord with North Korea in June.",
    ],
)
def test_an_ordinal_or_last_that_is_no_rank_leaves_the_pair(body: str) -> None:
    result = judged("Report", body, PAIR_ONLY)
    assert "pair" in result.rules_fired and not result.notes


def test_a_ranking_headline_is_no_headline_about_both() -> None:
    result = judged(
        "Corruption index: Denmark cleanest, Russia and North Korea near the bottom",
        "The annual index scored 180 countries.",
    )
    assert not result.flagged and "headline" not in result.rules_fired
    assert "ranking ignored: Russia, North Korea" in result.notes


# Comparisons -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "note"),
    [
        ("China accounts for almost all of North Korea's trade, far ahead of Russia.",
         "comparison ignored: Russia"),
        ("North Korea trades 30 times more with China than with Russia.",
         "comparison ignored: Russia"),
        ("Торговля КНДР с Китаем в десятки раз больше, чем с Россией.",
         "comparison ignored: Россией"),
        ("На Китай пришлось 95% торговли КНДР, намного опережая Россию.",
         "comparison ignored: Россию"),
        ("중국이 북한 무역에서 차지하는 비중은 러시아보다 훨씬 높다.", "comparison ignored: 러시아"),
        ("중국은 러시아에 비해 북한과의 교역 규모가 크다.", "comparison ignored: 러시아"),
    ],
)  # fmt: skip
def test_a_state_compared_with_pairs_nothing(body: str, note: str) -> None:
    result = judged("Trade figures", body, PAIR_ONLY)
    assert not result.flagged
    assert note in result.notes


@pytest.mark.parametrize(
    "body",
    [
        "North Korea has sent more than 10 000 troops to Russia.",
        "Lavrov said ties between Moscow and Pyongyang were closer than ever.",
        "Отношения Москвы и Пхеньяна сейчас теснее, чем когда-либо.",
    ],
)
def test_more_than_a_number_or_than_ever_is_no_comparison_of_a_state(body: str) -> None:
    result = judged("Report", body, PAIR_ONLY)
    assert "pair" in result.rules_fired and not result.notes


# Journeys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "note"),
    [
        ("Putin arrived in Hanoi on Thursday from Pyongyang.", "journey ignored: Pyongyang"),
        ("Putin landed in Ulaanbaatar, fresh from talks in Pyongyang.",
         "journey ignored: Pyongyang"),
        ("Путин, прилетевший из Пхеньяна, прибыл в Ханой.", "journey ignored: Пхеньяна"),
        ("Путин, накануне побывавший в Пхеньяне, подписал соглашения в Ханое.",
         "journey ignored: Пхеньяне"),
        ("푸틴 대통령이 평양을 떠나 하노이에 도착했다.", "journey ignored: 평양"),
    ],
)  # fmt: skip
def test_the_place_a_traveller_came_from_pairs_nothing(body: str, note: str) -> None:
    result = judged("State visit", body, PAIR_ONLY)
    assert not result.flagged
    assert note in result.notes


def test_from_pyongyang_without_an_arrival_is_still_a_side() -> None:
    result = judged("Shipments", "Russia received millions of shells from Pyongyang.", PAIR_ONLY)
    assert result.flagged and not result.notes


@pytest.mark.parametrize(
    "body",
    [
        "The first scheduled flight from Moscow landed in Pyongyang on Friday.",
        "Первый поезд из Москвы прибыл в Пхеньян в субботу.",
    ],
)
def test_a_journey_that_ends_at_the_other_side_is_the_pair(body: str) -> None:
    result = judged("Report", body, PAIR_ONLY)
    assert "pair" in result.rules_fired and not result.notes


def test_a_headline_about_a_stop_on_the_way_is_no_headline_about_both() -> None:
    result = judged(
        "Putin arrives in Vietnam after North Korea visit",
        "Russian President Vladimir Putin arrived in Hanoi on Thursday from Pyongyang, where he"
        " had signed a defence pact with Kim Jong Un.\nHe met Vietnam's leaders.\nThe two"
        " sides signed deals on energy.",
    )
    assert not result.flagged
    assert "journey ignored: North Korea" in result.notes


# A headline about a third party ----------------------------------------------------------------


def test_a_lead_under_a_headline_about_a_third_party_is_in_passing() -> None:
    result = judged(
        "Xi reviews troops at Beijing parade as foreign leaders look on",
        "Xi Jinping reviewed troops in Tiananmen Square, with Kim Jong Un and Vladimir Putin"
        " among 26 foreign leaders on the rostrum.",
    )
    assert not result.flagged
    assert result.notes == (
        "sentence set aside: only in passing (1 sentence under a headline about a third party,"
        " Xi, Beijing; there the subject must hold in 2 sentences)",
    )


def test_a_headline_about_a_third_party_and_both_sides_keeps_the_lead() -> None:
    result = judged(
        "China warns Russia and North Korea over arms deals",
        "Beijing said military cooperation between Moscow and Pyongyang must not harm"
        " regional stability.",
    )
    assert result.flagged


def test_two_sentences_under_a_third_party_headline_are_the_subject() -> None:
    result = judged(
        "Mongolia hosts Putin",
        "Putin flew in from Pyongyang, where he and Kim Jong Un signed a treaty.\n"
        "Russia and North Korea pledged mutual military aid.\n"
        "Mongolia asked Moscow for fuel.",
    )
    assert result.flagged and "sentence" in result.rules_fired


def test_a_list_of_third_parties_and_one_side_is_an_enumeration() -> None:
    result = judged("북한·이란·미얀마 '고위험국' 유지…러시아는 회원 자격 정지", "총회가 열렸다.")
    assert not result.flagged
    assert "enumeration ignored: 북한, 이란, 미얀마" in result.notes


def test_a_list_ending_in_deung_and_a_count_of_states_pairs_nothing() -> None:
    result = judged(
        "핵탄두 보고서",
        "미국, 러시아, 영국, 프랑스, 중국, 인도, 파키스탄, 북한, 이스라엘 등 9개국이 핵탄두를 보유했다.",
        PAIR_ONLY,
    )
    assert not result.flagged
    assert any(note.startswith("enumeration ignored: 미국, 러시아, 영국") for note in result.notes)


# Arms at the front and the border, Russia never named ------------------------------------------


@pytest.mark.parametrize(
    ("title", "body", "rule"),
    [
        ("North Korean self-propelled guns spotted on Ukrainian front",
         "Drone footage shows a Koksan gun firing near Pokrovsk.", "front"),
        ("Ukraine says missile that hit Kharkiv was North Korean",
         "Ukrainian prosecutors said debris from the strike on Kharkiv belonged to a North"
         " Korean Hwasong-11 missile.", "front"),
        ("우크라 정보총국장 \"전선 포탄 절반이 평양산\"",
         "우크라이나 정보총국장은 전선에서 쏟아지는 포탄의 절반이 평양산이라고 말했다.", "front"),
        ("Прокуратура Харькова: по городу ударили ракетой из КНДР",
         "Обломки ракеты принадлежат северокорейской ракете «Хвасон-11».", "front"),
        ("라진항 떠난 화물선, 탄약 컨테이너 수천 개 싣고 출항",
         "북한 라진항에서 탄약 컨테이너를 실은 화물선이 출항했다.", "border"),
        ("두만강역에 군수물자 실은 화차 줄지어",
         "북한 두만강역에 군수물자를 실은 화차 수십 량이 대기하고 있다.", "border"),
    ],
)  # fmt: skip
def test_north_korean_arms_at_the_front_or_the_border_flag_without_russia(
    title: str, body: str, rule: str
) -> None:
    result = judged(title, body)
    assert result.flagged and rule in result.rules_fired


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Ukraine condemns North Korean ballistic missile launch",
         "Ukraine's foreign ministry condemned North Korea's launch of an intercontinental"
         " ballistic missile, calling it a threat to peace."),
        ("우크라이나, 북한 ICBM 발사 규탄",
         "우크라이나 외교부는 북한의 대륙간탄도미사일 발사를 규탄했다."),
        ("라진항에 중국 관광객 다시 몰려", "북한 라진항 일대에 중국인 관광객이 다시 몰리고 있다."),
    ],
)  # fmt: skip
def test_a_north_korean_test_condemned_by_kyiv_or_rajin_without_arms_is_no_flag(
    title: str, body: str
) -> None:
    assert not judged(title, body).flagged


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("김정은, 해외작전부대 전사자 유가족 만나", "김정은 위원장이 해외작전부대 전사자 유가족을 만났다."),
        ("조로국경 두만강자동차다리 준공식 진행", "두만강자동차다리가 조로친선의 상징이 될것이라고 보도하였다."),
        ("В Пхеньяне прошел форум дружбы",
         "В Пхеньяне говорили о развитии российско-корейских отношений и сотрудничества."),
    ],
)  # fmt: skip
def test_words_that_stand_for_the_pair_fire_the_pair_rule(title: str, body: str) -> None:
    assert "pair" in judged(title, body).rules_fired


def test_russian_korean_without_north_korea_nearby_is_not_the_pair() -> None:
    result = judged(
        "Форум в Сеуле",
        "В Сеуле обсудили развитие российско-корейских деловых связей и сотрудничества.",
    )
    assert not result.flagged and not result.rules_fired


def test_match_and_its_explanation_name_a_ranking_set_aside() -> None:
    story = {
        "id": "rank",
        "title": "Russia ranked 158th, North Korea 149th in peace index",
        "body": "Iceland came first for the 17th year.",
    }
    answer = run_cli("match", "-", stdin=json.dumps(story) + "\n", cwd=REPO)
    assert answer.code == 0, answer.err
    (verdict,) = map(json.loads, answer.out.splitlines())
    assert verdict["flagged"] is False
    assert verdict["notes"] == ["ranking ignored: Russia, North Korea"]
    explained = run_cli("match", "-", "--explain", stdin=json.dumps(story) + "\n", cwd=REPO)
    assert explained.code == 0, explained.err
    assert "ranking ignored: Russia, North Korea" in explained.out


def test_two_mechanisms_each_enough_are_both_explained() -> None:
    # The journey sets Pyongyang aside, and the headline about Hanoi would set the lead
    # aside anyway: neither changes the verdict alone, so the note comes from both.
    result = judged(
        "Putin lands in Hanoi on first visit in seven years",
        "Russian President Vladimir Putin landed in Hanoi shortly after midnight, flying in"
        " from Pyongyang, for a state visit.",
    )
    assert not result.flagged
    assert result.notes == ("journey ignored: Pyongyang",)
