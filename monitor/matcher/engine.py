"""Compile topics once into one Aho-Corasick automaton and judge articles against them.

One pass of the automaton over each field finds every alias of every topic. Hits are then
checked against word boundaries (and Korean particles, case-sensitive acronyms, prefixes),
located in their paragraph, sentence and word, and handed to each topic's rules. An article
with no hit at all costs little more than the scan.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ahocorasick

from monitor.matcher.aliases import Alias, parse_alias, right_edge
from monitor.matcher.asides import asides
from monitor.matcher.document import Document, Field
from monitor.matcher.hits import Hit
from monitor.matcher.normalize import is_word_char
from monitor.matcher.rules import (
    Label,
    Node,
    alternatives,
    evaluate,
    labels,
    paired,
    parse_rule,
    requirements,
    sides,
)
from monitor.matcher.structure import (
    Enumeration,
    context_note,
    enumerations,
    in_passing,
    passing_note,
    without_context,
)
from monitor.records import FlagRecord

if TYPE_CHECKING:
    from monitor.config import Topic


@dataclass(frozen=True)
class TopicResult:
    """What one topic made of one article: the verdict and the evidence for it."""

    topic: str
    flagged: bool
    score: float
    threshold: float
    rules_fired: tuple[str, ...]  # names of the rules that were true
    rule: str  # those rules as written (or all of them when none fired)
    excluded: bool  # the topic's exclude: rule was true
    hits: tuple[Hit, ...]  # the topic's aliases found (none when it could not fire anyway)
    evidence: tuple[Hit, ...]  # the hits that made the rules true, and scored boosts
    snippet: str  # the best sentence
    snippet_field: str
    snippet_start: int  # offset of the snippet in its field
    # What an enumeration or a missing context changed, e.g. "enumeration ignored: Iran,
    # Russia, North Korea, Syria"; empty when they changed nothing.
    notes: tuple[str, ...] = ()

    def to_flag(self) -> FlagRecord:
        """Return the result as the archive stores it with a flag."""
        return FlagRecord(
            topic=self.topic,
            score=self.score,
            threshold=self.threshold,
            # The archive keeps the notes with the rules they explain, one per line.
            rule="\n".join((self.rule, *self.notes)),
            rules=self.rules_fired,
            terms=tuple(hit.to_dict() for hit in self.evidence),
            snippet=self.snippet,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the result as the CLI prints it."""
        return {
            "topic": self.topic,
            "flagged": self.flagged,
            "score": self.score,
            "threshold": self.threshold,
            "rules": list(self.rules_fired),
            "rule": self.rule,
            "excluded": self.excluded,
            "terms": [hit.to_dict() for hit in self.evidence],
            "snippet": self.snippet,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class _Compiled:
    name: str
    rules: tuple[tuple[str, str, Node], ...]  # (name, text, tree)
    ways: tuple[frozenset[str], ...]  # key sets (see _key), one of which must be found to fire
    exclude: tuple[str, Node] | None
    threshold: float
    weights: Mapping[str, float]  # by field: title, lead, body
    boosts: Mapping[str, float]  # by entity
    listed: frozenset[str]  # entities whose names make enumerations (see structure.py)
    context: Mapping[str, tuple[str, ...]]  # entity -> entities it needs in its paragraph
    subject: frozenset[str]  # rules that must find the story's subject (see structure.py)
    subject_sentences: int
    # Entity -> the first of the entities a rule offers in its place (russia OR kursk): one
    # side of what the topic is about, when the best sentence counts the sides it holds.
    side: Mapping[str, str]
    # The entities the subject: rules pair (russia, dprk; not others after WITHOUT), and the
    # entities of enumerations: that are none of them: third parties (others).
    paired: frozenset[str] = frozenset()
    third: frozenset[str] = frozenset()

    @property
    def described(self) -> str:
        return _describe(self, self.rules)


@dataclass(frozen=True)
class _Pattern:
    topic: str
    label: Label
    alias: Alias


class Matcher:
    """All topics of a config, compiled once; :meth:`match` is then one pass per field."""

    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self._topics: list[_Compiled] = []
        entries: dict[str, dict[tuple[object, ...], _Pattern]] = defaultdict(dict)

        def add(topic: str, label: Label, alias: Alias) -> None:
            for form in alias.forms:
                # Aliases that fold alike ("Kim Jong-un", "Kim Jong Un") give one hit.
                key = (topic, label, alias.case_sensitive, alias.prefix, alias.particles)
                entries[form].setdefault(key, _Pattern(topic, label, alias))

        for name, topic in topics.items():
            compiled = _compile(name, topic)
            self._topics.append(compiled)
            for entity, by_language in topic.entities.items():
                for aliases in by_language.values():
                    for text in aliases:
                        add(name, Label(entity), parse_alias(text))
            trees = [tree for _, _, tree in compiled.rules]
            if compiled.exclude is not None:
                trees.append(compiled.exclude[1])
            for tree in trees:
                for label in labels(tree):
                    if label.quoted:
                        add(name, label, parse_alias(label.name))
        self._automaton: Any = ahocorasick.Automaton()
        for form, patterns in entries.items():
            # Each form carries the "topic:label" keys it stands for, so the first pass
            # over an article is a set union per match.
            keys = frozenset(_key(p.topic, p.label) for p in patterns.values())
            self._automaton.add_word(form, (len(form), tuple(patterns.values()), keys))
        if entries:
            self._automaton.make_automaton()
        self._empty = not entries

    @property
    def topics(self) -> list[str]:
        return [topic.name for topic in self._topics]

    def match(self, title: str, body: str) -> list[TopicResult]:
        """Return one result per topic for an article with this *title* and *body*."""
        document = Document(title, body)
        present: set[str] = set()
        if not self._empty:
            for field in document.fields:
                for _, (_, _, keys) in self._automaton.iter(field.folded):
                    present |= keys
        # Only topics that could fire are worth checking boundaries and rules for: most
        # articles name neither side, and cost little more than this first pass.
        live = {topic.name for topic in self._topics if any(way <= present for way in topic.ways)}
        found: dict[str, dict[Label, list[Hit]]] = defaultdict(lambda: defaultdict(list))
        if live:
            for field in document.fields:
                for topic, label, hit in self._check(field, live):
                    found[topic][label].append(hit)
        return [self._judge(topic, found.get(topic.name, {}), document) for topic in self._topics]

    def _check(self, field: Field, live: set[str]) -> list[tuple[str, Label, Hit]]:
        """Return the real hits in a field: whole words, right case, of live topics."""
        folded = field.folded
        hits = []
        for end_index, (length, patterns, _) in self._automaton.iter(folded):
            start, end = end_index - length + 1, end_index + 1
            if start > 0 and is_word_char(folded[start]) and is_word_char(folded[start - 1]):
                continue  # inside a longer word: Prussia is not Russia
            for pattern in patterns:
                if pattern.topic not in live:
                    continue
                stop = right_edge(pattern.alias, folded, end)
                if stop is None:
                    continue
                first, last = field.original(start), field.original(stop)
                alias = pattern.alias
                if alias.case_sensitive and not alias.matches_case(
                    " ".join(field.text[first:last].split())
                ):
                    continue
                hit = _locate(field, pattern, first, last)
                hits.append((pattern.topic, pattern.label, hit))
        return _longest(hits)

    def _judge(
        self, topic: _Compiled, hits: Mapping[Label, list[Hit]], document: Document
    ) -> TopicResult:
        if not hits:
            return TopicResult(topic.name, False, 0.0, topic.threshold, (), topic.described,
                               False, (), (), "", "", 0)  # fmt: skip
        every_hit = tuple(sorted({hit for found in hits.values() for hit in found}, key=_order))
        unsure: list[Hit] = []
        if topic.context:
            by_name = {label.name: found for label, found in hits.items() if not label.quoted}
            unsure = without_context(by_name, topic.context)
        kept = _drop(hits, set(unsure)) if unsure else hits
        lists: list[Enumeration] = []
        if topic.listed:
            listed: list[Hit] = []
            others: list[Hit] = []
            for label, found in kept.items():
                item = not label.quoted and label.name in topic.listed
                (listed if item else others).extend(found)
            lists = enumerations(document, listed, others, topic.third) if len(listed) > 1 else []
            lists += asides(document, listed, topic.third)
        apart = frozenset(hit for listing in lists for hit in listing.hits)
        third = _third_party(topic, kept, apart, document)
        verdict = _Verdict.of(topic, kept, apart, third=third)
        notes: list[str] = []
        # A note only where the mechanism changed the outcome: judged again without it.
        if apart and verdict.outcome != _Verdict.of(topic, kept, frozenset(), third=third).outcome:
            notes.extend(dict.fromkeys(listing.note() for listing in lists))
        if unsure and verdict.outcome != _Verdict.of(topic, hits, apart, third=third).outcome:
            for entity, context in topic.context.items():
                lost = [hit for hit in unsure if hit.label == entity]
                if lost:
                    notes.append(context_note(document, lost, context))
        if verdict.passing and verdict.outcome != _Verdict.of(topic, kept, apart, False).outcome:
            notes.extend(
                passing_note(name, witness, topic.subject_sentences, third)
                for name, witness in verdict.passing
            )
        # Two mechanisms may each be enough (a stop on a journey under a headline about
        # Vietnam): then none changed the outcome alone, and the notes of those that were
        # at work say why together.
        if not notes and (apart or unsure):
            bare = _Verdict.of(topic, hits, frozenset(), False)
            if verdict.outcome != bare.outcome:
                notes.extend(dict.fromkeys(listing.note() for listing in lists))
                notes.extend(
                    context_note(document, lost, context)
                    for entity, context in topic.context.items()
                    if (lost := [hit for hit in unsure if hit.label == entity])
                )
        ordered = verdict.evidence
        snippet, field_name, start = (
            _best_sentence(ordered, document, topic) if ordered else ("", "", 0)
        )
        return TopicResult(
            topic=topic.name,
            flagged=verdict.flagged,
            score=verdict.score,
            threshold=topic.threshold,
            rules_fired=tuple(name for name, _, _ in verdict.fired),
            rule=_describe(topic, verdict.fired) or topic.described,
            excluded=verdict.excluded,
            hits=every_hit,
            evidence=ordered,
            snippet=snippet,
            snippet_field=field_name,
            snippet_start=start,
            notes=tuple(notes),
        )


@dataclass(frozen=True)
class _Verdict:
    """The rules that fired on a topic's hits, the evidence and the score."""

    fired: list[tuple[str, str, list[Hit]]]
    excluded: bool
    evidence: tuple[Hit, ...]
    score: float
    flagged: bool
    passing: list[tuple[str, list[Hit]]]  # rules of subject: that held only in passing

    @property
    def outcome(self) -> tuple[object, ...]:
        return (self.flagged, self.score, tuple(name for name, _, _ in self.fired))

    @classmethod
    def of(
        cls,
        topic: _Compiled,
        hits: Mapping[Label, list[Hit]],
        apart: frozenset[Hit],
        subject: bool = True,
        third: tuple[str, ...] = (),
    ) -> _Verdict:
        fired = [
            (name, text, witness)
            for name, text, tree in topic.rules
            if (witness := evaluate(tree, hits, apart)) is not None
        ]
        passing: list[tuple[str, list[Hit]]] = []
        # A rule outside subject: (a headline, a word for both) shows what the story is
        # about by itself; only when none fired are the subject: rules asked where they hold.
        if subject and topic.subject and all(name in topic.subject for name, _, _ in fired):
            trees = {name: tree for name, _, tree in topic.rules}
            # Each side of the rule (each part of an AND) must be what the story is about:
            # the North Korean side all through a story, and Putin named once, is in passing.
            for name, _, witness in fired:
                side = next(
                    (
                        side
                        for side in sides(trees[name], hits, apart) or [witness]
                        if in_passing(side, topic.subject_sentences, top=not third)
                    ),
                    None,
                )
                if side is not None:
                    passing.append((name, side))
            aside = {name for name, _ in passing}
            fired = [rule for rule in fired if rule[0] not in aside]
        excluded = topic.exclude is not None and evaluate(topic.exclude[1], hits) is not None
        evidence = {hit for _, _, witness in fired for hit in witness}
        evidence |= _boosts(topic, hits, evidence)
        ordered = tuple(sorted(evidence, key=_order))
        score = round(sum(_weight(topic, hit) for hit in ordered), 2)
        flagged = bool(fired) and not excluded and score >= topic.threshold
        return cls(fired, excluded, ordered, score, flagged, passing)


def _drop(hits: Mapping[Label, list[Hit]], lost: set[Hit]) -> dict[Label, list[Hit]]:
    """Return *hits* without those in *lost*, and without labels left with none."""
    kept = {label: [hit for hit in found if hit not in lost] for label, found in hits.items()}
    return {label: found for label, found in kept.items() if found}


def _describe(topic: _Compiled, rules: Any) -> str:
    """Return rules as an explanation shows them: a single unnamed rule as it is written."""
    if len(topic.rules) == 1 and topic.rules[0][0] == "rule":
        return "; ".join(text for _, text, _ in rules)
    return "; ".join(f"{name}: {text}" for name, text, _ in rules)


def _compile(name: str, topic: Topic) -> _Compiled:
    rules = tuple((rule, text, parse_rule(text)) for rule, text in topic.named_rules().items())
    ways = tuple(
        dict.fromkeys(
            frozenset(_key(name, label) for label in way)
            for _, _, tree in rules
            for way in requirements(tree)
        )
    )
    exclude = (topic.exclude, parse_rule(topic.exclude)) if topic.exclude else None
    scoring = topic.scoring
    weights = {"title": scoring.title, "lead": scoring.lead, "body": scoring.body}
    context = {entity: tuple(names) for entity, names in topic.context.items()}
    subject = topic.subject
    named = frozenset(subject.rules if subject else ())
    pairs = frozenset().union(*(paired(tree) for rule, _, tree in rules if rule in named))
    pairs -= set(scoring.entities)
    # Third parties: what a list of states names that no rule pairs (others).
    third = frozenset(topic.enumerations) - frozenset().union(
        *(paired(tree) for _, _, tree in rules)
    )
    return _Compiled(
        name, rules, ways, exclude, topic.threshold, weights, dict(scoring.entities),
        frozenset(topic.enumerations), context, named, subject.sentences if subject else 2,
        _sides(rules, set(scoring.entities)), pairs, third,
    )  # fmt: skip


def _sides(rules: tuple[tuple[str, str, Node], ...], boosts: set[str]) -> dict[str, str]:
    """Return each entity's side: entities that an OR of any rule offers for one place
    (scoring entities aside) are one side, named by the first of them in sorted order."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for _, _, tree in rules:
        for group in alternatives(tree):
            names = sorted(group - boosts)
            for other in names[1:]:
                first, second = sorted((root(names[0]), root(other)))
                parent[second] = first
    return {name: root(name) for name in parent}


def _third_party(
    topic: _Compiled, hits: Mapping[Label, list[Hit]], apart: frozenset[Hit], document: Document
) -> tuple[str, ...]:
    """Return the third parties a headline names (Vietnam, Xi) when it does not name every
    side that the subject: rules pair, or () when it names none or names them all."""
    if not topic.third or not topic.subject:
        return ()
    title = [hit for found in hits.values() for hit in found if hit.field == "title"]
    title = [hit for hit in title if hit not in apart]
    names = [hit for hit in title if hit.label in topic.third]
    if not names:
        return ()
    every = {topic.side.get(name, name) for name in topic.paired}
    named = {topic.side.get(hit.label, hit.label) for hit in title if hit.label in topic.paired}
    if named >= every:
        return ()
    text = document.title.text
    return tuple(dict.fromkeys(text[hit.start : hit.end] for hit in sorted(names, key=_order)))


def _key(topic: str, label: Label) -> str:
    return f"{topic}\x1f{label}"


def _locate(field: Field, pattern: _Pattern, start: int, end: int) -> Hit:
    return Hit(
        label=str(pattern.label),
        alias=pattern.alias.text,
        field=field.name,
        start=start,
        end=end,
        paragraph=field.paragraph_of(start),
        sentence=field.sentence_of(start),
        word=field.word_of(start),
        word_end=field.word_of(max(start, end - 1)),
    )


def _boosts(topic: _Compiled, hits: Mapping[Label, list[Hit]], evidence: set[Hit]) -> set[Hit]:
    """Hits of scoring entities (interaction words, say) in the paragraphs of the evidence."""
    if not evidence or not topic.boosts:
        return set()
    paragraphs = {(hit.field, hit.paragraph) for hit in evidence}
    return {
        hit
        for label, found in hits.items()
        if not label.quoted and label.name in topic.boosts
        for hit in found
        if (hit.field, hit.paragraph) in paragraphs
    }


def _order(hit: Hit) -> tuple[int, int, int, str, str]:
    # Two entities may share a word ("shells" is a weapon and an interaction): the label
    # settles their order, so the terms a flag stores are the same in every process.
    return (0 if hit.field == "title" else 1, hit.start, hit.end, hit.label, hit.alias)


def _weight(topic: _Compiled, hit: Hit) -> float:
    if hit.field == "title":
        place = topic.weights["title"]
    else:
        place = topic.weights["lead"] if hit.paragraph == 0 else topic.weights["body"]
    return place * topic.boosts.get(hit.label, 1.0)


def _longest(hits: list[tuple[str, Label, Hit]]) -> list[tuple[str, Label, Hit]]:
    """Of the hits of one topic that overlap, keep the longest: "Korea" inside "North Korea"
    goes, and so does "the North" in "the North Korean units", which "North Korean" covers
    but for its first word (one mention, not two). Hits of the same span all stay."""
    by_topic: dict[str, list[tuple[str, Label, Hit]]] = defaultdict(list)
    for item in hits:
        by_topic[item[0]].append(item)
    kept: list[tuple[str, Label, Hit]] = []
    for items in by_topic.values():
        items.sort(key=lambda item: (item[2].start - item[2].end, item[2].start))
        starts: list[int] = []  # the spans kept, which never overlap, in order
        ends: list[int] = []
        chosen: list[tuple[str, Label, Hit]] = []
        for item in items:
            hit = item[2]
            at = bisect_right(starts, hit.start)
            if at and (starts[at - 1], ends[at - 1]) == (hit.start, hit.end):
                chosen.append(item)
            elif (at and ends[at - 1] > hit.start) or (at < len(starts) and starts[at] < hit.end):
                continue
            else:
                starts.insert(at, hit.start)
                ends.insert(at, hit.end)
                chosen.append(item)
        kept.extend(sorted(chosen, key=lambda item: (item[2].start, -item[2].end)))
    return kept


def _best_sentence(
    evidence: tuple[Hit, ...], document: Document, topic: _Compiled
) -> tuple[str, str, int]:
    """Return the sentence that carries the news, and where it is.

    That is the sentence with the most sides of the evidence (the pair), not counting the
    scoring entities (interaction words); entities that a rule offers in one place (russia
    OR kursk) are one side. Among those, one in the body over the
    headline, which the reader sees anyway; then one in the lead, where a news story says
    what happened, over the background further down; then one with a scoring entity (met,
    signed, troops); then the earliest paragraph, the most hits, the earliest.
    """
    boosts = topic.boosts
    groups: dict[tuple[str, int], list[Hit]] = defaultdict(list)
    for hit in evidence:
        groups[(hit.field, hit.sentence)].append(hit)

    def rank(key: tuple[str, int]) -> tuple[int, bool, bool, bool, int, int, int]:
        group = groups[key]
        labels = {hit.label for hit in group}
        paragraph = min(hit.paragraph for hit in group)
        return (
            len({topic.side.get(label, label) for label in labels - boosts.keys()}),
            key[0] == "body",
            paragraph == 0,
            bool(labels & boosts.keys()),
            -paragraph,
            len(group),
            -min(hit.start for hit in group),
        )

    field_name, sentence = max(groups, key=rank)
    field = document.title if field_name == "title" else document.body
    start, end = field.sentence_span(sentence)
    return field.text[start:end], field_name, start
