"""Config validation: every problem is one line naming the file, the key path and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Config, CrawlPlan, load, parse
from monitor.errors import ConfigError

from .conftest import REPO, run_cli

GOOD = """\
archive: data/archive.db
crawl:
  delay: 1.5
  timeout: 20s
sources:
  - name: wire
    url: https://example.com/rss.xml
    kind: feed
    interval: 90s
    timeout: 5
    user_agent: special-agent/1.0
  - name: other
    url: https://example.org/atom.xml
    kind: feed
    full_text: false
    language: ko
    tags: [korea]
topics:
  pair:
    entities:
      a: {en: [Alpha]}
      b: {en: [Beta, Gamma]}
    rule: a NEAR/paragraph b
"""


def problems(text: str, name: str = "config.yaml") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(text, Path(name))
    return str(caught.value).splitlines()


def test_the_repository_config_is_valid() -> None:
    config = load(REPO / "config.yaml")
    assert config.sources and "russia-dprk" in config.topics
    assert config.archive == REPO / "wirewatch.db"


def test_a_valid_config_resolves_the_archive_against_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.yaml"
    path.parent.mkdir()
    path.write_text(GOOD)
    config = load(path)
    assert config.archive == path.resolve().parent / "data" / "archive.db"
    assert config.crawl.timeout == 20 and config.crawl.delay == 1.5
    assert config.sources[0].interval == 90


def test_a_source_overrides_politeness_and_inherits_the_rest() -> None:
    config = parse(GOOD, Path("config.yaml"))
    wire = config.sources[0].politeness(config.crawl)
    assert (wire.timeout, wire.user_agent, wire.delay) == (5, "special-agent/1.0", 1.5)
    other = config.sources[1].politeness(config.crawl)
    assert other.timeout == 20 and other.user_agent == config.crawl.user_agent


def test_defaults_fill_what_a_source_leaves_out() -> None:
    config = parse(GOOD, Path("config.yaml"))
    assert config.sources[0].full_text is True
    assert config.sources[1].full_text is False
    assert config.sources[0].interval == 90 and config.sources[1].interval == 600


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("interval: 90s", "interval: ten minutes"),
            "config.yaml: sources[0].interval: 'ten minutes' is not a duration "
            "(use e.g. 90s, 10m, 1h, 2d)",
        ),
        (
            ("    interval: 90s", "    intervall: 90s"),
            "config.yaml: sources[0].intervall: unknown key (did you mean 'interval'?)",
        ),
        (
            ("kind: feed\n    full_text", "kind: rss\n    full_text"),
            "config.yaml: sources[1].kind: 'rss' is not a source kind (use one of: feed, sitemap, page)",
        ),
        (
            ("https://example.org/atom.xml", "example.org/atom.xml"),
            "config.yaml: sources[1].url: 'example.org/atom.xml' is not an http(s) URL "
            "(use e.g. https://example.com/rss.xml)",
        ),
        (
            ("name: other", "name: wire"),
            "config.yaml: sources[1].name: 'wire' is already the name of sources[0] "
            "(source names must be unique)",
        ),
        (
            ("full_text: false", "full_text: maybe"),
            "config.yaml: sources[1].full_text: 'maybe' is not true or false",
        ),
        (
            ("crawl:\n", "crawl:\n  delays: 3\n"),
            "config.yaml: crawl.delays: unknown key (did you mean 'delay'?)",
        ),
        (
            ("language: ko", "language: Korean"),
            "config.yaml: sources[1].language: 'Korean' is not a language code "
            "(use e.g. en, ru, ko)",
        ),
        (
            ("    kind: feed\n    interval", "    interval"),
            "config.yaml: sources[0].kind: this key is required",
        ),
        (
            ("rule: a NEAR/paragraph b", "rule: a NEAR/paragraph c"),
            "config.yaml: topics.pair.rule: unknown entity 'c' (the entities are: a, b)",
        ),
        (
            ("rule: a NEAR/paragraph b", "rule: a AND AND b"),
            "config.yaml: topics.pair.rule: unexpected 'AND' at column 7",
        ),
        (
            ("b: {en: [Beta, Gamma]}", "b: {en: []}"),
            "config.yaml: topics.pair.entities.b.en: the alias list is empty (list a word)",
        ),
        (
            ("archive: data/archive.db\n", "archive: data/archive.db\narchive: other.db\n"),
            "config.yaml: line 2, column 1: invalid YAML: the key 'archive' is given twice "
            "(fix the syntax there)",
        ),
    ],
)
def test_each_problem_names_the_key_and_the_fix(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    assert problems(GOOD.replace(old, new, 1)) == [expected]


def test_bad_yaml_names_its_line() -> None:
    (line,) = problems("sources:\n  - name: a\n   url: b\n")
    assert line.startswith("config.yaml: line 3, column 4: invalid YAML:")


def test_several_problems_are_each_reported() -> None:
    text = GOOD.replace("interval: 90s", "interval: soon").replace(
        "kind: feed\n    full", "kind: x\n    full"
    )
    assert len(problems(text)) == 2


def test_an_unknown_key_at_any_depth_lists_the_keys_allowed_there() -> None:
    text = GOOD.replace(
        "    rule: a NEAR/paragraph b", "    rule: a NEAR/paragraph b\n    scoring: {zzz: 1}"
    )
    assert problems(text) == [
        "config.yaml: topics.pair.scoring.zzz: unknown key (allowed: title, lead, body, entities)"
    ]
    text = GOOD.replace(
        "    rule: a NEAR/paragraph b", "    rule: a NEAR/paragraph b\n    scoring: {bodyy: 1}"
    )
    assert problems(text) == [
        "config.yaml: topics.pair.scoring.bodyy: unknown key (did you mean 'body'?)"
    ]


def test_every_problem_in_a_topic_is_reported_at_once() -> None:
    entities = GOOD.replace("a: {en: [Alpha]}", "a: {en: []}").replace(
        "b: {en: [Beta, Gamma]}", "b: {en: [Beta], ru: []}"
    )
    assert problems(entities) == [
        "config.yaml: topics.pair.entities.a.en: the alias list is empty (list a word)",
        "config.yaml: topics.pair.entities.b.ru: the alias list is empty (list a word)",
    ]
    rules = GOOD.replace(
        "rule: a NEAR/paragraph b",
        "rules: {one: a AND c, two: a AND AND b}\n    exclude: d\n    scoring: {entities: {e: 2}}",
    )
    assert problems(rules) == [
        "config.yaml: topics.pair.rules.one: unknown entity 'c' (the entities are: a, b)",
        "config.yaml: topics.pair.rules.two: unexpected 'AND' at column 7",
        "config.yaml: topics.pair.exclude: unknown entity 'd' (the entities are: a, b)",
        "config.yaml: topics.pair.scoring.entities: unknown entity 'e' (the entities are: a, b)",
    ]


def test_a_source_reports_its_cron_line_and_its_kind_together() -> None:
    text = GOOD.replace("    interval: 90s", "    cron: '61 * * * *'\n    links: 'h2 a'")
    assert problems(text) == [
        "config.yaml: sources[0].cron: '61 * * * *' is not a valid cron line "
        "(Error validating expression '61': the last value (61) is higher than the maximum "
        "value (59))",
        "config.yaml: sources[0].links: only a page source takes links (this one is a feed)",
    ]


def test_parse_reads_only_the_text_and_load_checks_the_alerts_environment(
    tmp_path: Path,
) -> None:
    text = GOOD + "alerts:\n  pair: ['json://127.0.0.1:9/$WIREWATCH_TEST_UNSET']\n"
    config = parse(text, Path("config.yaml"))
    assert config.alerts == {"pair": ["json://127.0.0.1:9/$WIREWATCH_TEST_UNSET"]}
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    pytest.importorskip("apprise", reason="the alerts check needs the optional apprise extra")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert str(caught.value) == (
        f"{path}: alerts.pair[0]: the environment variable WIREWATCH_TEST_UNSET is not set "
        "(export it before starting wirewatch)"
    )
    loaded = load(path, environ={"WIREWATCH_TEST_UNSET": "token"})
    assert loaded.alerts == config.alerts  # kept as written: the secret is filled in to send


def test_a_crawl_plan_carries_its_sources_and_no_alert() -> None:
    text = GOOD + "alerts:\n  pair: ['json://127.0.0.1:9/$WIREWATCH_TEST_TOKEN']\n"
    config = parse(text, Path("config.yaml"))
    plan = config.plan([config.sources[1]])
    assert [source.name for source in plan.sources] == ["other"]
    assert "alerts" not in plan.to_json() and "WIREWATCH_TEST_TOKEN" not in plan.to_json()
    again = CrawlPlan.from_json(plan.to_json())
    assert again == plan
    assert again.path == Path("config.yaml") and again.topics == config.topics


def test_a_missing_file_says_how_to_provide_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file \(create it, pass --config PATH"):
        load(tmp_path / "config.yaml")


def test_an_empty_file_is_a_valid_config_with_no_sources() -> None:
    config = parse("", Path("config.yaml"))
    assert isinstance(config, Config) and config.sources == []


def test_check_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(GOOD.replace("interval: 90s", "interval: ten minutes"))
    result = run_cli("--config", "config.yaml", "check", cwd=tmp_path)
    assert result.code == 2
    assert result.err == (
        "config.yaml: sources[0].interval: 'ten minutes' is not a duration "
        "(use e.g. 90s, 10m, 1h, 2d)\n"
    )
    assert result.out == ""


def test_check_summarises_a_valid_config(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(GOOD)
    result = run_cli("check", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "config.yaml: valid" in result.out
    assert "sources  2 (2 feed)" in result.out
    assert "pair: 2 entities, 3 aliases" in result.out


def test_the_config_comes_from_the_environment_when_not_given(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(GOOD.replace("kind: feed", "kind: nope", 1))
    result = run_cli("check", cwd=tmp_path, env={"WIREWATCH_CONFIG": str(elsewhere)})
    assert result.code == 2
    assert result.err.startswith(f"{elsewhere}: sources[0].kind:")


def test_a_missing_config_exits_2_naming_it(tmp_path: Path) -> None:
    result = run_cli("check", cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith("config.yaml: no such file")
    assert "Traceback" not in result.err


@pytest.mark.parametrize("name", ["config.yaml", "GOOD"])
def test_libyaml_and_pyyaml_read_a_config_alike(name: str) -> None:
    # issue 12: the config is read with libyaml's parser, and the same bounds, for speed.
    import yaml

    from monitor.safeyaml import _BoundedLoader, _FastBoundedLoader

    text = GOOD if name == "GOOD" else (REPO / name).read_text(encoding="utf-8")
    fast = yaml.load(text, Loader=_FastBoundedLoader)
    assert fast == yaml.load(text, Loader=_BoundedLoader)
