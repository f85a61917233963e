"""The demo end to end, then the review commands (flagged, show, export) on its archive."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.demo import wirewatch_command
from monitor.demo.stories import load_stories
from monitor.matcher.aliases import parse_alias
from monitor.matcher.normalize import fold_alias

from .conftest import REPO, Result, copy_demo, run_cli

# One worker runs this module, so its module fixture is built once (pytest-xdist).
pytestmark = pytest.mark.xdist_group("review")


@pytest.fixture(scope="module")
def demo(
    demo_run: tuple[Path, Result], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Result]:
    """What ``wirewatch demo`` printed, run once with the repository's config.yaml, and a
    copy of the archive it made (an export here writes beside it)."""
    folder, result = demo_run
    return copy_demo(folder, tmp_path_factory.mktemp("demo")), result


def review(demo: tuple[Path, Result], *args: str) -> Result:
    folder, _ = demo
    return run_cli("--config", "wirewatch-demo/config.yaml", *args, cwd=folder)


def archive_rows(demo: tuple[Path, Result], sql: str) -> list[tuple]:
    folder, _ = demo
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        return db.execute(sql).fetchall()


def test_the_demo_flags_the_stories_about_the_topic_and_no_others(demo) -> None:
    _, result = demo
    assert result.code == 0, result.err
    _, stories = load_stories()
    about = {story.title for story in stories if story.about}
    flagged = {
        title
        for (title,) in archive_rows(
            demo, "SELECT title FROM articles WHERE id IN (SELECT article_id FROM flags)"
        )
    }
    assert flagged == about
    assert "russia-dprk flagged 14 of them, with 0 false alarms" in result.out
    for title in about:
        assert title in result.out


def test_the_demo_s_explore_hints_run_as_printed(demo) -> None:
    """Issue 13: the hints said `wirewatch`, which is not on PATH after `make demo`."""
    folder, result = demo
    hint = next(line for line in result.out.splitlines() if line.endswith("the list above"))
    command = hint.removesuffix("the list above").strip()
    assert command.endswith(" --config wirewatch-demo/config.yaml flagged")
    ran = subprocess.run(
        command, shell=True, cwd=folder, capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "Putin lands in Pyongyang on first visit in 24 years" in ran.stdout


@pytest.mark.parametrize("on_path", [False, True])
def test_the_demo_names_the_wirewatch_it_is_part_of_on_path_or_not(
    on_path: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Path(sys.executable).parent / "wirewatch"
    path = os.pathsep.join([*([str(script.parent)] if on_path else []), "/usr/bin", "/bin"])
    monkeypatch.setenv("PATH", path)
    for folder in (REPO, tmp_path):
        monkeypatch.chdir(folder)
        command = wirewatch_command()
        if on_path:
            assert command == "wirewatch"
        elif script == REPO / ".venv" / "bin" / "wirewatch":
            assert command == (".venv/bin/wirewatch" if folder == REPO else str(script))
        ran = subprocess.run(
            f"{command} --version", shell=True, capture_output=True, text=True, timeout=60,
            env={**os.environ, "PATH": path},
        )  # fmt: skip
        assert ran.returncode == 0 and ran.stdout.startswith("wirewatch"), (command, ran.stderr)


def test_the_demo_reports_the_source_that_is_down(demo) -> None:
    _, result = demo
    line = next(line for line in result.out.splitlines() if line.startswith("gone-gazette"))
    assert "http: HTTP 503 Service Unavailable" in line
    assert "45 new articles, 18 flagged, 1 of 6 sources failed" in result.out


def test_the_demo_keeps_reader_comments_and_sidebars_out_of_the_text(demo) -> None:
    bodies = archive_rows(demo, "SELECT body FROM articles")
    assert len(bodies) == 45
    assert not any("Most read" in body or "Reader comments" in body for (body,) in bodies)


def test_flagged_lists_newest_first_as_a_table(demo) -> None:
    result = review(demo, "flagged")
    assert result.code == 0, result.err
    header, _, *rows = result.out.splitlines()
    assert header.split() == ["id", "date", "(UTC)", "source", "outlets", "score", "title"]
    dates = [" ".join(row.split()[1:3]) for row in rows]
    # 18 flagged articles are 14 stories: wire copies are one row, with their outlets.
    assert len(rows) == 14 and dates == sorted(dates, reverse=True)
    putin = next(row for row in rows if "Putin lands in Pyongyang" in row)
    assert putin.split()[4] == "3"


def test_flagged_json_has_the_fields_scripts_need(demo) -> None:
    rows = json.loads(review(demo, "flagged", "--format", "json").out)
    assert len(rows) == 14
    keys = {"id", "url", "title", "source", "published", "topic", "score", "outlets", "label"}
    assert keys <= set(rows[0])
    assert "first_report" in rows[0]
    assert {row["topic"] for row in rows} == {"russia-dprk"}


def test_flagged_filters_by_time_and_topic(demo) -> None:
    recent = json.loads(review(demo, "flagged", "--since", "6h", "--format", "json").out)
    everything = json.loads(review(demo, "flagged", "--since", "2d", "--format", "json").out)
    assert 0 < len(recent) < len(everything) == 14
    topic = json.loads(review(demo, "flagged", "--topic", "russia-dprk", "--format", "json").out)
    assert len(topic) == 14


def test_flagged_csv_has_a_header_and_a_row_per_flag(demo) -> None:
    lines = review(demo, "flagged", "--format", "csv").out.splitlines()
    assert lines[0] == (
        "id,published,fetched,source,topic,score,outlets,first_report,label,title,url"
    )
    assert len(lines) == 15


def test_flagged_limit_says_how_many_are_hidden(demo) -> None:
    out = review(demo, "flagged", "--limit", "3").out
    assert "Showing 3 of 14; use --limit 0 for all, or --since." in out


def test_an_unknown_topic_is_an_error_listing_the_topics(demo) -> None:
    result = review(demo, "flagged", "--topic", "russia-china")
    assert result.code == 2
    assert result.err == "wirewatch: unknown topic 'russia-china' (topics: russia-dprk)\n"


def test_a_bad_since_is_an_error_with_a_hint(demo) -> None:
    result = review(demo, "flagged", "--since", "last week")
    assert result.code == 2
    assert "use e.g. 24h, 7d, 2026-11-01" in result.err


def test_show_explains_the_flag_and_highlights_the_terms(demo) -> None:
    (article_id,) = archive_rows(
        demo, "SELECT id FROM articles WHERE title LIKE 'Putin lands in Pyongyang%'"
    )[0]
    result = review(demo, "show", str(article_id))
    assert result.code == 0, result.err
    assert result.out.startswith(f"#{article_id}  Putin lands in Pyongyang")
    assert "russia-dprk  score" in result.out
    assert "rules: sentence, headline" in result.out
    assert "matched: " in result.out and "best sentence: " in result.out
    coloured = run_cli(
        "--config",
        "wirewatch-demo/config.yaml",
        "show",
        str(article_id),
        cwd=demo[0],
        env={"FORCE_COLOR": "1"},
    ).out
    assert "\x1b[1;33mPyongyang\x1b[0m" in coloured


def test_show_json_carries_the_evidence_with_positions(demo) -> None:
    (article_id,) = archive_rows(demo, "SELECT min(article_id) FROM flags")[0]
    record = json.loads(review(demo, "show", str(article_id), "--format", "json").out)
    (flag,) = record["flags"]
    for term in flag["terms"]:
        text = record[term["field"]]
        found = fold_alias(text[term["start"] : term["end"]])
        alias = parse_alias(term["alias"])
        assert any(
            found == form or (alias.prefix and found.startswith(form)) for form in alias.forms
        )


def test_show_of_a_missing_id_is_one_line_and_exit_1(demo) -> None:
    result = review(demo, "show", "9999")
    assert result.code == 1
    assert result.err.startswith("wirewatch: no article with ID 9999 in ")
    assert len(result.err.splitlines()) == 1


def test_export_jsonl_has_every_article_with_its_topics(demo) -> None:
    lines = review(demo, "export", "--format", "jsonl").out.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 45
    keys = {"id", "url", "source", "title", "published", "fetched", "language", "body", "topics"}
    assert keys <= set(records[0])
    assert sum(record["topics"] == ["russia-dprk"] for record in records) == 18


def test_export_of_flagged_stories_to_a_file(demo) -> None:
    folder, _ = demo
    result = review(demo, "export", "--flagged", "--since", "7d", "-o", "flagged.jsonl")
    assert result.code == 0, result.err
    assert result.err.strip() == "Wrote 18 articles to flagged.jsonl."
    lines = (folder / "flagged.jsonl").read_text(encoding="utf-8").splitlines()
    assert all(json.loads(line)["topics"] == ["russia-dprk"] for line in lines)


def test_reading_without_an_archive_says_how_to_make_one(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("archive: none.db\n")
    result = run_cli("flagged", cwd=tmp_path)
    assert result.code == 1
    assert "no archive here yet (run 'wirewatch crawl' first" in result.err


def test_the_archive_option_reads_any_archive_without_a_config(demo, tmp_path: Path) -> None:
    folder, _ = demo
    archive = folder / "wirewatch-demo" / "demo.db"
    result = run_cli("--archive", str(archive), "flagged", "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.err
    assert len(json.loads(result.out)) == 14
