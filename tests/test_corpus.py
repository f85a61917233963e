"""The shared real-world corpus: every real feed is collected with all its distinct entries.

The feeds are read from ``../shared/corpora`` (never copied here) and served by a local
newswire. One real crawl (a Scrapy child, via monitor.collection.cycle.run_cycle) collects all of them at
once with ``full_text: false``, so no article link (they point at real hosts) is ever fetched.
The expected count of each feed is computed here with feedparser directly.
"""

from __future__ import annotations

import csv
import gzip
import io
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

import feedparser
import pytest

from crawler.parsing.feeds import parse_feed
from crawler.parsing.model import Feed
from crawler.urls import canonical_url
from monitor.collection.cycle import run_cycle
from monitor.collection.result import CycleResult
from monitor.config import load
from monitor.newswire import Newswire, Reply

from .conftest import CORPORA, write_config

# xdist_group: one worker runs this module, so its crawl of the corpus is made once.
pytestmark = [pytest.mark.corpus, pytest.mark.xdist_group("corpus")]

if not CORPORA.is_dir():
    pytest.skip(
        f"the shared corpora folder {CORPORA} is absent (it sits beside the repository)",
        allow_module_level=True,
    )

CRAWL_TIMEOUT = 120  # seconds for the whole crawl; it takes a few
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class CorpusFile:
    """One feed file of the corpus, named by its path under ``feeds/``."""

    dest: str  # the path under CORPORA, as INDEX.tsv gives it

    @property
    def name(self) -> str:
        return self.dest.removeprefix("feeds/")

    @property
    def source(self) -> str:
        """A usable source name (letters, digits, '.', '_', '-') made from the path."""
        return self.name.replace("/", ".")

    @property
    def route(self) -> str:
        return "/" + quote(self.dest)

    def raw(self) -> bytes:
        return (CORPORA / self.dest).read_bytes()

    def body(self) -> bytes:
        """The document itself: gzip files are stored compressed, as a server would send them."""
        data = self.raw()
        return gzip.decompress(data) if data.startswith(GZIP_MAGIC) else data


