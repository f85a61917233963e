"""Compile topics once into one Aho-Corasick automaton and match articles against them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ahocorasick

from monitor.matcher.document import Document, Field
from monitor.matcher.hits import Hit
from monitor.matcher.normalize import fold_alias, is_word_char
from monitor.matcher.rules import Label, Node, evaluate, labels, parse_rule

if TYPE_CHECKING:
    from monitor.config import Topic

# Evidence weights: a hit in the headline says more about the subject than one in the body.
WEIGHTS = {"title": 2.0, "lead": 1.5, "body": 1.0}


@dataclass(frozen=True)
class TopicResult:
    """What one topic made of one article: the verdict and the evidence for it."""

    topic: str
    flagged: bool
    score: float
    threshold: float
    rule: str
    hits: tuple[Hit, ...]  # every alias of the topic found in the article
    evidence: tuple[Hit, ...]  # the hits that made the rule true
    snippet: str  # the best sentence
    snippet_field: str
    snippet_start: int  # offset of the snippet in its field

    def to_dict(self) -> dict[str, Any]:
        """Return the result as stored with a flag and printed by the CLI."""
        return {
            "topic": self.topic,
            "flagged": self.flagged,
            "score": self.score,
            "threshold": self.threshold,
            "rule": self.rule,
            "terms": [hit.to_dict() for hit in self.evidence],
            "snippet": self.snippet,
        }

    def snippet_hits(self) -> list[tuple[int, int]]:
        """Return the evidence offsets inside the snippet, for highlighting."""
        end = self.snippet_start + len(self.snippet)
        return sorted(
            (hit.start - self.snippet_start, hit.end - self.snippet_start)
            for hit in self.evidence
            if hit.field == self.snippet_field and self.snippet_start <= hit.start < end
        )


@dataclass(frozen=True)
class _Compiled:
    name: str
    rule_text: str
    rule: Node
    threshold: float


class Matcher:
    """All topics of a config, compiled once; :meth:`match` is then one pass per field."""

    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self._topics: list[_Compiled] = []
        entries: dict[str, list[tuple[str, Label, str]]] = defaultdict(list)
        for name, topic in topics.items():
            rule = parse_rule(topic.rule)
            self._topics.append(_Compiled(name, topic.rule, rule, topic.threshold))
            for entity, by_language in topic.entities.items():
                for aliases in by_language.values():
                    for alias in aliases:
                        if key := fold_alias(alias):
                            entries[key].append((name, Label(entity), alias))
            for label in labels(rule):
                if label.quoted and (key := fold_alias(label.name)):
                    entries[key].append((name, label, label.name))
        self._automaton: Any = ahocorasick.Automaton()
        for key, payload in entries.items():
            # Aliases that fold to the same key ("Kim Jong-un", "Kim Jong Un") are one hit.
            unique = {(topic, label): alias for topic, label, alias in reversed(payload)}
            found = tuple((topic, label, alias) for (topic, label), alias in unique.items())
            self._automaton.add_word(key, (len(key), found))
        if entries:
            self._automaton.make_automaton()
        self._empty = not entries

    @property
    def topics(self) -> list[str]:
        return [topic.name for topic in self._topics]

    def match(self, title: str, body: str) -> list[TopicResult]:
        """Return one result per topic for an article with this *title* and *body*."""
        document = Document(title, body)
        found: dict[str, dict[Label, list[Hit]]] = defaultdict(lambda: defaultdict(list))
        for field in document.fields:
            for topic, label, hit in self._scan(field):
                found[topic][label].append(hit)
        return [self._judge(topic, found[topic.name], document) for topic in self._topics]

    def _scan(self, field: Field) -> list[tuple[str, Label, Hit]]:
        if self._empty or not field.folded:
            return []
        folded = field.folded
        hits = []
        for end_index, (length, payload) in self._automaton.iter(folded):
            start, end = end_index - length + 1, end_index + 1
            if start > 0 and is_word_char(folded[start]) and is_word_char(folded[start - 1]):
                continue
            if end < len(folded) and is_word_char(folded[end - 1]) and is_word_char(folded[end]):
                continue
            original_start, original_end = field.original(start), field.original(end)
            for topic, label, alias in payload:
                hits.append(
                    (topic, label, self._locate(field, label, alias, original_start, original_end))
                )
        return _longest(hits)

    @staticmethod
    def _locate(field: Field, label: Label, alias: str, start: int, end: int) -> Hit:
        return Hit(
            label=str(label),
            alias=alias,
            field=field.name,
            start=start,
            end=end,
            paragraph=field.paragraph_of(start),
            sentence=field.sentence_of(start),
            word=field.word_of(start),
            word_end=field.word_of(max(start, end - 1)),
        )

    def _judge(
        self, topic: _Compiled, hits: Mapping[Label, list[Hit]], document: Document
    ) -> TopicResult:
        evidence = evaluate(topic.rule, hits) if hits else None
        every_hit = tuple(sorted({hit for found in hits.values() for hit in found}, key=_order))
        if evidence is None:
            return TopicResult(
                topic.name, False, 0.0, topic.threshold, topic.rule_text, every_hit, (), "", "", 0
            )
        unique = tuple(sorted(set(evidence), key=_order))
        score = round(sum(_weight(hit) for hit in unique), 2)
        snippet, field_name, start = _best_sentence(unique, document)
        return TopicResult(
            topic=topic.name,
            flagged=score >= topic.threshold,
            score=score,
            threshold=topic.threshold,
            rule=topic.rule_text,
            hits=every_hit,
            evidence=unique,
            snippet=snippet,
            snippet_field=field_name,
            snippet_start=start,
        )


def _order(hit: Hit) -> tuple[int, int, int]:
    return (0 if hit.field == "title" else 1, hit.start, hit.end)


def _weight(hit: Hit) -> float:
    if hit.field == "title":
        return WEIGHTS["title"]
    return WEIGHTS["lead"] if hit.paragraph == 0 else WEIGHTS["body"]


def _longest(hits: list[tuple[str, Label, Hit]]) -> list[tuple[str, Label, Hit]]:
    """Drop hits inside a longer hit of the same topic ("Korea" inside "North Korea")."""
    by_topic: dict[str, list[tuple[str, Label, Hit]]] = defaultdict(list)
    for item in hits:
        by_topic[item[0]].append(item)
    kept: list[tuple[str, Label, Hit]] = []
    for items in by_topic.values():
        items.sort(key=lambda item: (item[2].start, -item[2].end))
        span = (-1, -1)
        for item in items:
            hit = item[2]
            inside = span[0] <= hit.start and hit.end <= span[1]
            if inside and (hit.start, hit.end) != span:
                continue
            kept.append(item)
            if hit.end > span[1]:
                span = (hit.start, hit.end)
    return kept


def _best_sentence(evidence: tuple[Hit, ...], document: Document) -> tuple[str, str, int]:
    """Return the sentence holding the most distinct entities of the evidence, and where it is."""
    groups: dict[tuple[str, int], list[Hit]] = defaultdict(list)
    for hit in evidence:
        groups[(hit.field, hit.sentence)].append(hit)

    def rank(key: tuple[str, int]) -> tuple[int, bool, int, int]:
        # Most distinct entities first; then a body sentence over the headline, which the
        # reader sees anyway; then more hits; then the earliest.
        group = groups[key]
        labels = len({hit.label for hit in group})
        return (labels, key[0] == "body", len(group), -min(hit.start for hit in group))

    field_name, sentence = max(groups, key=rank)
    field = document.title if field_name == "title" else document.body
    start, end = field.sentence_span(sentence)
    return field.text[start:end], field_name, start
