"""Each layer imports only what lies below it: measured in a fresh interpreter (issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import REPO

CRON_SOURCE = (
    "{'name': 'x', 'url': 'https://example.org/feed', 'kind': 'feed', 'cron': '*/15 * * * *'}"
)


def modules_loaded_by(code: str) -> set[str]:
    """Return every module a fresh interpreter holds after running *code*."""
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return set(json.loads(result.stdout))


def test_config_checks_a_cron_line_without_the_daemon_or_the_crawl() -> None:
    loaded = modules_loaded_by(
        f"from monitor.config import Source; Source.model_validate({CRON_SOURCE})"
    )
    assert "apscheduler.triggers.cron" in loaded  # the cron line was checked
    # Config is the bottom of the house: it reaches only the pure parsers and helpers below it.
    below = ("monitor.config", "monitor.matcher", "monitor.errors", "monitor.safeyaml",
             "monitor.timeutil", "monitor.cron")  # fmt: skip
    ours = {name for name in loaded if name.startswith("monitor.")}
    assert sorted(name for name in ours if not name.startswith(below)) == []
    assert "monitor.matcher.engine" not in ours  # the parsers of aliases and rules, not more
    assert sorted(name for name in loaded if name.startswith("apscheduler.schedulers")) == []


def test_a_cron_line_is_checked_with_the_trigger_alone() -> None:
    loaded = modules_loaded_by("import monitor.cron")
    assert sorted(name for name in loaded if name.startswith("monitor.")) == ["monitor.cron"]
    assert sorted(name for name in loaded if name.startswith("apscheduler.schedulers")) == []


@pytest.mark.parametrize(
    "module",
    ["monitor.commands.collect", "monitor.commands.topics", "monitor.commands.desk",
     "monitor.commands.status", "monitor.reports"],
)  # fmt: skip
def test_commands_and_views_never_import_the_group_or_the_runner(module: str) -> None:
    loaded = modules_loaded_by(f"import {module}")
    assert module in loaded
    assert "monitor.cli" not in loaded
    if module in ("monitor.reports", "monitor.commands.status"):
        # The crawl's result is a record; printing it, or the sources' health, loads no
        # crawl runner or daemon.
        runners = {"monitor.collection.cycle", "monitor.collection.children",
                   "monitor.collection.daemon"}  # fmt: skip
        assert sorted(loaded & runners) == []
