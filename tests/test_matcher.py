"""The first matcher: entity aliases, boundaries, rules, scores and snippets."""

from __future__ import annotations

import pytest

from monitor.config import Topic
from monitor.matcher.engine import Matcher
from monitor.matcher.normalize import fold, nfkc
from monitor.matcher.rules import RuleSyntaxError, entity_names, parse_rule

from .conftest import default_topics


def topic(rule: str, threshold: float = 1.0, **entities: list[str]) -> Topic:
    return Topic(
        entities={name: {"en": aliases} for name, aliases in entities.items()},
        rule=rule,
        threshold=threshold,
    )


PAIR = topic(
    "russia NEAR/paragraph dprk",
    russia=["Russia", "Russian", "Moscow", "Kremlin", "Putin"],
    dprk=["North Korea", "North Korean", "Pyongyang", "Kim Jong Un", "D.P.R.K."],
)


def verdict(title: str, body: str, spec: Topic = PAIR):
    (result,) = Matcher({"t": spec}).match(title, body)
    return result


def test_both_sides_in_one_paragraph_flag_the_story() -> None:
    result = verdict("Talks", "Putin met Kim Jong Un in Pyongyang.\nThey talked for hours.")
    assert result.flagged
    assert {hit.alias for hit in result.evidence} == {"Putin", "Kim Jong Un", "Pyongyang"}
    assert result.snippet == "Putin met Kim Jong Un in Pyongyang."


def test_the_two_sides_in_different_paragraphs_do_not() -> None:
    result = verdict(
        "Missile launch",
        "North Korea fired a missile on Tuesday.\nSeparately, Moscow hosted a trade fair.",
    )
    assert not result.flagged
    assert result.score == 0


def test_a_word_inside_a_longer_word_is_not_a_hit() -> None:
    result = verdict(
        "History", "Prussia and Russian-speaking Pyongyangers; Moscowitz met Kimberly."
    )
    assert [hit.alias for hit in result.hits] == ["Russian"]


def test_matching_ignores_case_and_hyphens() -> None:
    result = verdict("", "KREMLIN aides greeted kim jong-un in the north korean capital.")
    assert result.flagged
    assert {hit.alias for hit in result.evidence} == {"Kremlin", "Kim Jong Un", "North Korean"}


def test_an_alias_ending_in_punctuation_is_found() -> None:
    result = verdict("", "The D.P.R.K. envoy flew to Moscow.")
    assert {hit.alias for hit in result.evidence} == {"D.P.R.K.", "Moscow"}


def test_the_longest_alias_wins_over_one_inside_it() -> None:
    result = verdict("", "North Korean troops reached Russia.")
    assert [hit.alias for hit in result.hits] == ["North Korean", "Russia"]


def test_hit_offsets_point_into_the_stored_text() -> None:
    body = "Straße news: Putin and Pyongyang agreed."
    result = verdict("", body)
    for hit in result.evidence:
        assert nfkc(body)[hit.start : hit.end].casefold() == hit.alias.casefold()


def test_offsets_survive_folding_that_changes_length() -> None:
    text = nfkc("ǰ İstanbul ß Moscow")
    folded, index = fold(text)
    assert index is not None
    start = folded.index("moscow")
    assert text[index[start] : index[start] + 6] == "Moscow"


def test_title_hits_weigh_more_than_body_hits() -> None:
    in_title = verdict("Putin lands in Pyongyang", "")
    in_body = verdict("", "Earlier text.\nPutin lands in Pyongyang.")
    in_lead = verdict("", "Putin lands in Pyongyang.")
    assert in_title.score > in_lead.score > in_body.score > 0


def test_the_threshold_holds_back_weak_evidence() -> None:
    strict = topic("a AND b", threshold=5, a=["alpha"], b=["beta"])
    assert not verdict("", "alpha beta", strict).flagged
    assert verdict("alpha beta", "alpha beta", strict).flagged


@pytest.mark.parametrize(
    ("rule", "body", "flagged"),
    [
        ("a AND b", "alpha ... beta", True),
        ("a AND b", "alpha", False),
        ("a OR b", "beta", True),
        ("a AND NOT b", "alpha", True),
        ("a AND NOT b", "alpha beta", False),
        ("(a OR b) AND c", "beta gamma", True),
        ("a NEAR/2 b", "alpha one two beta", True),
        ("a NEAR/2 b", "alpha one two three beta", False),
        ("a NEAR/sentence b", "alpha here. beta there.", False),
        ("a NEAR/sentence b", "alpha and beta.", True),
        ('a AND "delta force"', "alpha with Delta-Force", True),
    ],
)
def test_rules_combine_entities(rule: str, body: str, flagged: bool) -> None:
    spec = topic(rule, a=["alpha"], b=["beta"], c=["gamma"])
    assert verdict("", body, spec).flagged is flagged


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("a AND", "the rule ends too early at column 6"),
        ("a b", "unexpected 'b' at column 3"),
        ("(a OR b", "the '(' at column 1 is never closed"),
        ("a NEAR/far b", "NEAR/far at column 3: use NEAR/<words>, NEAR/sentence or NEAR/paragraph"),
        ("(NOT a) NEAR/5 b", "NEAR at column 9 needs words on both sides, not NOT"),
        ("a NEAR/5 NOT b", "unexpected 'NOT' at column 10"),
        ('a AND ""', "empty quoted term at column 7"),
        ("", "the rule is empty"),
    ],
)
def test_a_rule_that_does_not_parse_names_the_column(rule: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rule(rule)


def test_operators_bind_as_documented() -> None:
    assert entity_names(parse_rule("a OR b AND NOT c NEAR/3 d")) == {"a", "b", "c", "d"}
    assert str(parse_rule("a OR b AND c")).startswith("Any_(")


def test_the_default_topic_tells_relations_from_mentions() -> None:
    matcher = Matcher({name: Topic(**spec) for name, spec in default_topics().items()})

    def flagged(title: str, body: str) -> bool:
        return next(r for r in matcher.match(title, body) if r.topic == "russia-dprk").flagged

    assert flagged("Lavrov in Pyongyang", "Lavrov held talks with Choe Son Hui.")
    assert flagged("Путин в Пхеньяне", "Путин прибыл в Пхеньян с государственным визитом.")
    assert not flagged("Missile test", "North Korea launched a missile, Seoul said.")
    assert not flagged("Front line", "Russian forces shelled Kharkiv, Kyiv said.")


def test_aliases_that_fold_alike_give_one_hit() -> None:
    spec = topic("a", a=["Kim Jong Un", "Kim Jong-un"])
    result = verdict("", "Kim Jong-un spoke.", spec)
    assert [(hit.alias, hit.start, hit.end) for hit in result.hits] == [("Kim Jong Un", 0, 11)]