def _index() -> list[dict[str, str]]:
    with (CORPORA / "INDEX.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def _is_json_feed(item: CorpusFile) -> bool:
    # feedparser 6 cannot read JSON Feed (PITFALLS: feedparser), so it gives 0 entries anyway.
    return item.dest.endswith(".json") or item.body().lstrip()[:1] == b"{"


ROWS = _index()
REAL_FEEDS = [
    CorpusFile(row["dest"])
    for row in ROWS
    if row["kind"] == "feed" and row["klass"] in ("real", "real-modified")
]
REAL_FEEDS = [item for item in REAL_FEEDS if not _is_json_feed(item)]
EDGE_FEEDS = [
    CorpusFile(row["dest"])
    for row in ROWS
    if row["kind"] == "feed" and row["klass"] in ("synthetic-edge", "real-edge")
]


def entry_link(entry: Any, base: str) -> str | None:
    """Return an entry's link, resolved against the feed's URL, or its permalink GUID."""
    link = (entry.get("link") or "").strip()
    guid = (entry.get("id") or "").strip()
    if not link and guid.startswith(("http://", "https://")):
        link = guid
    return urljoin(base, link) if link else None


def identities(entries: list[Any], base: str, source: str) -> set[str]:
    """Return the distinct identities of a feed's entries, by the rule the README states.

    An entry is known by its link (tracking tags stripped) when no other entry of the feed
    has that link; entries that share one link (podcast episodes that all point home, posts
    that are anchors of one day's page) are known by their GUID, else by their text. Written
    here from that rule, not taken from crawler.identity, so the two can disagree.
    """
    links = [entry_link(entry, base) for entry in entries]
    counts = Counter(canonical_url(link) for link in links if link)
    keys = set()
    for entry, link in zip(entries, links, strict=True):
        if link and counts[canonical_url(link)] == 1:
            keys.add(canonical_url(link))
            continue
        guid = (entry.get("id") or "").strip()
        text = (entry.get("title") or "", entry.get("summary") or "")
        if guid or any(part.strip() for part in text):
            keys.add(f"{source}|{guid}" if guid else f"{source}|{text}")
    return keys


@dataclass(frozen=True)
class Expectation:
    """What feedparser reads from one feed: its distinct entries, and the URLs they map to."""

    entries: int
    distinct: int
    keys: frozenset[str]  # the keys of entries another feed can share: their links


def expect(item: CorpusFile, url: str) -> Expectation:
    parsed = feedparser.parse(io.BytesIO(item.body()))
    keys = identities(parsed.entries, url, item.source)
    links = frozenset(key for key in keys if key.startswith("http"))
    return Expectation(len(parsed.entries), len(keys), links)


@dataclass
class CorpusCrawl:
    """One crawl of every real feed, and what the archive holds afterwards."""

    result: CycleResult
    expected: dict[CorpusFile, Expectation]
    rows: list[tuple[str, str, str | None]]  # (source, key, extract_error) of every article
    hits: list[str]  # the paths the newswire was asked for
    log: str

    def own(self, item: CorpusFile) -> int:
        return sum(source == item.source for source, _, _ in self.rows)

    def shared(self, item: CorpusFile) -> int:
        """How many of this feed's entries were archived under another feed that had them too.

        The archive stores a story once (``articles.key`` is unique across sources), so
        where two corpus feeds carry the same stories (tpm.atom and its two variants,
        large_atom.xml and large_rss.xml, ...) only one of them, whichever the crawl read
        first, is credited. Those entries were still collected.
        """
        keys = self.expected[item].keys
        return len({key for source, key, _ in self.rows if source != item.source and key in keys})


@pytest.fixture(scope="module")
def corpus_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusCrawl]:
    """Serve every real feed from one newswire and crawl them all once."""
    # Module scope: the conftest `newswire` fixture is per test, this crawl is per module.
    with Newswire() as wire:
        expected: dict[CorpusFile, Expectation] = {}
        for item in REAL_FEEDS:
            expectation = expect(item, wire.url(item.route))
            if expectation.distinct == 0:
                continue  # feedparser reads nothing from it: not part of the requirement
            expected[item] = expectation
            raw = item.raw()
            headers = {"Content-Type": "application/xml"}
            if raw.startswith(GZIP_MAGIC):
                headers["Content-Encoding"] = "gzip"
            wire.route(item.route, Reply(raw, headers=headers))
        folder = tmp_path_factory.mktemp("corpus")
        path = write_config(
            folder,
            [
                {
                    "name": item.source,
                    "url": wire.url(item.route),
                    "full_text": False,  # the entries link to real hosts: never fetch them
                    "obey_robots": False,
                }
                for item in expected
            ],
            crawl={"obey_robots": False, "per_host_concurrency": 16, "timeout": 30},
        )
        config = load(path)
        log_path = folder / "crawl.log"
        with log_path.open("w", encoding="utf-8") as log:
            result = run_cycle(config, timeout=CRAWL_TIMEOUT, log_stream=log)
        hits = [hit.path for hit in wire.hits]
    with sqlite3.connect(config.archive) as db:
        rows = db.execute("SELECT source, key, extract_error FROM articles").fetchall()
    yield CorpusCrawl(result, expected, rows, hits, log_path.read_text(encoding="utf-8"))


def test_corpus_has_real_feeds_and_edge_cases() -> None:
    assert len(REAL_FEEDS) >= 100, f"only {len(REAL_FEEDS)} real feeds in {CORPORA}/INDEX.tsv"
    assert len(EDGE_FEEDS) >= 100, f"only {len(EDGE_FEEDS)} edge feeds in {CORPORA}/INDEX.tsv"
    assert len({item.source for item in REAL_FEEDS}) == len(REAL_FEEDS), "source names clash"


def test_corpus_crawl_runs_and_reads_every_feed(corpus_crawl: CorpusCrawl) -> None:
    result = corpus_crawl.result
    assert result.status == "ok", (
        f"the crawl ended {result.status}: {result.error}\n{corpus_crawl.log[-3000:]}"
    )
    problems = [
        f"{outcome.source}: {outcome.status} {outcome.error_class or ''} {outcome.error or ''}"
        for outcome in result.outcomes
        if outcome.status != "ok"
    ]
    assert not problems, f"{len(problems)} sources were not collected:\n" + "\n".join(problems)


