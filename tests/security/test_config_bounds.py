"""A hostile config file gets one clear line and exit status 2, fast: alias bombs, nesting,
credentials, regular-expression selectors and numbers out of range (issue 10 items 10, 14,
15, 16 and 20).

Each test writes the file for real and runs ``wirewatch check`` in a subprocess whose address
space is capped, so a bomb that expanded would fail with a MemoryError instead of passing.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.config import load
from monitor.errors import ConfigError, ExitStatus
from tests.conftest import REPO, Result, run_cli

MEMORY_CAP = 1024**3  # bytes of address space; `check` of config.yaml runs under 0.8 GiB
CHECK_TIMEOUT = 60  # seconds; a refused bomb takes about as long as Python's imports


def check(path: Path) -> tuple[Result, float]:
    """Run ``wirewatch --config PATH check`` under MEMORY_CAP; return what it did and its time."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(path), "check"],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
            preexec_fn=cap,
            cwd=path.parent,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"wirewatch check of {path.name} did not finish within {CHECK_TIMEOUT}s")
    return Result(done.returncode, done.stdout, done.stderr), time.monotonic() - started


def refused_line(result: Result, path: Path) -> str:
    """Assert *result* is one clear config error about *path*; return its line."""
    assert result.code == ExitStatus.BAD_INPUT, result.err
    assert "internal error" not in result.err and "Traceback" not in result.err, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"{path}: "), lines[0]
    assert len(lines[0]) < 400, lines[0]
    return lines[0]


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_problem(path: Path) -> str:
    """Load *path* in this process; return the one line of the ConfigError it must raise."""
    with pytest.raises(ConfigError) as caught:
        load(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def billion_laughs(levels: int) -> str:
    """Ten values, then *levels* anchors of ten aliases of the one before, under crawl.delay."""
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, levels + 1):
        aliases = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{aliases}]")
    lines.append(f"crawl:\n  delay: *l{levels}")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_fast_naming_the_key_and_line(tmp_path: Path) -> None:
    """issue 10 item 10: ten billion values behind crawl.delay are refused before building."""
    path = write(tmp_path, billion_laughs(9))
    result, seconds = check(path)
    line = refused_line(result, path)
    # The first anchor past 100,000 values: l4, a list of ten lists of ... of ten strings,
    # stands for 111,111 of them (l9 for 11,111,111,111).
    assert line.startswith(f"{path}: l4 (line 5): ") and "100,000 values" in line, line
    assert seconds < 20, seconds


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    """issue 10 item 10: a value that contains itself is refused, not expanded forever."""
    path = write(tmp_path, "crawl:\n  delay: &loop [1, *loop]\n")
    line = load_problem(path)
    assert "crawl.delay (line 2)" in line and "*loop is used inside its own anchor" in line


@pytest.mark.parametrize(
    ("where", "topic"),
    [
        ("topics.t.entities.a.en[0]: ", 'entities: {a: {en: ["R%s"]}}\n    rule: a'),
        ("topics.t.rule: the quoted term ", 'entities: {a: {en: [Alpha]}}\n    rule: a AND "R%s"'),
    ],
    ids=["alias", "quoted-term"],
)
def test_alias_pattern_bomb_is_refused_naming_topic_entity_and_alias(
    tmp_path: Path, where: str, topic: str
) -> None:
    """issue 10 item 10: R(a|b) 32 times (four billion spellings) is refused, not expanded."""
    text = "topics:\n  t:\n    " + topic % ("(a|b)" * 32) + "\n"
    path = write(tmp_path, text)
    result, seconds = check(path)
    line = refused_line(result, path)
    assert line.startswith(f"{path}: {where}'R(a|b)(a|b)"), line
    assert "more than 1,000 spellings" in line, line
    assert seconds < 20, seconds


def test_many_aliases_together_are_bounded(tmp_path: Path) -> None:
    """issue 10 item 10: 200 topics of 1,000 spellings each stop at the whole file's bound."""
    alias = "x" + "(a|b|c|d|e|f|g|h|i|j)" * 3
    topics = "".join(
        f"  t{n}:\n    entities: {{a: {{en: ['{alias}']}}}}\n    rule: a\n" for n in range(200)
    )
    path = write(tmp_path, "topics:\n" + topics)
    with pytest.raises(ConfigError) as caught:
        load(path)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith(f"{path}: topics.t100.entities.a.en[0]: "), lines[0]
    assert "more than 100,000 spellings in all" in lines[0]
    assert len(lines) == 21 and lines[-1] == f"{path}: and 80 more problems (fix these first)"


PASSWORD = "hunter2-S3cret"


