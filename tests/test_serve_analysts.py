"""Who marked it (issue 13 item 3): each mark made in ``wirewatch serve`` records the analyst.

On loopback that is the OS user who runs serve, or ``--analyst NAME``; behind a password
each analyst logs in with an account of their own from ``--accounts FILE``, and a mark
records the account, never a name sent in the form. Real ``wirewatch serve`` processes on
127.0.0.1, port 0, over copies of the demo archive.
"""

from __future__ import annotations

import re
import sqlite3
import stat
from pathlib import Path

import pytest
from datasette_auth_passwords.utils import hash_password, verify_password

from .conftest import copy_demo, run_cli
from .serving import OS_USER, Served

CONFIG = ("--config", "wirewatch-demo/config.yaml")
PASSWORDS = {"kim": "kim's long passphrase", "lee": "lee's other passphrase"}
A_HASH = hash_password("a password", salt="0a1b2c3d", iterations=1000)


def marks(folder: Path) -> list[tuple]:
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        return db.execute("SELECT article_id, label, marked_by FROM marks ORDER BY id").fetchall()


def a_story(folder: Path) -> int:
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        return db.execute("SELECT min(article_id) FROM flags").fetchone()[0]


def add_account(path: Path, name: str, password: str, again: str | None = None):
    return run_cli(
        "serve", "--accounts", str(path), "--add-account", name,
        stdin=f"{password}\n{again or password}\n",
    )  # fmt: skip


def accounts_file(folder: Path) -> Path:
    path = folder / "desk.accounts"
    for name, password in PASSWORDS.items():
        result = add_account(path, name, password)
        assert result.code == 0, result.err
    return path


def mark_from_the_story_page(served: Served, story: int, label: str, **extra: str) -> int:
    status, _, _ = served.post(
        f"/story/{story}/mark", {"label": label, **extra}, page=f"/story/{story}"
    )
    return status


def log_in(served: Served, name: str, password: str) -> int:
    served.cookies.clear()
    status, _, _ = served.post("/-/login", {"username": name, "password": password})
    return status


def test_a_web_mark_on_loopback_records_the_os_user_or_the_analyst_option(
    demo_folder: Path, tmp_path: Path
) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    story = a_story(folder)
    with Served(folder) as served:
        assert mark_from_the_story_page(served, story, "relevant") == 302
        # The canned query's form too; a name sent with it is not who marked.
        status, _, _ = served.post(
            "/archive/mark_story",
            {"article_id": story, "label": "follow-up", "note": "", "_analyst_name": "mallory"},
        )
        assert status == 302
        # Each page says who is at the desk.
        assert re.search(rf'class="actor">\s*<strong>{OS_USER}</strong>', served.get("/")[1])
    with Served(folder, "--analyst", "kim.park") as served:
        assert mark_from_the_story_page(served, story, "irrelevant", marked_by="mallory") == 302
    assert marks(folder) == [
        (story, "relevant", OS_USER),
        (story, "follow-up", OS_USER),
        (story, "irrelevant", "kim.park"),
    ]


def test_behind_accounts_each_analyst_logs_in_and_their_marks_carry_their_name(
    demo_folder: Path, tmp_path: Path
) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    story = a_story(folder)
    path = accounts_file(folder)
    # Listening on all addresses: an accounts file is a login, as a password is.
    with Served(folder, "--host", "0.0.0.0", "--accounts", str(path)) as served:
        served.url = served.url.replace("0.0.0.0", "127.0.0.1")
        path.write_text("")  # read once, at start: the accounts stay as they were then
        # Nothing before a login: not the lists, not a story page, not a mark.
        for page in ("/archive/flagged_stories", f"/story/{story}"):
            assert served.get(page)[0] == 403, page
        status, body, _ = served.post(
            f"/story/{story}/mark", {"label": "relevant"}, page="/-/login"
        )
        assert status == 403 and "Not marked" in body
        assert log_in(served, "kim", PASSWORDS["lee"]) == 200  # the login page again
        assert served.get(f"/story/{story}")[0] == 403

        assert log_in(served, "kim", PASSWORDS["kim"]) == 302
        assert mark_from_the_story_page(served, story, "relevant", _analyst_name="lee") == 302
        assert log_in(served, "lee", PASSWORDS["lee"]) == 302
        status, _, _ = served.post(
            "/archive/mark_story",
            {"article_id": story, "label": "follow-up", "note": "", "_analyst_name": "kim"},
        )
        assert status == 302
        assert "lee" in served.get("/archive/flagged_stories")[1]
    assert marks(folder) == [(story, "relevant", "kim"), (story, "follow-up", "lee")]


def test_no_page_shows_an_account_hash(demo_folder: Path, tmp_path: Path) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    path = accounts_file(folder)
    hashes = [line.split(":", 1)[1] for line in path.read_text().splitlines()]
    secrets = [part for h in hashes for part in h.split("$")[2:]]  # each salt and hash
    story = a_story(folder)
    with Served(folder, "--accounts", str(path)) as served:
        assert log_in(served, "kim", PASSWORDS["kim"]) == 302
        for page in ("/", "/-/metadata.json", "/-/plugins.json", "/-/settings.json",
                     "/-/config.json", "/-/actor.json", "/-/login", f"/story/{story}",
                     "/archive/flagged_stories", "/archive.json?sql=select+1"):  # fmt: skip
            status, body, _ = served.get(page)
            assert status in (200, 301, 302), (page, status)
            assert "pbkdf2" not in body, page
            assert not [secret for secret in secrets if secret in body], page
        _, metadata, _ = served.get("/-/metadata.json")
        assert '"$env": "WIREWATCH_SERVE_PASSWORD_HASH_2"' in metadata


