"""Measure how fast wirewatch reads real feeds, against feedparser reading the same bytes.

The feeds are the real RSS and Atom documents of ``../shared/corpora`` (``INDEX.tsv`` rows of
kind ``feed`` and class ``real`` or ``real-modified``; JSON Feed is left out, since feedparser
cannot read it). Each document is read, in alternating rounds, by:

* ``feedparser`` (the baseline): ``feedparser.parse`` with its defaults, which sanitise every
  entry's HTML and resolve the links inside it;
* ``wirewatch``: ``crawler.parsing.feeds.parse_feed``, as a crawl reads a feed: the bytes made
  into UTF-8, the DTD subset removed, feedparser without sanitising, then each entry's title
  and summary cut down to plain text.

The figures are CPU seconds of this process (``time.process_time``), the median of the
rounds. Nothing is written and no network is used.

Run from the repository root::

    .venv/bin/python benchmarks/feeds.py [--corpus PATH] [--rounds N]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser

from crawler.parsing.feeds import parse_feed

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora"
GZIP_MAGIC = b"\x1f\x8b"
URL = "http://127.0.0.1/feed.xml"


def real_feeds(corpus: Path) -> list[bytes]:
    """Return the body of every real RSS or Atom feed the corpus's index lists."""
    with (corpus / "INDEX.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    bodies = []
    for row in rows:
        if row["kind"] != "feed" or row["klass"] not in ("real", "real-modified"):
            continue
        data = (corpus / row["dest"]).read_bytes()
        if data.startswith(GZIP_MAGIC):
            data = gzip.decompress(data)
        if row["dest"].endswith(".json") or data.lstrip()[:1] == b"{":
            continue
        bodies.append(data)
    return bodies


def with_feedparser(body: bytes) -> int:
    parsed: Any = feedparser.parse(io.BytesIO(body), response_headers={"content-location": URL})
    return len(parsed.entries)


def with_wirewatch(body: bytes) -> int:
    return len(parse_feed(body, url=URL).entries)


def cpu_of(read: Callable[[bytes], int], bodies: list[bytes]) -> tuple[float, int]:
    started = time.process_time()
    entries = sum(read(body) for body in bodies)
    return time.process_time() - started, entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not (args.corpus / "INDEX.tsv").is_file():
        raise SystemExit(f"no corpus at {args.corpus}: pass --corpus PATH (../shared/corpora)")
    bodies = real_feeds(args.corpus)
    readers = {"feedparser": with_feedparser, "wirewatch": with_wirewatch}
    seconds: dict[str, list[float]] = {name: [] for name in readers}
    entries: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, read in readers.items():
            cpu, entries[name] = cpu_of(read, bodies)
            seconds[name].append(cpu)
    size = sum(len(body) for body in bodies)
    print(f"{'real feeds':<40}{len(bodies)} ({size / 1e6:.1f} MB)")
    base = statistics.median(seconds["feedparser"])
    for name in readers:
        median = statistics.median(seconds[name])
        print(
            f"{name:<40}{median:.2f} CPU-s, {1000 * median / len(bodies):.1f} ms a feed, "
            f"{median / base:.2f}x, {entries[name]} entries"
        )
    print(f"{'rounds':<40}{args.rounds}")


if __name__ == "__main__":
    main()
