"""The archive's lock says who holds it, by role, so a crawl can tell the daemon apart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitor.lock import ArchiveLock, Holder, Locked, LockRole


def test_a_second_taker_learns_the_holders_role_and_pid(tmp_path: Path) -> None:
    archive = tmp_path / "archive.db"
    with ArchiveLock(archive, LockRole.DAEMON).acquire(), pytest.raises(Locked) as caught:
        ArchiveLock(archive, LockRole.CRAWL).acquire()
    holder = caught.value.holder
    assert holder.role is LockRole.DAEMON and holder.pid == os.getpid()
    assert str(caught.value).startswith(f"{archive}: wirewatch run (PID {os.getpid()}) since ")
    # Released: the crawl takes it now.
    with ArchiveLock(archive, LockRole.CRAWL).acquire() as lock:
        assert lock.holder().role is LockRole.CRAWL


@pytest.mark.parametrize("text", ["", "wirewatch run (PID 1)", '{"role": "admin"}', "[1]"])
def test_a_lock_file_that_cannot_be_read_names_an_unknown_holder(text: str) -> None:
    holder = Holder.parse(text)
    assert holder == Holder()
    assert str(holder) == "another wirewatch process"