@pytest.mark.parametrize(
    ("content", "line", "says"),
    [
        ("kim\n", 1, "not an account: write NAME:HASH"),
        (f"# the desk\n\nkim:{A_HASH}\nlee:pbkdf2_sha256$12$salt\n", 4, "not an account"),
        (f"kim:{A_HASH}\nlee:md5$1$salt$abc\n", 2, "not an account"),
        (f"Kim Park:{A_HASH}\n", 1, "account 'Kim Park' is not a name: use at most 32"),
        (f"{'k' * 33}:{A_HASH}\n", 1, "is not a name"),
        (f"kim:{A_HASH}\nlee:{A_HASH}\nkim:{A_HASH}\n", 3, "account 'kim' is already on"),
        (b"kim:" + A_HASH.encode() + b"\n\xff\xfe\n", 2, "not UTF-8 text"),
    ],
    ids=["no-hash", "short-hash", "other-algorithm", "space", "too-long", "twice", "bytes"],
)
def test_a_malformed_accounts_file_is_a_one_line_error_naming_its_line(
    tmp_path: Path, content: str | bytes, line: int, says: str
) -> None:
    path = tmp_path / "desk.accounts"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    result = run_cli("serve", "--accounts", str(path), cwd=tmp_path)
    assert result.code == 2, result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert result.err.startswith(f"wirewatch: {path}:{line}: ")
    assert says in result.err


def test_an_accounts_file_that_cannot_be_used_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "desk.accounts"
    for setup, says in [
        ("missing", "cannot read the accounts file: No such file or directory"),
        ("empty", "no accounts in the file: add one with"),
        ("world-writable", "anyone may write to the accounts file"),
        ("folder", "cannot read the accounts file"),
    ]:
        path.unlink(missing_ok=True)
        if path.is_dir():
            path.rmdir()
        if setup == "empty":
            path.write_text("# no one yet\n")
        elif setup == "world-writable":
            path.write_text(f"kim:{A_HASH}\n")
            path.chmod(0o666)
        elif setup == "folder":
            path.mkdir()
        result = run_cli("serve", "--accounts", str(path), cwd=tmp_path)
        assert result.code == 2, (setup, result.err)
        assert result.err == f"wirewatch: {path}: {says}" + result.err.split(says, 1)[1]
        assert result.err.count("\n") == 1, setup


def test_add_account_asks_for_the_password_and_writes_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "desk.accounts"
    assert add_account(path, "kim", "first passphrase").code == 0
    result = add_account(path, "lee", "lee's passphrase")
    assert result.code == 0 and f"Added the account lee in {path}." in result.err
    assert "lee's passphrase" not in result.out + result.err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    result = add_account(path, "kim", "second passphrase")
    assert result.code == 0 and "Changed the password of kim" in result.err
    lines = path.read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["lee", "kim"]
    stored = dict(line.split(":", 1) for line in lines)
    assert verify_password("second passphrase", stored["kim"])
    assert not verify_password("first passphrase", stored["kim"])
    assert verify_password("lee's passphrase", stored["lee"])
    # Bad names and short passwords are refused, and the file stays as it was.
    for name, password, says in [
        ("Kim", "long enough passphrase", "--add-account 'Kim' is not a name"),
        ("a:b", "long enough passphrase", "is not a name"),
        ("park", "short", "must have 8 characters or more"),
    ]:
        result = add_account(path, name, password)
        assert result.code == 2 and says in result.err, result.err
    assert path.read_text().splitlines() == lines
    result = run_cli("serve", "--add-account", "kim")
    assert result.code == 2 and "--add-account needs --accounts FILE" in result.err


def test_the_ways_to_log_in_do_not_mix_with_each_other_or_with_analyst(tmp_path: Path) -> None:
    path = tmp_path / "desk.accounts"
    path.write_text(f"kim:{A_HASH}\n")
    password = {"WIREWATCH_SERVE_PASSWORD": "a password"}
    none: dict[str, str] = {"WIREWATCH_SERVE_PASSWORD": ""}
    for args, env, says in [
        (["--accounts", str(path)], password, "--accounts and WIREWATCH_SERVE_PASSWORD are"),
        (["--accounts", str(path), "--analyst", "kim"], none, "--analyst is for serving without"),
        (["--analyst", "kim"], password, "--analyst is for serving without a login"),
        (["--analyst", "<b>kim</b>"], none, "--analyst '<b>kim</b>' is not a name"),
        (["--host", "0.0.0.0"], none, "--host 0.0.0.0 is reachable from other machines: give"),
    ]:
        result = run_cli("serve", *args, cwd=tmp_path, env=env)
        assert result.code == 2, (args, result.err)
        assert says in result.err and result.err.count("\n") == 1, result.err


def test_the_single_password_still_logs_in_as_analyst(demo_folder: Path, tmp_path: Path) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    story = a_story(folder)
    env = {"WIREWATCH_SERVE_PASSWORD": "correct horse battery staple"}
    with Served(folder, env=env) as served:
        assert log_in(served, "analyst", "correct horse battery staple") == 302
        assert mark_from_the_story_page(served, story, "relevant") == 302
        _, metadata, _ = served.get("/-/metadata.json")
        assert re.search(r'"analyst_password_hash": \{"\$env": "WIREWATCH_SERVE_PASS', metadata)
    assert marks(folder) == [(story, "relevant", "analyst")]
