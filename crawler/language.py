"""Identify an article's language from its text (py3langid), and weigh it against what the
source or the page declares."""

from __future__ import annotations

from functools import cache
from typing import Any

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# Below these, the text says too little and the declared language is kept.
MIN_CHARS = 60
MIN_CONFIDENCE = 0.6


@cache
def _identifier() -> Any:
    # Loading the model takes about half a second, once per crawl process.
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(text: str) -> tuple[str | None, float]:
    """Return the most likely language of *text* and its probability."""
    # The first few hundred characters tell a language as well as the whole text does.
    sample = " ".join(text[:1600].split())[:800]
    if len(sample) < MIN_CHARS:
        return None, 0.0
    language, probability = _identifier().classify(sample)
    return str(language), float(probability)


def choose(text: str, *declared: str | None) -> str | None:
    """Return the language of an article: identified from its text when that is clear,
    else the first language declared (by the source's config, then by the page)."""
    detected, probability = identify(text)
    if detected and probability >= MIN_CONFIDENCE:
        return detected
    return next((language for language in declared if language), detected)
