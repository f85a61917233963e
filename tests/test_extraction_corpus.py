"""Article text from real pages: extract_page keeps the true article body and little else.

The pages and their true bodies come from scrapinghub's article-extraction-benchmark, read from
``../shared/corpora`` (never copied here). Scoring is the bag-of-tokens F1 of
``benchmarks/extraction.py``, which also prints precision, recall, speed and a baseline.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import Counter

import pytest
from w3lib.encoding import html_to_unicode

from crawler.extract import extract_page

from .conftest import CORPORA

pytestmark = pytest.mark.corpus

BENCHMARK = CORPORA / "html" / "article-extraction-benchmark"

if not BENCHMARK.is_dir():
    pytest.skip(
        f"the article-extraction corpus {BENCHMARK} is absent (it sits beside the repository)",
        allow_module_level=True,
    )

# Measured 0.964 over the 181 pages on 2026-11-27 (trafilatura 2.3.1, fast=True); the floor
# leaves room for small upstream changes but catches a broken decode or a lost setting.
MEAN_F1_FLOOR = 0.94
_TOKEN = re.compile(r"\w+")


def token_f1(truth: str, predicted: str | None) -> float:
    """Return the F1 of bag-of-lowercased-word-token overlap; an empty prediction scores 0."""
    true_bag = Counter(_TOKEN.findall(truth.lower()))
    predicted_bag = Counter(_TOKEN.findall((predicted or "").lower()))
    overlap = sum((true_bag & predicted_bag).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(predicted_bag.values())
    recall = overlap / sum(true_bag.values())
    return 2 * precision * recall / (precision + recall)


def test_article_text_matches_the_true_body_on_real_pages() -> None:
    truth = json.loads((BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
    scores = {}
    for key, item in truth.items():
        body = gzip.decompress((BENCHMARK / "html" / f"{key}.html.gz").read_bytes())
        _, html = html_to_unicode(None, body)  # as Scrapy decodes a body without a header
        page = extract_page(html, url=item["url"], raw=body)
        scores[key] = token_f1(item["articleBody"], page.text)

    mean = statistics.mean(scores.values())
    worst = sorted(scores, key=scores.__getitem__)[:5]
    assert len(scores) == 181
    assert mean >= MEAN_F1_FLOOR, (
        f"mean token F1 {mean:.3f} < {MEAN_F1_FLOOR}; worst pages: "
        + ", ".join(f"{key[:12]} {scores[key]:.2f}" for key in worst)
    )
