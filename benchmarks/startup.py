"""A daemon's small cycle: crawl children forked from the server, or started as new processes.

Most of a daemon's cycles find a few new stories. Then a crawl child's start (importing
Scrapy, Twisted, trafilatura and the config's models, loading the language model) is most
of the cycle's CPU. This script serves the collection benchmark's newswire (FEEDS feeds of
ITEMS items, 60 KB pages) and runs ROUNDS cycles of it in each of two ways, alternating,
each cycle into a new archive so each collects the same FEEDS x ITEMS stories:

- new processes (the baseline): each crawl child ``python -m crawler``, as before the fork
  server (monitor.collection.forks.ENABLED off);
- forked: each crawl child a fork of this process's fork server (crawler.forkserver), which
  is started once, as a daemon starts it once for months of cycles.

It prints the median wall time and CPU of a cycle (every crawl child's CPU, from its own
report, and this process's), their ratio to the baseline, and the fork server's own start.
No network beyond 127.0.0.x.

    .venv/bin/python benchmarks/startup.py [--feeds 20] [--items 2] [--rounds 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from collection import HOSTS, serve, write_config

from monitor.collection import forks
from monitor.collection.cycle import run_cycle
from monitor.config import load

TICKS = os.sysconf("SC_CLK_TCK")


def cycle(folder: Path, sources: list[dict], name: str) -> tuple[float, float, int]:
    """Run one cycle into a new archive; return its wall seconds, CPU seconds and stories."""
    config = load(write_config(folder, sources, name))
    parent = time.process_time()
    started = time.monotonic()
    result = run_cycle(config)
    seconds = time.monotonic() - started
    cpu = sum(result.cpu_seconds.values()) + time.process_time() - parent
    return seconds, cpu, result.new


def server_cpu() -> float:
    """Return the CPU seconds the fork servers of this process have used themselves."""
    total = 0.0
    for server in forks._servers.values():
        if server.process is not None:
            fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1]
            utime, stime = fields.split()[11:13]
            total += (int(utime) + int(stime)) / TICKS
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.feeds, args.items, 0, ready, stop))
    server.start()
    if not ready.wait(timeout=120):
        server.terminate()
        sys.exit("the newswire did not start")
    hosts = [f"127.0.0.{10 + index}:8800" for index in range(HOSTS)]
    sources = [
        {"name": f"feed-{n}", "kind": "feed", "url": f"http://{hosts[n % HOSTS]}/feed/{n}.xml",
         "max_age": "3650d"}
        for n in range(args.feeds)
    ]  # fmt: skip
    runs: dict[str, list[tuple[float, float, int]]] = {"new processes": [], "forked": []}
    server_start = 0.0
    try:
        with tempfile.TemporaryDirectory() as temp:
            folder = Path(temp)
            forks.ENABLED = True
            began = time.monotonic()
            cycle(folder, sources, "warm")  # starts the fork server, as a daemon's first cycle
            first_cycle = time.monotonic() - began
            server_start = server_cpu()
            for number in range(args.rounds):
                for mode in runs:
                    forks.ENABLED = mode == "forked"
                    runs[mode].append(cycle(folder, sources, f"{mode[0]}{number}"))
    finally:
        stop.set()
        server.join(timeout=30)
        forks.close_all()

    base_wall = statistics.median(wall for wall, _, _ in runs["new processes"])
    base_cpu = statistics.median(cpu for _, cpu, _ in runs["new processes"])
    print(f"{args.feeds} feeds x {args.items} items, {args.rounds} cycles each way, alternating")
    print(f"{'cycle':<16} {'stories':>7} {'wall (median)':>16} {'CPU (median)':>16}")
    for mode, measured in runs.items():
        wall = statistics.median(seconds for seconds, _, _ in measured)
        cpu = statistics.median(used for _, used, _ in measured)
        stories = "/".join(str(new) for new in sorted({new for _, _, new in measured}))
        ratios = f"{wall:>6.2f} s {wall / base_wall:>5.2f}x {cpu:>6.2f} s {cpu / base_cpu:>5.2f}x"
        print(f"{mode:<16} {stories:>7} {ratios}")
    print(f"fork server, once per process: {server_start:.2f} s CPU "
          f"(the first cycle, which started it: {first_cycle:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
