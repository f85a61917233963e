"""Matcher speed: the topics of config.yaml against a raw Aho-Corasick scan of their aliases.

Two sets of articles, each about ROUNDS x a few MB:

- labelled: the stories of tests/data/russia_dprk_labelled.jsonl, most of which name Russia
  or North Korea, so nearly every article has hits to check and rules to evaluate;
- hard negatives: the demo's stories that are not about the topic, with the most common
  names taken out: Kursk, Rosatom and "the North" still make some of them worth a look;
- real news: the true bodies of the 181 pages of the article-extraction benchmark in
  ../shared/corpora, on every subject, as most of what a monitor reads is (when present).

For each, the matcher (NFKC, casefold, scan, boundaries, rules, score, snippet) is timed
against a raw scan: casefold, then one pass of an Aho-Corasick automaton of the same alias
forms, counting matches. Both run here, on the same text, in the same process.

    .venv/bin/python benchmarks/matcher.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import ahocorasick

from monitor.config import load
from monitor.demo.stories import load_stories
from monitor.matcher.engine import Matcher

REPO = Path(__file__).resolve().parent.parent


def labelled_articles() -> list[tuple[str, str]]:
    path = REPO / "tests" / "data" / "russia_dprk_labelled.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [(row["title"], row["body"]) for row in rows]


def news_articles() -> list[tuple[str, str]]:
    """Real articles on every subject (the extraction benchmark's true bodies), if present."""
    path = REPO.parent / "shared/corpora/html/article-extraction-benchmark/ground-truth.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [("", item["articleBody"]) for item in data.values() if item.get("articleBody")]


def plain_articles() -> list[tuple[str, str]]:
    names = re.compile(
        r"Russia\w*|Moscow|Kremlin|Putin|Lavrov|Shoigu|North Korea\w*|Pyongyang|Kim\b[\w ]*", re.I
    )
    return [
        (names.sub("X", story.title), names.sub("X", "\n".join(story.paragraphs)))
        for story in load_stories()[1]
    ]


def raw_scanner(matcher: Matcher) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for form in matcher._automaton:  # the same folded alias forms
        automaton.add_word(form, len(form))
    automaton.make_automaton()
    return automaton


def measure(matcher: Matcher, articles: list[tuple[str, str]], rounds: int) -> dict[str, float]:
    automaton = raw_scanner(matcher)
    megabytes = rounds * sum(len((t + b).encode()) for t, b in articles) / 1e6
    started = time.perf_counter()
    found = 0
    for _ in range(rounds):
        for title, body in articles:
            for text in (title, body):
                for _ in automaton.iter(text.casefold()):
                    found += 1
    raw = time.perf_counter() - started
    started = time.perf_counter()
    flagged = 0
    for _ in range(rounds):
        for title, body in articles:
            flagged += any(result.flagged for result in matcher.match(title, body))
    full = time.perf_counter() - started
    return {
        "MB": megabytes,
        "raw MB/s": megabytes / raw,
        "matcher MB/s": megabytes / full,
        "ratio": raw / full,
        "articles/s": rounds * len(articles) / full,
        "flagged": flagged / rounds,
        "raw matches": found / rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    config = load(REPO / "config.yaml")
    matcher = Matcher(config.topics)
    measure(matcher, labelled_articles()[:20], 1)  # warm up
    rows = {
        "labelled (most have hits)": measure(matcher, labelled_articles(), args.rounds),
        "hard negatives (some hits)": measure(matcher, plain_articles() * 5, args.rounds),
    }
    news = news_articles()
    if news:
        rows["real news, any subject"] = measure(matcher, news, args.rounds)
    else:
        print("(../shared/corpora is absent: the real-news row is skipped)")
    columns = ["MB", "raw MB/s", "matcher MB/s", "ratio", "articles/s"]
    print(f"{'':<28}" + "".join(f"{column:>14}" for column in columns))
    for name, row in rows.items():
        print(f"{name:<28}" + "".join(f"{row[column]:>14.2f}" for column in columns))
    print(f"\nalias forms in the automaton: {len(list(matcher._automaton.keys()))}")


if __name__ == "__main__":
    main()
