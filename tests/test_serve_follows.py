"""``serve`` follows its archive file when ``make demo`` or a restore replaces it (issue 13
item 6): a real ``wirewatch serve`` on a copy of the demo archive, whose file is replaced,
deleted and put back while it runs."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from contextlib import closing

from tests.conftest import copy_demo
from tests.serving import Served


def marks_seen(web: Served) -> int:
    status, body, _ = web.get("/archive/marks.json", _shape="array")
    assert status == 200, body[:300]
    return len(json.loads(body))


def test_a_replaced_archive_is_served_and_a_missing_one_is_said(demo_folder, tmp_path) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    archive = folder / "wirewatch-demo" / "demo.db"
    replacement = tmp_path / "replacement.db"
    with closing(sqlite3.connect(archive)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(archive, replacement)
    with closing(sqlite3.connect(replacement)) as db:
        story = db.execute("SELECT min(article_id) FROM flags").fetchone()[0]
        db.execute(
            "INSERT INTO marks (article_id, label, note, marked_by, created) "
            "VALUES (?, 'relevant', 'in the new file', 'test', '2026-12-03T00:00:00Z')",
            [story],
        )
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file that moves
    with Served(folder) as web:
        assert marks_seen(web) == 0
        os.replace(replacement, archive)  # a new file under the old name, as a rebuild makes
        assert marks_seen(web) == 1

        moved = tmp_path / "moved.db"
        os.replace(archive, moved)
        status, body, _ = web.get("/archive/marks")
        assert status == 503
        assert f"The archive {archive} is missing" in body
        assert "<script" not in body

        os.replace(moved, archive)
        assert marks_seen(web) == 1


def test_an_archive_path_with_markup_is_shown_as_text(demo_folder, tmp_path) -> None:
    folder = copy_demo(demo_folder, tmp_path / "<b>odd</b>")
    archive = folder / "wirewatch-demo" / "demo.db"
    with Served(folder) as web:
        assert web.get("/")[0] == 200
        archive.rename(archive.with_suffix(".gone"))
        status, body, _ = web.get("/")
        assert status == 503
        assert "&lt;b&gt;odd&lt;/b&gt;" in body and "<b>odd</b>" not in body
