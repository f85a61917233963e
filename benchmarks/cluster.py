"""Cluster: 2,000 politeness-bound sources on one machine, then on 1, 2 and 4 crawl workers.

The sites are sources_scale.py's: SOURCES small RSS feeds on HOSTS sites, each site on its
own 127.x.y.z address, every feed with an ETag, a robots.txt on every site, and in each
cycle after the first a share CHANGING of the feeds gaining one story whose page the crawl
then fetches. The politeness is the README's default: 1 s between requests to a site, 2 in
flight per site, robots.txt obeyed.

In one run, each configuration gets a fresh archive and crawls the same cycles with
``python -m monitor crawl``, which runs a cycle exactly as the daemon does (run_cycle):

- ``one machine``: no ``cluster:`` key, ``crawl.workers: 2``, so two crawl children split
  the sites between them;
- ``N worker(s)``: the same config plus ``cluster:`` (``batch`` from --batch) pointing at a
  redis-server this script starts on a free 127.0.0.1 port, with N ``python -m monitor
  worker --processes 1`` processes on this machine, started (and heard from) before the
  first cycle. The crawl process then only queues jobs and writes what comes back.

Cycle 0 reads every feed (all answer 200; the standing stories are too old to archive);
each later cycle sends conditional GETs, which mostly answer 304. Columns, per cycle:

    wall s      seconds of the ``crawl`` command, start to exit
    x one       wall s over the one-machine run's same cycle, measured in this run
    CPU s       user + system seconds of the crawl process and its crawl children, plus
                each worker's and its crawl children's (/proc/PID/stat, children once
                reaped); the newswire's own CPU is not counted
    Redis s     CPU seconds of redis-server in the cycle
    requests    requests the sites answered; then 304, 200 (feeds), robots (robots.txt
                fetches) and pages (story pages)
    new         new articles the crawl reported
    once        for the configuration's last cycle: every story the sites published was
                archived exactly once (articles counted by key and by URL)

Below the table, per configuration, the politeness the sites saw: over every site and
every cycle, the gaps between one request to a site and the next one to the same site,
as the newswire recorded them on arrival: the smallest, the 5th percentile, the median,
and how many gaps were under 0.9 and under 0.5 of the delay. They should stay around
crawl.delay (1 s) however many workers share a site. On one machine Scrapy randomises the
delay to 0.5-1.5 s. On a cluster Redis grants turns at least a delay apart on its clock,
but a granted request that leaves late from a busy crawl process can arrive close to the
next one: the short gaps show how often that happened.

redis-server must be installed (Debian/Ubuntu: ``sudo apt-get install redis-server``;
6.2 or later, for XAUTOCLAIM). Everything binds to loopback; nothing leaves the machine.

    .venv/bin/python benchmarks/cluster.py [--sources 2000] [--hosts 250] [--workers 1,2,4]
        [--cycles 1] [--batch 250] [--changing 0.05] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml
from sources_scale import COUNTERS, POLITENESS, Versions, build_wires, daemon_cpu, write_config

from monitor.cluster.queue import Queue
from monitor.collection.children import stop_process_group
from monitor.config.cluster import ClusterSettings
from monitor.procmark import marked, new_mark

INSTALL = (
    "redis-server is not installed; install it (Debian, Ubuntu: sudo apt-get install "
    "redis-server) or put a redis-server of 6.2 or later on PATH"
)
CRAWL_TIMEOUT = 1800  # seconds for one `crawl` command before the benchmark gives up
START_TIMEOUT = 60  # seconds for redis-server, the newswire or the workers to be ready


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalRedis:
    """A redis-server on a free 127.0.0.1 port, its files in *folder*, run as README says."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit(INSTALL)
        self.binary = binary
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> LocalRedis:
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", str(self.folder), "--appendonly", "yes", "--save", "",
             "--protected-mode", "yes", "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        queue = Queue(ClusterSettings.model_validate({"redis": self.url}), timeout=2)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while True:
                if self.process.poll() is not None:
                    raise SystemExit(f"redis-server exited; see {self.folder / 'redis.log'}")
                try:
                    queue.ping()
                    return self
                except Exception:
                    if time.monotonic() > deadline:
                        raise SystemExit("redis-server did not answer in time") from None
                    time.sleep(0.1)
        finally:
            queue.close()

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop_process_group(self.process, grace=10)

    def cpu(self) -> float:
        assert self.process is not None
        return daemon_cpu(self.process.pid)


