"""The archive's alert records: one per story and target, delivered once, counted by status."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.archive import Archive, SourceRef
from monitor.archive import alerts as book
from monitor.archive.alerts import AlertStatus, FlaggedStory

from .test_archive import FLAG, article

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HOOK = "json://127.0.0.1:9/hook"


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive.open(tmp_path / "archive.db") as opened:
        opened.start_run([SourceRef("wire", "feed", "http://127.0.0.1/feed.xml")], NOW, 1)
        first = opened.add_article(article(), [FLAG])
        copy = opened.add_article(
            article(key="http://127.0.0.1/a/2", url="http://127.0.0.1/a/2", guid="urn:2",
                    published=None),
            [FLAG],
        )  # fmt: skip
        with opened.writing() as db:  # the two copies are one story, the first one's
            db.execute("UPDATE articles SET cluster_id = ?", [first])
        assert first is not None and copy is not None
        yield opened


def test_a_story_flagged_twice_is_queued_once_per_target(archive: Archive) -> None:
    stories = book.flagged_since(archive, "russia-dprk", NOW - timedelta(days=1))
    assert stories == [FlaggedStory(cluster_id=1, article_id=1)]
    assert book.flagged_since(archive, "russia-dprk", NOW + timedelta(seconds=1)) == []
    assert book.queue(archive, "russia-dprk", stories, [HOOK, "mailto://x"], NOW) == 2
    assert book.queue(archive, "russia-dprk", stories, [HOOK, "mailto://x"], NOW) == 0


def test_an_alert_is_pending_until_sent_and_counted_by_status(archive: Archive) -> None:
    stories = book.flagged_since(archive, "russia-dprk", NOW - timedelta(days=1))
    book.queue(archive, "russia-dprk", stories, [HOOK, "mailto://x"], NOW)
    first, second = book.undelivered(archive)
    assert (first.topic, first.target, first.article_id, first.outlets) == (
        "russia-dprk", HOOK, 1, 1,
    )  # fmt: skip
    assert first.date == "2025-07-12T01:00:00Z"  # published, not fetched
    assert first.score == 3.5 and first.title == "Lavrov in Wonsan"
    book.mark_sent(archive, first.id, NOW)
    book.mark_failed(archive, second.id, "connection refused")
    assert [alert.id for alert in book.undelivered(archive)] == [second.id]
    counts = book.counts(archive)
    assert (counts.sent, counts.pending, counts.failed) == (1, 0, 1)
    assert counts.last_failure == book.FailedAlert(
        "russia-dprk", "mailto://x", 1, "connection refused"
    )
    statuses = archive.db.execute("SELECT status FROM alerts ORDER BY id").fetchall()
    assert statuses == [(AlertStatus.SENT,), (AlertStatus.FAILED,)]


def test_no_alerts_count_as_zero_with_no_failure(archive: Archive) -> None:
    assert book.counts(archive) == book.AlertCounts(0, 0, 0, None)
