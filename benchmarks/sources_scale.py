"""Scale: daemon cycles over 2,000 sources that mostly answer 304 Not Modified.

A local newswire serves SOURCES small RSS feeds spread over HOSTS sites, each site on its own
127.x.y.z address (all of 127.0.0.0/8 is loopback on Linux), so per-host politeness holds as
it does on the web. Every feed has an ETag and answers a conditional GET with 304; in each
cycle a fraction CHANGING of the feeds gains one new story, whose page the crawl then fetches.
Every site serves a robots.txt that allows everything.

The script runs the real daemon (``python -m monitor run``) in a temporary folder, all
sources on the same interval so they come due together, and reads the archive's runs table
to find each cycle: the runs that read every source once more. Per cycle it prints the wall
time (first run's start to last run's end, to the second), the CPU seconds of the daemon and
its crawl children (utime + stime + cutime + cstime of the daemon from /proc, so children
count once they are reaped), the requests served and how they were answered, the new
articles, and the daemon's resident memory.

Baseline, measured in the same run before and after the daemon: a bare Scrapy spider that
sends the same conditional GETs to the same sites with the same politeness (delay, requests
per host, robots.txt, two processes split by host) and does nothing with the answers. It is
the floor that politeness sets; the daemon's cycles are given as ratios to it.

    .venv/bin/python benchmarks/sources_scale.py [--sources 2000] [--hosts 250]
        [--changing 0.05] [--cycles 4] [--interval 90]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import yaml

from monitor.collection.children import stop_process_group
from monitor.newswire import Hit, Newswire, Reply
from monitor.procmark import marked, new_mark

REPO = Path(__file__).resolve().parent.parent
# The politeness of the README's defaults: one second between requests to a host (Scrapy
# randomises it to 0.5-1.5 s), two requests in flight per host, robots.txt obeyed.
POLITENESS = {"delay": 1.0, "per_host_concurrency": 2, "obey_robots": True, "timeout": 30}
OLD_ITEMS = 3  # each feed's standing stories, too old to be taken on the first read
KEPT = 5  # the newest stories a feed lists
ROBOTS = "User-agent: *\nAllow: /\n"
PAGE = (
    "<html><head><title>Story {key}</title></head><body><article><h1>Story {key}</h1>"
    "<p>Officials met on Tuesday to discuss story {key}, a spokesman said after the talks, "
    "which lasted most of the afternoon and ended without a statement.</p>"
    "<p>Further meetings are planned for next month, according to people familiar with the "
    "preparations, who asked not to be named.</p></article></body></html>"
)
# Counters the newswire keeps, in this order, in a shared array.
COUNTERS = ("requests", "feed 200", "feed 304", "robots.txt", "article pages")


def address(host: int) -> str:
    """The loopback address of site number *host*: 127.0.1.1, 127.0.1.2, ..."""
    return f"127.0.{1 + host // 250}.{1 + host % 250}"


def changed_in(cycle: int, sources: int, changing: float) -> set[int]:
    """The feeds that gain a story in *cycle* (none in cycle 0, the first read)."""
    if cycle == 0:
        return set()
    return set(random.Random(cycle).sample(range(sources), round(sources * changing)))


class Versions:
    """How many new stories each feed has had by each cycle."""

    def __init__(self, sources: int, changing: float) -> None:
        self.sources = sources
        self.changing = changing
        self.by_cycle: list[list[int]] = [[0] * sources]

    def of(self, number: int, cycle: int) -> int:
        while len(self.by_cycle) <= cycle:
            previous = self.by_cycle[-1]
            grown = changed_in(len(self.by_cycle), self.sources, self.changing)
            self.by_cycle.append([v + (n in grown) for n, v in enumerate(previous)])
        return self.by_cycle[cycle][number]


def etag(number: int, version: int) -> str:
    return f'"f{number}v{version}"'


def feed_body(host: str, number: int, version: int, since: datetime) -> bytes:
    """The feed of *number* at *version*: its newest stories, then its old standing ones."""
    new = [(f"{number}-{v}", since + timedelta(minutes=v)) for v in range(version, 0, -1)]
    old = [(f"{number}-old{k}", since - timedelta(days=30)) for k in range(OLD_ITEMS)]
    entries = "".join(
        f"<item><title>Story {key}</title><link>http://{host}/a/{key}.html</link>"
        f"<guid isPermaLink='false'>{key}</guid><description>Summary of {key}</description>"
        f"<pubDate>{format_datetime(published)}</pubDate></item>"
        for key, published in (new + old)[:KEPT]
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {number}</title>"
        f"{entries}</channel></rss>"
    ).encode()


def build_wires(
    sources: int, hosts: int, changing: float, cycle: Any, counters: Any
) -> list[Newswire]:
    """Start HOSTS newswires serving SOURCES feeds, robots.txt and story pages.

    *cycle* (a shared int) says which version of each feed to serve; *counters* (a shared
    array) counts the answers, in the order of COUNTERS.
    """
    versions = Versions(sources, changing)
    started = datetime.now(UTC)
    wires = [Newswire(host=address(index)).start() for index in range(hosts)]

    def count(index: int) -> None:
        with counters.get_lock():
            counters[0] += 1
            counters[index] += 1

    def feed(number: int, host: str) -> Callable[[Hit], Reply]:
        def answer(hit: Hit) -> Reply:
            version = versions.of(number, cycle.value)
            tag = etag(number, version)
            asked = {k.lower(): v for k, v in hit.headers.items()}.get("if-none-match")
            count(2 if asked == tag else 1)  # the newswire answers 304 exactly then
            body = feed_body(host, number, version, started)
            return Reply(body, headers={"Content-Type": "application/rss+xml", "ETag": tag})

        return answer

    def robots(hit: Hit) -> Reply:
        count(3)
        return Reply(ROBOTS.encode(), headers={"Content-Type": "text/plain"})

    def article(hit: Hit) -> Reply:
        count(4)
        key = hit.path.rsplit("/", 1)[1].removesuffix(".html")
        return Reply.html(PAGE.format(key=key))

    for number in range(sources):
        wire = wires[number % hosts]
        wire.route(f"/feed/{number}.xml", feed(number, wire.base_url.removeprefix("http://")))
    for wire in wires:
        wire.route("/robots.txt", robots)
        wire.route_prefix("/a/", article)
    return wires


def serve(
    sources: int,
    hosts: int,
    changing: float,
    cycle: Any,
    counters: Any,
    urls: Any,
    stop: Any,
) -> None:
    """Run HOSTS newswires until *stop* is set; send their base URLs through *urls*."""
    wires = build_wires(sources, hosts, changing, cycle, counters)
    urls.send([wire.base_url for wire in wires])
    while not stop.wait(5):
        for wire in wires:
            with wire._lock:  # the request log is not needed, and would only grow
                wire.hits.clear()
    for wire in wires:
        wire.stop()


BARE_SPIDER = textwrap.dedent(
    """
    import json, sys, scrapy
    from scrapy.crawler import CrawlerProcess
    wanted = json.load(open(sys.argv[1]))
    politeness = json.loads(sys.argv[2])
    class Bare(scrapy.Spider):
        name = "bare"
        async def start(self):
            for url, tag in wanted:
                yield scrapy.Request(url, headers={"If-None-Match": tag}, callback=self.parse,
                                     meta={"handle_httpstatus_list": [304]}, dont_filter=True)
        def parse(self, response):
            pass
    process = CrawlerProcess({
        "LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": politeness["obey_robots"],
        "COOKIES_ENABLED": False, "TELNETCONSOLE_ENABLED": False, "CONCURRENT_ITEMS": 1,
        "CONCURRENT_REQUESTS": 64, "DOWNLOAD_DELAY": politeness["delay"],
        "CONCURRENT_REQUESTS_PER_DOMAIN": politeness["per_host_concurrency"],
        "USER_AGENT": "wirewatch-benchmark",
    })
    process.crawl(Bare)
    process.start()
    """
)


def bare_fetch(wanted: list[list[tuple[str, str]]], folder: Path) -> tuple[float, float]:
    """Fetch each group of (url, etag) in its own bare Scrapy process; return wall and CPU s."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    processes = []
    for index, group in enumerate(wanted):
        listing = folder / f"bare-{index}.json"
        listing.write_text(json.dumps(group))
        command = [sys.executable, "-c", BARE_SPIDER, str(listing), json.dumps(POLITENESS)]
        processes.append(subprocess.Popen(command, start_new_session=True))
    try:
        for process in processes:
            process.wait(timeout=900)
    finally:
        for process in processes:
            stop_process_group(process)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds, cpu


