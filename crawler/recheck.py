"""The re-check child: ``python -m crawler.recheck --plan -``.

wirewatch (monitor.collection.rechecks) starts this in its own process group, as it starts a
crawl child, and writes on stdin a JSON object: ``plan``, the crawl plan of the stories'
sources (crawl settings, sources, archive; no alert URL, no secret), and ``targets``, the
stories to read again. Each page is fetched with the crawl's Scrapy settings (robots.txt,
per-host slots, timeouts, size cap), extracted as a crawl extracts it, and the verdict is
recorded in the archive. Events on stdout, Scrapy's log on stderr, as a crawl child.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from scrapy.crawler import CrawlerProcess

from crawler.__main__ import limit_memory, peak_rss_mb
from crawler.context import CrawlContext
from crawler.orphan import stop_when_orphaned
from crawler.runner import build_settings, run
from crawler.spiders.recheck import RecheckSpider
from monitor import events
from monitor.archive import Archive
from monitor.config import CrawlPlan
from monitor.errors import DiskFull, WirewatchError
from monitor.rechecking import Target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.recheck", description=__doc__)
    parser.add_argument("--plan", choices=["-"], required=True, help="read the work on stdin")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    try:
        plan, targets = read_work(sys.stdin.buffer.read())
        archive = Archive.open(plan.archive)
        archive.verify()
    except WirewatchError as error:
        events.emit(sys.stdout, events.Fatal(str(error)))
        return DiskFull.CHILD_STATUS if isinstance(error, DiskFull) else 1
    limit_memory(plan.crawl.memory_mb)
    stop_when_orphaned()
    context = CrawlContext(plan=plan, run_id=0, archive=archive)
    try:
        settings = build_settings(plan, args.log_level)
        # No item pipelines: a re-check matches and archives no article; it records a verdict.
        settings.set("ITEM_PIPELINES", {}, priority="cmdline")
        process = CrawlerProcess(settings)
        process.crawl(RecheckSpider, context=context, sources=plan.sources, targets=targets)
        run(process)
    except DiskFull as error:
        events.emit(sys.stdout, events.Fatal(str(error)))
        return DiskFull.CHILD_STATUS
    finally:
        archive.close()
        events.emit(sys.stdout, events.Finished(round(peak_rss_mb(), 1), context.cpu_by_stage()))
    return DiskFull.CHILD_STATUS if context.disk_full else 0


def read_work(data: bytes) -> tuple[CrawlPlan, list[Target]]:
    """Return the plan and the targets the parent wrote; anything else is a fatal error."""
    try:
        work: Any = json.loads(data)
        plan = CrawlPlan.from_json(json.dumps(work["plan"]))
        targets = [Target(**target) for target in work["targets"]]
    except (ValueError, KeyError, TypeError):  # pydantic's ValidationError is a ValueError
        raise WirewatchError(
            "the re-check work from the parent process is not usable: run wirewatch and "
            "this crawler from the same installation"
        ) from None
    return plan, targets


if __name__ == "__main__":
    sys.exit(main())
