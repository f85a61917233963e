"""The systemd units in deploy/systemd work as written (issue 16 item 2).

They are checked by systemd's own ``systemd-analyze verify`` (which warns of unknown keys
and bad values), their wirewatch command lines by the CLI's parser, and the paths they and
the README name against each other: the archive the documented config names must land in
the state folder the units make writable, not next to the config in /etc.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from monitor.cli import COMMANDS, cli
from monitor.config.files import resolve_archive

from .conftest import REPO

UNITS = sorted((REPO / "deploy" / "systemd").glob("*.service"))
README = (REPO / "README.md").read_text(encoding="utf-8")
INSTALLED = "/opt/wirewatch/.venv/bin/wirewatch"


def settings(unit: Path) -> dict[str, str]:
    """Return a unit's ``Key=value`` lines (each key appears once in these units)."""
    found: dict[str, str] = {}
    for line in unit.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            assert key not in found, f"{unit.name}: {key} twice"
            found[key] = value
    return found


def documented_archive() -> str:
    """The archive: line of the README's server config."""
    [line] = re.findall(r"```yaml\n(archive: /var/lib/\S+)\n```", README)
    return line.split(": ", 1)[1]


def test_there_is_a_unit_for_the_daemon_and_one_for_serve() -> None:
    assert [unit.name for unit in UNITS] == ["wirewatch-serve.service", "wirewatch.service"]
    commands = {shlex.split(settings(unit)["ExecStart"])[3] for unit in UNITS}
    assert commands == {"run", "serve"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_a_unit_runs_as_its_own_user_with_its_state_where_the_archive_is(unit: Path) -> None:
    values = settings(unit)
    assert values["User"] == values["Group"] == "wirewatch"
    state = PurePosixPath("/var/lib") / values["StateDirectory"]
    assert values["WorkingDirectory"] == str(state)
    words = shlex.split(values["ExecStart"])
    assert words[0] == INSTALLED and words[1] == "--config"
    config = PurePosixPath(words[2])
    assert config == PurePosixPath("/etc/wirewatch/config.yaml") and f"{config}" in README
    archive = PurePosixPath(resolve_archive(Path(documented_archive()), Path(str(config))))
    assert state in archive.parents, "the documented archive is outside the unit's state"
    # The trap the README warns of: a relative archive: lands beside the config, in /etc.
    beside = PurePosixPath(resolve_archive(Path("wirewatch.db"), Path(str(config))))
    assert state not in beside.parents
    assert values["ProtectSystem"] == "strict" and values["NoNewPrivileges"] == "true"
    if "CacheDirectory" in values:  # the language model's cache, writable too
        cache = PurePosixPath("/var/cache") / values["CacheDirectory"]
        assert values["Environment"] == f"XDG_CACHE_HOME={cache}"


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_a_unit_s_wirewatch_command_parses(unit: Path) -> None:
    words = shlex.split(settings(unit)["ExecStart"])[1:]
    cli.make_context("wirewatch", words[:2])  # --config PATH
    name, rest = words[2], words[3:]
    assert name in COMMANDS
    command = cli.get_command(cli.make_context("wirewatch", words[:2]), name)
    assert command is not None
    with command.make_context(name, rest):
        pass


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not here")
def test_systemd_finds_nothing_wrong_in_the_units(tmp_path: Path) -> None:
    # verify also checks that ExecStart's program exists: this installation's stands in.
    here = str(Path(sys.executable).with_name("wirewatch"))
    copies = []
    for unit in UNITS:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text(encoding="utf-8").replace(INSTALLED, here), "utf-8")
        copies.append(str(copy))
    done = subprocess.run(
        ["systemd-analyze", "verify", *copies],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
