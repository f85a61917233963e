"""Explain a verdict: the terms a topic found in a story, and why each of its rules did or
did not fire, so that a near miss can be studied (``wirewatch match --explain``).

The verdict itself is the matcher's; this module only reads the rules again over every
term found, to say which part of a rule failed: "needs russia and dprk in one sentence:
dprk never found".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from monitor.matcher.document import Document
from monitor.matcher.engine import Matcher, TopicResult
from monitor.matcher.hits import Hit
from monitor.matcher.rules import All as AllOf
from monitor.matcher.rules import Any_ as AnyOf
from monitor.matcher.rules import (
    AtLeast,
    Label,
    Near,
    Node,
    Not,
    Scope,
    Without,
    evaluate,
    labels,
    parse_rule,
)

if TYPE_CHECKING:
    from monitor.config import Topic

_IN_FIELD: dict[str, Callable[[Hit], bool]] = {
    "title": lambda hit: hit.field == "title",
    "lead": lambda hit: hit.field == "body" and hit.paragraph == 0,
    "body": lambda hit: hit.field == "body",
}
_PLACE = {"title": "the headline", "lead": "the first paragraph", "body": "the text"}


class Explainer:
    """One topic's rules, parsed, and a matcher that finds every term they name."""

    def __init__(self, name: str, topic: Topic) -> None:
        self.name = name
        self.rules = [(rule, text, parse_rule(text)) for rule, text in topic.named_rules().items()]
        self.exclude = (topic.exclude, parse_rule(topic.exclude)) if topic.exclude else None
        trees = [tree for _, _, tree in self.rules]
        if self.exclude is not None:
            trees.append(self.exclude[1])
        quoted = {str(label) for tree in trees for label in labels(tree) if label.quoted}
        # A topic of the same entities whose one rule is true on any term: its result holds
        # every hit, where the real topic's holds none when it could not fire anyway.
        everything = " OR ".join([*topic.entities, *sorted(quoted)])
        finder = topic.model_copy(update={"rule": everything, "rules": None, "exclude": None})
        self.finder = Matcher({name: finder})

    def explain(self, title: str, body: str, result: TopicResult) -> dict[str, Any]:
        """Return why *result* (the topic's verdict on this story) is what it is."""
        (found,) = self.finder.match(title, body)
        document = Document(title, body)
        hits: dict[Label, list[Hit]] = {}
        for hit in found.hits:
            quoted = hit.label.startswith('"') and hit.label.endswith('"')
            label = Label(hit.label[1:-1], quoted=True) if quoted else Label(hit.label)
            hits.setdefault(label, []).append(hit)
        notes = list(getattr(result, "notes", ()))
        rules = []
        for rule, text, tree in self.rules:
            fired = rule in result.rules_fired
            why = None if fired else failure(tree, hits)
            if not fired and why is None:
                # True over the terms alone: the matcher set some of them aside.
                why = "its terms are there, but " + ("; ".join(notes) or "they were set aside")
            rules.append({"name": rule, "rule": text, "fired": fired, "why": why})
        exclusion = None
        if self.exclude is not None:
            witness = evaluate(self.exclude[1], hits) if result.excluded else None
            exclusion = {
                "rule": self.exclude[0],
                "fired": result.excluded,
                "terms": terms(tuple(witness or ()), document),
            }
        return {
            "verdict": verdict(result),
            "terms": terms(found.hits, document),
            "rules": rules,
            "exclude": exclusion,
            "notes": notes,
        }


def verdict(result: TopicResult) -> str:
    """Return the verdict in words: flagged, or the first reason it was not."""
    if result.flagged:
        fired = ", ".join(result.rules_fired)
        return f"flagged: {fired} fired, score {result.score:g} reaches {result.threshold:g}"
    if not result.rules_fired:
        return "not flagged: no rule fired"
    if result.excluded:
        return "not flagged: the exclusion fired"
    return f"not flagged: score {result.score:g} is below the threshold {result.threshold:g}"


