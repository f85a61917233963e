"""Parse and evaluate topic rules such as ``russia NEAR/sentence dprk AND NOT sport``.

Grammar, loosest binding first::

    rule    := or
    or      := and ("OR" and)*
    and     := unary ("AND" unary)*
    unary   := "NOT" unary | near
    near    := count (("NEAR/" | "WITHOUT/") (N | "sentence" | "paragraph") count)*
    count   := scoped (">=" N)?
    scoped  := ("title:" | "lead:" | "body:")? primary
    primary := ENTITY | '"' term '"' | "(" rule ")"

Operators are written in capitals. An entity is a name from the topic's ``entities:``; a quoted
term is matched like an alias. ``NEAR/5`` allows at most five words between the two sides;
``NEAR/sentence`` and ``NEAR/paragraph`` ask for one sentence or paragraph (the headline is a
paragraph of its own). ``A WITHOUT/3 B`` keeps the hits of A with no hit of B within three
words (``WITHOUT/sentence``, ``WITHOUT/paragraph``): "Russia" not in a list of countries.
``title:``, ``lead:`` (the first paragraph) and ``body:`` look only in
that part of the story; ``dprk>=3`` needs three hits. The hits that a topic's
``enumerations:`` finds in a list of states pair with nothing in NEAR and are not counted
by ``>=`` (see structure.py).
"""

from __future__ import annotations

import re
import reprlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Union

from monitor.matcher.hits import Hit


class RuleSyntaxError(ValueError):
    """Raised by parse_rule when a rule does not parse; the message gives the column."""


@dataclass(frozen=True)
class Label:
    """An entity name or a quoted term: the leaves of a rule."""

    name: str
    quoted: bool = False

    def __str__(self) -> str:
        return f'"{self.name}"' if self.quoted else self.name


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class All:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Near:
    left: Node
    right: Node
    scope: int | str  # a number of words, "sentence" or "paragraph"


@dataclass(frozen=True)
class Without:
    """The hits of *left* that have no hit of *right* within *scope*."""

    left: Node
    right: Node
    scope: int | str


@dataclass(frozen=True)
class Scope:
    field: str  # title, lead or body
    item: Node


@dataclass(frozen=True)
class AtLeast:
    item: Node
    count: int


Node = Union[Label, Not, All, Any_, Near, Without, Scope, AtLeast]  # noqa: UP007 - forward references

_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|\"(?P<term>[^\"]*)\"|(?P<near>(?:NEAR|WITHOUT)/\w+)"
    r"|(?P<field>(?:title|lead|body):)|(?P<count>>=\s*\d+)|(?P<word>[A-Za-z_][\w-]*)"
    r"|(?P<other>\S+?)(?=[\s()\"]|$))"
)
_KEYWORDS = {"AND", "OR", "NOT"}
# How deep a rule's tree may be: the rules of the default topic are 6 deep. Parsing and
# evaluating recurse once per level, so a rule 5,000 deep ran out of stack.
MAX_DEPTH = 32
# The largest word distance of NEAR/N and WITHOUT/N, and the largest count of >= N.
MAX_NUMBER = 10_000
_SHORT = reprlib.Repr()
_SHORT.maxstring = 40


def parse_rule(text: str) -> Node:
    """Return the syntax tree of a rule; raise RuleSyntaxError naming the column of a problem."""
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    node = parser.parse_or()
    if parser.position < len(tokens):
        _, value, column = tokens[parser.position]
        raise RuleSyntaxError(f"unexpected {_SHORT.repr(value)} at column {column}")
    return node


def labels(node: Node) -> Iterator[Label]:
    """Yield every leaf of a rule: its entities and quoted terms."""
    if isinstance(node, Label):
        yield node
    elif isinstance(node, Not | Scope | AtLeast):
        yield from labels(node.item)
    elif isinstance(node, Near | Without):
        yield from labels(node.left)
        yield from labels(node.right)
    else:
        for item in node.items:
            yield from labels(item)