@pytest.mark.parametrize(
    "url",
    [
        f"https://analyst:{PASSWORD}@127.0.0.1:9/feed.xml",
        f"https://{PASSWORD}@127.0.0.1:9/feed.xml",
        f"https://analyst:{PASSWORD}/x@127.0.0.1:9/feed.xml",  # a / makes the host unreadable
        f"ftp://analyst:{PASSWORD}@127.0.0.1/feed.xml",
    ],
    ids=["user-and-password", "token-as-user", "slash-in-password", "ftp"],
)
def test_source_url_with_credentials_is_refused_without_echoing_the_password(
    tmp_path: Path, url: str
) -> None:
    """issue 10 item 14: credentials in a source URL are a config error, and never shown."""
    path = write(tmp_path, f"sources:\n  - name: private\n    url: '{url}'\n    kind: feed\n")
    result, _ = check(path)
    line = refused_line(result, path)
    assert line.startswith(f"{path}: sources[0].url: "), line
    assert "***@127.0.0.1" in line, line
    # status reads only the sources' names and kinds (issue 12, the config's outline): it
    # lists the source, and shows its password nowhere either.
    status = run_cli("--config", str(path), "status", cwd=tmp_path)
    assert status.code == ExitStatus.SUCCESS and "private" in status.out
    for output in (result.out, result.err, status.out, status.err):
        assert PASSWORD not in output and "S3cret" not in output


def test_xpath_selector_with_regular_expression_is_refused(tmp_path: Path) -> None:
    """issue 10 item 15: re:test(@href, "^(a+)+$") is refused, naming the source and key."""
    path = write(
        tmp_path,
        "sources:\n  - name: listing\n    url: https://example.com/news/\n    kind: page\n"
        "    links: '//a[re:test(@href, \"^(a+)+$\")]'\n",
    )
    result, seconds = check(path)
    line = refused_line(result, path)
    assert line.startswith(f"{path}: sources[0].links: "), line
    assert "uses re: (EXSLT regular expressions)" in line and "(source listing)" in line
    assert seconds < 20
    # The text "re:" inside a string literal is no regular expression.
    plain = write(
        tmp_path,
        "sources:\n  - name: listing\n    url: https://example.com/news/\n    kind: page\n"
        "    links: \"//a[contains(@href, 're:')]\"\n",
        name="plain.yaml",
    )
    assert load(plain).sources[0].links == "//a[contains(@href, 're:')]"


def with_rule(rule: str) -> str:
    """A config of one topic whose one named rule, ``deep``, is *rule*."""
    return (
        f"topics:\n  t:\n    entities: {{a: {{en: [Alpha]}}}}\n    rules:\n      deep: '{rule}'\n"
    )


@pytest.mark.parametrize(
    ("name", "rule", "column"),
    [
        ("parentheses", "(" * 5000 + "a" + ")" * 5000, 34),
        ("not", "NOT " * 5000 + "a", 133),
        ("near-chain", " NEAR/1 ".join(["a"] * 5000), 282),
    ],
)
def test_rule_nested_5000_deep_is_a_clear_config_error(
    tmp_path: Path, name: str, rule: str, column: int
) -> None:
    """issue 10 item 16: a rule 5,000 deep names its topic and rule, not an internal error."""
    path = write(tmp_path, with_rule(rule))
    result, _ = check(path)
    line = refused_line(result, path)
    assert line == (
        f"{path}: topics.t.rules.deep: the rule nests more than 32 levels deep at column "
        f"{column} (simplify it, or split it into named rules)"
    )


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("lists", "crawl:\n  delay: " + "[" * 5000 + "]" * 5000 + "\n", "crawl.delay[0]"),
        (
            "mappings",
            "crawl:\n  delay: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
            "crawl.delay.a",
        ),
    ],
)
def test_yaml_nested_5000_deep_is_a_clear_config_error(
    tmp_path: Path, name: str, text: str, where: str
) -> None:
    """issue 10 item 16: YAML 5,000 deep is refused with the file and key, not a RecursionError."""
    path = write(tmp_path, text)
    result, _ = check(path)
    line = refused_line(result, path)
    assert line.startswith(f"{path}: {where}") and "(line 2)" in line, line
    assert "the YAML nests more than 32 levels deep" in line


def test_an_integer_of_5000_digits_is_a_clear_config_error(tmp_path: Path) -> None:
    """issue 10 item 16: int() refuses 4,300 digits with a ValueError; the loader says where."""
    path = write(tmp_path, "crawl:\n  memory_mb: 1" + "0" * 5000 + "\n")
    assert load_problem(path).startswith(f"{path}: line 2: the number 1000")


