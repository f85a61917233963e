"""Times shown in the analyst's zone: ``--tz`` and the config's ``timezone:`` (issue 16 item 6).

The archive, JSON and CSV stay in UTC; tables, ``show`` and the digest convert, and their
headers name the zone.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from .conftest import copy_demo, run_cli

CONFIG = ["--config", "wirewatch-demo/config.yaml"]


def first_row(table: str) -> list[str]:
    return table.splitlines()[2].split()


def test_tz_shows_tables_show_and_the_digest_in_that_zone_and_json_stays_utc(
    demo_folder: Path,
) -> None:
    utc = run_cli(*CONFIG, "flagged", cwd=demo_folder)
    seoul = run_cli(*CONFIG, "--tz", "Asia/Seoul", "flagged", cwd=demo_folder)
    assert utc.code == seoul.code == 0, seoul.err
    assert "date (UTC)" in utc.out and "date (Asia/Seoul)" in seoul.out
    story, day, time = first_row(utc.out)[:3]
    assert first_row(seoul.out)[0] == story
    shown = datetime.fromisoformat(f"{day} {time}") + timedelta(hours=9)  # Seoul has no DST
    assert first_row(seoul.out)[1:3] == shown.strftime("%Y-%m-%d %H:%M").split()

    record = json.loads(run_cli(*CONFIG, "show", story, "--format", "json", cwd=demo_folder).out)
    text = run_cli(*CONFIG, "--tz", "Asia/Seoul", "show", story, cwd=demo_folder).out
    assert f"{shown:%Y-%m-%d %H:%M} Asia/Seoul" in text
    assert record["published"].endswith("Z")
    as_json = run_cli(*CONFIG, "--tz", "Asia/Seoul", "flagged", "--format", "json",
                      cwd=demo_folder)  # fmt: skip
    plain_json = run_cli(*CONFIG, "flagged", "--format", "json", cwd=demo_folder)
    assert json.loads(as_json.out) == json.loads(plain_json.out)

    digest = run_cli(*CONFIG, "--tz", "Europe/Moscow", "digest", "--since", "3d",
                     cwd=demo_folder)  # fmt: skip
    assert digest.code == 0, digest.err
    assert "(Europe/Moscow)." in digest.out.splitlines()[2]
    status = run_cli(*CONFIG, "--tz", "Asia/Seoul", "status", cwd=demo_folder)
    assert "last success (Asia/Seoul)" in status.out


def test_the_config_timezone_is_the_default_and_tz_overrides_it(
    demo_folder: Path, tmp_path: Path
) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    config = folder / "wirewatch-demo" / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "timezone: Asia/Seoul\n", "utf-8")
    assert "date (Asia/Seoul)" in run_cli(*CONFIG, "flagged", cwd=folder).out
    assert "date (UTC)" in run_cli(*CONFIG, "--tz", "UTC", "flagged", cwd=folder).out
    assert run_cli(*CONFIG, "check", cwd=folder).code == 0


def test_an_unknown_zone_is_one_line_naming_the_option_or_the_key(
    demo_folder: Path, tmp_path: Path
) -> None:
    option = run_cli(*CONFIG, "--tz", "Mars/Olympus", "flagged", cwd=demo_folder)
    assert option.code == 2
    assert option.err == (
        "wirewatch: --tz: 'Mars/Olympus' is not a time zone name (use one like Asia/Seoul, "
        "Europe/Moscow or UTC)\n"
    )
    folder = copy_demo(demo_folder, tmp_path)
    config = folder / "wirewatch-demo" / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "timezone: Mars/Olympus\n", "utf-8")
    for command in ("check", "flagged"):
        refused = run_cli(*CONFIG, command, cwd=folder)
        assert refused.code == 2, refused.err
        assert "config.yaml: timezone: 'Mars/Olympus' is not a time zone name" in refused.err
        assert "Traceback" not in refused.err
