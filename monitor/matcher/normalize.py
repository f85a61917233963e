"""Fold text for matching (NFKC, casefold, ё→е, dash→space), keeping a map back to the original."""

from __future__ import annotations

import unicodedata

# One character for one character, so offsets survive: ё is е in Russian matching, and a hyphen
# or dash is a space, so "Kim Jong-un" and "Kim Jong Un" are the same alias.
_TABLE = str.maketrans(
    {"ё": "е", "-": " ", "\u2010": " ", "\u2011": " ", "\u2012": " ", "\u2013": " ", "\u2014": " "}
)


def nfkc(text: str) -> str:
    """Return *text* in NFKC, the form wirewatch stores and reports offsets in."""
    return unicodedata.normalize("NFKC", text)


def fold(text: str) -> tuple[str, list[int] | None]:
    """Return *text* folded for matching, and a map from folded offsets to offsets in *text*.

    *text* must already be NFKC. The map is None when folding kept every character in place,
    which is the case for nearly all text; otherwise ``index[i]`` is the offset in *text* of the
    character that produced folded character ``i``, with one extra entry for the end.
    """
    folded = text.casefold()
    if len(folded) == len(text):
        return folded.translate(_TABLE), None
    pieces: list[str] = []
    index: list[int] = []
    for position, char in enumerate(text):
        piece = char.casefold()
        pieces.append(piece)
        index.extend([position] * len(piece))
    index.append(len(text))
    return "".join(pieces).translate(_TABLE), index


def fold_alias(alias: str) -> str:
    """Return an alias folded the same way as the text it is looked for in."""
    return " ".join(fold(nfkc(alias))[0].split())


def is_word_char(char: str) -> bool:
    """Return True for letters, digits and combining marks: characters that continue a word."""
    return char.isalnum() or unicodedata.category(char).startswith("M")
