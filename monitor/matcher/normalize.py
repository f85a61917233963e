"""Fold text for matching (NFKC, casefold, ё→е, dash→space), keeping a map back to the original."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# One character for one character, so offsets survive: ё is е in Russian matching, and a
# hyphen or dash is a space, so "Kim Jong-un" and "Kim Jong Un" are the same alias. Chained
# str.replace: str.translate with a table looks up every character and is ten times slower.
_REPLACEMENTS = (
    ("ё", "е"), ("-", " "), ("\u2010", " "), ("\u2011", " "), ("\u2012", " "), ("\u2013", " "),
    ("\u2014", " "),
)  # fmt: skip


def nfkc(text: str) -> str:
    """Return *text* in NFKC, the form wirewatch stores and reports offsets in."""
    return unicodedata.normalize("NFKC", text)


def fold(text: str) -> tuple[str, list[int] | None]:
    """Return *text* folded for matching, and a map from folded offsets to offsets in *text*.

    *text* must already be NFKC. The map is None when folding kept every character in place,
    as it does for nearly all text; otherwise ``index[i]`` is the offset in *text* of the
    character that produced folded character ``i``, with one extra entry for the end.
    """
    folded = text.casefold()
    if len(folded) == len(text):
        return _replace(folded), None
    # A few characters fold to more than one (ß to ss): map around them only.
    pieces: list[str] = []
    index: list[int] = []
    position = 0
    for match in _expanding().finditer(text):
        pieces.append(text[position : match.start()].casefold())
        index.extend(range(position, match.start()))
        piece = match.group().casefold()
        pieces.append(piece)
        index.extend([match.start()] * len(piece))
        position = match.end()
    pieces.append(text[position:].casefold())
    index.extend(range(position, len(text) + 1))
    return _replace("".join(pieces)), index


def fold_alias(alias: str) -> str:
    """Return an alias folded the same way as the text it is looked for in."""
    return " ".join(fold(nfkc(alias))[0].split())


def is_word_char(char: str) -> bool:
    """Return True for letters, digits and combining marks: characters that continue a word."""
    return char.isalnum() or (not char.isascii() and unicodedata.category(char)[0] == "M")


def _replace(text: str) -> str:
    for old, new in _REPLACEMENTS:
        if old in text:
            text = text.replace(old, new)
    return text


@cache
def _expanding() -> re.Pattern[str]:
    """Match the hundred or so characters whose casefold is longer than one character."""
    chars = [
        char
        for char in map(chr, range(0x110000))
        if not 0xD800 <= ord(char) <= 0xDFFF and len(char.casefold()) != 1
    ]
    return re.compile("[" + "".join(re.escape(char) for char in chars) + "]")
