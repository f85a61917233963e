"""Durations (``10m``), points in time (``--since 24h``) and the one UTC text format we store."""

from __future__ import annotations

import math
import re
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
DURATION_HINT = "use e.g. 90s, 10m, 1h, 2d"


def parse_duration(text: str) -> float:
    """Return the seconds in a duration like ``90s``, ``10m``, ``1h``, ``2d`` or ``1w``.

    Raises ValueError for anything else.
    """
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration ({DURATION_HINT})")
    value, unit = match.groups()
    seconds = float(value) * _UNITS[unit.lower()]
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is too long to be a duration ({DURATION_HINT})")
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration ({DURATION_HINT})")
    return seconds


def format_duration(seconds: float) -> str:
    """Return the shortest exact duration text for a number of seconds, e.g. ``600`` -> ``10m``."""
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_since(text: str, now: datetime) -> datetime:
    """Return the UTC time meant by ``--since``: a duration back from *now*, or a date or time.

    ``24h`` and ``7d`` count back from now; ``2026-11-01`` is midnight UTC of that day;
    ``2026-11-01T08:00`` and ``2026-11-01T08:00+09:00`` are read as ISO 8601 (UTC when no
    offset is given). Raises ValueError with a hint for anything else.
    """
    if _DURATION.match(text):
        seconds = parse_duration(text)  # says why a zero or endless duration is no use
        try:
            return now - timedelta(seconds=seconds)
        except OverflowError:
            raise ValueError(
                f"{text!r} reaches back before the year 1 (use e.g. 24h, 7d, 2026-11-01)"
            ) from None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration nor a date (use e.g. 24h, 7d, 2026-11-01)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in the year 10000 in UTC
        raise ValueError(f"{text!r} is out of the range of dates (years 1 to 9999)") from None


def to_text(when: datetime) -> str:
    """Return *when* as the UTC text stored in the archive, e.g. ``2026-11-27T08:00:00Z``.

    The fixed width makes text order the same as time order, so SQL can compare and sort it.
    """
    if when.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware one")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_text(text: str) -> datetime:
    """Return the aware UTC datetime for a time stored by :func:`to_text`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def utcnow() -> datetime:
    """Return the current time, aware and in UTC; the one place wirewatch reads the clock."""
    return datetime.now(UTC)


def zone_named(name: str) -> tzinfo:
    """Return the time zone called *name* (``Asia/Seoul``, ``UTC``); raise ValueError with a
    hint for a name the zone database does not know."""
    if name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # the zone database: only for a zone

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone name (use one like Asia/Seoul, Europe/Moscow or UTC)"
        ) from None


# The zone a command shows times in to people (wirewatch --tz, or the config's timezone:),
# set once per command by show_times_in; JSON, CSV and the archive keep UTC.
_SHOWN: ContextVar[tuple[tzinfo, str]] = ContextVar("shown", default=(UTC, "UTC"))


def show_times_in(zone: tzinfo, name: str) -> None:
    """Show the times this command prints in *zone*, called *name* in headers."""
    _SHOWN.set((zone, name))


def shown_zone() -> tzinfo:
    """The zone times are shown in."""
    return _SHOWN.get()[0]


def zone_name() -> str:
    """The name of the zone times are shown in, for a header: ``UTC``, ``Asia/Seoul``."""
    return _SHOWN.get()[1]


def in_zone(text: str | None, zone: tzinfo) -> str:
    """Return a stored UTC time as ``2026-11-27 08:00`` in *zone*; other text as it is."""
    if not text:
        return ""
    if zone is UTC:
        return text.replace("T", " ")[:16]
    try:
        when = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return text.replace("T", " ")[:16]
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")
