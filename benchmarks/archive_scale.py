"""Archive at scale: review queries and web pages on an archive of a million articles.

The script generates an archive of ARTICLES articles through the project's own schema
(Archive.open runs the migrations), then bulk-loads it the way a year of crawling would
have filled it: 90 sources in English, Russian and Korean, dates spread over a year and
growing towards now, wire copies clustered into stories, about 2% flagged with their flags
rows, marks on some flagged stories, tombstones and LSH bands for the last 14 days. The
normalised ``search`` column holds what monitor.wordforms.search_text gives, as in the
real write path (a sample is checked against it), and the FTS index is rebuilt from the
same columns with the same tokenizer. Article text is drawn from the labelled stories in
tests/data and the demo's stories. Evidence pages (``pages``) are left out: no review
query reads them, and they would triple the file. The demo's sample sanctions lists are
loaded, and one flagged story in 50 is recorded as naming their vessel.

It then measures, in one run:

- ``wirewatch flagged --since 24h`` and ``wirewatch search QUERY`` as CLI subprocesses
  (with a config, written beside the archive, that gives each source a role),
  and the same queries in-process (monitor.review.flagged, monitor.search.search);
- ``flagged --sanctioned``, ``timeline --since 90d`` and ``changes --since 30d``;
- baselines: ``wirewatch --version`` (start-up) and ``SELECT count(*) FROM articles``;
- ``wirewatch serve --port 0``: the home page, the flagged stories, a full-text search, a
  facet page, the articles table, the Atom feed, the inbox at /flagged (all, unreviewed, a
  search, the stories naming a sanctioned entry) and a story page (alone, and walking the
  unreviewed inbox), against
  ``/-/versions.json`` as the baseline page;

each as the median of REPEAT runs, on the big archive and on a small one (SMALL articles)
generated the same way, and prints one table. Only 127.0.0.1 is used.

    .venv/bin/python benchmarks/archive_scale.py [--articles 1000000] [--folder DIR]
        [--repeat 5] [--small 10000] [--query "Kursk troops"]

With --folder the archives are kept there and reused by the next run (which then skips
generating them); without it they go to a temporary folder under /tmp, deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.archive import Archive, content_hash
from monitor.archive.schema import RANKED_FLAGGED_STORIES
from monitor.clusters import BANDS
from monitor.demo.stories import load_stories
from monitor.review import Filters, flagged
from monitor.search import search
from monitor.timeutil import to_text
from monitor.wordforms import search_text

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "data" / "russia_dprk_labelled.jsonl"
SOURCES = {"en": 54, "ru": 18, "ko": 18}  # 90 outlets
YEAR = timedelta(days=365)
LSH_WINDOW = timedelta(days=14)  # monitor.clusters.WINDOW: older bands are dropped
COPY_SHARE = 0.08  # articles that are another outlet's copy of a recent wire story
FLAG_SHARE = 0.02  # stories a topic flags
MARK_SHARE = 0.3  # flagged stories an analyst has marked
UNDATED_SHARE = 0.05  # articles whose source gave no date: their date is when fetched
PARAGRAPHS = (8, 24)  # paragraphs per article: about 330 words in English
BATCH = 20_000  # articles per transaction
TIMEOUT = 600  # seconds for any one subprocess or page
START_TIMEOUT = 120  # seconds for `wirewatch serve` to listen


# Text ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """Paragraphs and headlines of one language, each with its normalised search words."""

    paragraphs: list[tuple[str, str]]
    titles: list[tuple[str, str]]
    topical: list[tuple[str, str]]  # headlines of stories about the default topic


def load_pools() -> dict[str, Pool]:
    """Read the labelled stories and the demo's stories into one text pool per language."""
    paragraphs: dict[str, set[str]] = {"en": set(), "ru": set(), "ko": set()}
    titles: dict[str, set[str]] = {"en": set(), "ru": set(), "ko": set()}
    topical: dict[str, set[str]] = {"en": set(), "ru": set(), "ko": set()}
    for line in LABELLED.read_text("utf-8").splitlines():
        story = json.loads(line)
        language = story["lang"]
        paragraphs[language].update(p.strip() for p in story["body"].split("\n") if p.strip())
        titles[language].add(story["title"])
        if story["label"]:
            topical[language].add(story["title"])
    sites, stories = load_stories()
    languages = {site.name: site.language for site in sites}
    for demo in stories:
        language = languages[demo.site]
        paragraphs[language].update(demo.paragraphs)
        titles[language].add(demo.title)
        if demo.about:
            topical[language].add(demo.title)

    def normalised(texts: set[str]) -> list[tuple[str, str]]:
        pairs = [(text, search_text(text)) for text in sorted(texts)]
        return [(text, words) for text, words in pairs if words]  # a text with no words adds none

    return {
        language: Pool(
            normalised(paragraphs[language]),
            normalised(titles[language]),
            normalised(topical[language]),
        )
        for language in paragraphs
    }


