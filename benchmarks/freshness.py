"""Freshness: how long from a story appearing in a feed to its flag being visible.

A local newswire serves one feed; `wirewatch run` polls it every INTERVAL seconds (60 by
default, as an analyst would set a wire service). At a random moment in each round a story
about the default topic is added to the feed, and the archive is watched until its flag
appears. The table gives each latency and the worst against the target (interval + 10 s).

    .venv/bin/python benchmarks/freshness.py [--interval 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import yaml

from monitor.newswire import Hit, Newswire, Reply

REPO = Path(__file__).resolve().parent.parent
STORY = (
    "<html><body><article><h1>{title}</h1><p>Russian and North Korean officials met in "
    "Pyongyang for talks on trade and the treaty, the Kremlin said.</p></article></body></html>"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    items: list[str] = []
    lock = threading.Lock()
    with Newswire() as wire, tempfile.TemporaryDirectory() as temp:

        def feed(hit: Hit) -> Reply:
            with lock:
                entries = "".join(
                    f"<item><title>{title}</title><link>{wire.url(f'/s/{n}.html')}</link>"
                    f"<guid>s{n}</guid><pubDate>{format_datetime(datetime.now(UTC))}</pubDate>"
                    "</item>"
                    for n, title in enumerate(items)
                )
            return Reply.xml(
                f"<rss version='2.0'><channel><title>F</title>{entries}</channel></rss>"
            )

        wire.route("/feed.xml", feed)
        wire.route_prefix("/s/", lambda hit: Reply.html(STORY.format(title="Story")))
        folder = Path(temp)
        topics = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["topics"]
        config = {
            "archive": "archive.db",
            "crawl": {"delay": 0, "timeout": 10},
            "sources": [{"name": "wire", "url": wire.url("/feed.xml"), "kind": "feed",
                         "interval": f"{args.interval}s", "max_age": "3650d"}],
            "topics": topics,
        }  # fmt: skip
        (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run"], cwd=folder,
                                  stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        latencies = []
        try:
            time.sleep(5)  # the first poll
            for number in range(args.rounds):
                time.sleep(random.uniform(0, args.interval))
                title = f"Putin and Kim Jong Un agree on new rail link, round {number}"
                with lock:
                    items.append(title)
                added = time.monotonic()
                while not flagged(folder, title):
                    if time.monotonic() - added > 3 * args.interval:
                        sys.exit(f"round {number}: no flag after {3 * args.interval}s")
                    time.sleep(0.2)
                latencies.append(time.monotonic() - added)
                print(f"round {number + 1}: flagged {latencies[-1]:.1f}s after the story appeared")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
    target = args.interval + 10
    print(f"\n{'interval':<22}{args.interval} s")
    print(f"{'rounds':<22}{len(latencies)}")
    print(f"{'mean latency':<22}{sum(latencies) / len(latencies):.1f} s")
    print(f"{'worst latency':<22}{max(latencies):.1f} s  (target: under {target} s)")


def flagged(folder: Path, title: str) -> bool:
    path = folder / "archive.db"
    if not path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute(
                "SELECT 1 FROM flags f JOIN articles a ON a.id = f.article_id WHERE a.title = ?",
                [title],
            ).fetchone()
    except sqlite3.OperationalError:
        return False
    return row is not None


if __name__ == "__main__":
    main()