def serve(sources: int, hosts: int, changing: float, cycle: Any, counters: Any, pipe: Any) -> None:
    """Run sources_scale's newswires; on each message, send back (site, arrival) of the
    requests since the last one. An empty message (None) stops them."""
    wires = build_wires(sources, hosts, changing, cycle, counters)
    pipe.send([wire.base_url for wire in wires])
    while True:
        if not pipe.poll(1.0):
            continue
        if pipe.recv() is None:
            break
        arrivals: list[tuple[int, float]] = []
        for index, wire in enumerate(wires):
            with wire._lock:  # sources_scale reaches in the same way to clear the log
                arrivals.extend((index, hit.at) for hit in wire.hits)
                wire.hits.clear()
        pipe.send(arrivals)
    for wire in wires:
        wire.stop()


@dataclass
class Row:
    """One cycle of one configuration."""

    label: str
    cycle: int
    seconds: float
    cpu: float
    redis_cpu: float | None
    counts: list[int]
    new: int
    status: str
    once: str = ""


@dataclass
class Measured:
    label: str
    rows: list[Row] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)


class Bench:
    """The newswire and the shared counters of one benchmark run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cycle: Any = multiprocessing.Value("i", 0)
        self.counters: Any = multiprocessing.Array("q", len(COUNTERS))
        self.pipe, theirs = multiprocessing.Pipe()
        self.server = multiprocessing.Process(
            target=serve,
            args=(args.sources, args.hosts, args.changing, self.cycle, self.counters, theirs),
            daemon=True,
        )
        self.server.start()
        if not self.pipe.poll(START_TIMEOUT * 2):
            self.server.kill()
            raise SystemExit("the newswire did not start")
        self.urls: list[str] = self.pipe.recv()
        self.mark = new_mark()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.send(None)
        self.server.join(timeout=30)
        if self.server.is_alive():
            self.server.kill()
        for pid in marked(self.mark):  # workers and crawl children of a run that was cut short
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def counts(self) -> list[int]:
        with self.counters.get_lock():
            return list(self.counters)

    def arrivals(self) -> list[tuple[int, float]]:
        self.pipe.send("arrivals")
        if not self.pipe.poll(60):
            raise SystemExit("the newswire did not answer")
        found: list[tuple[int, float]] = self.pipe.recv()
        return found

    def stories(self, cycles: int) -> int:
        """The stories the feeds have published by cycle *cycles*."""
        versions = Versions(self.args.sources, self.args.changing)
        return sum(versions.of(number, cycles) for number in range(self.args.sources))


def gaps_between(arrivals: list[tuple[int, float]]) -> list[float]:
    """Seconds between consecutive requests to each site."""
    by_site: dict[int, list[float]] = {}
    for site, at in arrivals:
        by_site.setdefault(site, []).append(at)
    gaps: list[float] = []
    for times in by_site.values():
        times.sort()
        gaps.extend(later - earlier for earlier, later in itertools.pairwise(times))
    return gaps


def archived_once(archive: Path, expected: int) -> str:
    """'yes' when the archive holds each of the *expected* stories once, else what it holds."""
    with sqlite3.connect(f"file:{archive}?mode=ro", uri=True, timeout=30) as db:
        rows, keys, urls = db.execute(
            "SELECT count(*), count(DISTINCT key), count(DISTINCT url) FROM articles"
        ).fetchone()
    if rows == keys == urls == expected:
        return "yes"
    return f"NO: {rows} rows, {keys} keys, {urls} URLs, {expected} stories"


def configure(bench: Bench, folder: Path, redis: str | None, prefix: str) -> Path:
    """Write the configuration's config.yaml (sources_scale's, plus workers and cluster)."""
    folder.mkdir(parents=True)
    # A long interval: `crawl` reads every source anyway, and nothing else runs.
    write_config(folder, bench.urls, bench.args.sources, 3600)
    path = folder / "config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["crawl"]["workers"] = 2
    if redis is not None:
        config["cluster"] = {"redis": redis, "batch": bench.args.batch, "prefix": prefix}
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def start_workers(
    bench: Bench, config: Path, count: int, redis: str, prefix: str, log: IO[bytes]
) -> list[subprocess.Popen[bytes]]:
    """Start *count* workers and return once each has sent its first heartbeat."""
    command = [sys.executable, "-m", "monitor", "--config", str(config), "worker"]
    workers = [
        subprocess.Popen(
            [*command, "--processes", "1", "--name", f"bench-{number}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **bench.mark},
            start_new_session=True,
        )
        for number in range(count)
    ]
    queue = Queue(ClusterSettings.model_validate({"redis": redis, "prefix": prefix}))
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while len(queue.workers()) < count:
            if any(worker.poll() is not None for worker in workers):
                raise SystemExit(f"a worker exited; see {log.name}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the workers did not beat within {START_TIMEOUT}s")
            time.sleep(0.2)
    finally:
        queue.close()
    return workers


def crawl_once(bench: Bench, config: Path, log: IO[bytes]) -> tuple[float, float, dict[str, Any]]:
    """Run one `crawl`; return its wall and CPU seconds (with its children) and its JSON."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "crawl", "--format", "json"],
        stdout=subprocess.PIPE, stderr=log, env={**os.environ, **bench.mark},
        start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = process.communicate(timeout=CRAWL_TIMEOUT)
    finally:
        stop_process_group(process)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    try:
        result: dict[str, Any] = json.loads(out)
    except ValueError:
        raise SystemExit(
            f"crawl exited with {process.returncode} and no result; see {log.name}"
        ) from None
    return seconds, cpu, result


