"""Daemon soak: many cycles at a 1 s interval, watching the daemon's memory and its children.

A local newswire serves FEEDS feeds that gain a story every time they are read, so every
cycle has new articles to fetch, match and archive. `wirewatch run` polls them every
second. Every STEP completed crawl runs, the table prints the resident memory (VmRSS) of
the daemon and of its fork server (crawler.forkserver, which the crawl children are forks
of), and how many crawl processes are alive; after the last cycle the daemon gets SIGTERM,
and every process of the run left behind (server or orphan) is counted.

    .venv/bin/python benchmarks/daemon.py [--cycles 1000] [--step 100] [--feeds 4]
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from monitor.newswire import Hit, Newswire, Reply
from monitor.procmark import marked, new_mark

REPO = Path(__file__).resolve().parent.parent
PAGE = (
    "<html><body><article><h1>Story {n}</h1><p>Officials in Moscow and Pyongyang discussed "
    "story {n}, the Kremlin said, as trade between the two grew.</p></article></body></html>"
)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def fork_servers(mark: dict[str, str], daemon: int) -> list[int]:
    """Return the daemon's fork servers: its own children that run the crawler."""
    return [pid for pid in marked(mark, command=b"crawler") if parent_of(pid) == daemon]


def crawl_processes(mark: dict[str, str], daemon: int) -> int:
    """Count live crawl processes started by this run's daemon (they inherit its mark),
    its fork server left out."""
    servers = fork_servers(mark, daemon)
    return len([pid for pid in marked(mark, command=b"crawler") if pid not in servers])


def runs_done(archive: Path) -> int:
    if not archive.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{archive}?mode=ro", uri=True, timeout=5) as db:
            (count,) = db.execute("SELECT count(*) FROM runs WHERE status != 'running'").fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--step", type=int, default=100)
    parser.add_argument("--feeds", type=int, default=4)
    args = parser.parse_args()
    counter = itertools.count()
    lock = threading.Lock()
    with Newswire() as wire, tempfile.TemporaryDirectory() as temp:

        def feed(hit: Hit) -> Reply:
            with lock:
                newest = next(counter)
            entries = "".join(
                f"<item><title>Story {n}</title><link>{wire.url(f'/s/{n}.html')}</link>"
                f"<guid>s{n}</guid></item>"
                for n in range(newest, max(-1, newest - 5), -1)
            )
            return Reply.xml(
                f"<rss version='2.0'><channel><title>F</title>{entries}</channel></rss>"
            )

        for number in range(args.feeds):
            wire.route(f"/feed/{number}.xml", feed)
        wire.route_prefix("/s/", lambda hit: Reply.html(PAGE.format(n=hit.path.rsplit("/", 1)[1])))
        folder = Path(temp)
        topics = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["topics"]
        sources = [
            {"name": f"feed-{n}", "url": wire.url(f"/feed/{n}.xml"), "kind": "feed",
             "interval": "1s", "max_age": "3650d"}
            for n in range(args.feeds)
        ]  # fmt: skip
        config = {"archive": "archive.db", "crawl": {"delay": 0, "timeout": 10},
                  "sources": sources, "topics": topics}  # fmt: skip
        (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
        mark = new_mark()  # tells this soak's crawls from any other wirewatch on the host
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run"], cwd=folder,
                                  env={**os.environ, **mark},
                                  stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        started = time.monotonic()
        print(f"{'cycles':>8}{'minutes':>10}{'daemon RSS (MiB)':>19}"
              f"{'fork server RSS':>17}{'crawl processes':>17}")  # fmt: skip
        next_report = args.step
        try:
            while next_report <= args.cycles:
                done = runs_done(folder / "archive.db")
                if done >= next_report:
                    server = sum(rss_kib(pid) for pid in fork_servers(mark, daemon.pid))
                    print(f"{done:>8}{(time.monotonic() - started) / 60:>10.1f}"
                          f"{rss_kib(daemon.pid) / 1024:>19.1f}{server / 1024:>17.1f}"
                          f"{crawl_processes(mark, daemon.pid):>17}", flush=True)  # fmt: skip
                    next_report += args.step
                time.sleep(0.5)
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=60)
        time.sleep(1)
        with sqlite3.connect(folder / "archive.db") as db:
            (articles,) = db.execute("SELECT count(*) FROM articles").fetchone()
            (integrity,) = db.execute("PRAGMA integrity_check").fetchone()
    print(f"\ndaemon exit status {code}; crawl processes left after it: {len(marked(mark))}")
    print(f"articles archived: {articles}; integrity_check: {integrity}")


if __name__ == "__main__":
    main()
