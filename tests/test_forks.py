"""Crawl children forked from a server that has imported the crawler once (crawler.forkserver)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor import events
from monitor.collection import forks
from monitor.newswire import Newswire
from monitor.procmark import marked, new_mark

from .conftest import run_cli, write_config
from .test_daemon import Daemon, LiveFeed, query, wait_for

BAD_PLAN = "this is not a crawl plan"


@pytest.fixture
def log() -> Iterator[tempfile._TemporaryFileWrapper[str]]:
    with tempfile.NamedTemporaryFile("w+", encoding="utf-8") as file:
        yield file


def start_waiting(log) -> forks.Process:
    """Start a crawl child that waits for its plan on stdin."""
    return forks.start("crawler", ["--plan", "-", "--run-id", "1"], log)


def parent_of(pid: int) -> int:
    """Return the parent of *pid*, or 0 once it has gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def test_crawl_children_fork_from_one_server_each_leading_its_own_session(log) -> None:
    first, second = start_waiting(log), start_waiting(log)
    try:
        assert isinstance(first, forks.Forked) and isinstance(second, forks.Forked)
        assert first.server is second.server and first.pid != second.pid
        assert first.server.process is not None
        for child in (first, second):
            assert os.getsid(child.pid) == child.pid  # a group of its own, to be stopped whole
            assert parent_of(child.pid) == first.server.process.pid
            assert child.poll() is None
        # Each is the crawler as `python -m crawler` runs it: a plan it cannot read is fatal.
        for child in (first, second):
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(BAD_PLAN)
            child.stdin.close()
            with child.stdout:
                said = [events.read(line) for line in child.stdout]
            assert child.wait(timeout=30) == 1
            assert any(isinstance(event, events.Fatal) and "crawl plan" in event.error
                       for event in said)  # fmt: skip
    finally:
        for child in (first, second):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)


def test_a_child_whose_server_is_killed_ends_as_killed_and_the_next_gets_a_new_server(
    log,
) -> None:
    child = start_waiting(log)
    assert isinstance(child, forks.Forked) and child.server.process is not None
    server = child.server.process.pid
    os.kill(server, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL  # its run is interrupted, not failed
    wait_for(lambda: not Path(f"/proc/{child.pid}").exists()
               or "Z" in Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1][:3],
               10, "the orphaned child to be killed")  # fmt: skip
    following = start_waiting(log)
    try:
        assert isinstance(following, forks.Forked) and following.server.process is not None
        assert following.server.process.pid != server
    finally:
        assert following.stdin is not None and following.stdout is not None
        following.stdin.close()
        following.wait(timeout=30)
        following.stdout.close()
    assert child.stdin is not None and child.stdout is not None
    child.stdin.close()
    child.stdout.close()


def test_the_server_and_its_children_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent("""
        import sys, tempfile, time
        from monitor.collection import forks
        child = forks.start("crawler", ["--plan", "-", "--run-id", "1"], tempfile.TemporaryFile("w+"))
        print(child.server.process.pid, child.pid, flush=True)
        time.sleep(120)
    """)
    )
    mark = new_mark()
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, **mark}, cwd=Path(__file__).parent.parent)  # fmt: skip
    try:
        assert parent.stdout is not None
        server, child = (int(word) for word in parent.stdout.readline().split())
        assert set(marked(mark)) >= {parent.pid, server, child}
        parent.kill()
        parent.wait(timeout=10)
        wait_for(lambda: not marked(mark), 20, "the server and the child to end")
    finally:
        for pid in marked(mark):
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        parent.stdout.close()


def test_where_no_server_starts_children_start_as_new_processes_saying_why_once(
    log, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(forks, "SERVER", "crawler.no_such_server")
    monkeypatch.setattr(forks, "_servers", {})
    monkeypatch.setattr(forks, "_refused", set())
    with caplog.at_level(logging.WARNING, logger=forks.__name__):
        children = [start_waiting(log), start_waiting(log)]
    for child in children:
        assert isinstance(child, subprocess.Popen)
        assert os.getsid(child.pid) == child.pid
        child.communicate(BAD_PLAN, timeout=60)  # and closes its pipes
        assert child.returncode == 1
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1, warnings
    assert "fork server did not start" in warnings[0]
    assert "No module named crawler.no_such_server" in warnings[0]
    assert "start as new processes" in warnings[0]


def test_a_daemon_forks_every_cycles_crawl_from_the_one_server_it_started(
    tmp_path: Path, newswire: Newswire
) -> None:
    feed = LiveFeed(newswire, "/feed.xml")
    feed.add("Lavrov lands in Pyongyang for talks")
    write_config(tmp_path, [{"name": "wire", "url": newswire.url("/feed.xml"), "interval": "1s"}])
    daemon = Daemon(tmp_path)
    try:
        wait_for(lambda: query(tmp_path, "SELECT 1 FROM articles"), 60, "the first story")

        def servers() -> list[int]:
            return [pid for pid in daemon.crawl_processes()
                    if parent_of(pid) == daemon.process.pid]  # fmt: skip

        (server,) = servers()
        feed.add("Shoigu meets Kim Jong Un in Pyongyang", slow=3)  # its crawl lives a while
        wait_for(lambda: any(parent_of(pid) == server for pid in daemon.crawl_processes()), 30,
                 "a crawl child forked from the server")  # fmt: skip
        wait_for(lambda: len(query(tmp_path, "SELECT 1 FROM articles")) == 2, 60,
                 "the second story")  # fmt: skip
        wait_for(lambda: len(query(tmp_path, "SELECT 1 FROM runs WHERE status = 'ok'")) >= 2,
                 30, "the second run to be recorded")  # fmt: skip
        assert servers() == [server]
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0, daemon.output()
        assert daemon.crawl_processes() == []  # the server ended with the daemon
    finally:
        daemon.close()


def test_crawls_run_in_the_test_process_share_one_server(
    tmp_path: Path, newswire: Newswire
) -> None:
    feed = LiveFeed(newswire, "/feed.xml")
    feed.add("Lavrov lands in Pyongyang for talks")
    write_config(tmp_path, [{"name": "wire", "url": newswire.url("/feed.xml")}])
    servers = []
    for _ in range(2):
        assert run_cli("crawl", cwd=tmp_path).code == 0
        servers.append({server.process.pid for server in forks._servers.values()
                        if server.process is not None})  # fmt: skip
    assert len(servers[0]) == 1 and servers[0] == servers[1]