def test_corpus_crawl_requests_only_the_feeds_on_the_newswire(corpus_crawl: CorpusCrawl) -> None:
    # With full_text false no article link is followed: each feed is fetched once, nothing else
    # (no robots.txt, no page), and no article records a failed page fetch.
    extra = Counter(corpus_crawl.hits) - Counter(item.route for item in corpus_crawl.expected)
    missing = {item.route for item in corpus_crawl.expected} - set(corpus_crawl.hits)
    assert not extra, f"requests beyond one per feed: {dict(extra)}"
    assert not missing, f"feeds never requested: {sorted(missing)}"
    tried = [(source, key, error) for source, key, error in corpus_crawl.rows if error]
    assert not tried, f"{len(tried)} articles tried to fetch a page, e.g. {tried[:5]}"


@pytest.mark.parametrize("item", REAL_FEEDS, ids=lambda item: item.name)
def test_real_feed_is_collected_with_all_its_distinct_entries(
    corpus_crawl: CorpusCrawl, item: CorpusFile
) -> None:
    expectation = corpus_crawl.expected.get(item)
    if expectation is None:
        pytest.skip(f"feedparser reads no entries from {item.dest}")
    own, shared = corpus_crawl.own(item), corpus_crawl.shared(item)
    outcome = next(o for o in corpus_crawl.result.outcomes if o.source == item.source)
    assert own + shared == expectation.distinct, (
        f"{item.dest}: feedparser reads {expectation.entries} entries, "
        f"{expectation.distinct} distinct; the archive holds {own} under this source "
        f"and {shared} more under other sources with the same stories "
        f"(run outcome: {outcome.status}, {outcome.entries} entries read, "
        f"{outcome.error_class or ''} {outcome.error or ''})"
    )


@pytest.mark.parametrize("item", EDGE_FEEDS, ids=lambda item: item.name)
def test_edge_feed_never_raises_and_never_drops_entries_silently(item: CorpusFile) -> None:
    """parse_feed gives entries, or a FeedProblem, or nothing for a feed that has nothing.

    A well-formed feed with no entries at all (most of feedparser's encoding cases) is an
    empty feed, not a problem; entries with no link, title or text (only an enclosure, say)
    are skipped with a warning; no entry that has something to collect vanishes silently.
    """
    # A gzip file is tried as stored (a server that forgot Content-Encoding) and unpacked.
    bodies = {"as stored": item.raw()}
    if bodies["as stored"].startswith(GZIP_MAGIC):
        bodies["unpacked"] = item.body()
    for label, body in bodies.items():
        feed = parse_feed(body, url="http://127.0.0.1/" + item.dest, content_type=None)
        assert isinstance(feed, Feed)
        if feed.entries or feed.problem is not None:
            continue
        if feed.warning and "were skipped" in feed.warning:
            continue  # entries with nothing to collect, skipped and said so
        read = len(feedparser.parse(io.BytesIO(body)).entries)
        assert read == 0, (
            f"{item.dest} ({label}): feedparser reads {read} entries, parse_feed returns "
            f"no entries and no problem (warning: {feed.warning})"
        )


KNOWN_ERRORS = {"not_a_feed", "malformed", "empty", "too_large", "http", "bot_wall"}


def test_every_edge_case_feed_is_collected_or_recorded_in_one_cycle(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The malformed, truncated and mis-encoded cases, all in one crawl: none stops it."""
    with Newswire() as wire:
        for item in EDGE_FEEDS:
            wire.route(item.route, Reply(item.raw(), headers={"Content-Type": "application/xml"}))
        folder = tmp_path_factory.mktemp("edge")
        path = write_config(
            folder,
            [
                {"name": item.source, "url": wire.url(item.route), "full_text": False}
                for item in EDGE_FEEDS
            ],
            crawl={"obey_robots": False, "per_host_concurrency": 16},
        )
        result = run_cycle(load(path), timeout=CRAWL_TIMEOUT)
    assert result.status == "ok", result.error
    unexpected = [
        f"{outcome.source}: {outcome.status} {outcome.error_class}: {outcome.error}"
        for outcome in result.outcomes
        if not (
            outcome.status == "ok"
            or (outcome.status == "failed" and outcome.error_class in KNOWN_ERRORS)
        )
    ]
    assert not unexpected, "\n".join(unexpected)
    read = sum(outcome.status == "ok" for outcome in result.outcomes)
    assert read > len(EDGE_FEEDS) // 2  # most edge cases are defects a reader must survive
