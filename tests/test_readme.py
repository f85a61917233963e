"""The README stays true: its transcripts are rerun, and every command and config key is real.

``console`` blocks are transcripts: each ``$ wirewatch ...`` line is run in a folder where
``wirewatch demo`` has just run, and its output must match the README once times, ports,
durations and article IDs (which depend on the clock and on arrival order) are masked.
Commands in other blocks are parsed by the real CLI without running.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from monitor.cli import cli
from monitor.config import (
    Config,
    CrawlSettings,
    HealthSettings,
    Politeness,
    Source,
    Topic,
    parse,
)
from monitor.config.cluster import ClusterSettings
from monitor.config.coverage import CoverageSettings
from monitor.config.recheck import RecheckSettings
from monitor.config.sanctions import SanctionsSettings
from monitor.errors import ExitStatus
from monitor.events import STAGES

from .conftest import REPO, copy_demo, default_topics, run_cli


def _all_commands() -> dict[str, click.Command]:
    """Every command of the group, loaded (the group itself loads them only when asked)."""
    context = click.Context(cli)
    loaded = {name: cli.get_command(context, name) for name in cli.list_commands(context)}
    return {name: command for name, command in loaded.items() if command is not None}


ALL_COMMANDS = _all_commands()

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, flags=re.DOTALL)


def transcripts() -> list[tuple[str, str]]:
    """Return each ``$ command`` of the console blocks with the output shown under it."""
    found = []
    for kind, text in BLOCKS:
        if kind != "console":
            continue
        for chunk in re.split(r"^\$ ", text, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            found.append((command, output))
    return found


def shown_titles() -> dict[int, str]:
    """The headline of each article ID that a ``show`` transcript of the README shows."""
    return {
        int(found.group(1)): found.group(2)
        for command, output in transcripts()
        if " show " in command
        for found in [re.match(r"#(\d+)  (.*)", output)]
        if found
    }


def mask(text: str) -> str:
    text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?Z?", "<time>", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"\(\d+\.\d+s\)", "(<seconds>)", text)
    text = re.sub(r"^ *\d+(?=   )", "<id>", text, flags=re.MULTILINE)  # the table's ID column
    text = re.sub(r"^#\d+ ", "#<id> ", text)
    text = re.sub(r"(Marked|on|Story) #\d+", r"\1 #<id>", text)
    text = re.sub(r"^( +)#\d+(?=  )", r"\1#<id>", text, flags=re.MULTILINE)  # other outlets
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


# One worker runs this module, so its module fixture is built once (pytest-xdist).
pytestmark = pytest.mark.xdist_group("readme")


@pytest.fixture(scope="module")
def folder(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the repository's config.yaml, a broken copy, and a demo archive in it."""
    path = tmp_path_factory.mktemp("readme")
    config = (REPO / "config.yaml").read_text(encoding="utf-8")
    shutil.copy(REPO / "config.yaml", path / "config.yaml")
    shutil.copytree(REPO / "tests" / "data", path / "tests" / "data")
    broken = config.replace("interval: 10m", "interval: ten minutes", 1)
    broken = broken.replace("interval: 15m", "intervall: 15m", 1)
    (path / "broken.yaml").write_text(broken, encoding="utf-8")
    # Every transcript can run alone: the demo archive they read is here first, a copy of the
    # one the test process made (the transcript of make demo makes it again).
    copy_demo(demo_folder, path)
    return path


@pytest.mark.parametrize(("command", "shown"), transcripts(), ids=lambda value: value[:60])
def test_each_transcript_prints_what_the_readme_shows(
    folder: Path, command: str, shown: str
) -> None:
    args = shlex.split(command)
    if args == ["make", "demo"]:
        args = ["wirewatch", "demo"]
    assert args[0] == "wirewatch", f"transcripts show wirewatch commands only: {command}"
    args = args[1:]
    for name in ("show", "mark"):
        if name in args:
            # IDs follow arrival order: find the story by the headline the README shows.
            at = args.index(name) + 1
            title = shown_titles()[int(args[at])]
            with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
                (article_id,) = db.execute(
                    "SELECT id FROM articles WHERE title = ? "
                    "ORDER BY coalesce(published, fetched), id LIMIT 1",
                    [title],
                ).fetchone()
            args[at] = str(article_id)
    result = run_cli(*args, cwd=folder)
    printed = result.out + result.err
    if command == "make demo":
        printed = as_in_the_clone(printed, folder)
    assert mask(printed) == mask(shown)


