"""Story clusters in the archive: each article's story, and the LSH bands that find copies.

An article's ``cluster_id`` is the ID of the earliest copy of its story. The bands of each
clustered article's MinHash signature (table ``lsh``) let a new article find its candidate
copies without reading every text; monitor.clusters decides which candidate is a copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from monitor.timeutil import to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive

# A (band, hash) pair of a MinHash signature.
BandKey = tuple[int, int]


class Candidate(NamedTuple):
    """A clustered article that shares an LSH band with a new one."""

    id: int
    cluster_id: int
    title: str
    body: str


def candidates(
    archive: Archive, article_id: int, keys: Sequence[BandKey], limit: int
) -> list[Candidate]:
    """Return up to *limit* clustered articles, other than *article_id*, sharing a band."""
    if not keys:
        return []
    values = ", ".join("(?, ?)" for _ in keys)
    # The bands as a table joined to lsh, so each is one lookup in its (band, hash) index: a
    # row-value IN (VALUES ...) made SQLite scan every band of the window for each article
    # (26 ms an article at 2,000 articles; 1.5 ms this way).
    rows = archive.conn.execute(
        f"""
        WITH wanted(band, hash) AS (VALUES {values})
        SELECT a.id, a.cluster_id, a.title, a.body FROM articles a
        WHERE a.id IN (SELECT l.article_id FROM wanted w
                       JOIN lsh l ON l.band = w.band AND l.hash = w.hash)
          AND a.id != ? AND a.cluster_id IS NOT NULL
        ORDER BY a.id LIMIT ?
        """,
        [value for key in keys for value in key] + [article_id, limit],
    ).fetchall()
    return [Candidate(*row) for row in rows]


def assign(archive: Archive, article_id: int, cluster: int, keys: Sequence[BandKey]) -> None:
    """Put an article in story *cluster* and store its bands.

    Call it inside ``archive.writing()``: a round of clustering writes a batch of articles
    per transaction, and each article's bands are seen by the next article's candidates.
    """
    archive.db.execute("UPDATE articles SET cluster_id = ? WHERE id = ?", [cluster, article_id])
    archive.db.conn.executemany(
        "INSERT INTO lsh (band, hash, article_id) VALUES (?, ?, ?)",
        [(band, value, article_id) for band, value in keys],
    )


def drop_bands_before(archive: Archive, before: datetime) -> None:
    """Drop the bands of articles fetched before *before*: copies appear within days."""
    with archive.writing() as db:
        db.execute(
            "DELETE FROM lsh WHERE article_id IN (SELECT id FROM articles WHERE fetched < ?)",
            [to_text(before)],
        )
