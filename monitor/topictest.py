"""Run topics over stories that are not in the archive: JSON lines in, verdicts or scores out.

``wirewatch match`` answers each line with a verdict; ``wirewatch topic-test`` compares the
verdicts with labels and reports precision, recall and F1, overall, per language and per kind
(a line's ``kind``, such as article or entry, when the file gives one), with each false
positive and false negative: the regression check for topic edits.

A label is true or false, or an analyst's mark as ``wirewatch export`` writes it: relevant
and follow-up say the story is about the topic, irrelevant that it is not. A story with no
label (null, or none given) is counted as unlabelled and left out of the scores, so an
export of the archive is a labelled file as it stands.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from monitor.archive.labels import Label
from monitor.matcher.engine import Matcher, TopicResult

# What each mark says about the story, as a label: follow-up is news worth more work.
MARK_LABELS: dict[str, bool] = {
    Label.RELEVANT: True,
    Label.FOLLOW_UP: True,
    Label.IRRELEVANT: False,
}


@dataclass(frozen=True)
class Story:
    """One input line: a story to match, with its label when it has one."""

    line: int
    id: str
    title: str
    body: str
    lang: str | None
    label: bool | None
    fields: dict[str, Any]


class LineError(ValueError):
    """Raised by read_stories for an input line that is not a usable story."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def label_of(value: Any) -> bool | None:
    """Return what a label or a mark says (True: about the topic), or None for no label.

    Raises ValueError for a value that is neither.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value in MARK_LABELS:
        return MARK_LABELS[value]
    raise ValueError(value)


def read_stories(lines: Iterable[str], *, labelled: bool = False) -> Iterator[Story | LineError]:
    """Yield each non-blank line as a Story, or as the LineError saying what is wrong with it.

    With *labelled*, a line's ``label`` is read by :func:`label_of`; a line without one is a
    Story whose label is None. ``lang`` may also be given as ``language``, as export writes it.
    """
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except ValueError as error:
            yield LineError(number, f"not JSON ({error})")
            continue
        if not isinstance(data, dict):
            yield LineError(number, "not a JSON object")
            continue
        missing = [key for key in ("id", "title", "body") if key not in data]
        if missing:
            yield LineError(number, f"missing {', '.join(repr(key) for key in missing)}")
            continue
        if not isinstance(data["title"], str) or not isinstance(data["body"], str):
            yield LineError(number, "title and body must be text")
            continue
        label = None
        if labelled:
            try:
                label = label_of(data.get("label"))
            except ValueError:
                yield LineError(
                    number,
                    f"label must be true, false, relevant, follow-up or irrelevant, "
                    f"not {data['label']!r}",
                )
                continue
        lang = data.get("lang") or data.get("language")
        yield Story(number, str(data["id"]), data["title"], data["body"], lang, label, data)


def verdict(story: Story, result: TopicResult) -> dict[str, Any]:
    """Return the JSON answer to one story."""
    return {
        "id": story.id,
        "flagged": result.flagged,
        "score": result.score,
        "threshold": result.threshold,
        "rules": list(result.rules_fired),
        "terms": [hit.to_dict() for hit in result.evidence],
        "snippet": result.snippet,
        "notes": list(result.notes),
    }


@dataclass
class Tally:
    """Counts of verdicts against labels."""

    stories: int = 0
    positives: int = 0
    flagged: int = 0
    true_positives: int = 0

    def add(self, label: bool, flagged: bool) -> None:
        self.stories += 1
        self.positives += label
        self.flagged += flagged
        self.true_positives += label and flagged

    @property
    def precision(self) -> float:
        return self.true_positives / self.flagged if self.flagged else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "stories": self.stories,
            "positives": self.positives,
            "flagged": self.flagged,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass
class Report:
    """The outcome of a topic test: tallies overall, per language and per kind, and the mistakes."""

    topic: str
    overall: Tally = field(default_factory=Tally)
    unlabelled: int = 0  # stories given with no label, left out of the tallies
    by_language: dict[str, Tally] = field(default_factory=dict)
    by_kind: dict[str, Tally] = field(default_factory=dict)  # empty when no line has a kind
    false_positives: list[tuple[Story, TopicResult]] = field(default_factory=list)
    false_negatives: list[tuple[Story, TopicResult]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def mistake(story: Story, result: TopicResult) -> dict[str, Any]:
            return {"id": story.id, "lang": story.lang, "title": story.title,
                    "score": result.score, "snippet": result.snippet}  # fmt: skip

        return {
            "topic": self.topic,
            "overall": self.overall.to_dict(),
            "unlabelled": self.unlabelled,
            "by_language": {lang: tally.to_dict() for lang, tally in self.by_language.items()},
            "by_kind": {kind: tally.to_dict() for kind, tally in self.by_kind.items()},
            "false_positives": [mistake(*item) for item in self.false_positives],
            "false_negatives": [mistake(*item) for item in self.false_negatives],
        }


def evaluate_topic(matcher: Matcher, topic: str, stories: Iterable[Story]) -> Report:
    """Match every labelled story with *topic* and tally the verdicts against the labels;
    a story without a label is only counted."""
    report = Report(topic)
    index = matcher.topics.index(topic)
    for story in stories:
        if story.label is None:
            report.unlabelled += 1
            continue
        result = matcher.match(story.title, story.body)[index]
        label = story.label
        report.overall.add(label, result.flagged)
        report.by_language.setdefault(story.lang or "?", Tally()).add(label, result.flagged)
        kind = story.fields.get("kind")
        if kind is not None:
            report.by_kind.setdefault(str(kind), Tally()).add(label, result.flagged)
        if result.flagged and not label:
            report.false_positives.append((story, result))
        elif label and not result.flagged:
            report.false_negatives.append((story, result))
    report.by_language = dict(sorted(report.by_language.items()))
    report.by_kind = dict(sorted(report.by_kind.items()))
    return report


def stories_from_marks(rows: Iterable[dict[str, Any]]) -> Iterator[Story]:
    """Yield the marked stories (monitor.archive.marks.marked_stories) as labelled Stories,
    each under the ID of the article its latest mark was made on."""
    for number, row in enumerate(rows, 1):
        yield Story(
            number, str(row["id"]), row["title"], row["body"], row["language"],
            MARK_LABELS.get(row["label"]), row,
        )  # fmt: skip