def daemon_cpu(pid: int) -> float:
    """CPU seconds of *pid* and of its children it has reaped, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Cycle:
    number: int
    runs: int
    seconds: float
    new: int
    statuses: set[str]


def finished_cycles(archive: Path, sources: int) -> list[Cycle]:
    """Group the finished runs into cycles: cycle k is the runs reading sources a k+1-th time."""
    if not archive.exists():
        return []
    try:
        with sqlite3.connect(f"file:{archive}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute(
                "SELECT id, started, finished, status, sources, coalesce(new, 0) FROM runs "
                "ORDER BY id"
            ).fetchall()
    except sqlite3.OperationalError:
        return []
    seen: dict[str, int] = {}
    spans: dict[int, list[tuple[str, str, str, int]]] = {}
    for _, started, finished, status, names, new in rows:
        if status == "running":
            break  # later runs belong to a cycle still going
        number = 0
        for name in json.loads(names):
            number = seen.get(name, 0)
            seen[name] = number + 1
        spans.setdefault(number, []).append((started, finished, status, new))
    complete = min(seen.values(), default=0) if len(seen) == sources else 0
    cycles = []
    for number in range(complete):
        runs = spans.get(number, [])
        first = min(datetime.fromisoformat(run[0]) for run in runs)
        last = max(datetime.fromisoformat(run[1]) for run in runs)
        cycles.append(
            Cycle(
                number,
                len(runs),
                (last - first).total_seconds(),
                sum(run[3] for run in runs),
                {run[2] for run in runs},
            )
        )
    return cycles


def write_config(folder: Path, urls: list[str], sources: int, interval: float) -> None:
    topics = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["topics"]
    config = {
        "archive": "archive.db",
        "crawl": {**POLITENESS, "cycle_timeout": "15m"},
        "sources": [
            {
                "name": f"feed-{number:05d}",
                "kind": "feed",
                "url": f"{urls[number % len(urls)]}/feed/{number}.xml",
                "interval": f"{interval:g}s",
            }
            for number in range(sources)
        ],
        "topics": topics,
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))


def by_host(wanted: list[tuple[str, str]], groups: int) -> list[list[tuple[str, str]]]:
    """Split (url, etag) pairs into *groups* with every host in one group, as the daemon does."""
    hosts: dict[str, list[tuple[str, str]]] = {}
    for url, tag in wanted:
        hosts.setdefault(url.split("/")[2], []).append((url, tag))
    split: list[list[tuple[str, str]]] = [[] for _ in range(groups)]
    for pairs in sorted(hosts.values(), key=len, reverse=True):
        min(split, key=len).extend(pairs)
    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=250, help="sites the sources spread over")
    parser.add_argument("--changing", type=float, default=0.05, help="share that change a cycle")
    parser.add_argument("--cycles", type=int, default=4, help="cycles after the first read")
    parser.add_argument("--interval", type=float, default=90.0, help="every source's interval")
    parser.add_argument("--keep", type=Path, help="copy the archive and daemon log here")
    args = parser.parse_args()
    workers = max(1, min(4, os.cpu_count() or 1))  # the config's default crawl.workers

    cycle = multiprocessing.Value("i", 0)
    counters = multiprocessing.Array("q", len(COUNTERS))
    receive, send = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve,
        args=(args.sources, args.hosts, args.changing, cycle, counters, send, stop),
        daemon=True,
    )
    server.start()
    if not receive.poll(120):
        server.kill()
        sys.exit("the newswire did not start")
    urls: list[str] = receive.recv()
    versions = Versions(args.sources, args.changing)

    def snapshot() -> list[int]:
        with counters.get_lock():
            return list(counters)

    def baseline(folder: Path, at: int) -> tuple[float, float, list[int]]:
        wanted = [
            (f"{urls[n % len(urls)]}/feed/{n}.xml", etag(n, versions.of(n, at)))
            for n in range(args.sources)
        ]
        before = snapshot()
        seconds, cpu = bare_fetch(by_host(wanted, workers), folder)
        return seconds, cpu, [b - a for a, b in zip(before, snapshot(), strict=True)]

    mark = new_mark()
    daemon: subprocess.Popen[bytes] | None = None
    rows: list[tuple[Cycle, float, float, list[int]]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="sources-scale-") as temp:
            folder = Path(temp)
            write_config(folder, urls, args.sources, args.interval)
            print(
                f"{args.sources} sources on {args.hosts} hosts, {args.changing:.0%} gain a story "
                f"each cycle; interval {args.interval:g}s (jitter up to "
                f"{min(args.interval * 0.1, 30):g}s); politeness: delay {POLITENESS['delay']:g}s "
                f"(randomised 0.5-1.5x), {POLITENESS['per_host_concurrency']} requests per host, "
                f"robots.txt obeyed; {workers} crawl processes; {os.cpu_count()} cores",
                flush=True,
            )
            first_base = baseline(folder, 0)
            print(f"baseline before: {first_base[0]:.1f} s, {first_base[1]:.1f} CPU-s", flush=True)

            log = (folder / "daemon.log").open("wb")
            daemon = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run"],
                cwd=folder,
                env={**os.environ, **mark},
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
            cpu_mark, counts_mark = daemon_cpu(daemon.pid), snapshot()
            deadline = time.monotonic() + (args.cycles + 2) * max(args.interval, 60) * 3
            while len(rows) <= args.cycles:
                if time.monotonic() > deadline:
                    raise SystemExit("the daemon did not complete its cycles in time")
                if daemon.poll() is not None:
                    raise SystemExit(f"the daemon exited with {daemon.returncode}; see its log")
                done = finished_cycles(folder / "archive.db", args.sources)
                if len(done) > len(rows):
                    with cycle.get_lock():
                        cycle.value = len(done)  # the changing feeds gain their next story
                    cpu, counts = daemon_cpu(daemon.pid), snapshot()
                    for finished in done[len(rows) :]:
                        delta = [b - a for a, b in zip(counts_mark, counts, strict=True)]
                        rows.append((finished, cpu - cpu_mark, rss_mib(daemon.pid), delta))
                        cpu_mark, counts_mark = cpu, counts
                        print(
                            f"cycle {finished.number} done in {finished.seconds:.0f} s", flush=True
                        )
                time.sleep(0.5)
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
            last_base = baseline(folder, len(rows))
            log.close()
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for name in ("archive.db", "daemon.log", "config.yaml"):
                    shutil.copy(folder / name, args.keep / name)
    finally:
        if daemon is not None:
            stop_process_group(daemon, grace=30)
        for pid in marked(mark):  # crawl children left by a daemon that was killed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        stop.set()
        server.join(timeout=30)
        if server.is_alive():
            server.kill()

    report(args, rows, first_base, last_base)


def report(
    args: argparse.Namespace,
    rows: list[tuple[Cycle, float, float, list[int]]],
    first_base: tuple[float, float, list[int]],
    last_base: tuple[float, float, list[int]],
) -> None:
    base_seconds = statistics.mean([first_base[0], last_base[0]])
    base_cpu = statistics.mean([first_base[1], last_base[1]])
    header = (
        f"{'cycle':<10}{'runs':>5}{'wall s':>8}{'x base':>8}{'CPU s':>8}{'x base':>8}"
        f"{'requests':>10}{'304':>6}{'200':>6}{'robots':>8}{'pages':>7}{'new':>6}"
        f"{'daemon RSS MiB':>16}"
    )
    print()
    print(header)
    print("─" * len(header))
    for label, (seconds, cpu, counts) in (
        ("base pre", first_base),
        ("base post", last_base),
    ):
        print(
            f"{label:<10}{'':>5}{seconds:>8.1f}{seconds / base_seconds:>8.2f}{cpu:>8.1f}"
            f"{cpu / base_cpu:>8.2f}{counts[0]:>10}{counts[2]:>6}{counts[1]:>6}{counts[3]:>8}"
            f"{counts[4]:>7}{'':>6}{'':>16}"
        )
    for found, cpu, rss, counts in rows:
        label = "0 (first)" if found.number == 0 else str(found.number)
        bad = found.statuses - {"ok"}
        print(
            f"{label:<10}{found.runs:>5}{found.seconds:>8.0f}{found.seconds / base_seconds:>8.2f}"
            f"{cpu:>8.1f}{cpu / base_cpu:>8.2f}{counts[0]:>10}{counts[2]:>6}{counts[1]:>6}"
            f"{counts[3]:>8}{counts[4]:>7}{found.new:>6}{rss:>16.1f}"
            + (f"  runs {', '.join(sorted(bad))}" if bad else "")
        )
    later = rows[1:]
    if later:
        median = statistics.median(found.seconds for found, *_ in later)
        median_cpu = statistics.median(cpu for _, cpu, *_ in later)
        print(
            f"\nmedian of cycles 1-{len(later)}: {median:.0f} s wall "
            f"({median / base_seconds:.2f}x the baseline, target < 20 s), {median_cpu:.1f} CPU-s "
            f"({median_cpu / base_cpu:.2f}x); daemon RSS {later[0][2]:.1f} -> "
            f"{later[-1][2]:.1f} MiB"
        )


if __name__ == "__main__":
    main()