def measure(
    bench: Bench, label: str, folder: Path, redis: LocalRedis | None, workers: int
) -> Measured:
    """Crawl the cycles in one configuration; print a line as each cycle ends."""
    prefix = f"bench{workers}"
    config = configure(bench, folder, redis.url if redis else None, prefix)
    measured = Measured(label)
    with (folder / "bench.log").open("wb") as log:
        running: list[subprocess.Popen[bytes]] = []
        try:
            if redis is not None:
                running = start_workers(bench, config, workers, redis.url, prefix, log)
            for cycle in range(bench.args.cycles + 1):
                with bench.cycle.get_lock():
                    bench.cycle.value = cycle  # the changing feeds gain their next story
                bench.arrivals()  # forget the requests of earlier cycles
                counts = bench.counts()
                marks = [daemon_cpu(worker.pid) for worker in running]
                redis_mark = redis.cpu() if redis else None
                seconds, cpu, result = crawl_once(bench, config, log)
                cpu += sum(daemon_cpu(w.pid) - m for w, m in zip(running, marks, strict=True))
                measured.gaps.extend(gaps_between(bench.arrivals()))
                row = Row(
                    label, cycle, seconds, cpu,
                    None if redis is None or redis_mark is None else redis.cpu() - redis_mark,
                    [b - a for a, b in zip(counts, bench.counts(), strict=True)],
                    int(result.get("new") or 0), str(result.get("status")),
                )  # fmt: skip
                measured.rows.append(row)
                print(f"{label}, cycle {cycle}: {seconds:.1f} s, {row.status}", flush=True)
        finally:
            for worker in running:
                worker.send_signal(signal.SIGTERM)
            for worker in running:
                stop_process_group(worker, grace=30)
    archive = folder / "archive.db"
    measured.rows[-1].once = archived_once(archive, bench.stories(bench.args.cycles))
    if bench.args.keep:
        kept = bench.args.keep / folder.name
        kept.mkdir(parents=True, exist_ok=True)
        for name in ("archive.db", "config.yaml", "bench.log"):
            shutil.copy(folder / name, kept / name)
    return measured


