"""The CLI loads a command's module only when that command runs (issue 12: answer at once).

Measured as what a fresh interpreter imports, not as time: benchmarks/cli.py times it.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.archive import Archive
from monitor.cli import COMMANDS, cli

from .conftest import run_cli, write_config
from .test_import_layers import modules_loaded_by

HEAVY = ("scrapy", "twisted", "trafilatura", "datasette", "apprise", "feedparser", "datasketch")


def run_in_fresh_interpreter(*args: str) -> str:
    """Return code that runs ``wirewatch ARGS`` and carries on whatever it exits with."""
    return (
        "import contextlib, io\n"
        "from monitor.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({list(args)!r})"
    )


def loaded_roots(modules: set[str]) -> set[str]:
    return {name.partition(".")[0] for name in modules}


@pytest.mark.parametrize("args", [("--version",), ("--help",)])
def test_version_and_help_load_no_command_and_no_heavy_library(args: tuple[str, ...]) -> None:
    loaded = modules_loaded_by(run_in_fresh_interpreter(*args))
    assert sorted(name for name in loaded if name.startswith("monitor.commands")) == []
    light = {"pydantic", "rich", "sqlite_utils", "jinja2", "numpy", *HEAVY}
    assert sorted(loaded_roots(loaded) & light) == []


def test_a_reading_command_loads_neither_the_crawler_nor_the_web_libraries(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/feed.xml"}])
    loaded = modules_loaded_by(run_in_fresh_interpreter("--config", str(config), "flagged"))
    assert "monitor.commands.desk" in loaded  # the command did run
    assert sorted(loaded_roots(loaded) & set(HEAVY)) == []
    runners = ("crawler", "monitor.collection.cycle", "monitor.collection.daemon")
    assert not [name for name in loaded if name.startswith(runners)]


@pytest.mark.parametrize(
    "args", [("flagged",), ("show", "1"), ("status",), ("search", "Pyongyang")], ids=str
)
def test_a_reading_command_loads_neither_sqlite_utils_nor_the_config_models(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    config = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/feed.xml"}])
    with config.open("a", encoding="utf-8") as file:  # alerts, whose services apprise knows
        file.write("alerts:\n  russia-dprk: json://127.0.0.1:9/hook\n")
    Archive.open(tmp_path / "archive.db").close()  # created with every migration
    loaded = modules_loaded_by(run_in_fresh_interpreter("--config", str(config), *args))
    assert "monitor.archive.store" in loaded  # the archive was opened
    # sqlite-utils (and numpy, which it loads) are for writes and migrations only; the
    # config's outline is read without its models (pydantic) and without apprise.
    # zoneinfo (and the sysconfig it reads) only for a config whose timezone: is not UTC.
    light = {"sqlite_utils", "numpy", "pydantic", "pydantic_core", "jinja2", "markupsafe",
             "zoneinfo", *HEAVY}  # fmt: skip
    assert sorted(loaded_roots(loaded) & light) == []
    # Nor what only other commands use: the models, documents, progress bars, topic tests.
    unused = ("monitor.config.schema", "monitor.exports", "monitor.progress",
              "monitor.topictest", "monitor.matcher.engine", "monitor.collection")  # fmt: skip
    assert sorted(name for name in loaded if name.startswith(unused)) == []


def test_the_group_help_shows_each_commands_own_summary() -> None:
    context = click.Context(cli)
    for name, (_, summary) in COMMANDS.items():
        command = cli.get_command(context, name)
        assert command is not None, name
        assert command.get_short_help_str(limit=500) == summary, name
    assert set(COMMANDS) == set(cli.list_commands(context))


def test_an_unknown_command_is_still_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["flaged"])
    assert result.exit_code == 2
    assert "No such command 'flaged'" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("no-such-command",),
        ("--config", "missing.yaml", "status"),
        ("check",),
        ("flagged", "--since", "yesterdayish"),
        ("--debug", "--config", "missing.yaml", "status"),
    ],
    ids=" ".join,
)
def test_a_command_run_in_the_test_process_answers_as_the_installed_one_does(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    # Most tests run the CLI in their own process (conftest.run_cli); that is only sound
    # while it prints and exits exactly as `python -m monitor` does.
    (tmp_path / "config.yaml").write_text("archive: a.db\nsources: []\n", encoding="utf-8")
    inside = run_cli(*args, cwd=tmp_path)
    outside = run_cli(*args, cwd=tmp_path, process=True)
    assert (inside.code, inside.out) == (outside.code, outside.out)
    if "--debug" in args:  # the traceback's frames differ; its verdict must not
        assert inside.err.splitlines()[-1] == outside.err.splitlines()[-1]
        assert inside.err.startswith("Traceback") and outside.err.startswith("Traceback")
    else:
        assert inside.err == outside.err
