"""Collection throughput: wirewatch end to end against a bare Scrapy fetch of the same pages.

A generated local newswire serves FEEDS feeds of ITEMS items each, spread over HOSTS sites on
distinct 127.0.0.x addresses, and one article page of about 60 KB (navigation, sidebars,
scripts and a comment thread around the story) per item. The script measures, in one run:

- bare fetch: a minimal Scrapy spider that downloads every article page and does nothing
  with it, with the same concurrency: the baseline, and its CPU per page;
- wirewatch: one `crawl` of every feed, end to end (fetch, feedparser, trafilatura, match,
  SQLite with FTS), with one crawl process per core (forks of a fork server that this
  crawl starts: its start is counted);
- re-poll: a second crawl of REPOLL small feeds that all answer 304 Not Modified;

and prints a table. No network beyond 127.0.0.x.

    .venv/bin/python benchmarks/collection.py [--feeds 200] [--items 50] [--repoll 1000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import yaml

from monitor.collection import forks
from monitor.collection.cycle import AFTER_CRAWL, Aftermath, Step, run_cycle
from monitor.config import load
from monitor.demo.stories import load_stories
from monitor.newswire import Hit, Newswire, Reply

HOSTS = 20
REPO = Path(__file__).resolve().parent.parent
# Article text is drawn from the demo's stories (real sentences, so the extractor sees what
# it sees on news sites); the negative stories only, so that flags come from RELATIONS alone.
_STORIES = [story for story in load_stories()[1] if not story.about]
PARAGRAPHS = [paragraph for story in _STORIES for paragraph in story.paragraphs]
HEADLINES = [story.title for story in _STORIES]
PUBLISHED = datetime.now(UTC) - timedelta(hours=1)
# One story in ten is about the default topic, so matching and flagging are exercised too.
RELATIONS = "Putin met Kim Jong Un in Pyongyang, and Moscow promised more trade with North Korea."


def page(number: int) -> bytes:
    """An article page of about 60 KB, the same every time for the same number."""
    rng = random.Random(number)
    story = "".join(f"<p>{rng.choice(PARAGRAPHS)}</p>" for _ in range(6))
    if number % 10 == 0:
        story += f"<p>{RELATIONS}</p>"
    links = "".join(
        f'<li><a href="/other/{rng.randrange(10**6)}">{rng.choice(HEADLINES)}</a></li>'
        for _ in range(40)
    )
    comments = "".join(
        f'<div class="comment"><p>{rng.choice(PARAGRAPHS)[:120]}</p></div>' for _ in range(20)
    )
    script = "var tracking = " + repr([rng.random() for _ in range(1600)]) + ";"
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>Story {number}</title>"
        f"<script>{script}</script><style>{'.x{color:red}' * 1200}</style></head><body>"
        f"<header><nav><ul>{links[:6000]}</ul></nav></header><main><article>"
        f"<h1>Story {number}</h1>{story}</article><aside><ul>{links}</ul></aside>"
        f"<section id='comments' class='comments'>{comments}</section></main>"
        "<footer>Copyright</footer></body></html>"
    ).encode()


def feed(host: str, first: int, items: int, etag: str | None = None) -> Reply:
    entries = "".join(
        f"<item><title>Story {n}</title><link>http://{host}/a/{n}.html</link>"
        f"<guid isPermaLink='false'>s{n}</guid><description>Summary {n}</description>"
        f"<pubDate>{format_datetime(PUBLISHED)}</pubDate></item>"
        for n in range(first, first + items)
    )
    body = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>F</title>"
        f"{entries}</channel></rss>"
    )
    headers = {"Content-Type": "application/rss+xml"}
    if etag:
        headers["ETag"] = etag
    return Reply(body.encode(), headers=headers)


def serve(
    feeds: int, items: int, repoll: int, ready: multiprocessing.Event, stop: multiprocessing.Event
) -> None:
    """Run the newswire of HOSTS sites until *stop* is set."""
    wires = [Newswire(host=f"127.0.0.{10 + index}", port=8800).start() for index in range(HOSTS)]
    for number in range(feeds):
        wire = wires[number % HOSTS]
        host = wire.base_url.removeprefix("http://")
        wire.route(f"/feed/{number}.xml", feed(host, number * items, items))
    for number in range(repoll):
        wire = wires[number % HOSTS]
        host = wire.base_url.removeprefix("http://")
        wire.route(f"/small/{number}.xml", feed(host, 10**7 + number * 5, 5, etag=f'"e{number}"'))

    def article(hit: Hit) -> Reply:
        number = int(hit.path.rsplit("/", 1)[1].split(".")[0])
        return Reply(page(number), headers={"Content-Type": "text/html; charset=utf-8"})

    for wire in wires:
        wire.route_prefix("/a/", article)
    ready.set()
    stop.wait()
    for wire in wires:
        wire.stop()


BARE_SPIDER = textwrap.dedent(
    """
    import sys, scrapy
    from scrapy.crawler import CrawlerProcess
    urls = [line.strip() for line in open(sys.argv[1])]
    class Bare(scrapy.Spider):
        name = "bare"
        async def start(self):
            for url in urls:
                yield scrapy.Request(url, callback=self.parse)
        def parse(self, response):
            pass
    process = CrawlerProcess({
        "LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": False, "COOKIES_ENABLED": False,
        "CONCURRENT_REQUESTS": 64, "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "DOWNLOAD_DELAY": 0,
        "TELNETCONSOLE_ENABLED": False, "CONCURRENT_ITEMS": 1,
        # wirewatch's downloader, which holds the 8 a host under the asyncio reactor where
        # Scrapy's own hands out a host's whole queue at once: the same concurrency.
        "DOWNLOADER": "crawler.downloader.SlotHoldingDownloader",
    })
    process.crawl(Bare)
    process.start()
    """
)


def bare_fetch(urls: list[str], folder: Path) -> tuple[float, float]:
    """Return the seconds a bare Scrapy spider takes to fetch *urls*, in two processes, and
    the CPU seconds those processes used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    halves = [urls[0::2], urls[1::2]]
    started = time.monotonic()
    processes = []
    for index, half in enumerate(halves):
        listing = folder / f"urls-{index}.txt"
        listing.write_text("\n".join(half))
        processes.append(
            subprocess.Popen([sys.executable, "-c", BARE_SPIDER, str(listing)], cwd=REPO)
        )
    for process in processes:
        process.wait(timeout=3600)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def write_config(folder: Path, sources: list[dict], name: str) -> Path:
    data = {
        "archive": f"{name}.db",
        "crawl": {
            "delay": 0,
            "per_host_concurrency": 8,
            "obey_robots": False,
            "timeout": 60,
            "cycle_timeout": "2h",
            "workers": 2,
        },
        "sources": sources,
        "topics": yaml.safe_load(
            Path(__file__).resolve().parent.parent.joinpath("config.yaml").read_text()
        )["topics"],
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def timed_steps(spent: dict[str, float]) -> list[Step]:
    """Return the steps after a crawl, each adding its seconds to *spent* under its name."""

    def timing(step: Step) -> Step:
        def run(after: Aftermath) -> None:
            started = time.monotonic()
            step(after)
            spent[step.__name__] = spent.get(step.__name__, 0.0) + time.monotonic() - started

        return run

    return [timing(step) for step in AFTER_CRAWL]


def per_article(seconds: float, articles: int) -> str:
    return f"{1000 * seconds / max(articles, 1):.2f} ms ({seconds:.1f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--repoll", type=int, default=1000)
    args = parser.parse_args()
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve, args=(args.feeds, args.items, args.repoll, ready, stop)
    )
    server.start()
    if not ready.wait(timeout=120):
        server.terminate()
        sys.exit("the newswire did not start")
    try:
        with tempfile.TemporaryDirectory() as temp:
            folder = Path(temp)
            hosts = [f"127.0.0.{10 + index}:8800" for index in range(HOSTS)]
            pages = [
                f"http://{hosts[number % HOSTS]}/a/{n}.html"
                for number in range(args.feeds)
                for n in range(number * args.items, (number + 1) * args.items)
            ]
            bare_seconds, bare_cpu = bare_fetch(pages, folder)

            sources = [
                {
                    "name": f"feed-{n}",
                    "kind": "feed",
                    "url": f"http://{hosts[n % HOSTS]}/feed/{n}.xml",
                    "max_age": "3650d",
                }
                for n in range(args.feeds)
            ]
            config = load(write_config(folder, sources, "full"))
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            parent_before = time.process_time()
            spent: dict[str, float] = {}
            result = run_cycle(config, steps=timed_steps(spent))
            parent_cpu = time.process_time() - parent_before
            # The crawl children are forks of a fork server, whose CPU (its imports, and
            # its children's, which it reaps) is this process's to count once it is reaped.
            forks.close_all()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

            small = [
                {
                    "name": f"small-{n}",
                    "kind": "feed",
                    "url": f"http://{hosts[n % HOSTS]}/small/{n}.xml",
                    "full_text": False,
                    "max_age": "3650d",
                }
                for n in range(args.repoll)
            ]
            repoll_config = load(write_config(folder, small, "repoll"))
            run_cycle(repoll_config)
            started = time.monotonic()
            second = run_cycle(repoll_config)
            repoll_seconds = time.monotonic() - started
            not_modified = sum(outcome.status == "not_modified" for outcome in second.outcomes)
            forks.close_all()  # reaped, so that its children's peak is counted
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        stop.set()
        server.join(timeout=30)

    bare_rate = len(pages) / bare_seconds
    rate = result.new / result.seconds
    rows = [
        ("article pages", f"{len(pages)}"),
        ("bare Scrapy fetch (baseline)", f"{bare_seconds:.1f} s, {bare_rate:.0f} pages/s"),
        ("  its CPU per page", per_article(bare_cpu, len(pages))),
        (
            "wirewatch end to end",
            f"{result.seconds:.1f} s, {rate:.0f} articles/s "
            f"({result.new} archived, {result.flagged} flagged)",
        ),
        ("  ratio to the baseline", f"{rate / bare_rate:.2f}x"),
        ("  CPU seconds in crawl processes", f"{cpu:.1f}"),
        ("  crawl processes (wall)", f"{result.seconds - sum(spent.values()):.1f} s"),
        *((f"  after the crawl: {name}", f"{seconds:.1f} s") for name, seconds in spent.items()),
        (
            "CPU per article, every process",
            f"{per_article(cpu + parent_cpu, result.new)} (goal <= 6 ms)",
        ),
        *(
            (f"  crawl processes: {stage}", per_article(seconds, result.new))
            for stage, seconds in result.cpu_seconds.items()
        ),
        (
            "  wirewatch (parent), after the crawl included",
            per_article(parent_cpu, result.new),
        ),
        (
            f"re-poll of {args.repoll} unchanged feeds",
            f"{repoll_seconds:.1f} s ({not_modified} answered 304)",
        ),
        ("peak RSS of one crawl process", f"{peak_mb:.0f} MiB"),
        ("cores", f"{os.cpu_count()}"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