def report(bench: Bench, results: list[Measured], load: tuple[float, float, float]) -> None:
    base = {row.cycle: row.seconds for row in results[0].rows}
    header = (
        f"{'configuration':<14}{'cycle':>6}{'wall s':>8}{'x one':>7}{'CPU s':>8}{'Redis s':>9}"
        f"{'requests':>10}{'304':>6}{'200':>6}{'robots':>8}{'pages':>7}{'new':>6}  once"
    )
    print()
    print(header)
    print("─" * len(header))
    for measured in results:
        for row in measured.rows:
            redis = "" if row.redis_cpu is None else f"{row.redis_cpu:.1f}"
            counts = row.counts
            print(
                f"{row.label:<14}{row.cycle:>6}{row.seconds:>8.1f}"
                f"{row.seconds / base[row.cycle]:>7.2f}{row.cpu:>8.1f}{redis:>9}"
                f"{counts[0]:>10}{counts[2]:>6}{counts[1]:>6}{counts[3]:>8}{counts[4]:>7}"
                f"{row.new:>6}  {row.once}" + ("" if row.status == "ok" else f"  run {row.status}")
            )
    print()
    print("politeness: gaps between requests to one site, over all sites and cycles")
    for measured in results:
        gaps = sorted(measured.gaps)
        if not gaps:
            continue
        fifth = gaps[len(gaps) // 20]
        delay = float(POLITENESS["delay"])
        under = sum(gap < 0.9 * delay for gap in gaps)
        half = sum(gap < 0.5 * delay for gap in gaps)
        print(
            f"  {measured.label:<14} min {gaps[0]:.2f} s, 5th percentile {fifth:.2f} s, "
            f"median {statistics.median(gaps):.2f} s; {under} of {len(gaps)} gaps under "
            f"{0.9 * delay:g} s, {half} under {0.5 * delay:g} s"
        )
    now = os.getloadavg()
    print(
        f"\nload average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start, "
        f"{now[0]:.2f} {now[1]:.2f} {now[2]:.2f} at the end; {os.cpu_count()} cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=250, help="sites the sources spread over")
    parser.add_argument(
        "--workers", default="1,2,4", help="worker counts to measure, comma-separated"
    )
    parser.add_argument("--cycles", type=int, default=1, help="cycles after the first read")
    parser.add_argument(
        "--batch", type=int, default=250, help="cluster.batch: sources in one crawl job"
    )
    parser.add_argument("--changing", type=float, default=0.05, help="share that change a cycle")
    parser.add_argument("--keep", type=Path, help="copy each archive, config and log here")
    args = parser.parse_args()
    try:
        counts = [int(part) for part in args.workers.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--workers: {args.workers!r} is not a list of numbers such as 1,2,4")
    if not counts or min(counts) < 1:
        parser.error("--workers: give one or more worker counts of at least 1, such as 1,2,4")
    if not 1 <= args.batch <= 1000:
        parser.error(f"--batch: {args.batch} is outside cluster.batch's range, 1 to 1000")
    if args.sources < 1 or not 1 <= args.hosts <= args.sources:
        parser.error("--sources and --hosts: give at least one source, and 1 to SOURCES hosts")
    if shutil.which("redis-server") is None:
        raise SystemExit(INSTALL)

    load = os.getloadavg()
    jobs = -(-args.sources // args.batch)
    print(
        f"{args.sources} sources on {args.hosts} sites; {args.changing:.0%} gain a story in "
        f"each of {args.cycles} cycle(s) after the first read; politeness: delay "
        f"{POLITENESS['delay']:g}s, {POLITENESS['per_host_concurrency']} requests per site, "
        f"robots.txt obeyed; one machine: crawl.workers 2; cluster: batch {args.batch} "
        f"({jobs} jobs a cycle), workers {', '.join(map(str, counts))} with --processes 1; "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    bench = Bench(args)
    results: list[Measured] = []
    try:
        with tempfile.TemporaryDirectory(prefix="cluster-bench-") as temp:
            folder = Path(temp)
            results.append(measure(bench, "one machine", folder / "single", None, 0))
            with LocalRedis(folder / "redis") as redis:
                for count in counts:
                    label = f"{count} worker{'s' if count > 1 else ''}"
                    results.append(measure(bench, label, folder / f"workers-{count}", redis, count))
    finally:
        bench.close()
    report(bench, results, load)


if __name__ == "__main__":
    main()