def terms(hits: tuple[Hit, ...], document: Document) -> list[dict[str, Any]]:
    """Return the terms found by entity (or quoted term): how many, and each spelling's count."""
    by_label: dict[str, Counter[str]] = {}
    spellings: dict[str, str] = {}
    for hit in hits:
        field = document.title if hit.field == "title" else document.body
        spelled = " ".join(field.text[hit.start : hit.end].split()) or hit.alias
        key = spelled.casefold()
        spellings.setdefault(key, spelled)
        by_label.setdefault(hit.label, Counter())[key] += 1
    return [
        {
            "entity": label,
            "count": sum(counts.values()),
            "aliases": {spellings[key]: n for key, n in counts.most_common()},
        }
        for label, counts in by_label.items()
    ]


def failure(node: Node, hits: Mapping[Label, list[Hit]]) -> str | None:
    """Return why *node* is false over *hits*, in words, or None when it is true."""
    if evaluate(node, hits) is not None:
        return None
    if isinstance(node, Label):
        return f"{node} never found"
    if isinstance(node, Not):
        count = len(evaluate(node.item, hits) or ())
        return f"{shown(node.item)} found" + (f" ({count})" if count else "")
    if isinstance(node, AllOf):
        return "; ".join(why for item in node.items if (why := failure(item, hits)))
    if isinstance(node, AnyOf):
        reasons = [why for item in node.items if (why := failure(item, hits))]
        return "none of " + shown(node) + ": " + "; ".join(reasons)
    if isinstance(node, Near):
        return _near_failure(node, hits)
    if isinstance(node, Without):
        if (why := failure(node.left, hits)) is not None:
            return why
        return (
            f"every {shown(node.left)} has {shown(node.right)} within {_scope(node.scope)}"
            " (as in a list)"
        )
    if isinstance(node, Scope):
        keep = _IN_FIELD[node.field]
        scoped = {label: [hit for hit in found if keep(hit)] for label, found in hits.items()}
        return f"in {_PLACE[node.field]}: {failure(node.item, scoped) or 'false'}"
    if isinstance(node, AtLeast):
        counted = {(hit.field, hit.start) for hit in evaluate(node.item, hits) or ()}
        return f"needs {node.count} hits of {shown(node.item)}, found {len(counted)}"
    return f"{shown(node)} is false"  # a kind of rule this explanation does not know yet


def _near_failure(node: Near, hits: Mapping[Label, list[Hit]]) -> str:
    need = f"needs {_part(node.left)} and {_part(node.right)} {_within(node.scope)}"
    missing = [why for side in (node.left, node.right) if (why := failure(side, hits))]
    if missing:
        return f"{need}: {'; '.join(missing)}"
    left, right = evaluate(node.left, hits) or [], evaluate(node.right, hits) or []
    if isinstance(node.scope, int):
        gaps = [_gap(a, b) for a in left for b in right if a.field == b.field and a is not b]
        closest = f", the closest {min(gaps)} words apart" if gaps else ""
        return f"{need}: never{closest}"
    return f"{need}: both found, never in one {node.scope}"


def _gap(a: Hit, b: Hit) -> int:
    first, second = (a, b) if a.word <= b.word else (b, a)
    return max(0, second.word - first.word_end - 1)


def _within(scope: int | str) -> str:
    return f"in one {scope}" if isinstance(scope, str) else f"within {scope} words"


def _scope(scope: int | str) -> str:
    return f"its {scope}" if isinstance(scope, str) else f"{scope} words"


def shown(node: Node) -> str:
    """Return a rule (or part of one) as it would be written."""
    if isinstance(node, Label):
        return str(node)
    if isinstance(node, Not):
        return f"NOT {_part(node.item)}"
    if isinstance(node, AllOf | AnyOf):
        joiner = " AND " if isinstance(node, AllOf) else " OR "
        return joiner.join(_part(item) for item in node.items)
    if isinstance(node, Near | Without):
        operator = "NEAR" if isinstance(node, Near) else "WITHOUT"
        return f"{_part(node.left)} {operator}/{node.scope} {_part(node.right)}"
    if isinstance(node, Scope):
        return f"{node.field}:{_part(node.item)}"
    if isinstance(node, AtLeast):
        return f"{_part(node.item)}>={node.count}"
    return "(a rule)"


def _part(node: Node) -> str:
    text = shown(node)
    return f"({text})" if isinstance(node, AllOf | AnyOf | Near | Without) else text