def as_in_the_clone(text: str, folder: Path) -> str:
    """Return the demo's output as ``make demo`` prints it in the clone, where its hints
    name the venv's script ``.venv/bin/wirewatch``: run here, in another folder, they name
    the same script by another path (or ``wirewatch``, when it is on PATH)."""
    script = Path(sys.executable).parent / "wirewatch"
    names = {"wirewatch", str(script), os.path.relpath(script, folder)}
    return re.sub(
        r"^  (\S+)(?= --config )",
        lambda found: "  .venv/bin/wirewatch" if found.group(1) in names else found.group(0),
        text,
        flags=re.MULTILINE,
    )


def test_the_demo_transcript_comes_first() -> None:
    assert transcripts()[0][0] == "make demo"


def commands_in_other_blocks() -> list[str]:
    """Every wirewatch command in the sh and ini blocks (crontab lines, systemd units too)."""
    lines = []
    for kind, text in BLOCKS:
        if kind not in ("sh", "ini"):
            continue
        for line in text.splitlines():
            # The program, as a word or at the end of a path to bin/: not "Description=wirewatch".
            found = list(re.finditer(r"(?:^|\s|bin/)wirewatch\s+(.*?)(?:\s+#.*)?$", line))
            if found:
                lines.append("wirewatch " + found[-1].group(1).strip())
    return lines


