"""Reading archived articles' text for the steps that judge it again: clustering, rematch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from monitor.archive.story import dated
from monitor.timeutil import to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive


class ArticleText(NamedTuple):
    """An archived article's ID, title and body."""

    id: int
    title: str
    body: str


def unclustered(archive: Archive) -> list[ArticleText]:
    """Return the articles that belong to no story yet, oldest first."""
    rows = archive.conn.execute(
        "SELECT id, title, body FROM articles WHERE cluster_id IS NULL ORDER BY id"
    ).fetchall()
    return [ArticleText(*row) for row in rows]


def ids_dated_from(archive: Archive, since: datetime | None) -> list[int]:
    """Return the IDs of the articles dated from *since* on (every article without it)."""
    where, params = "1", []
    if since is not None:
        where, params = f"{dated()} >= ?", [to_text(since)]
    rows = archive.conn.execute(f"SELECT id FROM articles WHERE {where}", params)
    return [row[0] for row in rows]


def texts_of(archive: Archive, ids: Sequence[int]) -> list[ArticleText]:
    """Return the text of the articles *ids* (those that exist), in no particular order."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = archive.conn.execute(
        f"SELECT id, title, body FROM articles WHERE id IN ({marks})", list(ids)
    ).fetchall()
    return [ArticleText(*row) for row in rows]
