"""Names that the words around them make no side of a relationship: a state given its rank,
a state something is compared with, and a place a traveller came from.

The names of a topic's ``enumerations:`` entities are set aside, as the items of a list
are (they pair with nothing in NEAR and are not counted by ``>=``), when:

- they are **ranked**: a rank follows the name, or a run of them joined as a list, after
  at most one word ("Russia ranked 158th, North Korea 149th and Afghanistan last", "with
  Russia in 171st place", "Russia and North Korea near the bottom", "Россия на последнем
  месте, КНДР — в нижней двадцатке", "러시아는 158위");
- they are **compared**: the name stands just after "than", "ahead of", "compared with",
  "unlike", "dwarfs" (чем, по сравнению с, в отличие от, опережая) or just before a Korean
  보다, 에 비해 or 와 달리 ("far ahead of Russia", "чем с Россией", "러시아보다");
- they are a **stop on a journey**: the place a traveller came from, in a sentence that says
  they arrived ("arrived in Hanoi from Pyongyang", "прилетевший из Пхеньяна"), or a stop
  named as such ("fresh from talks in Pyongyang", "after a visit to Pyongyang", "after
  North Korea visit", "накануне побывавший в Пхеньяне", "평양을 떠나", "평양 거쳐").
"""

from __future__ import annotations

import re
from collections.abc import Collection

from monitor.matcher.document import Document, Field
from monitor.matcher.hits import Hit
from monitor.matcher.structure import Enumeration

# What may join two ranked names: a comma, a dash, "and" or "и", or a Korean particle.
_JOIN = re.compile(r"(?:[은는이가와과]?[ \t]*[,、·][ \t]*|[ \t]*[—–][ \t]*|[ \t]+(?:and|и)[ \t]+)")
# A rank after a name, or after the last of a run of names: at most one word (ranked,
# заняла, a Korean particle), then a place in a ranking.
_ORDINAL_END = r"(?=[ \t]*(?:[,.;:)…]|$|place|position|spot|мест|out |of |among|in |and |и |а ))"
_RANK = re.compile(
    r"[ \t]*(?:[—–][ \t]*)?(?:(?!(?:in|at|near|на|в)[ \t])[^\W\d]+[ \t]+)?"
    r"(?:(?:in|at|near|to|among|на|в|во)[ \t]+)?(?:the[ \t]+)?"
    r"(?:\d+(?:st|nd|rd|th)\b"
    + _ORDINAL_END
    + r"|\d+-?(?:е|й|м|ое|ый|ом|ем|ю)\b"
    + _ORDINAL_END
    + r"|last\b(?=[ \t]*(?:[,.;:)…]|$|place|among|of|out|in the))"
    + r"|(?:the[ \t]+)?(?:bottom|worst|lowest)\b(?=[ \t]*(?:[,.;:)…]|$|of|ten|five|\d))"
    + r"|(?<=among )(?:the[ \t]+)?(?:bottom|worst|lowest|highest|best|top)\b"
    + r"|(?:at[ \t]+)?the[ \t]+(?:bottom|end)[ \t]+of[ \t]+the[ \t]+(?:list|ranking|table|index)"
    + r"|в[ \t]+(?:конце|хвосте)[ \t]+(?:списка|рейтинга|таблицы)|замыка\w*"
    + r"|последн\w*[ \t]+мест\w*|нижн\w*[ \t]+(?:част\w*|десятк\w*|двадцатк\w*)"
    + r"|\d+[ \t]*위|최하위|꼴찌|하위권)",
    re.IGNORECASE,
)
# A comparison before a name: the name is what something else is measured against.
_COMPARED = re.compile(
    r"(?:\bthan|\bahead of|\bcompared (?:with|to)|\bunlike|\bin contrast (?:with|to)"
    r"|\bdwarf(?:s|ed|ing)?|\boutstrip\w*|\boutpac\w*"
    r"|\bчем|\bпо сравнению с|\bв отличие от|\bопережая|\bопередив|\bпревосход\w*)"
    r"[ \t]+(?:(?:with|to|in|on|for|from|over|с|со|у|в|на)[ \t]+)?"
    r"(?:(?:the|its|their|his|her)[ \t]+)?$",
    re.IGNORECASE,
)
# A comparison after a Korean name: 러시아보다, 러시아에 비해, 러시아와 달리.
_COMPARED_AFTER = re.compile(r"(?:보다|에[ \t]*비해|에[ \t]*비하면|[와과][ \t]*달리)")
# A stop on a journey, named as one before the place ("after a visit to", "побывавший в").
_STOP_BEFORE = re.compile(
    r"(?:\bfresh from(?:[ \t]+[\w-]+){0,3}?[ \t]+(?:in|at)"
    r"|\bafter[ \t]+(?:(?:a|an|his|her|their|the|its)[ \t]+)?(?:[\w-]+[ \t]+)?"
    r"(?:visit|trip|stop|stopover|stay|talks)[ \t]+(?:to|in)"
    r"|\bпобывавш\w*[ \t]+в|\bпосетивш\w*|\bпосле (?:визита|посещения|переговоров) в)[ \t]+$",
    re.IGNORECASE,
)
# "after North Korea visit": "after" before the place, the journey's word after it.
_AFTER_BEFORE = re.compile(r"\bafter[ \t]+(?:(?:a|an|his|her|the|its)[ \t]+)?$", re.IGNORECASE)
_VISIT_AFTER = re.compile(r"(?:'s)?[ \t]+(?:visit|trip|stop|stopover|tour)\b", re.IGNORECASE)
_STOP_AFTER = re.compile(
    r"[을를]?[ \t]*(?:떠나|떠난|거쳐|들른[ \t]*뒤|방문을?[ \t]*마치고|방문[ \t]*후)"
)
# Where a traveller came from, in a sentence that says they arrived.
_FROM = re.compile(r"(?:\bfrom|\bиз)[ \t]+$", re.IGNORECASE)
_ARRIVED = re.compile(
    r"\b(?:arriv\w*|land(?:s|ed|ing)?|flew|flying|touched down|прибы\w*|прилет\w*|прилёт\w*"
    r"|вылет\w*)\b|도착",
    re.IGNORECASE,
)
# Where the traveller arrived: a place right after the arrival ("landed in Pyongyang").
_INTO = re.compile(r"[ \t]+(?:(?:in|at|to|into|в|во|на)[ \t]+)?(?:the[ \t]+)?", re.IGNORECASE)
_BEFORE = 60  # how far back a comparison or a journey's word is looked for, in characters


