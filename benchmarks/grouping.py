"""Grouping wire copies into stories: its cost per article against archiving the article.

Builds archives of articles whose true stories are known, then times ``cluster_new`` (the
step after each crawl that gives every new article its story) against the baseline of the
same run: writing the same articles into the archive with ``add_article``. Two sets:

- ``real``: the 181 true article bodies of ``../shared/corpora`` (scrapinghub's
  article-extraction-benchmark) and the demo's stories, each carried by several outlets as
  wire copies do: the whole text, the lead alone, the text with a newsletter footer, a new
  headline. Shuffled, as a crawl of many sources delivers them.
- ``synthetic``: ``collection.py``'s article text, six paragraphs drawn from a pool of real
  sentences, so that articles share paragraphs without being copies: many LSH candidates,
  few true copies (the costly case of a busy news day).

It prints the time of each, the ratio to the baseline, and how well the stories found agree
with the true ones (pairs of copies put together, pairs of distinct stories kept apart).
Nothing leaves the machine.

    .venv/bin/python benchmarks/grouping.py [--synthetic 2000] [--copies 4]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collection import HEADLINES, PARAGRAPHS, RELATIONS

from monitor.archive import Archive, SourceRef
from monitor.clusters import cluster_new
from monitor.demo.stories import load_stories
from monitor.records import ArticleRecord
from monitor.timeutil import to_text

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora"
GROUND_TRUTH = CORPUS / "html" / "article-extraction-benchmark" / "ground-truth.json"
FOOTER = (
    "Sign up for our morning briefing and get the day's top stories in your inbox. Most "
    "read today: markets slide as oil prices jump; the city council approves a new tram line."
)
NOW = datetime.now(UTC)

# (true story, title, body) of one article
Article = tuple[int, str, str]


def real_texts() -> list[tuple[str, str]]:
    """Return (title, body) of every real story: the corpus bodies, then the demo's stories."""
    texts = []
    if GROUND_TRUTH.exists():
        truth = json.loads(GROUND_TRUTH.read_text(encoding="utf-8"))
        for entry in truth.values():
            body = entry.get("articleBody") or ""
            if len(body.split()) >= 40:
                texts.append((" ".join(body.split()[:10]), body))
    else:
        print(f"note: {GROUND_TRUTH} is absent; the real set has the demo's stories only")
    texts.extend((story.title, "\n".join(story.paragraphs)) for story in load_stories()[1])
    return texts


def real_set(copies: int, rng: random.Random) -> list[Article]:
    """Every real story as carried by *copies* outlets, each in its own way, shuffled."""
    articles: list[Article] = []
    for story, (title, body) in enumerate(real_texts()):
        words = body.split()
        ways = [
            (title, body),
            (title, " ".join(words[: max(40, len(words) * 2 // 5)])),  # the lead alone
            (title, f"{body}\n{FOOTER}"),
            (f"Update: {title.lower()}", body),
        ]
        articles.extend((story, *ways[n % len(ways)]) for n in range(copies))
    rng.shuffle(articles)
    return articles


def synthetic_set(count: int) -> list[Article]:
    """collection.py's article text: each article is its own story."""
    articles: list[Article] = []
    for number in range(count):
        rng = random.Random(number)
        body = "\n".join(rng.choice(PARAGRAPHS) for _ in range(6))
        if number % 10 == 0:
            body += "\n" + RELATIONS
        articles.append((number, rng.choice(HEADLINES), body))
    return articles


def record(number: int, title: str, body: str) -> ArticleRecord:
    url = f"http://127.0.0.1/story/{number}"
    return ArticleRecord(source="wire", key=url, url=url, guid=str(number), title=title,
                         summary=None, body=body, published=to_text(NOW), published_raw=None,
                         fetched=to_text(NOW), language="en", extract_error=None)  # fmt: skip


def measure(articles: list[Article], folder: Path) -> dict[str, float]:
    """Archive *articles*, then group them; return both times and the agreement."""
    with Archive.open(folder / "archive.db") as archive:
        archive.start_run([SourceRef("wire", "feed", "http://127.0.0.1/wire")], NOW, 1)
        truth: dict[int, int] = {}
        started = time.perf_counter()
        for number, (story, title, body) in enumerate(articles):
            article_id = archive.add_article(record(number, title, body), [])
            if article_id is not None:
                truth[article_id] = story
        archived = time.perf_counter() - started
        started = time.perf_counter()
        cluster_new(archive, NOW)
        grouped = time.perf_counter() - started
        found = dict(archive.conn.execute("SELECT id, cluster_id FROM articles").fetchall())
    together, apart = agreement(truth, found)
    return {"articles": len(truth), "archive": archived, "group": grouped,
            "together": together, "apart": apart,
            "stories": len(set(truth.values())), "found": len(set(found.values()))}  # fmt: skip


def agreement(truth: dict[int, int], found: dict[int, int]) -> tuple[float, float]:
    """Return the share of true copy pairs put together, and of other pairs kept apart."""
    by_story: dict[int, list[int]] = defaultdict(list)
    for article_id, story in truth.items():
        by_story[story].append(article_id)
    pairs = [pair for ids in by_story.values() for pair in itertools.combinations(ids, 2)]
    together = sum(found[a] == found[b] for a, b in pairs) / len(pairs) if pairs else 1.0
    by_found: dict[int, list[int]] = defaultdict(list)
    for article_id, cluster in found.items():
        by_found[cluster].append(article_id)
    wrong = sum(
        truth[a] != truth[b] for ids in by_found.values() for a, b in itertools.combinations(ids, 2)
    )
    total = len(truth) * (len(truth) - 1) // 2
    return together, 1 - wrong / (total - len(pairs)) if total > len(pairs) else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=2000, help="articles in that set")
    parser.add_argument("--copies", type=int, default=4, help="outlets per real story")
    args = parser.parse_args()
    sets = {
        "real": real_set(args.copies, random.Random(1)),
        "synthetic": synthetic_set(args.synthetic),
    }
    print(f"{'set':10} {'articles':>8} {'archive':>9} {'group':>9} {'ms/article':>10} "
          f"{'x archive':>9} {'copies together':>15} {'others apart':>12}")  # fmt: skip
    for name, articles in sets.items():
        with tempfile.TemporaryDirectory() as folder:
            got = measure(articles, Path(folder))
        per = got["group"] / got["articles"] * 1000
        print(f"{name:10} {got['articles']:8.0f} {got['archive']:8.2f}s {got['group']:8.2f}s "
              f"{per:10.2f} {got['group'] / got['archive']:8.2f}x {got['together']:15.4f} "
              f"{got['apart']:12.6f}")  # fmt: skip
    print("x archive: grouping time over the time to archive the same articles, same run")


if __name__ == "__main__":
    main()
