"""Full-text search that finds inflected words: the normalised text the archive indexes, and
the translation of an analyst's query into it.

SQLite's unicode61 tokenizer finds ``Пхеньян`` but not ``Пхеньяне``, and ``북한`` but not
``북한은``. So each article also keeps a normalised copy of its words, indexed by FTS5:
Russian and English words are reduced to their Snowball stems, and Korean particles are cut
off (``북한은`` → ``북한``). A query is normalised the same way before it is run, keeping its
phrases, prefixes, AND, OR, NOT and parentheses.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

import snowballstemmer

from monitor.matcher.aliases import KOREAN_PARTICLES

_WORD = re.compile(r"\w+")
_QUERY_TOKEN = re.compile(r'\s*("[^"]*"|\(|\)|[^\s()"]+)')
_OPERATORS = {"AND", "OR", "NOT"}
_MAX_PARTICLE = max(len(particle) for particle in KOREAN_PARTICLES)


class QueryError(ValueError):
    """Raised by to_fts for a search query that cannot be run, saying why."""


@cache
def _stemmer(language: str) -> Any:
    return snowballstemmer.stemmer(language)


def normalise_word(word: str) -> str:
    """Return the form a word is indexed under: a stem, or a Korean noun without particle."""
    word = unicodedata.normalize("NFKC", word).casefold().replace("ё", "е")
    first = word[0]
    if "\uac00" <= first <= "\ud7a3":
        for size in range(min(_MAX_PARTICLE, len(word) - 2), 0, -1):
            if word[-size:] in KOREAN_PARTICLES:
                return word[:-size]
        return word
    if "\u0400" <= first <= "\u04ff":
        return str(_stemmer("russian").stemWord(word))
    if first.isascii() and first.isalpha():
        return str(_stemmer("english").stemWord(word))
    return word


def search_text(*parts: str) -> str:
    """Return the normalised words of an article's title and body, for the search index."""
    return " ".join(normalise_word(word) for part in parts for word in _WORD.findall(part or ""))


def to_fts(query: str) -> str:
    """Translate a search query into an FTS5 query over the normalised text.

    Supports words, "quoted phrases", prefix* words, AND, OR, NOT and parentheses; words
    side by side must all occur. Raises QueryError for what FTS5 could not run.
    """
    tokens = _QUERY_TOKEN.findall(query)
    if not tokens or not "".join(tokens).strip():
        raise QueryError('the query is empty (search for e.g. Pyongyang, or "Kim Jong Un")')
    if query.count('"') % 2:
        raise QueryError('a phrase is not closed: every " needs a closing "')
    depth = 0
    out: list[str] = []
    previous = "start"
    for part in tokens:
        if part == "(":
            depth += 1
            out.append(part)
            previous = "open"
        elif part == ")":
            depth -= 1
            if depth < 0 or previous in ("open", "operator", "start"):
                raise QueryError("a ')' has nothing to close, or closes an empty group")
            out.append(part)
            previous = "term"
        elif part in _OPERATORS:
            if previous in ("operator", "open", "start"):
                hint = " (write e.g. Pyongyang NOT missile)" if part == "NOT" else ""
                raise QueryError(f"{part} needs a word before it{hint}")
            out.append(part)
            previous = "operator"
        else:
            out.append(_term(part))
            previous = "term"
    if depth:
        raise QueryError("a '(' is never closed")
    if previous == "operator":
        raise QueryError(f"the query ends with {out[-1]}: a word must follow it")
    return " ".join(out)


def _term(token: str) -> str:
    """Turn one word, prefix* or "phrase" of a query into FTS5 syntax."""
    if token.startswith('"'):
        words = [normalise_word(word) for word in _WORD.findall(token)]
        if not words:
            raise QueryError(f"the phrase {token} has no words")
        return '"' + " ".join(words) + '"'
    found = _WORD.findall(token)
    if not found:
        raise QueryError(f"{token!r} has no letters or digits to search for")
    if token.endswith("*"):
        return " ".join(f'"{normalise_word(word)}"' for word in found) + "*"
    return " ".join(_word(word) for word in found)


def _word(word: str) -> str:
    """One query word. Snowball gives some Russian names two stems (Пхеньян → пхенья, but
    Пхеньяне → пхеньян), so a Russian word also matches as a prefix of itself."""
    stem = normalise_word(word)
    plain = unicodedata.normalize("NFKC", word).casefold().replace("ё", "е")
    if "\u0400" <= plain[0] <= "\u04ff" and plain != stem:
        return f'("{stem}" OR "{plain}"*)'
    return f'"{stem}"'
