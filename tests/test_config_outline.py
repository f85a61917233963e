"""Reading commands read the config's outline: the keys they use, checked as check would.

flagged, show, search, status, export and mark need only the archive's path, the sources'
names and kinds, the topics' names and whether there are alerts (issue 12: a CLI that
answers at once). A wrong value in one of those keys, or an unknown top-level key, fails
them with the very line ``wirewatch check`` prints; a problem elsewhere leaves the archive
readable, and check still reports it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.archive import Archive
from monitor.cli import main
from monitor.config import SOURCE_KINDS, Config, load
from monitor.config.outline import DEFAULT_ARCHIVE, KEYS, KINDS, Outline, read_outline

from .conftest import REPO
from .test_config import GOOD


def wirewatch(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process; return its exit status, stdout and stderr."""
    with pytest.raises(SystemExit) as done:
        main(["--config", "config.yaml", *args])
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with GOOD as config.yaml and its (empty) archive, as the working directory."""
    (tmp_path / "config.yaml").write_text(GOOD)
    (tmp_path / "data").mkdir()
    Archive.open(tmp_path / "data" / "archive.db").close()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_outline_knows_every_top_level_key_and_source_kind_of_the_models() -> None:
    assert set(KEYS) == set(Config.model_fields) - {"path"}  # path is set by load, not the file
    assert KINDS == SOURCE_KINDS
    assert Config().archive == DEFAULT_ARCHIVE


@pytest.mark.parametrize("text", [GOOD, "", (REPO / "config.yaml").read_text(encoding="utf-8")])
def test_the_outline_of_a_valid_config_is_what_the_full_load_gives(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    assert read_outline(path) == Outline.of(load(path, environ={}))


@pytest.mark.parametrize("command", [["flagged"], ["search", "Alpha"], ["status"]], ids=str)
def test_a_reading_command_reads_the_archive_when_a_key_it_does_not_use_is_wrong(
    folder: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    broken = GOOD.replace("rule: a NEAR/paragraph b", "rule: a NEAR/paragraph c")
    broken = broken.replace("interval: 90s", "interval: ten minutes")
    (folder / "config.yaml").write_text(broken)
    code, _, err = wirewatch(capsys, "check")
    assert code == 2 and "sources[0].interval" in err and "topics.pair.rule" in err
    code, out, err = wirewatch(capsys, *command, "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out) is not None


def test_status_lists_the_sources_of_the_outline_in_the_files_order(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = wirewatch(capsys, "status", "--format", "json")
    assert code == 0
    shown = json.loads(out)
    assert [(row["name"], row["kind"]) for row in shown["sources"]] == [
        ("wire", "feed"),
        ("other", "feed"),
    ]
    assert shown["alerts"] is None  # no alerts configured


@pytest.mark.parametrize(
    "change",
    [
        ("archive: data/archive.db", "archive: [data, archive.db]"),
        ("archive: data/archive.db", "archve: data/archive.db"),  # misspelt: not the default
        ("kind: feed", "kind: nope"),
        ("name: other", "name: wire"),  # two sources of one name
        ("name: other", "name: 'other wire'"),
        ("topics:\n  pair:", "topics:\n  'a pair!':"),
        ("sources:\n", "sources: 3\nx:\n"),
        ("archive: data/archive.db", "archive: data/archive.db\narchive: other.db"),  # twice
        ("crawl:", "crawl: [unclosed"),  # not YAML
    ],
    ids=lambda change: change[1].splitlines()[0],
)
@pytest.mark.parametrize("command", [["flagged"], ["show", "1"], ["status"]], ids=str)
def test_a_reading_command_fails_as_check_does_when_a_key_it_uses_is_wrong(
    folder: Path,
    capsys: pytest.CaptureFixture[str],
    change: tuple[str, str],
    command: list[str],
) -> None:
    (folder / "config.yaml").write_text(GOOD.replace(*change, 1))
    checked = wirewatch(capsys, "check")
    assert checked[0] == 2 and checked[2].startswith("config.yaml: ")
    assert wirewatch(capsys, *command) == checked


def test_a_reading_command_without_a_config_file_says_so_as_check_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    checked = wirewatch(capsys, "check")
    assert checked[0] == 2 and checked[2].startswith("config.yaml: no such file")
    assert wirewatch(capsys, "flagged") == checked


def test_alerts_whose_secret_is_unset_stop_check_but_not_a_reading_command(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WIREWATCH_TEST_TOKEN", raising=False)
    (folder / "config.yaml").write_text(GOOD + "alerts:\n  pair: json://$WIREWATCH_TEST_TOKEN\n")
    code, _, err = wirewatch(capsys, "check")
    assert code == 2 and "WIREWATCH_TEST_TOKEN is not set" in err
    code, out, _ = wirewatch(capsys, "status", "--format", "json")
    assert code == 0
    assert json.loads(out)["alerts"] == {"sent": 0, "pending": 0, "failed": 0, "last_failure": None}
