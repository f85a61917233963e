"""A flagged story's readout: which roles carried it and when, read off its copies.

The roles are the config's (``roles:``, and ``role:`` on each source); the copies, each a
source and a UTC date, are the story's cluster as the archive holds it
(monitor.archive.readout). Everything here is pure: the same copies and roles give the same
readout, for ``show``, the story page, the digest and ``timeline``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.archive.readout import StoryCopies, story_copies
from monitor.timeutil import from_text, to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive


@dataclass(frozen=True)
class Roles:
    """The config's roles: each name with its description, and each source's role."""

    described: dict[str, str] = field(default_factory=dict)  # in the config's order
    of_source: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.described)


@dataclass(frozen=True)
class Readout:
    """Who carried a story first, when each role followed, and which roles never did."""

    first_source: str
    first_role: str | None  # None when the first source has no role
    first_seen: datetime
    roles: dict[str, datetime]  # each role that carried it, earliest first, at its first copy
    sources: dict[str, str]  # each of those roles, with the source that carried it first
    never: list[str]  # the config's roles that did not carry it, in the config's order

    def followed(self) -> list[tuple[str, float]]:
        """Return each role after the first, with the seconds it came after the first copy."""
        return [
            (role, (when - self.first_seen).total_seconds())
            for role, when in self.roles.items()
            if role != self.first_role
        ]

    def as_json(self) -> dict[str, Any]:
        """Return the readout as JSON shows it: UTC times in ISO 8601."""
        return {
            "first_seen": to_text(self.first_seen),
            "first_source": self.first_source,
            "first_role": self.first_role,
            "roles": {role: to_text(when) for role, when in self.roles.items()},
            "never": list(self.never),
        }


def readout_of(copies: Iterable[tuple[str, str | None]], roles: Roles) -> Readout | None:
    """Return the readout of a story whose copies are *copies* (source, UTC date text).

    None when no copy has a date. A source without a role counts for who was first, and
    for no role.
    """
    dated = sorted(
        (from_text(date), source) for source, date in copies if date
    )  # earliest first; ties by source name, so the answer never depends on the order given
    if not dated:
        return None
    first_seen, first_source = dated[0]
    carried: dict[str, datetime] = {}
    sources: dict[str, str] = {}
    for when, source in dated:
        role = roles.of_source.get(source)
        if role is not None and role not in carried:
            carried[role] = when
            sources[role] = source
    return Readout(
        first_source=first_source,
        first_role=roles.of_source.get(first_source),
        first_seen=first_seen,
        roles=carried,
        sources=sources,
        never=[role for role in roles.described if role not in carried],
    )


def after(seconds: float) -> str:
    """Return how long after the first copy, as a person says it: +40 min, +3 h, +2 d 4 h."""
    if seconds < 60:
        return "same minute"
    if seconds >= 86400:
        days, hours = divmod(int(seconds // 3600), 24)
        return f"+{days} d {hours} h" if hours else f"+{days} d"
    if seconds >= 3600:
        hours, minutes = divmod(int(seconds // 60), 60)
        return f"+{hours} h {minutes} min" if minutes else f"+{hours} h"
    return f"+{int(seconds // 60)} min"


def readout_line(readout: Mapping[str, Any], first_time: str) -> str:
    """Return a readout (as :meth:`Readout.as_json` gives it) as one line of text, with the
    first copy's time shown as *first_time*:
    ``kcna first (kp-state) 08:00 UTC; ru-state +40 min; kr-media +3 h; never: wire``."""
    first = from_text(readout["first_seen"])
    role = readout["first_role"] or "no role"
    parts = [f"{readout['first_source']} first ({role}) {first_time}"]
    parts += [
        f"{name} {after((from_text(when) - first).total_seconds())}"
        for name, when in readout["roles"].items()
        if name != readout["first_role"]
    ]
    if readout["never"]:
        parts.append("never: " + ", ".join(readout["never"]))
    return "; ".join(parts)


def story_readout(archive: Archive, story: int, roles: Roles) -> dict[str, Any] | None:
    """Return the readout of *story* as JSON shows it, or None without roles or dates."""
    if not roles:
        return None
    found = readout_of(story_copies(archive, story), roles)
    return None if found is None else found.as_json()


def timeline_events(stories: Iterable[StoryCopies], roles: Roles) -> list[dict[str, Any]]:
    """Return *stories* as the timeline's events, oldest first: each story's ID, topic and
    title, its readout (as JSON shows it) and its number of outlets."""
    events = []
    for story in stories:
        readout = readout_of(story.copies, roles)
        if readout is None:
            continue
        events.append(
            {
                "story": story.article_id,
                "topic": story.topic,
                "title": story.title,
                **readout.as_json(),
                "outlets": len(story.copies),
            }
        )
    events.sort(key=lambda event: (event["first_seen"], event["story"]))
    return events


def followed(event: dict[str, Any]) -> str:
    """Return the roles after the first and when, then those that never carried the story:
    ``ru-state +40 min, kr-media +3 h; never: wire``."""
    first = from_text(event["first_seen"])
    later = ", ".join(
        f"{role} {after((from_text(when) - first).total_seconds())}"
        for role, when in event["roles"].items()
        if role != event["first_role"]
    )
    never = f"never: {', '.join(event['never'])}" if event["never"] else ""
    return "; ".join(part for part in (later, never) if part)


def roles_of(described: Mapping[str, str], of_source: Mapping[str, str]) -> Roles:
    """Return the roles of a config's ``roles:`` map and its sources' ``role:`` keys."""
    return Roles(dict(described), dict(of_source))
