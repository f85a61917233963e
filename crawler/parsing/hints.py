"""Read what a server says about when to ask again: Cache-Control, Expires and Retry-After."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*\"?([0-9]+)", re.I)
# Seconds beyond any hint's use (the archive honours a day at most). A longer run of digits
# counts as this: int() refuses more than 4,300 digits, and a header may carry any number.
LONGEST = 10**10


def freshness(headers: Mapping[str, str], now: datetime) -> float | None:
    """Return the seconds the response stays fresh, from Cache-Control or Expires, if given."""
    control = headers.get("cache-control", "")
    if re.search(r"no-cache|no-store", control, re.I):
        return None
    ages = [_seconds(value) for value in _MAX_AGE.findall(control)]
    if ages:
        return float(max(ages))
    expires = _http_date(headers.get("expires"))
    if expires is not None:
        return max(0.0, (expires - now).total_seconds())
    return None


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """Return the seconds a 429 or 503 asks the client to wait (seconds or an HTTP date)."""
    value = (headers.get("retry-after") or "").strip()
    if value.isascii() and value.isdigit():  # not "²", which isdigit() also accepts
        return _seconds(value)
    when = _http_date(value)
    return max(0.0, (when - now).total_seconds()) if when is not None else None


def _seconds(digits: str) -> float:
    """Return a header's run of ASCII digits as seconds, at most LONGEST."""
    return float(LONGEST) if len(digits) > 10 else float(min(int(digits), LONGEST))


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None
