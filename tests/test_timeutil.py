from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.timeutil import format_duration, from_text, parse_duration, parse_since, to_text

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h", 3600), ("2d", 172800), ("1w", 604800), ("1.5h", 5400)],
)
def test_durations_are_read_in_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["ten minutes", "10", "m", "-5m", "0s", "5 parsecs"])
def test_a_bad_duration_says_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"use e\.g\. 90s, 10m"):
        parse_duration(text)


def test_duration_text_round_trips() -> None:
    assert [format_duration(s) for s in (90, 600, 3600, 86400, 7.5)] == [
        "90s",
        "10m",
        "1h",
        "1d",
        "7.5s",
    ]


def test_since_counts_back_from_now_or_reads_a_date() -> None:
    assert parse_since("24h", NOW) == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_since("2026-11-01", NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T09:00+09:00", NOW) == datetime(2026, 11, 1, tzinfo=UTC)


def test_since_rejects_words_with_a_hint() -> None:
    with pytest.raises(ValueError, match="neither a duration nor a date"):
        parse_since("yesterday", NOW)


def test_stored_times_are_utc_text_that_sorts_like_time() -> None:
    seoul = datetime.fromisoformat("2026-11-27T09:00:00+09:00")
    assert to_text(seoul) == "2026-11-27T00:00:00Z"
    assert from_text("2026-11-27T00:00:00Z") == seoul
    with pytest.raises(ValueError, match="naive"):
        to_text(datetime(2026, 11, 27))