def alternatives(node: Node) -> Iterator[set[str]]:
    """Yield, for each OR of a rule, the entities it offers as alternatives for one place:
    ``(russia OR kursk) NEAR/sentence dprk`` yields {russia, kursk}."""
    if isinstance(node, Any_):
        yield set().union(*(_alternative(item) for item in node.items))
    if isinstance(node, Not | Scope | AtLeast):
        yield from alternatives(node.item)
    elif isinstance(node, Near | Without):
        yield from alternatives(node.left)
        yield from alternatives(node.right)
    elif isinstance(node, All | Any_):
        for item in node.items:
            yield from alternatives(item)


def _alternative(node: Node) -> set[str]:
    """Return the entities that one item of an OR stands for: itself, or its own ORs'."""
    if isinstance(node, Label):
        return set() if node.quoted else {node.name}
    if isinstance(node, Scope | AtLeast):
        return _alternative(node.item)
    if isinstance(node, Without):
        return _alternative(node.left)
    if isinstance(node, Any_):
        return set().union(*(_alternative(item) for item in node.items))
    return set()


def paired(node: Node) -> set[str]:
    """Return the entities a rule pairs: its entities but those after WITHOUT or under NOT
    (``(russia WITHOUT/2 others) NEAR/sentence dprk`` pairs russia and dprk)."""
    if isinstance(node, Label):
        return set() if node.quoted else {node.name}
    if isinstance(node, Not):
        return set()
    if isinstance(node, Scope | AtLeast):
        return paired(node.item)
    if isinstance(node, Without):
        return paired(node.left)
    if isinstance(node, Near):
        return paired(node.left) | paired(node.right)
    return set().union(*(paired(item) for item in node.items))


def requirements(node: Node) -> list[frozenset[Label]]:
    """Return the ways *node* can be true, each the set of labels that must all be found.

    ``a AND (b OR c)`` gives [{a, b}, {a, c}]; NOT requires nothing. The matcher skips a
    topic, before any boundary or rule work, when no way is open: the fast path for the
    many articles that name neither side.
    """
    if isinstance(node, Label):
        return [frozenset({node})]
    if isinstance(node, Not):
        return [frozenset()]
    if isinstance(node, Scope | AtLeast):
        return requirements(node.item)
    if isinstance(node, Without):
        return requirements(node.left)
    if isinstance(node, Any_):
        return [way for item in node.items for way in requirements(item)]
    parts = [node.left, node.right] if isinstance(node, Near) else list(node.items)
    ways = [frozenset[Label]()]
    for part in parts:
        ways = [way | more for way in ways for more in requirements(part)]
        if len(ways) > 64:  # a pathological rule: give up the shortcut, never the result
            return [frozenset()]
    return ways


def entity_names(node: Node) -> set[str]:
    """Return the entity names a rule refers to (not its quoted terms)."""
    return {label.name for label in labels(node) if not label.quoted}


def evaluate(
    node: Node, hits: Mapping[Label, list[Hit]], apart: AbstractSet[Hit] = frozenset()
) -> list[Hit] | None:
    """Return the hits that make *node* true (possibly none, for NOT), or None when it is false.

    The hits in *apart* (items of an enumeration) count everywhere but in NEAR, where they
    pair with nothing, and in ``>=``, where they are not counted.
    """
    if isinstance(node, Label):
        found = hits.get(node)
        return list(found) if found else None
    if isinstance(node, Not):
        return [] if evaluate(node.item, hits, apart) is None else None
    if isinstance(node, Scope):
        keep = _IN_FIELD[node.field]
        scoped = {label: [hit for hit in found if keep(hit)] for label, found in hits.items()}
        return evaluate(node.item, scoped, apart)
    if isinstance(node, AtLeast):
        # An item of a list of states is no mention of its own: it is not counted.
        counted = [hit for hit in evaluate(node.item, hits, apart) or () if hit not in apart]
        distinct = {(hit.field, hit.start) for hit in counted}
        return counted if len(distinct) >= node.count else None
    if isinstance(node, All):
        witness: list[Hit] = []
        for item in node.items:
            result = evaluate(item, hits, apart)
            if result is None:
                return None
            witness.extend(result)
        return witness
    if isinstance(node, Any_):
        results = [evaluate(item, hits, apart) for item in node.items]
        true = [result for result in results if result is not None]
        return [hit for result in true for hit in result] if true else None
    if isinstance(node, Without):
        kept = evaluate(node.left, hits, apart)
        if not kept:
            return None
        vetoes = evaluate(node.right, hits, apart) or []
        near = set(_near(kept, vetoes, node.scope)) if vetoes else set()
        return [hit for hit in kept if hit not in near] or None
    left, right = evaluate(node.left, hits, apart), evaluate(node.right, hits, apart)
    if apart:
        left = [hit for hit in left or () if hit not in apart]
        right = [hit for hit in right or () if hit not in apart]
    if not left or not right:
        return None
    return _near(left, right, node.scope) or None


