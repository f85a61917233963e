"""Re-check records: each flagged story's page read again, its versions, and their alerts.

A row of ``rechecks`` is one reading of a flagged story's page (monitor.rechecking judges
it). A row whose text is kept is a new version: the next check compares with the latest
one, or with the article as first archived when there is none. ``change_alerts`` holds one
row per change and alert target, so an edit or a removal is sent once to each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.archive.alerts import AlertStatus
from monitor.rechecking import Candidate, Change, Verdict, Version, changes_of
from monitor.timeutil import from_text, to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive

# The changes a row stands for, in SQL: one output row per change (see changes()).
_CHANGES = """
    SELECT id, 'removed' AS change FROM rechecks WHERE outcome = 'removed' AND {where}
    UNION ALL SELECT id, 'edited' FROM rechecks WHERE text_changed = 1 AND {where}
    UNION ALL SELECT id, 'retitled' FROM rechecks WHERE title_changed = 1 AND {where}
"""


@dataclass(frozen=True)
class Recheck:
    """One re-check of a story, as ``show`` and the story page list its versions."""

    id: int
    article_id: int
    checked: str
    outcome: str
    http_status: int | None
    url: str | None
    title: str | None
    previous_title: str | None
    title_changed: bool
    text_changed: bool
    content_hash: str | None
    sha256: str | None
    diff: str | None
    error: str | None

    def changes(self) -> list[Change]:
        """Return the changes this check found."""
        return changes_of(self.outcome, self.text_changed, self.title_changed)


@dataclass(frozen=True)
class ChangeRow:
    """One change of a flagged story, as ``wirewatch changes`` lists it."""

    story: int
    url: str
    source: str
    title: str
    change: Change
    checked: str
    recheck_id: int
    previous_title: str | None
    new_title: str | None
    diff: str | None
    content_hash: str | None
    sha256: str | None
    http_status: int | None
    final_url: str | None


@dataclass(frozen=True)
class PendingChangeAlert:
    """A change alert not yet delivered to its target."""

    id: int
    target: str
    change: ChangeRow


_COLUMNS = (
    "id, article_id, checked, outcome, http_status, url, title, previous_title, "
    "title_changed, text_changed, content_hash, sha256, diff, error"
)


def candidates(archive: Archive) -> list[Candidate]:
    """Return every flagged story's article with its history of re-checks.

    One row per article that stands for a flagged story (``flag_stories``, read through its
    article index); the article by its primary key, the checks by their article index.
    """
    rows = archive.conn.execute(
        """
        SELECT a.id, a.url, a.source, a.fetched,
               (SELECT max(r.round) FROM rechecks r WHERE r.article_id = a.id),
               EXISTS (SELECT 1 FROM rechecks r WHERE r.article_id = a.id
                       AND r.outcome = 'removed')
        FROM (SELECT DISTINCT article_id FROM flag_stories) s
        JOIN articles a ON a.id = s.article_id
        ORDER BY a.id
        """
    ).fetchall()
    return [
        Candidate(row[0], row[1], row[2], from_text(row[3]), row[4], bool(row[5])) for row in rows
    ]


def version(archive: Archive, article_id: int) -> Version:
    """Return the latest version of a story: the text of its last changed re-check, else
    the article's, and the headline its last re-check read, else the article's.

    An article whose page gave no text (its body is the feed summary) has no text to
    compare with until a re-check reads one. ``first`` says the headline is the article's,
    which may be the feed's rather than the page's.
    """
    title = archive.conn.execute(
        "SELECT title FROM rechecks WHERE article_id = ? AND title IS NOT NULL "
        "ORDER BY checked DESC, id DESC LIMIT 1",
        [article_id],
    ).fetchone()
    row = archive.conn.execute(
        "SELECT title, text, content_hash FROM rechecks "
        "WHERE article_id = ? AND text IS NOT NULL ORDER BY checked DESC, id DESC LIMIT 1",
        [article_id],
    ).fetchone()
    if row is not None:
        return Version(title[0] if title else row[0], row[1], row[2])
    article = archive.conn.execute(
        "SELECT title, body, content_hash, extract_error FROM articles WHERE id = ?",
        [article_id],
    ).fetchone()
    if article is None:
        return Version(None, None, None)
    headline, first = (title[0], False) if title else (article[0], True)
    if article[3] is not None:  # the body is the feed's summary, not the page's text
        return Version(headline, None, None, first=first)
    return Version(headline, article[1], article[2], first=first)


def record(
    archive: Archive,
    article_id: int,
    round_: int | None,
    checked: datetime,
    verdict: Verdict,
    *,
    http_status: int | None,
    url: str | None,
    sha256: str | None,
) -> int:
    """Store one re-check; return its ID."""
    with archive.writing() as db:
        cursor = db.execute(
            "INSERT INTO rechecks (article_id, round, checked, outcome, http_status, url, title, "
            "previous_title, title_changed, text_changed, content_hash, sha256, text, diff, "
            "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                article_id, round_, to_text(checked), str(verdict.outcome), http_status, url,
                verdict.title, verdict.previous_title, int(verdict.title_changed),
                int(verdict.text_changed), verdict.content_hash, sha256, verdict.text,
                verdict.diff, verdict.error,
            ],
        )  # fmt: skip
        return int(cursor.lastrowid or 0)


def last_id(archive: Archive) -> int:
    """Return the ID of the latest re-check, 0 when there is none."""
    row = archive.conn.execute("SELECT max(id) FROM rechecks").fetchone()
    return int(row[0] or 0)


def of_story(archive: Archive, article_id: int) -> list[Recheck]:
    """Return the re-checks of a story's article, oldest first."""
    rows = archive.conn.execute(
        f"SELECT {_COLUMNS} FROM rechecks WHERE article_id = ? ORDER BY checked, id",
        [article_id],
    ).fetchall()
    return [_recheck(row) for row in rows]