# Generation ----------------------------------------------------------------------------


@dataclass
class Generated:
    articles: int
    flagged: int
    last_day: int
    last_day_flagged: int
    seconds: float
    size: int
    created: datetime


def source_names() -> list[tuple[str, str]]:
    """Return the (name, language) of each outlet."""
    return [
        (f"{language}-outlet-{number:02d}", language)
        for language, count in SOURCES.items()
        for number in range(count)
    ]


def article_times(count: int, now: datetime, rng: random.Random) -> list[datetime]:
    """Return *count* fetch times over the last year, oldest first, denser towards now.

    Outlets were added over the year, so the rate grows linearly: the last day holds about
    twice the daily mean.
    """
    start = now - YEAR
    fractions = sorted(math.sqrt(rng.random()) for _ in range(count))
    return [start + YEAR * fraction for fraction in fractions]


def generate(path: Path, count: int, seed: int = 7) -> Generated:
    """Create the archive at *path* with *count* articles; return what it holds."""
    started = time.monotonic()
    rng = random.Random(seed)
    pools = load_pools()
    now = datetime.now(UTC).replace(microsecond=0)
    sources = source_names()
    with Archive.open(path) as archive:
        db = archive.db
        db.execute("PRAGMA synchronous = OFF")  # a benchmark fixture: no crash to survive
        db.execute("PRAGMA cache_size = -262144")  # 256 MiB
        conn = db.conn
        # The FTS triggers index one row at a time, which costs five times the rest of the
        # load; they are set aside during it, and the index is rebuilt from the same columns
        # with the same tokenizer at the end, then the very same triggers are put back.
        triggers = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'articles'"
        ).fetchall()
        for name, _ in triggers:
            db.execute(f"DROP TRIGGER [{name}]")
        with archive.writing():
            conn.executemany(
                "INSERT INTO sources (name, kind, url, last_attempt, last_success, failures, "
                "next_due) VALUES (?, 'feed', ?, ?, ?, 0, ?)",
                [
                    (name, f"https://{name}.example/rss.xml", to_text(now), to_text(now),
                     to_text(now + timedelta(minutes=10)))
                    for name, _ in sources
                ],
            )  # fmt: skip
            hours = int(YEAR.total_seconds() // 3600) + 1
            conn.executemany(
                "INSERT INTO runs (id, started, finished, status, sources, new, flagged, failed) "
                "VALUES (?, ?, ?, 'ok', '[]', 0, 0, 0)",
                [
                    (
                        hour + 1,
                        to_text(now - YEAR + timedelta(hours=hour)),
                        to_text(now - YEAR + timedelta(hours=hour, minutes=2)),
                    )
                    for hour in range(hours)
                ],
            )
        times = article_times(count, now, rng)
        # Recent original stories per language (id, title, body, search, flagged): copies
        # come within hours of the original, from outlets in its language.
        recent: dict[str, list[tuple[int, str, str, str, bool]]] = {lang: [] for lang in SOURCES}
        flagged_stories: list[tuple[int, datetime]] = []
        flagged_articles = last_day = last_day_flagged = 0
        terms = json.dumps(
            [
                {"entity": entity, "alias": alias, "field": "body", "start": 40 * n,
                 "end": 40 * n + len(alias)}
                for n, (entity, alias) in enumerate(
                    [("russia", "Moscow"), ("dprk", "Pyongyang"), ("russia", "Putin"),
                     ("dprk", "Kim Jong Un"), ("interaction", "visit"), ("russia", "Kremlin"),
                     ("dprk", "North Korea"), ("interaction", "treaty")]
                )
            ]
        )  # fmt: skip
        rules = json.dumps(["sentence", "pair"])
        checked = 0
        for first in range(0, count, BATCH):
            rows: list[tuple[Any, ...]] = []
            seen: list[tuple[Any, ...]] = []
            flags: list[tuple[Any, ...]] = []
            lsh: list[tuple[int, int, int]] = []
            for offset, fetched_at in enumerate(times[first : first + BATCH]):
                article_id = first + offset + 1
                name, language = sources[rng.randrange(len(sources))]
                pool = pools[language]
                originals = recent[language]
                if originals and rng.random() < COPY_SHARE:
                    original = originals[rng.randrange(len(originals))]
                    cluster_id, title, body, words, is_flagged = original
                    cluster: int | None = cluster_id
                else:
                    is_flagged = rng.random() < FLAG_SHARE
                    headline, title_words = rng.choice(pool.topical if is_flagged else pool.titles)
                    chosen = rng.choices(pool.paragraphs, k=rng.randint(*PARAGRAPHS))
                    title = headline
                    body = "\n".join(text for text, _ in chosen)
                    words = " ".join([title_words, *(w for _, w in chosen)])
                    cluster = None
                fetched = to_text(fetched_at)
                published = (
                    None
                    if rng.random() < UNDATED_SHARE
                    else to_text(fetched_at - timedelta(minutes=rng.randint(1, 90)))
                )
                url = f"https://{name}.example/news/{article_id}"
                rows.append(
                    (
                        article_id, url, url, f"urn:{name}:{article_id}", name, title,
                        body[:300], body, published,
                        fetched_at.strftime("%a, %d %b %Y %H:%M:%S +0000") if published else None,
                        fetched, language, content_hash(body), None,
                        int((fetched_at - (now - YEAR)).total_seconds() // 3600) + 1,
                        language, words, cluster or article_id,
                    )
                )  # fmt: skip
                seen.append((url, name, article_id, fetched))
                if is_flagged:
                    flagged_articles += 1
                    score = round(rng.uniform(4, 45) * 4) / 4
                    snippet = body.split("\n", 1)[0][:240]
                    flags.append(
                        (article_id, "russia-dprk", score, 4.0, "russia NEAR/sentence dprk",
                         rules, terms, snippet, fetched)
                    )  # fmt: skip
                    if cluster is None:
                        flagged_stories.append((article_id, fetched_at))
                if now - fetched_at < timedelta(days=1):
                    last_day += 1
                    last_day_flagged += is_flagged
                if now - fetched_at < LSH_WINDOW:
                    lsh.extend(
                        (band, rng.getrandbits(63) - 2**62, article_id) for band in range(BANDS)
                    )
                if cluster is None:
                    originals.append((article_id, title, body, words, is_flagged))
                    if len(originals) > 200:
                        originals.pop(0)
                if checked < 200 and rng.random() < 0.01:
                    # The search column must be what the real write path writes.
                    assert words == search_text(title, body), f"search text differs: {title}"
                    checked += 1
            with archive.writing():
                conn.executemany(
                    "INSERT INTO articles (id, key, url, guid, source, title, summary, body, "
                    "published, published_raw, fetched, language, content_hash, extract_error, "
                    "run_id, declared_language, search, cluster_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                conn.executemany(
                    "INSERT INTO seen (key, source, article_id, first_seen, reason) "
                    "VALUES (?, ?, ?, ?, 'archived')",
                    seen,
                )
                conn.executemany(
                    "INSERT INTO flags (article_id, topic, score, threshold, rule, rules, terms, "
                    "snippet, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    flags,
                )
                conn.executemany("INSERT INTO lsh (band, hash, article_id) VALUES (?, ?, ?)", lsh)
            archive.checkpoint()
            done = min(first + BATCH, count)
            if count >= 10 * BATCH and done % (10 * BATCH) == 0:
                print(
                    f"  {done:,} articles in {time.monotonic() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        with archive.writing():
            db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
            for _, sql in triggers:
                db.execute(sql)
        archive.checkpoint()
        marks = []
        for article_id, fetched_at in flagged_stories:
            if rng.random() < MARK_SHARE:
                label = rng.choice(["relevant", "relevant", "irrelevant", "follow-up"])
                when = min(now, fetched_at + timedelta(minutes=rng.randint(5, 600)))
                marks.append((article_id, label, None, "analyst", to_text(when)))
        with archive.writing():
            conn.executemany(
                "INSERT INTO marks (article_id, label, note, marked_by, created) "
                "VALUES (?, ?, ?, ?, ?)",
                marks,
            )
        archive.checkpoint()
    (path.parent / f"{path.stem}.json").write_text(json.dumps({"created": to_text(now)}))
    return Generated(
        articles=count,
        flagged=flagged_articles,
        last_day=last_day,
        last_day_flagged=last_day_flagged,
        seconds=time.monotonic() - started,
        size=path.stat().st_size,
        created=now,
    )


def prepare(folder: Path, count: int) -> tuple[Path, str]:
    """Return the archive of *count* articles in *folder*, generating it if it is not there,
    and a line saying how it was made."""
    path = folder / f"archive-{count}.db"
    meta = folder / f"archive-{count}.json"
    if path.exists() and meta.exists():
        created = json.loads(meta.read_text())["created"]
        with Archive.open(path, create=False) as archive:  # brings the schema up to date
            name_sanctioned(archive)
        size = path.stat().st_size
        return path, f"reused {path} (made {created}), {size / 2**30:.2f} GiB"
    for stale in folder.glob(f"archive-{count}.db*"):
        stale.unlink()
    made = generate(path, count)
    with Archive.open(path, create=False) as archive:
        name_sanctioned(archive)
    return path, (
        f"generated {count:,} articles in {made.seconds:.0f} s, {made.size / 2**30:.2f} GiB: "
        f"{made.flagged:,} flagged; {made.last_day:,} in the last 24 h, "
        f"{made.last_day_flagged} of them flagged"
    )


SANCTIONED_EVERY = 50  # one flagged story in this many names an entry of the sample lists


def name_sanctioned(archive: Archive) -> None:
    """Load the demo's sample sanctions lists, and record that one flagged story in
    SANCTIONED_EVERY names its vessel, as matching would have; once per archive.

    The lists and hits are written directly, as the rest of the archive is: matching a
    million articles' text (15 minutes here) would time the matcher, not the pages and
    commands that read its hits.
    """
    from monitor.sanctions import read

    if archive.db.execute("SELECT count(*) FROM sanction_entries").fetchone()[0]:
        return
    folder = Path(__file__).resolve().parent.parent / "monitor" / "demo" / "sanctions"
    entries = [(entry, path.name) for path in sorted(folder.glob("*.xml"))
               for entry in read(path.read_bytes())]  # fmt: skip
    vessel = next(entry.key for entry, _ in entries if entry.imo)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with archive.writing() as db:
        for entry, file in entries:
            db.execute(
                "INSERT INTO sanction_entries (key, list, kind, name, programs, imo, file, "
                "loaded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [entry.key, entry.list, entry.kind, entry.name, json.dumps(entry.programs),
                 json.dumps(entry.imo), file, now],
            )  # fmt: skip
            for name in entry.names():
                db.execute("INSERT OR IGNORE INTO sanction_names (entry, name) VALUES (?, ?)",
                           [entry.key, name])  # fmt: skip
        db.execute("INSERT INTO sanction_scan (id, last_article_id) "
                   "SELECT 1, coalesce(max(id), 0) FROM articles")  # fmt: skip
        db.execute(
            "INSERT OR IGNORE INTO sanction_hits (article_id, entry, matched) "
            f"SELECT article_id, ?, 'IMO' FROM flag_stories WHERE rowid % {SANCTIONED_EVERY} = 0",
            [vessel],
        )


# Measuring -----------------------------------------------------------------------------


def median_of(repeat: int, run: Callable[[], object]) -> float:
    """Return the median seconds of *repeat* calls of *run*, after one call to warm up."""
    run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


ROLES = ("wire", "ru-state", "kp-state", "kr-media", "independent", "world")


def config_for(archive: Path) -> Path:
    """Write the config the CLI and serve read *archive* with: its 90 sources, each with a
    role (in turn), so that readouts and the timeline have roles to tell apart."""
    import yaml

    path = archive.with_suffix(".config.yaml")
    data = {
        "archive": str(archive),
        "roles": {role: f"the {role} outlets" for role in ROLES},
        "sources": [
            {"name": name, "url": f"http://127.0.0.1:9/{name}.xml", "kind": "feed",
             "role": ROLES[number % len(ROLES)]}
            for number, (name, _) in enumerate(source_names())
        ],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def command(archive: Path, *args: str) -> Callable[[], object]:
    """Return a call that runs ``wirewatch --config CONFIG ARGS`` on *archive* and checks it
    succeeds."""
    wirewatch = Path(sys.executable).with_name("wirewatch")
    argv = [str(wirewatch), "--config", str(config_for(archive)), *args]

    def run() -> object:
        done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: exit {done.returncode}: {done.stderr!r}")
        return done

    return run


@contextmanager
def served(archive: Path) -> Iterator[str]:
    """Run ``wirewatch serve --port 0`` on *archive*; yield its base URL."""
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("wirewatch")), "--config", str(config_for(archive)),
         "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            match = re.search(r" at (http://\S+/) ", line)
            if match:
                found.append(match.group(1))
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(START_TIMEOUT) or not found:
            raise RuntimeError("wirewatch serve did not start")
        yield found[0]
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
        reader.join(30)


def page(url: str, failures: set[str], name: str) -> Callable[[], object]:
    """Return a call that GETs *url* in full; a page that is not 200 adds *name* to *failures*.

    Datasette answers 400 when a query runs past its sql_time_limit_ms; the time to that
    answer is still timed.
    """

    def run() -> object:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # 127.0.0.1 only
                return response.read()
        except urllib.error.HTTPError as error:
            error.read()
            failures.add(f"{name}: HTTP {error.code}")
            return None

    return run


@dataclass
class Figures:
    """The median seconds of each measure on one archive, by name."""

    values: dict[str, float]
    matches: dict[str, int]
    failures: set[str]


def measure(archive: Path, queries: list[str], repeat: int) -> Figures:
    """Time the CLI, the queries in-process and the web pages on *archive*."""
    values: dict[str, float] = {}
    matches: dict[str, int] = {}
    failures: set[str] = set()
    values["cli:--version"] = median_of(repeat, command(archive, "--version"))
    values["cli:flagged"] = median_of(repeat, command(archive, "flagged", "--since", "24h"))
    values["cli:flagged --sanctioned"] = median_of(
        repeat, command(archive, "flagged", "--sanctioned")
    )
    values["cli:timeline --since 90d"] = median_of(
        repeat, command(archive, "timeline", "--since", "90d", "--format", "json")
    )
    values["cli:changes --since 30d"] = median_of(
        repeat, command(archive, "changes", "--since", "30d", "--format", "json")
    )
    for query in queries:
        values[f"cli:search {query}"] = median_of(repeat, command(archive, "search", query))
    with Archive.open(archive, create=False) as opened:
        count = "SELECT count(*) FROM articles"
        values["sql:count"] = median_of(repeat, lambda: opened.db.execute(count).fetchone())

        def since() -> Filters:
            return Filters(since=datetime.now(UTC) - timedelta(hours=24))

        values["sql:flagged"] = median_of(repeat, lambda: flagged(opened, since(), limit=50))
        matches["flagged"] = flagged(opened, since(), limit=50)[1]
        for query in queries:

            def searching(query: str = query) -> object:
                return search(opened, query, Filters(), limit=50)

            values[f"sql:search {query}"] = median_of(repeat, searching)
            matches[f"search {query}"] = search(opened, query, Filters(), limit=50)[1]
        # The seven queries a Datasette page of flagged stories runs (rows, count, five
        # facets), on the view as it is and on the view as it was before flag_stories.
        for name, view in (
            ("now", "SELECT * FROM flagged_stories"),
            ("ranked", RANKED_FLAGGED_STORIES),
        ):
            statements = page_queries(view)

            def page_of(statements: list[str] = statements) -> object:
                return [opened.db.execute(sql).fetchall() for sql in statements]

            values[f"sql:stories page {name}"] = median_of(repeat, page_of)
        source = opened.db.execute("SELECT min(name) FROM sources").fetchone()[0]
        # A story halfway down a day's list: its page walks the list from there.
        story = opened.db.execute(
            "SELECT article_id FROM flag_stories ORDER BY date DESC LIMIT 1 OFFSET 25"
        ).fetchone()[0]
    with served(archive) as base:
        for name, path in web_pages(queries[0], source, story):
            values[f"web:{name}"] = median_of(repeat, page(base + path, failures, name))
    return Figures(values, matches, failures)


def page_queries(view: str) -> list[str]:
    """The statements of one flagged-stories page over *view*: rows, count and facets."""
    facets = ("topic", "source", "language", "label", "day")
    return [
        f"SELECT * FROM ({view}) ORDER BY date DESC LIMIT 51",
        f"SELECT count(*) FROM ({view})",
        *(f"SELECT {c}, count(*) FROM ({view}) GROUP BY {c} ORDER BY 2 DESC LIMIT 31"
          for c in facets),
    ]  # fmt: skip


def web_pages(query: str, source: str, story: int) -> list[tuple[str, str]]:
    """Return the (name, path) of each page timed, the baseline first."""
    search_path = "archive/flagged_stories?" + urllib.parse.urlencode({"_search": query})
    unreviewed = "/flagged?label=unreviewed"
    return [
        ("/-/versions.json", "-/versions.json"),
        ("home page", ""),
        ("flagged stories", "archive/flagged_stories"),
        (f"search {query!r}", search_path),
        (f"facet source={source}", f"archive/flagged_stories?source={source}"),
        ("last 24 hours", "archive/last_24h"),
        ("articles table", "archive/articles"),
        ("Atom feed", "archive/flagged_atom.atom"),
        ("inbox /flagged", "flagged"),
        ("inbox, unreviewed", unreviewed.lstrip("/")),
        (f"inbox, search {query!r}", "flagged?" + urllib.parse.urlencode({"q": query})),
        ("inbox, sanctioned", "flagged?sanctioned=1"),
        ("story page", f"story/{story}"),
        ("story page, from the unreviewed inbox",
         f"story/{story}?" + urllib.parse.urlencode({"next": unreviewed})),
    ]  # fmt: skip


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"


def ratio(seconds: float, baseline: float) -> str:
    """Return *seconds* as a multiple of *baseline*; none of a baseline under 0.5 ms."""
    return f"{seconds / baseline:,.1f}x" if baseline >= 0.0005 else "-"


def report(big: Figures, small: Figures | None, sizes: tuple[int, int | None]) -> None:
    """Print one table: each measure on both archives, with its ratio to its baseline."""
    baselines = {"cli": "cli:--version", "sql": "sql:count", "web": "web:/-/versions.json"}
    rows = [["measure", f"{sizes[0]:,} articles", "ratio", "", ""]]
    if small is not None:
        rows[0][3:] = [f"{sizes[1]:,} articles", "ratio"]
    labels = {
        "cli:--version": "CLI: wirewatch --version (baseline)",
        "cli:flagged": "CLI: flagged --since 24h",
        "sql:count": "query: SELECT count(*) FROM articles (baseline)",
        "sql:flagged": "query: review.flagged, since 24h",
        "sql:stories page now": "query: a flagged-stories page's 7 queries, flag_stories",
        "sql:stories page ranked": "query: the same, ranking every flag (before 0008)",
        "web:/-/versions.json": "web: /-/versions.json (baseline)",
    }
    for key, seconds in big.values.items():
        kind, name = key.split(":", 1)
        label = labels.get(key) or {"cli": f"CLI: {name}", "sql": f"query: {name}"}.get(
            kind, f"web: {name}"
        )
        base = baselines[kind]
        row = [label, milliseconds(seconds), ratio(seconds, big.values[base]), "", ""]
        if small is not None and key in small.values:
            other = small.values[key]
            row[3:] = [milliseconds(other), ratio(other, small.values[base])]
        rows.append(row)
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [row[c].rjust(widths[c]) for c in range(1, 5)]
        print("  ".join(cells).rstrip())
    print()
    for name, found in big.matches.items():
        line = f"{name}: {found:,} rows on the big archive"
        if small is not None:
            line += f", {small.matches[name]:,} on the small one"
        print(line)
    for label, figures in (("big", big), ("small", small)):
        for failure in sorted(figures.failures if figures else ()):
            print(f"failed on the {label} archive: {failure} (the time to that answer is shown)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000, help="0 to skip the small archive")
    parser.add_argument("--folder", type=Path, help="keep the archives here, and reuse them")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--query",
        action="append",
        help="a search to time (repeatable); default: a selective and a broad two-word query",
    )
    args = parser.parse_args()
    queries = args.query or ["Vostochny cosmodrome", "Kursk troops"]
    folder = args.folder or Path(tempfile.mkdtemp(prefix="wirewatch-scale-", dir="/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        big, made = prepare(folder, args.articles)
        print(f"big archive: {made}", flush=True)
        small_path = None
        if args.small:
            small_path, made = prepare(folder, args.small)
            print(f"small archive: {made}", flush=True)
        big_figures = measure(big, queries, args.repeat)
        small_figures = measure(small_path, queries, args.repeat) if small_path else None
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(f"Median of {args.repeat} runs each; cores: {os.cpu_count()}")
    report(big_figures, small_figures, (args.articles, args.small or None))


if __name__ == "__main__":
    main()
