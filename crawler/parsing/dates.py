"""Read the dates feeds really carry, in UTC: named zones feedparser gets wrong, Korean and
Russian dates; and keep times from the future out of the archive.

feedparser reads an unknown zone name such as ``KST`` or ``MSK`` as UTC without a word, and
misreads ``2024년 10월 18일 08:00``. The handlers below are registered with feedparser when
this module is imported; each returns None for text it does not recognise.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import feedparser

# Zone names seen in the feeds we follow; ambiguous ones (IST, CST) are left out on purpose.
ZONES = {
    "KST": 9, "JST": 9, "MSK": 3, "MSD": 4, "HKT": 8, "SGT": 8, "PHT": 8, "ICT": 7, "WIB": 7,
    "AEST": 10, "AEDT": 11, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3, "BST": 1, "WET": 0,
    "WEST": 1, "UTC": 0, "GMT": 0, "UT": 0, "Z": 0,
}  # fmt: skip
_MONTHS_EN = {
    month: number
    for number, month in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_MONTHS_RU = {  # stems of the genitive month names
    stem: number
    for number, stem in enumerate(
        ["январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр",
         "октябр", "ноябр", "декабр"],
        1,
    )
}  # fmt: skip
_RFC822_NAMED = re.compile(
    r"^\s*(?:[A-Za-z]{3},?\s*)?(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{2,4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([A-Za-z]{1,5}))?\s*$"
)
_KOREAN = re.compile(
    r"(\d{4})\s*[년.-]\s*(\d{1,2})\s*[월.-]\s*(\d{1,2})\s*일?"
    r"(?:\s*(오전|오후)?\s*(\d{1,2})\s*[:시]\s*(\d{2})?)?"
)
_RUSSIAN = re.compile(
    r"(\d{1,2})\s+([а-яё]+)\s+(\d{4})(?:\s*(?:г\.?|года)?,?\s*(?:в\s*)?(\d{1,2}):(\d{2}))?", re.I
)
FUTURE_SKEW = timedelta(minutes=10)
# The longest date text the handlers read. Real ones are under 50 characters; longer text is
# left to feedparser, since a regex with runs of optional spaces is quadratic in its length
# (a 1 MB ``<pubDate>`` took hours).
MAX_DATE_LENGTH = 100
Handler = Callable[[str], time.struct_time | None]


def _struct(when: datetime) -> time.struct_time:
    return when.astimezone(UTC).timetuple()


def _bounded(handler: Handler) -> Handler:
    """Wrap a date handler so it reads only text short enough to be a date, spaces collapsed."""

    def bounded(text: str) -> time.struct_time | None:
        if len(text) > MAX_DATE_LENGTH * 10:
            return None
        collapsed = " ".join(text.split())
        return handler(collapsed) if len(collapsed) <= MAX_DATE_LENGTH else None

    return bounded


def _named_zone(text: str) -> time.struct_time | None:
    """RFC 822 dates with a zone name feedparser does not know, e.g. ``... 08:00:00 KST``.

    A date with no zone at all, which feedparser drops when it starts with a day name, is
    read as UTC, as feedparser reads ISO 8601 times without an offset: never in the host's
    zone, so the stored time is the same on every machine.
    """
    match = _RFC822_NAMED.match(text)
    if not match:
        return None
    day, month, year, hour, minute, second, named = match.groups()
    zone = named or "UTC"
    if zone.upper() not in ZONES or month.lower() not in _MONTHS_EN:
        return None
    full_year = int(year) + (2000 if len(year) == 2 else 0)
    offset = timezone(timedelta(hours=ZONES[zone.upper()]))
    when = datetime(
        full_year, _MONTHS_EN[month.lower()], int(day), int(hour), int(minute),
        int(second or 0), tzinfo=offset,
    )  # fmt: skip
    return _struct(when)


def _korean(text: str) -> time.struct_time | None:
    """``2024년 10월 18일 08:00`` and ``2024.10.18 오후 3:05``, in Korean time (KST)."""
    match = _KOREAN.search(text)
    if not match or ("년" not in text and "오" not in text):
        return None
    year, month, day, half, hour, minute = match.groups()
    hour_value = int(hour or 0) % 12 + (12 if half == "오후" else 0) if half else int(hour or 0)
    kst = timezone(timedelta(hours=9))
    return _struct(
        datetime(int(year), int(month), int(day), hour_value, int(minute or 0), tzinfo=kst)
    )


def _russian(text: str) -> time.struct_time | None:
    """``18 октября 2024, 08:00``, in Moscow time (MSK)."""
    match = _RUSSIAN.search(text)
    if not match:
        return None
    day, month_word, year, hour, minute = match.groups()
    month = next((n for stem, n in _MONTHS_RU.items() if month_word.lower().startswith(stem)), None)
    if month is None:
        return None
    msk = timezone(timedelta(hours=3))
    return _struct(
        datetime(int(year), month, int(day), int(hour or 0), int(minute or 0), tzinfo=msk)
    )


def parse_rfc3339(text: str | None) -> datetime | None:
    """Read an RFC 3339 / W3C date (``2026-11-27``, ``2026-11-27T08:00Z``, ``...+09:00``) in UTC.

    A time without an offset is read as UTC. Text that is not such a date, or a date that a
    datetime cannot hold once moved to UTC (``0001-01-01T00:00+01:00``), gives None.
    """
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        return None


def clamp_future(published: datetime | None, fetched: datetime) -> datetime | None:
    """Return *published*, or the time of discovery when it claims to be in the future."""
    if published is not None and published > fetched + FUTURE_SKEW:
        return fetched
    return published


for _handler in (_russian, _korean, _named_zone):
    feedparser.registerDateHandler(_bounded(_handler))
