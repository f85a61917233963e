"""A damaged, read-only or oddly addressed archive: one clear line, and never one more write.

Issue 10 item 11: random bytes written into the middle of a checkpointed archive, then the
real CLI's writers (mark, crawl, run, the crawl process) must refuse, saying how to
recover, and leave the file as it was. Item 16: values too large for SQLite or for a date,
and an --output that cannot be written, are one line each. Item 17: an archive in a folder
the user may not write is still read, as an immutable snapshot.

File modes do not bind root, and the suite runs as root in CI: the read-only cases run the
CLI as ``nobody`` through setpriv(1) there, in a folder under the system's temporary
folder (pytest's own is private to root), and skip, saying why, where that is impossible.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.archive import Archive
from monitor.archive.integrity import CheckRecord, file_state
from monitor.cli import main
from monitor.errors import ArchiveDamaged, ExitStatus
from tests.conftest import CLI_TIMEOUT, REPO, Result, copy_demo, run_cli

PAGE = 4096
DAMAGE_SEED = 10  # the number: the same bytes every run
HUGE_ID = "99999999999999999999999"


@pytest.fixture
def demo(demo_folder: Path, tmp_path: Path) -> Path:
    """A copy of the demo's folder (config.yaml and demo.db) that a test may damage."""
    return copy_demo(demo_folder, tmp_path) / "wirewatch-demo"


