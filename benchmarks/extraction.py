"""Measure how well wirewatch extracts article text from real pages, and how fast.

The corpus is scrapinghub's article-extraction-benchmark: 181 real article pages
(``html/<sha256>.html.gz``) and ``ground-truth.json``, which maps each hash to
``{"articleBody": ..., "url": ...}``. Every page is decompressed, decoded as Scrapy decodes a
body (``w3lib.encoding.html_to_unicode``: BOM, then the declared ``<meta charset>``, then
UTF-8), and extracted twice:

* ``wirewatch``: ``crawler.extract.extract_page``, trafilatura with ``fast=True`` as crawls run;
* ``trafilatura``: ``trafilatura.extract(html, include_comments=False, fast=False)``, its full
  and slower default mode, as a baseline.

Each extraction is scored against the true body by bag-of-tokens overlap (lowercased ``\\w+``
tokens): precision = overlap / predicted tokens, recall = overlap / true tokens, F1 their
harmonic mean; an empty prediction scores 0. The last quality row repeats the benchmark's own
metric (4-gram shingles, F1 of mean precision and mean recall) so the figures can be checked
against its published table. Times cover the extraction call only. Nothing is written and no
network is used.

Run from the repository root::

    .venv/bin/python benchmarks/extraction.py [--corpus PATH]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura
from w3lib.encoding import html_to_unicode

from crawler.extract import extract_page

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "html" / "article-extraction-benchmark"
_TOKEN = re.compile(r"\w+")

Extractor = Callable[[str, str, bytes], str | None]


@dataclass(frozen=True)
class Sample:
    """One corpus page: its raw bytes, decoded HTML, URL and true article body."""

    key: str
    url: str
    html: str
    raw: bytes
    truth: str


@dataclass
class Scores:
    """Per-page results of one extractor over the corpus."""

    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)
    empty: int = 0
    seconds: float = 0.0
    shingles: list[tuple[float, float, float]] = field(default_factory=list)


def tokens(text: str) -> Counter[str]:
    """Return the bag of lowercased word tokens of *text*."""
    return Counter(_TOKEN.findall(text.lower()))


def token_scores(truth: str, predicted: str | None) -> tuple[float, float, float]:
    """Return (precision, recall, F1) of *predicted* against *truth* over bags of tokens."""
    true_bag, predicted_bag = tokens(truth), tokens(predicted or "")
    overlap = sum((true_bag & predicted_bag).values())
    if not overlap:
        return 0.0, 0.0, 0.0
    precision = overlap / sum(predicted_bag.values())
    recall = overlap / sum(true_bag.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def shingle_counts(truth: str, predicted: str | None, n: int = 4) -> tuple[float, float, float]:
    """Return the benchmark's normalised (tp, fp, fn) over bags of word n-gram shingles."""

    def bag(text: str) -> Counter[tuple[str, ...]]:
        words = _TOKEN.findall(text)
        return Counter(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)) if words)

    true_bag, predicted_bag = bag(truth), bag(predicted or "")
    tp = sum((true_bag & predicted_bag).values())
    fp = sum((predicted_bag - true_bag).values())
    fn = sum((true_bag - predicted_bag).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def benchmark_f1(counts: Sequence[tuple[float, float, float]]) -> float:
    """Return the benchmark's F1: the harmonic mean of mean precision and mean recall."""
    precision = statistics.mean(
        1.0 if fp == fn == 0 else tp / (tp + fp) for tp, fp, fn in counts if tp + fp > 0
    )
    recall = statistics.mean(
        1.0 if fp == fn == 0 else tp / (tp + fn) for tp, fp, fn in counts if tp + fn > 0
    )
    return 2 * precision * recall / (precision + recall)


def load(corpus: Path) -> list[Sample]:
    """Read and decode every page of *corpus* that has a ground truth."""
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    samples = []
    for key, item in sorted(truth.items()):
        body = gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes())
        # No Content-Type header was kept, so as in Scrapy: BOM, <meta charset>, then UTF-8.
        _, html = html_to_unicode(None, body)
        samples.append(Sample(key, item.get("url", ""), html, body, item["articleBody"]))
    return samples


def wirewatch(html: str, url: str, raw: bytes) -> str | None:
    """Extract as a wirewatch crawl does."""
    return extract_page(html, url=url, raw=raw).text


def trafilatura_default(html: str, url: str, raw: bytes) -> str | None:
    """Extract with trafilatura's full (not fast) mode, without reader comments."""
    return trafilatura.extract(html, include_comments=False, fast=False)


def run(samples: Sequence[Sample], extractor: Extractor) -> Scores:
    """Extract every sample with *extractor*, timing the calls, and score the results."""
    scores = Scores()
    extractor(samples[0].html, samples[0].url, samples[0].raw)  # one-time set-up, untimed
    for sample in samples:
        started = time.perf_counter()
        text = extractor(sample.html, sample.url, sample.raw)
        scores.seconds += time.perf_counter() - started
        if not (text or "").strip():
            scores.empty += 1
        precision, recall, f1 = token_scores(sample.truth, text)
        scores.precision.append(precision)
        scores.recall.append(recall)
        scores.f1.append(f1)
        scores.shingles.append(shingle_counts(sample.truth, text))
    return scores


def table(results: dict[str, Scores]) -> str:
    """Lay the results out as an aligned plain-text table, one column per extractor."""
    rows: list[tuple[str, Callable[[Scores], str]]] = [
        ("pages", lambda s: str(len(s.f1))),
        ("mean precision", lambda s: f"{statistics.mean(s.precision):.3f}"),
        ("mean recall", lambda s: f"{statistics.mean(s.recall):.3f}"),
        ("mean F1", lambda s: f"{statistics.mean(s.f1):.3f}"),
        ("median F1", lambda s: f"{statistics.median(s.f1):.3f}"),
        ("pages with F1 < 0.5", lambda s: str(sum(f1 < 0.5 for f1 in s.f1))),
        ("pages with no text", lambda s: str(s.empty)),
        ("F1, benchmark's metric", lambda s: f"{benchmark_f1(s.shingles):.3f}"),
        ("total seconds", lambda s: f"{s.seconds:.2f}"),
        ("ms/page", lambda s: f"{1000 * s.seconds / len(s.f1):.1f}"),
    ]
    header = ("", *results)
    lines = [header, *((label, *(cell(s) for s in results.values())) for label, cell in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    text.insert(1, "-" * len(text[0]))
    names = list(results)
    fast, slow = results[names[0]].seconds, results[names[1]].seconds
    text.append(
        f"\nspeed: {names[1]} takes {slow / fast:.2f}× the time of {names[0]},"
        "\nwhich also reads the canonical URL, headline and language that the baseline skips"
    )
    return "\n".join(text)


def main(argv: Sequence[str] | None = None) -> None:
    """Score both extractors on the corpus and print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="benchmark folder")
    args = parser.parse_args(argv)
    samples = load(args.corpus)
    results = {
        "wirewatch (fast=True)": run(samples, wirewatch),
        "trafilatura (fast=False)": run(samples, trafilatura_default),
    }
    print(table(results))


if __name__ == "__main__":
    main()