def asides(
    document: Document, hits: Collection[Hit], third: Collection[str] = ()
) -> list[Enumeration]:
    """Return the ranked, compared and journey names among *hits* (of the topic's
    ``enumerations:`` entities), each kind as one :class:`Enumeration` per field.

    The entities in *third* are third parties: a journey may end at one of them (Hanoi),
    where one that ends at a side (landed in Pyongyang) is the pair itself.
    """
    fields = {field.name: field for field in document.fields}
    found: dict[tuple[str, str], list[Hit]] = {}
    ranked = _ranked(fields, hits)
    starts = {(hit.field, hit.start) for hit in hits if hit.label not in third}
    for hit in sorted(hits, key=lambda hit: (hit.field != "title", hit.start)):
        field = fields[hit.field]
        kind = "ranking" if hit in ranked else _kind(field, hit, starts)
        if kind:
            found.setdefault((kind, hit.field), []).append(hit)
    return [
        Enumeration(
            tuple(dict.fromkeys(fields[name].text[hit.start : hit.end] for hit in listed)),
            tuple(listed),
            kind,
        )
        for (kind, name), listed in found.items()
    ]


def _kind(field: Field, hit: Hit, starts: Collection[tuple[str, int]]) -> str:
    """Return "comparison" or "journey" when the words around *hit* make it one, or "".

    A place after "from" is where a traveller came from only when they arrived somewhere
    that is none of the sides in *starts* ("from Moscow landed in Pyongyang" is the pair).
    """
    text = field.text
    before = text[max(0, hit.start - _BEFORE) : hit.start]
    after = text[hit.end : hit.end + 30]
    if _COMPARED.search(before) or _COMPARED_AFTER.match(after):
        return "comparison"
    if _STOP_BEFORE.search(before) or _STOP_AFTER.match(after):
        return "journey"
    if _AFTER_BEFORE.search(before) and _VISIT_AFTER.match(after):
        return "journey"
    if _FROM.search(before):
        start, end = field.sentence_span(hit.sentence)
        arrivals = list(_ARRIVED.finditer(text, start, end))
        into = [_INTO.match(text, arrival.end()) for arrival in arrivals]
        if arrivals and not any(place and (field.name, place.end()) in starts for place in into):
            return "journey"
    return ""


def _ranked(fields: dict[str, Field], hits: Collection[Hit]) -> set[Hit]:
    """Return the hits given a rank: each, or the run of them joined as a list it ends."""
    by_start: dict[tuple[str, int], Hit] = {}
    for hit in hits:
        known = by_start.get((hit.field, hit.start))
        if known is None or hit.end > known.end:
            by_start[(hit.field, hit.start)] = hit
    ranked: set[Hit] = set()
    run: list[Hit] = []
    for key in sorted(by_start):
        hit = by_start[key]
        text = fields[hit.field].text
        if run and (
            run[-1].field != hit.field
            or (join := _JOIN.match(text, run[-1].end)) is None
            or join.end() != hit.start
        ):
            run = []
        run.append(hit)
        if _RANK.match(text, hit.end):
            ranked.update(run)
            run = []
    return {hit for hit in hits if by_start.get((hit.field, hit.start)) in ranked}
