"""The sanctions lists in the archive, and the stories that name a listed entry.

``load`` replaces the lists as a whole (one transaction) and matches every article again;
``match_new`` matches only the articles written since the last match, which the daemon
runs after each crawl. Matching reads articles in batches of BATCH, each batch its own
transaction, so a crawl never waits long behind it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.archive.story import story_of
from monitor.timeutil import to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive
    from monitor.sanctions import Entry

BATCH = 2000  # articles matched per transaction


@dataclass(frozen=True)
class Loaded:
    """What one load did."""

    entries: int
    names: int
    articles: int  # articles matched
    hits: int  # articles that name a listed entry, with each entry counted once per article


def load(
    archive: Archive,
    entries: Iterable[tuple[Entry, str]],
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> Loaded:
    """Replace the lists with *entries* (each with the file it came from), then match every
    article against them."""
    names = 0
    kept: dict[str, tuple[Entry, str]] = {}
    for entry, file in entries:
        kept.setdefault(entry.key, (entry, file))
    with archive.writing() as db:
        for table in ("sanction_hits", "sanction_names", "sanction_entries", "sanction_scan"):
            db.execute(f"DELETE FROM {table}")
        for entry, file in kept.values():
            db.execute(
                "INSERT INTO sanction_entries (key, list, kind, name, programs, imo, file, "
                "loaded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [entry.key, entry.list, entry.kind, entry.name, json.dumps(entry.programs),
                 json.dumps(entry.imo), file, to_text(now)],
            )  # fmt: skip
            for name in entry.names():
                db.execute(
                    "INSERT OR IGNORE INTO sanction_names (entry, name) VALUES (?, ?)",
                    [entry.key, name],
                )
                names += 1
    matched, hits = match_new(archive, progress=progress)
    return Loaded(len(kept), names, matched, hits)


def entries_of(archive: Archive) -> list[Entry]:
    """Return the entries as loaded, with their names."""
    from monitor.sanctions import Entry  # the lists' parsers: loaded only to match

    aliases: dict[str, list[str]] = {}
    for key, name in archive.conn.execute("SELECT entry, name FROM sanction_names"):
        aliases.setdefault(key, []).append(name)
    found = []
    for key, listed, kind, name, programs, imo in archive.conn.execute(
        "SELECT key, list, kind, name, programs, imo FROM sanction_entries ORDER BY key"
    ):
        others = tuple(alias for alias in aliases.get(key, []) if alias != name)
        found.append(Entry(key, listed, kind, name, others, tuple(json.loads(programs or "[]")),
                           tuple(json.loads(imo or "[]"))))  # fmt: skip
    return found


def match_new(archive: Archive, progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Match the articles written since the last match; return how many were matched and
    how many hits they gave. Nothing to do (and no transaction) without loaded lists or new
    articles: the lists are read, and their names compiled, only when there is work."""
    row = archive.conn.execute("SELECT last_article_id FROM sanction_scan WHERE id = 1")
    found = row.fetchone()
    last = int(found[0]) if found else 0
    newer = archive.conn.execute("SELECT 1 FROM articles WHERE id > ? LIMIT 1", [last])
    if newer.fetchone() is None:
        return 0, 0
    entries = entries_of(archive)
    if not entries:
        return 0, 0
    from monitor.sanctions import Finder

    finder = Finder(entries)
    matched = hits = 0
    while True:
        batch = archive.conn.execute(
            "SELECT id, title, summary, body FROM articles WHERE id > ? ORDER BY id LIMIT ?",
            [last, BATCH],
        ).fetchall()
        if not batch:
            break
        with archive.writing() as db:
            for article_id, title, summary, body in batch:
                for hit in finder.find(title or "", summary or "", body or ""):
                    db.execute(
                        "INSERT OR IGNORE INTO sanction_hits (article_id, entry, matched) "
                        "VALUES (?, ?, ?)",
                        [article_id, hit.key, hit.matched],
                    )
                    hits += 1
            last = int(batch[-1][0])
            db.execute(
                "INSERT INTO sanction_scan (id, last_article_id) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET last_article_id = excluded.last_article_id",
                [last],
            )
        matched += len(batch)
        if progress is not None:
            progress(matched)
    return matched, hits


def hits_of(archive: Archive, article_id: int) -> list[dict[str, Any]]:
    """Return the listed entries named by an article's story (any of its copies), each once,
    with the words that matched and the copy that named it."""
    return [
        {"key": key, "list": listed, "kind": kind, "name": name,
         "programs": json.loads(programs or "[]"), "matched": matched, "article_id": found_in}
        for key, listed, kind, name, programs, matched, found_in in archive.conn.execute(
            f"""
            SELECT e.key, e.list, e.kind, e.name, e.programs, min(h.matched), min(h.article_id)
            FROM articles me
            JOIN articles o ON {story_of("o")} = {story_of("me")}
            JOIN sanction_hits h ON h.article_id = o.id
            JOIN sanction_entries e ON e.key = h.entry
            WHERE me.id = ?
            GROUP BY e.key ORDER BY e.list, e.name
            """,
            [article_id],
        )
    ]  # fmt: skip


def loaded_summary(archive: Archive) -> dict[str, Any]:
    """Return how many entries of each list are loaded, and when they were."""
    lists = dict(
        archive.conn.execute(
            "SELECT list, count(*) FROM sanction_entries GROUP BY list ORDER BY list"
        ).fetchall()
    )
    row = archive.conn.execute("SELECT max(loaded) FROM sanction_entries").fetchone()
    return {"lists": lists, "loaded": row[0] if row else None}


# The condition that a flagged story (a row ``v`` of flagged_stories) names a listed entry.
SANCTIONED_STORY = (
    "EXISTS (SELECT 1 FROM articles o JOIN sanction_hits h ON h.article_id = o.id "
    f"WHERE {story_of('o')} = +v.story)"
)