def sides(
    node: Node, hits: Mapping[Label, list[Hit]], apart: AbstractSet[Hit] = frozenset()
) -> list[list[Hit]]:
    """Return the hits of each side of a rule that holds: each part of an AND at its top
    that found hits (``russia>=2 AND dprk>=2`` has two), or all its hits as one side."""
    if isinstance(node, All):
        found = [evaluate(item, hits, apart) for item in node.items]
        return [side for side in found if side]
    return [side] if (side := evaluate(node, hits, apart)) else []


_IN_FIELD: dict[str, Callable[[Hit], bool]] = {
    "title": lambda hit: hit.field == "title",
    "lead": lambda hit: hit.field == "body" and hit.paragraph == 0,
    "body": lambda hit: hit.field == "body",
}


def _near(left: list[Hit], right: list[Hit], scope: int | str) -> list[Hit]:
    """Return the hits of *left* and *right* with a partner on the other side within *scope*."""
    if isinstance(scope, str):

        def unit(hit: Hit) -> tuple[object, ...]:
            if scope == "paragraph":
                return (hit.field, hit.paragraph)
            return (hit.field, hit.paragraph, hit.sentence)

        by_unit: dict[object, list[Hit]] = defaultdict(list)
        for hit in left:
            by_unit[unit(hit)].append(hit)
        shared = {unit(hit) for hit in right} & set(by_unit)
        return [hit for key in shared for hit in by_unit[key]] + [
            hit for hit in right if unit(hit) in shared
        ]
    kept: dict[Hit, None] = {}
    for a in left:
        for b in right:
            if a.field == b.field and a is not b and _words_between(a, b) <= scope:
                kept[a] = kept[b] = None
    return list(kept)