@pytest.mark.parametrize("command", commands_in_other_blocks())
def test_each_command_shown_parses(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = shlex.split(command)
    cut = next((i for i, word in enumerate(words) if word in (">", ">>", "|", "2>&1")), len(words))
    args = words[1:cut]  # no shell redirection
    monkeypatch.chdir(tmp_path)
    for arg in args:
        if arg.endswith(".jsonl"):  # input files the example names
            (tmp_path / arg).write_text("")
    position = 0
    while args[position].startswith("-"):  # global options, before the command
        position += 1 if args[position] == "--debug" else 2
    if position:
        cli.make_context("wirewatch", args[:position])
    name, rest = args[position], args[position + 1 :]
    assert name in ALL_COMMANDS, command
    with ALL_COMMANDS[name].make_context(name, rest):
        pass  # leaving the context closes any file argument it opened


def test_the_make_commands_come_first_and_exist() -> None:
    first_block = BLOCKS[0][1]
    assert "make demo" in first_block and "make test" in first_block
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_the_workers_variable_the_readme_names_sets_the_test_workers() -> None:
    assert "make test PYTEST_WORKERS=0" in README
    assert "one more than the machine has cores" in README

    def workers(*variables: str) -> list[str]:
        shown = subprocess.run(["make", "-n", "test", *variables], cwd=REPO, timeout=60,
                               capture_output=True, text=True, check=True)  # fmt: skip
        return re.findall(r"pytest -n (\S+) -m", shown.stdout)

    assert workers() == [str(len(os.sched_getaffinity(0)) + 1)]
    assert workers("PYTEST_WORKERS=0") == ["0"]


def test_the_stages_of_the_crawl_report_are_the_ones_the_readme_names() -> None:
    paragraph = README.split("(`cpu_seconds`", 1)[1].split(")", 1)[0]
    assert re.findall(r"`([a-z-]+)`", paragraph) == list(STAGES)


def test_every_command_is_documented() -> None:
    for name in ALL_COMMANDS:
        assert f"wirewatch {name}" in README, f"the README never shows `wirewatch {name}`"


def test_every_config_key_is_documented() -> None:
    documented = set(re.findall(r"^\| `([^`]+)`", README, flags=re.MULTILINE))
    sections = ("crawl", "sources", "topics", "health", "sanctions", "recheck", "coverage", "path",
                "cluster")  # fmt: skip
    keys = {key for key in Config.model_fields if key not in sections}
    keys |= {f"crawl.{key}" for key in CrawlSettings.model_fields}
    keys |= {f"health.{key}" for key in HealthSettings.model_fields}
    keys |= {f"coverage.{key}" for key in CoverageSettings.model_fields}
    keys |= {f"sanctions.{key}" for key in SanctionsSettings.model_fields}
    keys |= {f"recheck.{key}" for key in RecheckSettings.model_fields}
    keys |= {f"cluster.{key}" for key in ClusterSettings.model_fields}
    keys |= {
        f"sources[].{key}" for key in Source.model_fields if key not in Politeness.model_fields
    }
    keys |= {f"topics.<name>.{key}" for key in Topic.model_fields}
    missing = keys - documented
    assert not missing, f"config keys missing from the README's table: {sorted(missing)}"
    overrides = next(line for line in README.splitlines() if "| from `crawl` |" in line)
    for key in Politeness.model_fields:
        assert key in overrides


def test_the_yaml_examples_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    examples = [text for kind, text in BLOCKS if kind == "yaml"]
    assert len(examples) >= 3
    for name in ("MAIL_USER", "MAIL_PASSWORD"):  # what the alerts example reads
        monkeypatch.setenv(name, "x")
    for example in examples:
        data = yaml.safe_load(example)
        if "entities" in data:  # a fragment of a topic: check it inside one
            data = {"topics": {"t": {"entities": data["entities"], "rule": "russia AND dprk"}}}
        if "alerts" in data:  # alerts name the default topic
            data["topics"] = default_topics()
        if not {"topics", "alerts"} & set(data):  # a few keys: check them in the default config
            data = {**yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8")), **data}
        config = parse(yaml.safe_dump(data, allow_unicode=True), Path("config.yaml"))
        assert config.topics


def help_problems(name: str, command: click.Command) -> list[str]:
    """Return what ``wirewatch NAME --help`` leaves out: its help, an example, option help."""
    problems = []
    if not command.help:
        problems.append(f"{name} has no help")
    elif "Example" not in command.help:
        problems.append(f"{name}'s help has no example")
    with click.Context(command, info_name=name) as ctx:
        for param in command.get_params(ctx):  # --help included
            if isinstance(param, click.Option) and not param.hidden and not param.help:
                problems.append(f"{name}: {'/'.join(param.opts)} has no help text")
    return problems


@pytest.mark.parametrize("name", sorted(ALL_COMMANDS))
def test_click_sees_no_undocumented_options_in_help(name: str) -> None:
    assert help_problems(name, ALL_COMMANDS[name]) == []


def test_the_group_documents_its_options() -> None:
    with click.Context(cli, info_name="wirewatch") as ctx:
        options = [param for param in cli.get_params(ctx) if isinstance(param, click.Option)]
    assert {"--config", "--archive", "--debug", "--version", "--help"} <= {
        opt for option in options for opt in option.opts
    }
    assert [option.opts for option in options if not option.help] == []


def _broken(name: str) -> None:
    """Do something.

    Example:
      wirewatch broken --quiet
    """


@pytest.mark.parametrize(
    ("command", "problems"),
    [
        (click.Command("broken", callback=_broken, help=_broken.__doc__,
                       params=[click.Option(["--quiet"], is_flag=True)]),
         ["broken: --quiet has no help text"]),
        (click.Command("broken", callback=_broken, help="Do something.",
                       params=[click.Option(["--quiet"], is_flag=True, help="Say less.")]),
         ["broken's help has no example"]),
        (click.Command("broken", callback=_broken,
                       params=[click.Option(["-n", "--number"], type=int)]),
         ["broken has no help", "broken: -n/--number has no help text"]),
        (click.Command("quiet", callback=_broken, help=_broken.__doc__,
                       params=[click.Option(["--secret"], hidden=True)]),
         []),
    ],
)  # fmt: skip
def test_help_problems_reports_what_help_leaves_out(
    command: click.Command, problems: list[str]
) -> None:
    assert help_problems(command.name or "", command) == problems


def exit_status_table() -> dict[int, str]:
    """The README's exit-status table: each status and what it says of it."""
    section = README.split("### Exit status", 1)[1].split("\n\n", 2)[1]
    return {
        int(found.group(1)): found.group(2)
        for found in re.finditer(r"^\| (\d+) \| (.*) \|$", section, flags=re.MULTILINE)
    }


def test_the_exit_status_table_lists_every_status_and_what_sigterm_gives_each_command() -> None:
    """Issue 13: the table said SIGTERM gives 130, where `run` (and `serve`) exit 0 on it;
    tests/test_daemon.py, tests/test_serve.py, tests/test_crawl.py and tests/test_cluster.py hold
    the commands to what the table says."""
    table = exit_status_table()
    assert sorted(table) == sorted(int(status) for status in ExitStatus)
    assert "`run`, `serve` and `worker` also exit 0 when SIGTERM" in table[ExitStatus.SUCCESS]
    interrupted = table[ExitStatus.INTERRUPTED]
    assert "`crawl` or `demo` stopped by Ctrl-C or SIGTERM" in interrupted
    assert "but `run`, `serve` and `worker`" in interrupted


def test_each_picture_in_the_readme_is_one_the_screenshot_script_makes() -> None:
    pictures = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", README)
    assert pictures == ["docs/img/flagged.png", "docs/img/story.png"]
    script = (REPO / "docs" / "screenshots.py").read_text(encoding="utf-8")
    for picture in pictures:
        assert f'"{Path(picture).name}"' in script
        head = (REPO / picture).read_bytes()[:24]
        assert head.startswith(b"\x89PNG")
        assert struct.unpack(">II", head[16:24]) == (1400, 1000)
