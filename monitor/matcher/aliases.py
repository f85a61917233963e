"""Aliases as a topic writes them, and the forms the matcher looks for.

An alias is one of:

- a word or phrase, matched as whole words: ``North Korea``, ``Kim Jong Un``;
- a stem with a closed set of endings, for inflected languages: ``Пхеньян(|а|е|у|ом)``
  is Пхеньян, Пхеньяна, Пхеньяне, Пхеньяну and Пхеньяном (an empty ending is the stem);
- a case-sensitive acronym, written with a leading ``=``: ``=DPRK`` matches DPRK, not dprk;
- a prefix, written with a trailing ``*``: ``Pyongyang*`` also matches Pyongyang's.

Hangul aliases also match with a Korean particle glued on (북한은, 평양에서, 러시아와), from a
closed list, so that 북한산 (a mountain) is not 북한 and 남북한 never is; and, for aliases of two
syllables or more, with a title of North Korean official style or 군 (army) glued on before
the particle (김정은동지께서, 김정은동지의, 러시아군이).
"""

from __future__ import annotations

import itertools
import re
import reprlib
from dataclasses import dataclass

from monitor.matcher.normalize import fold_alias, is_word_char, nfkc

# Particles and bound nouns that attach to a Korean noun.
KOREAN_PARTICLES = frozenset(
    """
    은 는 이 가 을 를 의 와 과 에 도 만 로 께 측 간 쪽 등 랑
    에서 에게 으로 까지 부터 처럼 보다 과의 와의 에는 에도 에서의 에게서 으로서 로서 으로써
    로써 이라 라고 이라고 이나 이며 이다 이고 하고 한테 이랑 에서는 으로는 로는 과는 와는 과도
    와도 에서도 으로도 로도 만의 측은 측이 측의 측과 간의 이에요 인 이었다 였다 이자 쪽의
    께서 께서는 께서도 께서의
    """.split()  # noqa: SIM905 - a list literal of 70 particles would be unreadable
)
# Titles that North Korean official style glues to a name (김정은동지께서, 김정은원수님의),
# and 군 (the army of: 러시아군, 우크라이나군): a Hangul alias of two syllables or more
# matches with one of them after it, and a particle after that.
KOREAN_SUFFIXES = ("동지", "원수님", "동무", "위원장", "총비서", "각하", "님", "군")
_GROUP = re.compile(r"\(([^()]*)\)")
# The most spellings one alias may stand for. The longest alias of the default topic stands
# for 15; (a|b) written 32 times would stand for four billion, and expanding them once took
# 25 s and 3.8 GB before this limit.
MAX_SPELLINGS = 1000


class AliasError(ValueError):
    """Raised by parse_alias for an alias that is malformed or can never match."""


@dataclass(frozen=True)
class Alias:
    """One alias of an entity, compiled: the folded forms to look for, and how to match."""

    text: str  # as the topic writes it
    forms: tuple[str, ...]  # folded, for the automaton
    exact: tuple[str, ...]  # NFKC forms that must match exactly (case-sensitive aliases only)
    case_sensitive: bool
    prefix: bool
    particles: bool  # Hangul at its end: a Korean particle may follow

    def matches_case(self, original: str) -> bool:
        """Return True when *original* (the NFKC text matched) is written as the alias."""
        return not self.case_sensitive or original in self.exact


def parse_alias(text: str) -> Alias:
    """Compile an alias; raise AliasError naming what is wrong with it."""
    shown = quoted(text)
    raw = nfkc(text).strip()
    case_sensitive = raw.startswith("=")
    body = raw[1:].strip() if case_sensitive else raw
    prefix = body.endswith("*")
    body = body[:-1].rstrip() if prefix else body
    if "*" in body:
        raise AliasError(f"{shown}: '*' may only end an alias (a prefix, e.g. Pyongyang*)")
    if body.count("(") != body.count(")") or re.search(r"\([^)]*\(", body):
        raise AliasError(f"{shown}: unbalanced or nested parentheses (write e.g. Росси(я|и|ю))")
    spelled = _expand(body, shown)
    forms = tuple(dict.fromkeys(form for form in (fold_alias(s) for s in spelled) if form))
    if not forms or not all(any(is_word_char(char) for char in form) for form in forms):
        raise AliasError(f"{shown} can never match: it has no letters or digits")
    particles = _is_hangul(forms[0][-1])
    exact = tuple(" ".join(nfkc(s).split()) for s in spelled) if case_sensitive else ()
    return Alias(text, forms, exact, case_sensitive, prefix, particles)


def quoted(text: str) -> str:
    """Return *text* quoted for an error message, shortened in the middle when it is long."""
    return _SHORT.repr(text)


_SHORT = reprlib.Repr()
_SHORT.maxstring = 80


def _expand(body: str, shown: str) -> list[str]:
    """Expand every ``(a|b|)`` group into the spellings it stands for.

    Raise AliasError, before expanding anything, when they would be more than MAX_SPELLINGS.
    """
    parts: list[list[str]] = []
    position = 0
    count = 1
    for match in _GROUP.finditer(body):
        parts.append([body[position : match.start()]])
        parts.append(match.group(1).split("|"))
        count *= len(parts[-1])
        if count > MAX_SPELLINGS:
            raise AliasError(
                f"{shown} stands for more than {MAX_SPELLINGS:,} spellings "
                "(split it into several aliases, or give each group fewer endings)"
            )
        position = match.end()
    parts.append([body[position:]])
    return ["".join(choice) for choice in itertools.product(*parts)]


def _is_hangul(char: str) -> bool:
    return "\uac00" <= char <= "\ud7a3"


def right_edge(alias: Alias, folded: str, end: int) -> int | None:
    """Return where a hit of *alias* ending at *end* really ends, or None if it is no hit.

    A whole-word alias needs a non-word character (or the end) after it; a prefix runs on
    to the end of its word; a Hangul alias may carry a Korean particle.
    """
    if end >= len(folded) or not is_word_char(folded[end]) or not is_word_char(folded[end - 1]):
        return end
    stop = end
    while stop < len(folded) and is_word_char(folded[stop]):
        stop += 1
    if alias.prefix:
        return stop
    if alias.particles and _is_grammar(folded[end:stop], len(alias.forms[0]) > 1):
        return end  # the hit is the noun; the particle (or title) is grammar
    return None


def _is_grammar(rest: str, suffixes: bool) -> bool:
    """Return True when *rest*, glued to a Korean noun, is a particle, or (with *suffixes*)
    one of :data:`KOREAN_SUFFIXES` with or without a particle after it."""
    if rest in KOREAN_PARTICLES:
        return True
    for suffix in KOREAN_SUFFIXES if suffixes else ():
        if rest.startswith(suffix):
            after = rest[len(suffix) :]
            return not after or after in KOREAN_PARTICLES
    return False