@pytest.mark.parametrize(
    ("crawl", "source", "key", "shown", "allowed"),
    [
        ("", "interval: 0.0000001", "sources[0].interval", "1e-07", "1s to 365d"),
        ("", "interval: 400d", "sources[0].interval", "'400d'", "1s to 365d"),
        ("memory_mb: 999999999999", "", "crawl.memory_mb", "999999999999", "256 to 1,048,576"),
        ("memory_mb: 100", "", "crawl.memory_mb", "100", "256 to 1,048,576"),
        ("delay: 2h", "", "crawl.delay", "'2h'", "0s to 1h"),
        ("", "delay: -1", "sources[0].delay", "-1", None),
        ("timeout: 0.001", "", "crawl.timeout", "0.001", "1s to 1h"),
        ("", "timeout: .inf", "sources[0].timeout", "inf", "1s to 1h"),
        ("cycle_timeout: 2d", "", "crawl.cycle_timeout", "'2d'", "1s to 1d"),
        ("", "max_age: 1s", "sources[0].max_age", "'1s'", "1m to 36500d"),
        ("", "max_age: 1.0e+300", "sources[0].max_age", "1e+300", "1m to 36500d"),
        ("per_host_concurrency: 1000", "", "crawl.per_host_concurrency", "1000", "1 to 64"),
        ("", "per_host_concurrency: 0", "sources[0].per_host_concurrency", "0", "1 to 64"),
        ("workers: 65", "", "crawl.workers", "65", "1 to 64"),
        ("max_size_mb: 4096", "", "crawl.max_size_mb", "4096", "1 to 1,024"),
        ("", "depth: 21", "sources[0].depth", "21", "1 to 20"),
    ],
)
def test_every_number_of_a_source_or_crawl_has_a_range(
    tmp_path: Path, crawl: str, source: str, key: str, shown: str, allowed: str | None
) -> None:
    """issue 10 item 20: a number out of its range names the key, the value and the range."""
    extra = "\n    links: a\n" if "depth" in source else "\n"
    kind = "page" if "depth" in source else "feed"
    text = (
        (f"crawl:\n  {crawl}\n" if crawl else "")
        + f"sources:\n  - name: wire\n    url: https://example.com/\n    kind: {kind}\n"
        + (f"    {source}" if source else "")
        + extra
    )
    path = write(tmp_path, text)
    line = load_problem(path)
    if allowed is None:  # a negative duration says what a duration is instead
        assert line == f"{path}: {key}: {shown} must be more than 0 seconds"
    else:
        assert line == f"{path}: {key}: {shown} is out of range (use {allowed})"


@pytest.mark.parametrize(
    ("scoring", "key", "shown", "allowed"),
    [
        ("threshold: 0", "topics.t.threshold", "0", "more than 0, up to 10,000"),
        ("threshold: 1.0e+9", "topics.t.threshold", "1000000000.0", "more than 0, up to 10,000"),
        ("threshold: .nan", "topics.t.threshold", "nan", "more than 0, up to 10,000"),
        ("scoring: {title: 1000}", "topics.t.scoring.title", "1000", "0 to 100"),
        ("scoring: {body: -1}", "topics.t.scoring.body", "-1", "0 to 100"),
        ("scoring: {entities: {a: .inf}}", "topics.t.scoring.entities.a", "inf", "0 to 100"),
    ],
)
def test_every_number_of_a_topic_has_a_range(
    tmp_path: Path, scoring: str, key: str, shown: str, allowed: str
) -> None:
    """issue 10 item 20: scores and thresholds have ranges too, NaN and infinity included."""
    text = f"topics:\n  t:\n    entities: {{a: {{en: [Alpha]}}}}\n    rule: a\n    {scoring}\n"
    path = write(tmp_path, text)
    assert load_problem(path) == f"{path}: {key}: {shown} is out of range (use {allowed})"


def test_the_ends_of_each_range_are_allowed(tmp_path: Path) -> None:
    """issue 10 item 20: the bounds themselves pass, so the tests' and demo's configs do."""
    path = write(
        tmp_path,
        "crawl: {delay: 0, timeout: 1, cycle_timeout: 1d, memory_mb: 1048576, workers: 64,\n"
        "        per_host_concurrency: 64, max_size_mb: 1024}\n"
        "sources:\n  - {name: a, url: 'https://example.com/', kind: feed, interval: 1s,\n"
        "     max_age: 36500d, delay: 1h, timeout: 1h}\n"
        "topics:\n  t:\n    entities: {a: {en: [Alpha]}}\n    rule: a\n    threshold: 10000\n"
        "    scoring: {title: 100, lead: 0, body: 0, entities: {a: 100}}\n",
    )
    config = load(path)
    assert config.crawl.memory_mb == 1048576 and config.sources[0].interval == 1
    assert load(REPO / "config.yaml").sources  # the repository's config is within every range


def test_the_cli_reports_a_number_out_of_range_in_one_line(tmp_path: Path) -> None:
    """issue 10 item 20: the reproduction of the issue, through the real CLI."""
    path = write(
        tmp_path,
        "crawl:\n  memory_mb: 999999999999\n"
        "sources:\n  - {name: a, url: 'https://example.com/', kind: feed, interval: 0.0000001}\n",
    )
    result, _ = check(path)
    assert result.code == ExitStatus.BAD_INPUT and "internal error" not in result.err
    assert result.err.splitlines() == [
        f"{path}: crawl.memory_mb: 999999999999 is out of range (use 256 to 1,048,576)",
        f"{path}: sources[0].interval: 1e-07 is out of range (use 1s to 365d)",
    ]


def test_a_config_file_larger_than_4_mib_is_not_read(tmp_path: Path) -> None:
    """issue 10 item 10: the file itself is bounded before YAML reads a byte of it."""
    path = write(tmp_path, "# " + "x" * (4 * 1024 * 1024) + "\n")
    assert load_problem(path) == (
        f"{path}: the file is larger than 4 MiB; a config is far smaller (is this the right file?)"
    )
