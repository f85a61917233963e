"""Triage marks: the labels an analyst gives a story (monitor.archive.labels), and the marks
kept.

Every mark is kept with its time and author, so a story's history of labels stays; its
label is the latest mark of any of its copies.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from monitor.archive.labels import Label
from monitor.archive.story import story_of
from monitor.timeutil import to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive


class Mark(TypedDict):
    """One mark of a story, as ``show`` lists them."""

    article_id: int
    label: str
    note: str | None
    marked_by: str | None
    created: str


def latest_label(story: str) -> str:
    """Return a SQL subquery for the latest label of the story whose ID is *story* (SQL).

    A mark labels the story, so the latest mark of any of its copies counts.
    """
    return f"""
    (SELECT m.label FROM marks m JOIN articles x ON x.id = m.article_id
     WHERE {story_of("x")} = {story} ORDER BY m.created DESC, m.id DESC LIMIT 1)
"""


def add_mark(
    archive: Archive, article_id: int, label: Label, *, note: str | None, by: str, now: datetime
) -> None:
    """Record a mark of the story of *article_id*; earlier marks stay."""
    with archive.writing() as db:
        db.execute(
            "INSERT INTO marks (article_id, label, note, marked_by, created) "
            "VALUES (?, ?, ?, ?, ?)",
            [article_id, str(label), note, by, to_text(now)],
        )


def story_marks(archive: Archive, story: int) -> list[Mark]:
    """Return the marks of every copy of *story*, oldest first: the story's history."""
    cursor = archive.conn.execute(
        "SELECT m.article_id, m.label, m.note, m.marked_by, m.created FROM marks m "
        f"JOIN articles x ON x.id = m.article_id WHERE {story_of('x')} = ? "
        "ORDER BY m.created, m.id",
        [story],
    )
    return [
        Mark(article_id=article_id, label=label, note=note, marked_by=by, created=created)
        for article_id, label, note, by, created in cursor.fetchall()
    ]


def marked_stories(archive: Archive) -> list[dict[str, Any]]:
    """Return each marked story once, by the article its latest mark was made on: the
    article's id, title, body and language, the story, and that mark's label and time.

    These are the stories analysts have judged, for measuring a topic on them.
    """
    cursor = archive.conn.execute(
        f"""
        SELECT a.id, a.title, a.body, a.language, m.story, m.label, m.created
        FROM (
          SELECT m.article_id, m.label, m.created, {story_of("x")} AS story,
                 row_number() OVER (
                   PARTITION BY {story_of("x")} ORDER BY m.created DESC, m.id DESC
                 ) AS latest
          FROM marks m JOIN articles x ON x.id = m.article_id
        ) m JOIN articles a ON a.id = m.article_id
        WHERE m.latest = 1 ORDER BY a.id
        """
    )
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor]
