"""Hits that the sentence around them sets aside: items of an enumeration, and ambiguous
names with no context.

A topic's ``enumerations:`` names the entities whose names make up lists of states. A run
of three or more such names, of at least three different entities or names, joined only by
commas, slashes, ``and``/``or``, ``и``/``или`` or a Korean ``와``/``과``/``및``/``·``/``、``,
is an enumeration ("sanctions on Iran, Russia, North Korea and Syria", "Россия, Иран, КНДР и
Китай", "러시아, 이란, 북한, 중국"); after ``and`` it goes on only with "as well as", "along
with", "а также" or "наряду с". Its hits pair with nothing in a NEAR rule and are not
counted by ``>=``. In English and Russian a capitalised name that no entity knows
("Eritrea") counts as an item too, after the first one. "Putin, who arrived in Pyongyang
on Tuesday, met Kim" is no list: a comma is not enough, the items must follow one another
with nothing else between them.

A topic's ``context:`` names, for an ambiguous entity, the entities one of which must stand
in the same paragraph, or in the headline or the first paragraph, for its hits to count at
all: "the North" is North Korea only where Korea is being written about.

A topic's ``subject:`` names rules that flag a story only when it is about what they found:
when they hold in the headline or the lead, where a news story says what it is about, or
in ``subject.sentences`` sentences (2 by default) further down; a rule whose top is an AND,
on each of its sides. One sentence deep in a story about something else (a China–North
Korea summit that names Putin among the guests) is a passing clause. A rule not named there
that fired (a headline about both) shows the subject by itself, and then nothing is set
aside.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.matcher.document import Document
from monitor.matcher.hits import Hit
from monitor.matcher.normalize import fold_alias

# How many items make an enumeration, and how many different entities or names they show.
MIN_ITEMS = 3

# What may stand between two items of a list: a Korean particle glued to the first, a comma
# or a middle dot, then a conjunction. "and" and "or" (и, или) close an English or Russian
# list: after them comes its last item.
_SEPARATOR = re.compile(
    r"(?P<particle>와|과|및|이나|나|랑|하고)?[ \t]*(?P<mark>[,、·・/;&])?[ \t]*"
    r"(?:(?P<closing>(?i:and|or|и|или))[ \t]+|(?P<korean>및)[ \t]+|(?P<also>_ALSO)[ \t]+)?".replace(
        "_ALSO", r"(?i:as well as|along with|а также|наряду с)"
    )
)
# What begins every separator: settles most names, followed by a plain word, at once.
_GOES_ON = re.compile(
    r"[ \t]*(?:[,、·・/;&]|(?i:and|or|и|или|as well as|along with|а также|наряду с)[ \t]|및)"
    r"|와|과|이나|나|랑|하고"
)
_ARTICLE = re.compile(r"(?i:the)[ \t]+")
# A name no entity knows, as a list item: up to three capitalised words.
_NAME = re.compile(
    r"(?:[A-Z][\w'’-]*|[А-ЯЁ][\w-]*)(?:[ \t]+(?:[A-Z][\w'’-]*|[А-ЯЁ][\w-]*)){0,2}(?![\w'’-])"
)


@dataclass(frozen=True)
class Enumeration:
    """A list of names in one field, as the article writes them, and the hits among them;
    or names that asides.py sets aside the same way (ranked, compared, a journey's stop)."""

    items: tuple[str, ...]
    hits: tuple[Hit, ...]
    # enumeration, or a kind of asides.py: ranking, comparison, journey
    kind: str = "enumeration"

    def note(self) -> str:
        """Return the line an explanation shows for it."""
        return f"{self.kind} ignored: " + ", ".join(self.items)


def enumerations(
    document: Document,
    hits: Collection[Hit],
    others: Iterable[Hit],
    several: Collection[str] = (),
) -> list[Enumeration]:
    """Return the enumerations that the *hits* (of a topic's ``enumerations:``) stand in.

    *others* are the topic's other hits: a name that one of them covers is no list item.
    The names of an entity in *several* (third parties: Iran, Myanmar) are each an item of
    their own, where those of another entity (Putin, Lavrov) count as one.
    """
    texts = {field.name: field.text for field in document.fields}
    # Most names are followed by a plain word, and begin no list: settled by two characters.
    openers = [hit for hit in hits if _may_go_on(texts[hit.field], hit.end)]
    if not openers:
        return []
    by_field: dict[str, dict[int, list[Hit]]] = {}
    for hit in hits:
        by_field.setdefault(hit.field, {}).setdefault(hit.start, []).append(hit)
    taken: dict[str, list[tuple[int, int]]] = {}
    for hit in others:
        taken.setdefault(hit.field, []).append((hit.start, hit.end))
    found = []
    used: set[tuple[str, int]] = set()
    for hit in sorted(openers, key=lambda hit: (hit.field != "title", hit.start)):
        if (hit.field, hit.start) in used:
            continue
        listed = _run(
            texts[hit.field], by_field[hit.field], taken.get(hit.field, []), hit.start, several
        )
        if listed is not None:
            used.update((hit.field, one.start) for one in listed.hits)
            found.append(listed)
    return found


def _may_go_on(text: str, end: int) -> bool:
    """Return False when what follows a name at *end* cannot join it to another."""
    return _GOES_ON.match(text, end) is not None


def _run(
    text: str,
    starts: Mapping[int, list[Hit]],
    taken: list[tuple[int, int]],
    start: int,
    several: Collection[str] = (),
) -> Enumeration | None:
    """Return the enumeration that begins with the hit at *start*, if it begins one."""
    first = max(starts[start], key=lambda hit: hit.end)
    items = [text[first.start : first.end]]
    listed = list(starts[start])
    kinds = {_kind(first, text, several)}
    position = first.end
    closed = False
    while True:
        separator = _SEPARATOR.match(text, position)
        if separator is None or not (
            separator.group("particle")
            or separator.group("mark")
            or separator.group("closing")
            or separator.group("korean")
            or separator.group("also")
        ):
            break
        # After "and" or "or" the list is over, unless it goes on with "as well as",
        # "along with" or "а также" ("India and Israel, along with Russia and ...").
        if closed and not separator.group("also"):
            break
        closed = bool(separator.group("closing"))
        after = separator.end()
        if after not in starts and (article := _ARTICLE.match(text, after)):
            after = article.end()
        if after in starts:
            following = max(starts[after], key=lambda hit: hit.end)
            listed.extend(starts[after])
            kinds.add(_kind(following, text, several))
            items.append(text[following.start : following.end])
            position = following.end
        else:
            name = _NAME.match(text, after)
            if name is None or any(a < name.end() and name.start() < b for a, b in taken):
                break
            items.append(name.group())
            kinds.add("\x00" + fold_alias(name.group()))
            position = name.end()
    if len(items) < MIN_ITEMS or len(kinds) < MIN_ITEMS:
        return None
    return Enumeration(tuple(items), tuple(listed))


def _kind(hit: Hit, text: str, several: Collection[str]) -> str:
    """Return what makes *hit* a different item: its entity, or its name in *several*."""
    if hit.label in several:
        return "\x00" + fold_alias(text[hit.start : hit.end])
    return hit.label


def without_context(
    hits: Mapping[str, Collection[Hit]], needs: Mapping[str, Collection[str]]
) -> list[Hit]:
    """Return the hits of each entity in *needs* with no hit of its context entities nearby.

    *hits* are a topic's hits by entity name; nearby is the same paragraph, or the top of
    the story: the headline and the first paragraph, read as one.
    """
    lost: list[Hit] = []
    for entity, context in needs.items():
        found = hits.get(entity)
        if not found:
            continue
        around = {_unit(hit) for name in context for hit in hits.get(name, ())}
        if _TOP in around:
            continue  # the headline or the lead sets the sense for the whole story
        lost.extend(hit for hit in found if _unit(hit) not in around)
    return lost


def context_note(document: Document, hits: Collection[Hit], context: Collection[str]) -> str:
    """Return the line an explanation shows for hits set aside for want of context."""
    fields = {field.name: field.text for field in document.fields}
    names = ", ".join(dict.fromkeys(fields[hit.field][hit.start : hit.end] for hit in hits))
    return f"{names} not counted: no {' or '.join(context)} in its paragraph or the lead"


_TOP = 0  # the paragraph number of the headline and the lead, as _unit gives them


def _unit(hit: Hit) -> int:
    return _TOP if hit.field == "title" else hit.paragraph


def in_passing(witness: Collection[Hit], sentences: int, top: bool = True) -> bool:
    """Return True when a rule's *witness* stands in fewer than *sentences* sentences, and
    (when *top*) none of them in the headline or the lead.

    Under a headline about a third party (*top* False) the lead is no proof of the subject:
    it says what the third party did, and the pair must hold in *sentences* sentences.
    """
    units = {(hit.field, hit.paragraph, hit.sentence) for hit in witness}
    if top and any(_unit(hit) == _TOP for hit in witness):
        return False
    return len(units) < sentences


def passing_note(
    rule: str, witness: Collection[Hit], sentences: int, third: Sequence[str] = ()
) -> str:
    """Return the line an explanation shows for a rule set aside as a passing clause."""
    count = len({(hit.field, hit.paragraph, hit.sentence) for hit in witness})
    found = "1 sentence" if count == 1 else f"{count} sentences"
    if third and any(_unit(hit) == _TOP for hit in witness):
        return (
            f"{rule} set aside: only in passing ({found} under a headline about a third "
            f"party, {', '.join(third)}; there the subject must hold in {sentences} sentences)"
        )
    return (
        f"{rule} set aside: only in passing ({found} below the lead; the subject of a story "
        f"is in its headline, its lead or {sentences} sentences)"
    )
