"""The copies of flagged stories, each a source and a date: what readouts, the timeline and
the roles' coverage are computed from (monitor.readout, monitor.coverage).

Stories are picked from flag_stories by date (idx_flag_stories_date, or
idx_flag_stories_topic_date with a topic), and each story's copies are looked up through
the index of a story's articles (idx_articles_story), so no query here scans the articles
table, however big it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.archive.story import dated, story_of
from monitor.timeutil import from_text, to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive


@dataclass(frozen=True)
class StoryCopies:
    """One flagged story of one topic, with the earliest copy of each source that ran it."""

    topic: str
    story: int
    article_id: int  # the story's earliest flagged copy: its ID in flagged
    title: str
    date: str  # the date flagged lists it by (UTC text)
    copies: list[tuple[str, str | None]]  # (source, its earliest copy's UTC date)


def story_copies(archive: Archive, story: int) -> list[tuple[str, str | None]]:
    """Return each source that carried *story*, with the date of its earliest copy."""
    return [
        (source, date)
        for source, date in archive.conn.execute(
            f"SELECT source, min({dated()}) FROM articles WHERE {story_of()} = ? GROUP BY source",
            [story],
        )
    ]


def flagged_copies(
    archive: Archive,
    *,
    since: datetime | None = None,
    topic: str | None = None,
    latest: int | None = None,
) -> list[StoryCopies]:
    """Return the flagged stories dated from *since* (of *topic*), oldest first, each with
    its sources' earliest copies; with *latest*, only that many of the newest."""
    conditions, params = ["1"], []
    if since is not None:
        conditions.append("s.date >= ?")
        params.append(to_text(since))
    if topic is not None:
        conditions.append("s.topic = ?")
        params.append(topic)
    order = "ORDER BY s.date DESC, s.story DESC"
    picked = f"SELECT s.topic, s.story, s.article_id, s.date FROM flag_stories s " \
             f"WHERE {' AND '.join(conditions)}"  # fmt: skip
    if latest is not None:
        picked += f" {order} LIMIT {int(latest)}"
    # Each story's copies are a subquery of its own, read through the story index for each
    # story picked; the + drops p.story's integer affinity, without which SQLite would not
    # compare it with the index's expression and would scan the articles instead.
    sql = f"""
        SELECT p.topic, p.story, p.article_id, p.date,
               (SELECT title FROM articles WHERE id = p.article_id) AS title,
               (SELECT json_group_array(json_array(c.source, c.first)) FROM (
                  SELECT o.source, min({dated("o")}) AS first FROM articles o
                  WHERE {story_of("o")} = +p.story GROUP BY o.source) c) AS copies
        FROM ({picked}) p
        ORDER BY p.date, p.story
    """
    found = []
    for topic_name, story, article_id, date, title, copies in archive.conn.execute(sql, params):
        found.append(
            StoryCopies(topic_name, int(story), int(article_id), title or "", date or "",
                        [(source, first) for source, first in json.loads(copies or "[]")])
        )  # fmt: skip
    return found


def first_flagged(archive: Archive, topic: str) -> datetime | None:
    """Return the date of the earliest flagged story of *topic*, or None if it has none."""
    row = archive.conn.execute(
        "SELECT min(date) FROM flag_stories WHERE topic = ?", [topic]
    ).fetchone()
    return from_text(row[0]) if row and row[0] else None
