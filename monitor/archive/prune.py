"""Retention: remove old articles no one needs, a small batch per transaction.

An article goes when it was fetched before the cut-off and nothing in its story was flagged
or marked: not the article, and no other copy of the same story (an old wire copy of a
flagged story stays with it, as one of its outlets). With it go its full-text index entry
(the index's triggers), its fetched page (evidence kept for flagged stories only, then)
and its grouping bands; its ``seen`` keys stay, without the article, so the crawler still
knows it and never archives it again.

Each batch is one short write transaction, so the daemon's crawls wait at most that long
for the write lock. The space comes back to SQLite's free pages, which new articles reuse;
the file itself only shrinks with ``VACUUM``.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.timeutil import to_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from monitor.archive.store import Archive

BATCH = 500  # articles per transaction
LAST_ID = 2**63 - 1

# One batch of articles to remove, after the last ID looked at: fetched before the cut-off,
# and no copy of their story (the same coalesce(cluster_id, id), which idx_articles_story
# indexes) flagged or marked. An alert is only ever made for a flagged story.
_CANDIDATES = """
    SELECT a.id FROM articles a
    WHERE a.id > :after AND a.id <= :last AND a.fetched < :cutoff
      AND NOT EXISTS (
        SELECT 1 FROM articles b
        WHERE coalesce(b.cluster_id, b.id) = coalesce(a.cluster_id, a.id)
          AND (EXISTS (SELECT 1 FROM flags f WHERE f.article_id = b.id)
               OR EXISTS (SELECT 1 FROM marks m WHERE m.article_id = b.id))
      )
    ORDER BY a.id LIMIT :batch
"""


@dataclass(frozen=True)
class PruneResult:
    """What one prune removed."""

    articles: int
    pages: int  # fetched pages removed with them
    page_bytes: int  # their compressed size
    text_bytes: int  # the articles' titles, summaries and texts
    batches: int
    seconds: float
    dry_run: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "articles": self.articles,
            "pages": self.pages,
            "page_bytes": self.page_bytes,
            "text_bytes": self.text_bytes,
            "batches": self.batches,
            "seconds": round(self.seconds, 2),
            "dry_run": self.dry_run,
        }


def prune(
    archive: Archive,
    cutoff: datetime,
    *,
    dry_run: bool = False,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> PruneResult:
    """Remove the articles fetched before *cutoff* whose story no one flagged or marked.

    With *dry_run*, count what would go and remove nothing. *progress* is told the number
    of articles removed so far after each batch.
    """
    started = time.monotonic()
    conn = archive.conn
    when = to_text(cutoff)

    def candidates(after: int, last: int) -> list[int]:
        bounds = {"after": after, "last": last, "cutoff": when, "batch": batch}
        return [row[0] for row in conn.execute(_CANDIDATES, bounds)]

    after, totals, batches = 0, [0, 0, 0, 0], 0
    while ids := candidates(after, LAST_ID):
        after = ids[-1]
        if dry_run:
            gone = ids
            sizes = _measure(conn, gone)
        else:
            with archive.writing():
                # Again inside the transaction: since the batch was read, a crawl may have
                # flagged a copy of one of these stories, or an analyst marked one.
                gone = candidates(ids[0] - 1, ids[-1])
                sizes = _measure(conn, gone)
                _remove(conn, gone)
        totals = [total + size for total, size in zip(totals, (len(gone), *sizes), strict=True)]
        batches += 1
        if progress is not None:
            progress(totals[0])
    articles, pages, page_bytes, text_bytes = totals
    return PruneResult(
        articles, pages, page_bytes, text_bytes, batches, time.monotonic() - started, dry_run
    )


def _measure(conn: sqlite3.Connection, ids: list[int]) -> tuple[int, int, int]:
    """Return the pages, their bytes, and the bytes of text of the articles *ids*."""
    if not ids:
        return 0, 0, 0
    marks = ", ".join("?" for _ in ids)
    pages, page_bytes = conn.execute(
        f"SELECT count(*), coalesce(sum(size), 0) FROM pages WHERE article_id IN ({marks})", ids
    ).fetchone()
    text = conn.execute(
        "SELECT coalesce(sum(length(CAST(title AS BLOB)) + length(CAST(body AS BLOB)) "
        f"+ coalesce(length(CAST(summary AS BLOB)), 0)), 0) FROM articles WHERE id IN ({marks})",
        ids,
    ).fetchone()[0]
    return int(pages), int(page_bytes), int(text)


def _remove(conn: sqlite3.Connection, ids: list[int]) -> None:
    if not ids:
        return
    marks = ", ".join("?" for _ in ids)
    conn.execute(f"DELETE FROM pages WHERE article_id IN ({marks})", ids)
    conn.execute(f"DELETE FROM lsh WHERE article_id IN ({marks})", ids)
    conn.execute(f"DELETE FROM sanction_hits WHERE article_id IN ({marks})", ids)
    # A story rematched out of every topic leaves its re-checks behind: they go with it.
    conn.execute(
        "DELETE FROM change_alerts WHERE recheck_id IN "
        f"(SELECT id FROM rechecks WHERE article_id IN ({marks}))",
        ids,
    )
    conn.execute(f"DELETE FROM rechecks WHERE article_id IN ({marks})", ids)
    conn.execute(f"UPDATE seen SET article_id = NULL WHERE article_id IN ({marks})", ids)
    conn.execute(f"DELETE FROM articles WHERE id IN ({marks})", ids)