def _words_between(a: Hit, b: Hit) -> int:
    first, second = (a, b) if a.word <= b.word else (b, a)
    return max(0, second.word - first.word_end - 1)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise RuleSyntaxError(
                f"unexpected {_SHORT.repr(text[position])} at column {position + 1}"
            )
        kind = match.lastgroup or ""
        # The column of a quoted term is that of its opening quote.
        column = match.start(kind) + (0 if kind == "term" else 1)
        value = match.group(kind)
        if kind == "term" and not value.strip():
            raise RuleSyntaxError(f"empty quoted term at column {column}")
        if kind == "other":
            raise RuleSyntaxError(f"unexpected {_SHORT.repr(value)} at column {column}")
        tokens.append((kind, value, column))
        position = match.end()
    if not tokens:
        raise RuleSyntaxError("the rule is empty (write e.g. 'russia NEAR/paragraph dprk')")
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.position = 0
        # The depth of each node made so far, by id: every node stays in the tree being
        # built, so no id is reused while the parser runs.
        self.depths: dict[int, int] = {}
        self.open = 0  # parentheses and NOTs being parsed: the parser's own recursion

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _is_word(self, word: str) -> bool:
        token = self._peek()
        return token is not None and token[0] == "word" and token[1] == word

    def _too_deep(self, column: int) -> RuleSyntaxError:
        return RuleSyntaxError(
            f"the rule nests more than {MAX_DEPTH} levels deep at column {column} "
            "(simplify it, or split it into named rules)"
        )

    def _made(self, node: Node, column: int, *children: Node) -> Node:
        """Record the depth of a new *node* over its *children*; refuse one too deep."""
        depth = 1 + max((self.depths.get(id(child), 1) for child in children), default=0)
        if depth > MAX_DEPTH:
            raise self._too_deep(column)
        self.depths[id(node)] = depth
        return node

    def _column(self) -> int:
        token = self._peek()
        return token[2] if token is not None else len(self.text.rstrip()) + 1

    def _enter(self) -> None:
        self.open += 1
        if self.open > MAX_DEPTH:
            raise self._too_deep(self._column())

    def parse_or(self) -> Node:
        column = self._column()
        items = [self.parse_and()]
        while self._is_word("OR"):
            self.position += 1
            items.append(self.parse_and())
        if len(items) == 1:
            return items[0]
        return self._made(Any_(tuple(items)), column, *items)

    def parse_and(self) -> Node:
        column = self._column()
        items = [self.parse_unary()]
        while self._is_word("AND"):
            self.position += 1
            items.append(self.parse_unary())
        if len(items) == 1:
            return items[0]
        return self._made(All(tuple(items)), column, *items)

    def parse_unary(self) -> Node:
        if self._is_word("NOT"):
            column = self._column()
            self.position += 1
            self._enter()
            item = self.parse_unary()
            self.open -= 1
            return self._made(Not(item), column, item)
        return self.parse_near()

    def parse_near(self) -> Node:
        node = self.parse_count()
        while (token := self._peek()) is not None and token[0] == "near":
            self.position += 1
            operator, _, scope_text = token[1].partition("/")
            scope = _near_scope(operator, scope_text, token[2])
            right = self.parse_count()
            for side in (node, right):
                if _has_not(side):
                    raise RuleSyntaxError(
                        f"{operator} at column {token[2]} needs words on both sides, not NOT"
                    )
            made = Near(node, right, scope) if operator == "NEAR" else Without(node, right, scope)
            node = self._made(made, token[2], node, right)
        return node

    def parse_count(self) -> Node:
        node = self.parse_scoped()
        token = self._peek()
        if token is not None and token[0] == "count":
            self.position += 1
            digits = token[1].removeprefix(">=").strip()
            count = int(digits) if len(digits) <= len(str(MAX_NUMBER)) else MAX_NUMBER + 1
            if not 1 <= count <= MAX_NUMBER:
                raise RuleSyntaxError(
                    f">= at column {token[2]} needs a count from 1 to {MAX_NUMBER:,}"
                )
            node = self._made(AtLeast(node, count), token[2], node)
        return node

    def parse_scoped(self) -> Node:
        token = self._peek()
        if token is not None and token[0] == "field":
            self.position += 1
            item = self.parse_primary()
            return self._made(Scope(token[1].rstrip(":"), item), token[2], item)
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self._peek()
        if token is None:
            raise RuleSyntaxError(
                f"the rule ends too early at column {len(self.text.rstrip()) + 1} "
                "(an entity, a quoted term or '(' must follow)"
            )
        kind, value, column = token
        self.position += 1
        if kind == "open":
            self._enter()
            node = self.parse_or()
            self.open -= 1
            closing = self._peek()
            if closing is None or closing[0] != "close":
                raise RuleSyntaxError(f"the '(' at column {column} is never closed")
            self.position += 1
            return node
        if kind == "term":
            return Label(value, quoted=True)
        if kind == "word" and value not in _KEYWORDS:
            return Label(value)
        raise RuleSyntaxError(f"unexpected {_SHORT.repr(value)} at column {column}")


def _near_scope(operator: str, scope: str, column: int) -> int | str:
    # isascii: a \w scope may hold digits such as "²" that int() cannot read.
    shown = scope if len(scope) <= 20 else scope[:17] + "..."
    if scope.isascii() and scope.isdigit():
        if len(scope) <= len(str(MAX_NUMBER)) and 0 < int(scope) <= MAX_NUMBER:
            return int(scope)
        raise RuleSyntaxError(
            f"{operator}/{shown} at column {column}: the number of words must be 1 to "
            f"{MAX_NUMBER:,}"
        )
    if scope in ("sentence", "paragraph"):
        return scope
    raise RuleSyntaxError(
        f"{operator}/{shown} at column {column}: use {operator}/<words>, {operator}/sentence "
        f"or {operator}/paragraph"
    )


def _has_not(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, Label):
        return False
    if isinstance(node, Scope | AtLeast):
        return _has_not(node.item)
    if isinstance(node, Near | Without):
        return _has_not(node.left) or _has_not(node.right)
    return any(_has_not(item) for item in node.items)
