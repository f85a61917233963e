"""The crawl child: ``python -m crawler --run-id N (--plan - | --job - | --config PATH [SRC...])``.

wirewatch starts this in its own process group for each crawl (monitor.collection.children),
passing the crawl plan as JSON on stdin with ``--plan -``: the sources of this child, the
crawl settings, the topics and the archive, and nothing else of the config (no alert URL, no
secret). ``--job -`` is the same on a cluster worker (monitor.collection.worker): stdin holds
the plan, the job with the daemon's snapshot of the archive, and the shared Redis; the
child never opens the archive and writes its archive writes as ``result`` events instead.
``--config PATH`` reads a config file instead, for running a crawl by hand. The
child writes progress events on stdout (monitor.events) and Scrapy's log on stderr, and
exits 0 when the crawl ran, even if some sources failed; their errors are in the archive.
It stops at once, with DiskFull's status, when the archive's disk is full.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

from pydantic import ValidationError

from crawler.context import CrawlContext
from crawler.ledger import RemoteLedger
from crawler.orphan import stop_when_orphaned
from crawler.runner import SharedPoliteness, crawl
from monitor import events
from monitor.archive import Archive
from monitor.cluster import wire
from monitor.config import CrawlPlan, load
from monitor.errors import DiskFull, WirewatchError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler", description=__doc__)
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--plan", choices=["-"], help="read the crawl plan as JSON on stdin")
    given.add_argument("--job", choices=["-"], help="read a cluster job as JSON on stdin")
    given.add_argument("--config", default="config.yaml", help="read this config file instead")
    parser.add_argument("--run-id", type=int, required=True, help="the run to record into")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("sources", nargs="*", help="source names (default: all)")
    args = parser.parse_args(argv)
    if args.job == "-":
        return crawl_job(sys.stdin.buffer.read(), args.run_id, args.log_level)
    try:
        if args.plan == "-":
            plan = read_plan(sys.stdin.buffer.read())
        else:
            config = load(Path(args.config))
            wanted = set(args.sources)
            plan = config.plan([s for s in config.sources if not wanted or s.name in wanted])
        archive = Archive.open(plan.archive)
        archive.verify()  # a damaged archive gets no article: the run stops here, saying so
    except WirewatchError as error:
        events.emit(sys.stdout, events.Fatal(str(error)))
        return DiskFull.CHILD_STATUS if isinstance(error, DiskFull) else 1
    limit_memory(plan.crawl.memory_mb)
    stop_when_orphaned()
    context = CrawlContext(plan=plan, run_id=args.run_id, archive=archive)
    try:
        crawl(context, log_level=args.log_level)
    except DiskFull as error:  # outside a callback, e.g. while the spider starts
        events.emit(sys.stdout, events.Fatal(str(error)))
        return DiskFull.CHILD_STATUS
    finally:
        archive.close()
        events.emit(sys.stdout, events.Finished(round(peak_rss_mb(), 1), context.cpu_by_stage()))
    # A full disk stopped the crawl (crawler.extensions.diskfull): not a run that went well.
    return DiskFull.CHILD_STATUS if context.disk_full else 0


def crawl_job(data: bytes, run_id: int, log_level: str) -> int:
    """Crawl one cluster job: no archive here, its writes go out on stdout as results."""
    try:
        plan, job, shared = read_job(data)
    except WirewatchError as error:
        events.emit(sys.stdout, events.Fatal(str(error)))
        return 1
    limit_memory(plan.crawl.memory_mb)
    stop_when_orphaned()
    ledger = RemoteLedger(job.snapshot, lambda result: events.emit(sys.stdout, result))
    context = CrawlContext(plan=plan, run_id=run_id, archive=ledger)
    try:
        crawl(context, log_level=log_level, shared=shared)
    finally:
        events.emit(sys.stdout, events.Finished(round(peak_rss_mb(), 1), context.cpu_by_stage()))
    return 0


def read_job(data: bytes) -> tuple[CrawlPlan, wire.Job, SharedPoliteness]:
    """Return the plan, the job and the shared Redis a worker wrote on stdin."""
    try:
        given = json.loads(data)
        plan = CrawlPlan.model_validate(given["plan"], context={"spellings": 0})
        job = wire.decode_job(json.dumps(given["job"]))
        shared = SharedPoliteness(str(given["redis"]), str(given["prefix"]))
    except (ValueError, KeyError, TypeError):  # pydantic's ValidationError is a ValueError
        raise WirewatchError(
            "the crawl job from the worker is not usable: run the worker and this crawler "
            "from the same installation"
        ) from None
    return plan, job, shared


def read_plan(data: bytes) -> CrawlPlan:
    """Return the crawl plan the parent wrote; a plan it cannot read is a fatal error."""
    try:
        return CrawlPlan.from_json(data)
    except ValueError as error:  # pydantic's ValidationError is one
        count = error.error_count() if isinstance(error, ValidationError) else 1
        raise WirewatchError(
            f"the crawl plan from the parent process is not usable ({count} problem(s)): "
            "run wirewatch and this crawler from the same installation"
        ) from None


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space, so a hostile feed cannot take the machine's memory.

    Past the cap an allocation fails with MemoryError in that one callback, which Scrapy
    logs; the crawl goes on, and the parent's hard timeout still bounds it.
    """
    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def peak_rss_mb() -> float:
    """Return the most resident memory this process has held, in MiB.

    Linux's VmHWM counts from this program's start. ``ru_maxrss`` is the fallback: on Linux
    it also counts the parent's memory at the fork that started this process.
    """
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # in kB
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes or KiB


if __name__ == "__main__":
    sys.exit(main())