def damage(archive: Path, pages: int = 2, *, at: int | None = None) -> None:
    """Write random bytes over whole pages in the middle of *archive* (or from page *at*,
    counted from 1), as a disk fault would."""
    wal = Path(f"{archive}-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "damage a checkpointed archive"
    offset = archive.stat().st_size // 2 // PAGE * PAGE if at is None else (at - 1) * PAGE
    with archive.open("r+b") as handle:
        handle.seek(offset)
        handle.write(random.Random(DAMAGE_SEED).randbytes(pages * PAGE))
    # The attack is real: SQLite's own check finds the damage.
    assert quick_check(archive) != "ok"


def a_page_of(archive: Path, table: str) -> int:
    """Return the number of a leaf page of *table*'s b-tree, from SQLite's dbstat table."""
    with closing(sqlite3.connect(archive)) as connection:
        connection.execute("CREATE VIRTUAL TABLE temp.pages USING dbstat")
        leaves = connection.execute(
            "SELECT pageno FROM temp.pages WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
            [table],
        ).fetchall()
    return int(leaves[len(leaves) // 2][0])


def quick_check(archive: Path) -> str:
    with closing(sqlite3.connect(archive)) as connection:
        try:
            return str(connection.execute("PRAGMA quick_check").fetchone()[0])
        except sqlite3.DatabaseError as error:
            return str(error)


def digest(archive: Path) -> str:
    return hashlib.sha256(archive.read_bytes()).hexdigest()


def unwritten(archive: Path, before: str) -> None:
    """Assert that nothing reached the archive: same bytes, and no WAL frames waiting."""
    assert digest(archive) == before
    wal = Path(f"{archive}-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def one_line(result: Result) -> str:
    """Return the one line a failing command printed on stderr; fail on anything else."""
    assert "internal error" not in result.err, result.err
    assert "Traceback" not in result.err, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


# Item 11: a damaged archive --------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["mark", "1", "relevant"], ["crawl"], ["run"]], ids=["mark", "crawl", "run"]
)
def test_writers_refuse_a_damaged_archive_and_say_how_to_recover(
    demo: Path, args: list[str]
) -> None:
    """issue 10 item 11: mark said "Marked" and crawl exited 0 into a damaged file."""
    archive = demo / "demo.db"
    damage(archive)
    before = digest(archive)
    result = run_cli("--config", str(demo / "config.yaml"), *args, cwd=demo, timeout=60)
    assert result.code == ExitStatus.ERROR, result.err
    line = one_line(result)
    assert str(archive) in line and "damaged" in line
    assert ".recover" in line and "backup" in line
    assert "Marked" not in result.out
    unwritten(archive, before)


def test_damage_readers_do_not_notice_still_stops_writers(demo: Path) -> None:
    """issue 10 item 11: two bytes of a page's header (its first free block) are damage that
    reads never meet but a write into that page would spread; quick_check's report, several
    lines from SQLite, is one line here."""
    archive = demo / "demo.db"
    page = a_page_of(archive, "articles")
    with archive.open("r+b") as handle:
        handle.seek((page - 1) * PAGE + 1)
        handle.write(b"\x00\x08")
    assert "\n" in quick_check(archive)  # SQLite's report is several lines
    config = str(demo / "config.yaml")
    assert run_cli("--config", config, "flagged", cwd=demo).code == 0
    before = digest(archive)
    result = run_cli("--config", config, "mark", "1", "relevant", cwd=demo)
    assert result.code == ExitStatus.ERROR
    line = one_line(result)
    assert f"Page {page}:" in line and "damaged" in line
    unwritten(archive, before)


def test_crawl_process_stops_before_archiving_into_a_damaged_archive(demo: Path) -> None:
    """issue 10 item 11: the crawl child checks the archive itself, and says why it stopped."""
    archive = demo / "demo.db"
    damage(archive)
    before = digest(archive)
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "--run-id", "1", "--config", str(demo / "config.yaml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert done.returncode == 1, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["event"] == "fatal" and "damaged" in events[0]["error"]
    unwritten(archive, before)


def test_reader_of_a_damaged_archive_gets_one_line(demo: Path) -> None:
    """issue 10 item 11: a reader that meets a damaged page names the file, no traceback."""
    archive = demo / "demo.db"
    damage(archive, 1, at=a_page_of(archive, "articles"))  # export reads every article
    result = run_cli("--config", str(demo / "config.yaml"), "export", cwd=demo)
    assert result.code == ExitStatus.ERROR
    line = one_line(result)
    assert str(archive) in line and "damaged" in line


def test_damage_with_the_old_times_put_back_is_still_found(demo: Path) -> None:
    """issue 10 item 11: the check is remembered per file state, and that state includes
    the ctime, which no tool can put back; a sound archive is checked once, not per open."""
    archive = demo / "demo.db"
    with Archive.open(archive) as opened, opened.writing() as db:
        db.execute("UPDATE sources SET failures = failures WHERE 0")
    record = CheckRecord(archive)
    with record.held() as held:
        assert held is not None and held.read() == file_state(archive)
    # Our own readers and writers keep the record current: no quick_check for the next one.
    assert run_cli("--config", str(demo / "config.yaml"), "flagged", cwd=demo).code == 0
    with record.held() as held:
        assert held is not None and held.read() == file_state(archive)
    times = archive.stat()
    damage(archive)
    os.utime(archive, ns=(times.st_atime_ns, times.st_mtime_ns))
    with Archive.open(archive) as opened, pytest.raises(ArchiveDamaged, match="damaged"):
        opened.verify()


# Item 16: values and paths that used to be internal errors -------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["show", HUGE_ID], HUGE_ID),
        (["mark", HUGE_ID, "relevant"], HUGE_ID),
        (["flagged", "--since", "99999999d"], "99999999d"),
        (["flagged", "--since", "9" * 400 + "s"], "999"),
        (["search", "Kursk", "--until", "9999-12-31T23:00-05:00"], "9999-12-31T23:00-05:00"),
        (["digest", "--since", "99999999w"], "99999999w"),
        (["export", "-o", "no-such-folder/out.jsonl"], "no-such-folder"),
        (["digest", "-o", "no-such-folder/digest.md"], "no-such-folder"),
    ],
    ids=["show-id", "mark-id", "since-days", "since-digits", "until-year", "digest-since",
         "export-folder", "digest-folder"],
)  # fmt: skip
def test_values_out_of_range_are_one_line_naming_them(
    demo_folder: Path,
    args: list[str],
    named: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """issue 10 item 16: each of these printed "internal error ... please report it".

    In-process through the CLI's one error boundary (monitor.cli.main), for speed.
    """
    monkeypatch.chdir(demo_folder / "wirewatch-demo")
    monkeypatch.delenv("WIREWATCH_CONFIG", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main(["--config", "config.yaml", *args])
    out, err = capsys.readouterr()
    assert stopped.value.code == ExitStatus.BAD_INPUT, err
    assert named in one_line(Result(ExitStatus.BAD_INPUT, out, err))


# Items 16 and 17: an archive this user may read but not write ----------------------------


@dataclass
class Analyst:
    """Runs the CLI as a user whom file modes bind: nobody when the tests run as root."""

    prefix: list[str]
    uid: int | None  # nobody's, when running as root: whom to give a writable folder

    def run(self, *args: str, cwd: Path) -> Result:
        env = {key: value for key, value in os.environ.items() if key != "WIREWATCH_CONFIG"}
        env.update({"COLUMNS": "200", "HOME": str(cwd)})
        try:
            done = subprocess.run(
                [*self.prefix, sys.executable, "-m", "monitor", *args],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT,
            )
        except subprocess.TimeoutExpired as error:
            pytest.fail(f"wirewatch {' '.join(args)} did not finish: {error}")
        return Result(done.returncode, done.stdout, done.stderr)

    def lock_folder(self, folder: Path) -> None:
        """Make *folder* one this user may read but not write."""
        if self.uid is None:
            folder.chmod(0o555)

    def give(self, path: Path) -> None:
        """Make *path* this user's own (a writable folder, a file whose mode binds)."""
        if self.uid is not None:
            os.chown(path, self.uid, -1)


@pytest.fixture
def analyst() -> Analyst:
    if os.geteuid() != 0:
        return Analyst([], None)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv(1): no user here whom file modes bind")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no user 'nobody' to run the CLI as")
    prefix = [setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    check = subprocess.run(
        [*prefix, sys.executable, "-c", "import monitor"], capture_output=True, timeout=60
    )
    if check.returncode != 0:
        pytest.skip(f"nobody cannot run this Python: {check.stderr.decode()[-200:]}")
    return Analyst(prefix, nobody.pw_uid)


@pytest.fixture
def shared(demo_folder: Path) -> Iterator[Path]:
    """A copy of the demo's folder in a place every user can reach (pytest's is root's only)."""
    top = Path(tempfile.mkdtemp(prefix="wirewatch-shared-"))
    top.chmod(0o755)
    folder = top / "desk"
    shutil.copytree(demo_folder / "wirewatch-demo", folder)
    folder.chmod(0o755)
    yield folder
    for path in (folder, top):
        path.chmod(stat.S_IRWXU)
    shutil.rmtree(top)


READERS = [
    ["flagged"],
    ["show", "3"],
    ["search", "Kursk"],
    ["export", "--format", "csv"],
    ["status"],
    ["digest"],
]


def test_archive_in_a_read_only_folder_is_still_read(analyst: Analyst, shared: Path) -> None:
    """issue 10 item 17: without a writable folder SQLite cannot make the WAL's -shm; the
    readers open the file as an immutable snapshot instead, and writers say so in one line."""
    archive = shared / "demo.db"
    before, files = digest(archive), sorted(shared.iterdir())
    analyst.lock_folder(shared)
    outputs = {}
    for args in READERS:
        result = analyst.run("--config", "config.yaml", *args, cwd=shared)
        assert result.code == 0, (args, result.err)
        outputs[args[0]] = result.out
    assert "Kursk" in outputs["flagged"] and "Kursk" in outputs["search"]
    assert outputs["show"].startswith("#3 ") and "harbour-wire" in outputs["status"]
    assert "Kursk" in outputs["export"] and "Kursk" in outputs["digest"]
    for args in (["mark", "3", "relevant"], ["crawl"]):
        result = analyst.run("--config", "config.yaml", *args, cwd=shared)
        assert result.code == ExitStatus.ERROR, (args, result.err)
        line = one_line(result)
        assert str(archive) in line and "cannot write the archive" in line
        assert "owns the archive" in line
    unwritten(archive, before)
    assert sorted(shared.iterdir()) == files


def test_read_only_folder_with_pending_writes_is_one_line(analyst: Analyst, shared: Path) -> None:
    """issue 10 item 17: a snapshot would miss writes still in the WAL, so the reader says
    so, and what to do, instead of showing an old archive as if it were current."""
    archive = shared / "demo.db"
    with closing(sqlite3.connect(archive, isolation_level=None)) as writer:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("UPDATE sources SET failures = failures + 1")
        # The WAL holds the update; copy the pair as a backup tool would, without the -shm.
        shutil.copy(f"{archive}-wal", shared / "pending.db-wal")
        shutil.copy(archive, shared / "pending.db")
    (shared / "pending.db-shm").unlink(missing_ok=True)
    analyst.lock_folder(shared)
    result = analyst.run(
        "--config", "config.yaml", "--archive", "pending.db", "flagged", cwd=shared
    )
    assert result.code == ExitStatus.ERROR
    line = one_line(result)
    assert "pending.db-wal" in line and "not yet in the file" in line


def test_read_only_file_and_unwritable_output_are_one_line(analyst: Analyst, shared: Path) -> None:
    """issue 10 item 16: mark and crawl on an archive file of mode 0444, and export -o into
    a folder this user may not write, each print one line naming the file."""
    archive = shared / "demo.db"
    for path in (shared, shared / "config.yaml", archive):
        analyst.give(path)
    archive.chmod(0o444)
    before = digest(archive)
    for args in (["mark", "3", "relevant"], ["crawl"]):
        result = analyst.run("--config", "config.yaml", *args, cwd=shared)
        assert result.code == ExitStatus.ERROR, (args, result.err)
        line = one_line(result)
        assert str(archive) in line and "read-only" in line
    unwritten(archive, before)
    closed = shared / "closed"
    closed.mkdir(mode=0o555)
    result = analyst.run("--config", "config.yaml", "export", "-o", "closed/out.csv", cwd=shared)
    assert result.code == ExitStatus.BAD_INPUT
    line = one_line(result)
    assert "closed/out.csv" in line and "may not write" in line