def _recheck(row: Sequence[object]) -> Recheck:
    values = list(row)
    values[8], values[9] = bool(values[8]), bool(values[9])
    return Recheck(*values)  # type: ignore[arg-type]


def changes(
    archive: Archive,
    since: datetime | None = None,
    *,
    ids: Iterable[int] | None = None,
    after_id: int | None = None,
) -> list[ChangeRow]:
    """Return the changes found since *since*, by the re-checks *ids*, or by those after
    the re-check *after_id*; oldest first.

    Read through the index on ``checked`` (or the primary key): the rows of the changes
    themselves, never every re-check of the archive.
    """
    params: list[object]
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        where, params = f"id IN ({', '.join('?' for _ in wanted)})", list(wanted)
    elif after_id is not None:
        where, params = "id > ?", [after_id]
    else:
        where, params = "checked >= ?", [to_text(since) if since else ""]
    rows = archive.conn.execute(
        f"""
        SELECT r.article_id, a.url, a.source, a.title, c.change, r.checked, r.id,
               coalesce(r.previous_title, a.title), r.title, r.diff, r.content_hash, r.sha256,
               r.http_status, r.url
        FROM ({_CHANGES.format(where=where)}) c
        JOIN rechecks r ON r.id = c.id
        JOIN articles a ON a.id = r.article_id
        ORDER BY r.checked, r.id, c.change
        """,
        params * 3,
    ).fetchall()
    return [
        ChangeRow(
            story=row[0],
            url=row[1],
            source=row[2],
            title=row[3],
            change=Change(row[4]),
            checked=row[5],
            recheck_id=row[6],
            previous_title=row[7],
            new_title=row[8],
            diff=row[9],
            content_hash=row[10],
            sha256=row[11],
            http_status=row[12],
            final_url=row[13],
        )
        for row in rows
    ]


def topics_of(archive: Archive, article_ids: Iterable[int]) -> dict[int, list[str]]:
    """Return the topics that flagged each story of *article_ids*."""
    wanted = sorted(set(article_ids))
    found: dict[int, list[str]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for article_id, topic in archive.conn.execute(
            f"SELECT article_id, topic FROM flag_stories WHERE article_id IN ({marks}) "
            "ORDER BY topic",
            chunk,
        ):
            found.setdefault(article_id, []).append(topic)
    return found


# Alerts of changes ------------------------------------------------------------------------


def queue_alerts(
    archive: Archive, found: Iterable[tuple[ChangeRow, Sequence[str]]], now: datetime
) -> int:
    """Queue one alert per change and target that has none; return how many were queued."""
    queued = 0
    with archive.writing() as db:
        for change, targets in found:
            for target in targets:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO change_alerts (recheck_id, change, target, status, "
                    "created) VALUES (?, ?, ?, ?, ?)",
                    [change.recheck_id, str(change.change), target, AlertStatus.PENDING,
                     to_text(now)],
                )  # fmt: skip
                queued += cursor.rowcount
    return queued


def undelivered(archive: Archive) -> list[PendingChangeAlert]:
    """Return the change alerts not yet sent, oldest first."""
    rows = archive.conn.execute(
        "SELECT id, recheck_id, change, target FROM change_alerts WHERE status != ? ORDER BY id",
        [AlertStatus.SENT],
    ).fetchall()
    by_check = {
        (row.recheck_id, str(row.change)): row
        for row in changes(archive, ids=[row[1] for row in rows])
    }
    return [
        PendingChangeAlert(row[0], row[3], by_check[(row[1], row[2])])
        for row in rows
        if (row[1], row[2]) in by_check
    ]


def mark_sent(archive: Archive, alert_id: int, now: datetime) -> None:
    """Record that a change alert was delivered."""
    with archive.writing() as db:
        db.execute(
            "UPDATE change_alerts SET status = ?, sent = ?, attempts = attempts + 1, "
            "last_error = NULL WHERE id = ?",
            [AlertStatus.SENT, to_text(now), alert_id],
        )


def mark_failed(archive: Archive, alert_id: int, error: str) -> None:
    """Record a failed attempt to deliver a change alert; it is tried again later."""
    with archive.writing() as db:
        db.execute(
            "UPDATE change_alerts SET status = ?, attempts = attempts + 1, last_error = ? "
            "WHERE id = ?",
            [AlertStatus.FAILED, error, alert_id],
        )
