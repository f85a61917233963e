"""The SQLite archive: schema, migrations and every write wirewatch makes.

One file holds the sources' state, the articles with their full text (and an FTS5 index over
title and body), the flags the topics raised, and a record of every crawl run. It runs in WAL
mode with a busy timeout, so analysts can read while a crawl writes, and each write is one
short transaction: a crawl killed part-way loses at most the article it was writing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.db import Table

from monitor.errors import ArchiveError
from monitor.timeutil import to_text

BUSY_TIMEOUT_MS = 10_000
# The WAL is truncated back to this size after checkpoints, so readers cannot make it grow
# without bound (PITFALLS: "checkpoint starvation").
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

migrations = sqlite_utils.Migrations("wirewatch")


@migrations(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    db["sources"].create(  # type: ignore[union-attr]
        {
            "name": str,
            "kind": str,
            "url": str,
            "last_attempt": str,
            "last_success": str,
            "failures": int,
            "last_error_class": str,
            "last_error": str,
        },
        pk="name",
        not_null={"kind", "url", "failures"},
        defaults={"failures": 0},
    )
    db["runs"].create(  # type: ignore[union-attr]
        {
            "id": int,
            "started": str,
            "finished": str,
            "status": str,  # running, ok, failed, timeout, interrupted
            "sources": str,  # JSON list of source names
            "pid": int,
            "exit_code": int,
            "new": int,
            "flagged": int,
            "failed": int,
            "error": str,
        },
        pk="id",
        not_null={"started", "status", "sources"},
    )
    db["run_sources"].create(  # type: ignore[union-attr]
        {
            "run_id": int,
            "source": str,
            "status": str,  # running, fetched, ok, failed, interrupted
            "entries": int,
            "warning": str,  # a defect of the feed that did not stop it being read
            "new": int,
            "flagged": int,
            "error_class": str,
            "error": str,
            "finished": str,
        },
        pk=("run_id", "source"),
        foreign_keys=[("run_id", "runs", "id"), ("source", "sources", "name")],
        not_null={"status"},
    )
    articles = db["articles"]
    articles.create(  # type: ignore[union-attr]
        {
            "id": int,
            "key": str,  # identity of the story, see crawler.identity
            "url": str,
            "guid": str,
            "source": str,
            "title": str,
            "summary": str,
            "body": str,
            "published": str,
            "published_raw": str,
            "fetched": str,
            "language": str,
            "content_hash": str,
            "extract_error": str,
            "run_id": int,
        },
        pk="id",
        not_null={"key", "url", "source", "fetched", "title", "body", "content_hash"},
        foreign_keys=[("source", "sources", "name"), ("run_id", "runs", "id")],
    )
    articles.create_index(["key"], unique=True)  # type: ignore[union-attr]
    articles.create_index(["url"])  # type: ignore[union-attr]
    articles.create_index(["source", "guid"])  # type: ignore[union-attr]
    articles.create_index(["content_hash"])  # type: ignore[union-attr]
    articles.create_index(["run_id"])  # type: ignore[union-attr]
    articles.create_index(["published"])  # type: ignore[union-attr]
    articles.enable_fts(  # type: ignore[union-attr]
        ["title", "body"], create_triggers=True, tokenize="unicode61 remove_diacritics 2"
    )
    flags = db["flags"]
    flags.create(  # type: ignore[union-attr]
        {
            "id": int,
            "article_id": int,
            "topic": str,
            "score": float,
            "threshold": float,
            "rule": str,
            "terms": str,  # JSON list of {entity, alias, field, start, end}
            "snippet": str,
            "created": str,
        },
        pk="id",
        not_null={"article_id", "topic", "score", "created"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    flags.create_index(["article_id", "topic"], unique=True)  # type: ignore[union-attr]
    flags.create_index(["topic", "created"])  # type: ignore[union-attr]


@dataclass(frozen=True)
class SourceRef:
    """What the archive records about a source when a run starts."""

    name: str
    kind: str
    url: str


@dataclass(frozen=True)
class SourceOutcome:
    """How one source fared in one run."""

    source: str
    status: str
    entries: int | None
    new: int
    flagged: int
    error_class: str | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "entries": self.entries,
            "new": self.new,
            "flagged": self.flagged,
            "error_class": self.error_class,
            "error": self.error,
        }


def content_hash(text: str) -> str:
    """Return the hash that identifies an article's text regardless of case and spacing."""
    normalised = " ".join(text.casefold().split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


class Archive:
    """An open archive file; use :meth:`open`."""

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Archive:
        """Open the archive at *path*, creating it (when *create*) and applying migrations."""
        if not create and not path.exists():
            raise ArchiveError(
                f"{path}: no archive here yet (run 'wirewatch crawl' first, or check 'archive:' "
                "in the config)"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
            db = sqlite_utils.Database(connection)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            migrations.apply(db)
        except sqlite3.DatabaseError as error:
            raise ArchiveError(f"{path}: cannot open the archive: {error}") from None
        except OSError as error:
            raise ArchiveError(f"{path}: cannot create the archive: {error.strerror}") from None
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def table(self, name: str) -> Table:
        return self.db.table(name)

    @contextmanager
    def writing(self) -> Iterator[sqlite_utils.Database]:
        """Run a block as one write transaction, taking the write lock at the start.

        ``BEGIN IMMEDIATE`` rather than sqlite-utils' deferred ``BEGIN``: a deferred transaction
        that reads first and then writes fails at once with SQLITE_BUSY when another process
        wrote in between, instead of waiting for the busy timeout.
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            with self.db.atomic():
                yield self.db
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    # Runs --------------------------------------------------------------------------------

    def start_run(self, sources: Sequence[SourceRef], now: datetime, pid: int) -> int:
        """Record the start of a crawl over *sources* and return the run's ID."""
        with self.writing():
            for source in sources:
                self.db.execute(
                    "INSERT INTO sources (name, kind, url, failures) VALUES (?, ?, ?, 0) "
                    "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, url = excluded.url",
                    [source.name, source.kind, source.url],
                )
            cursor = self.db.execute(
                "INSERT INTO runs (started, status, sources, pid) VALUES (?, 'running', ?, ?)",
                [to_text(now), json.dumps([source.name for source in sources]), pid],
            )
            run_id = int(cursor.lastrowid or 0)
            self.table("run_sources").insert_all(
                {"run_id": run_id, "source": source.name, "status": "running"} for source in sources
            )
        return run_id

    def record_feed(
        self, run_id: int, source: str, entries: int, warning: str | None = None
    ) -> None:
        """Record that a source's feed was fetched and read, with its number of entries."""
        with self.writing():
            self.db.execute(
                "UPDATE run_sources SET status = 'fetched', entries = ?, warning = ? "
                "WHERE run_id = ? AND source = ?",
                [entries, warning, run_id, source],
            )

    def record_source_error(
        self, run_id: int, source: str, error_class: str, message: str, now: datetime
    ) -> None:
        """Record why a source could not be collected in this run."""
        with self.writing():
            self.db.execute(
                "UPDATE run_sources SET status = 'failed', error_class = ?, error = ?, "
                "finished = ? WHERE run_id = ? AND source = ?",
                [error_class, message, to_text(now), run_id, source],
            )

    def finish_run(
        self,
        run_id: int,
        status: str,
        now: datetime,
        *,
        exit_code: int | None = None,
        error: str | None = None,
    ) -> list[SourceOutcome]:
        """Close a run: settle each source's outcome, update its health, and total the run.

        A source still ``running`` or ``fetched`` when the run ends badly is ``interrupted``:
        it is neither a success nor a failure of the source.
        """
        finished = to_text(now)
        with self.writing():
            settled = "ok" if status == "ok" else "interrupted"
            self.db.execute(
                "UPDATE run_sources SET status = ?, finished = ? "
                "WHERE run_id = ? AND status IN ('running', 'fetched')",
                [settled, finished, run_id],
            )
            self.db.execute(
                """
                UPDATE run_sources SET
                  new = (SELECT count(*) FROM articles a
                         WHERE a.run_id = run_sources.run_id AND a.source = run_sources.source),
                  flagged = (SELECT count(DISTINCT f.article_id) FROM flags f
                             JOIN articles a ON a.id = f.article_id
                             WHERE a.run_id = run_sources.run_id AND a.source = run_sources.source)
                WHERE run_id = ?
                """,
                [run_id],
            )
            started = self.db.execute("SELECT started FROM runs WHERE id = ?", [run_id]).fetchone()
            attempt = started[0] if started else finished
            self.db.execute(
                """
                UPDATE sources SET last_attempt = ?, last_success = ?, failures = 0,
                  last_error_class = NULL, last_error = NULL
                WHERE name IN (SELECT source FROM run_sources WHERE run_id = ? AND status = 'ok')
                """,
                [attempt, finished, run_id],
            )
            self.db.execute(
                """
                UPDATE sources SET last_attempt = ?, failures = failures + 1,
                  last_error_class = (SELECT error_class FROM run_sources r
                                      WHERE r.run_id = ? AND r.source = sources.name),
                  last_error = (SELECT error FROM run_sources r
                                WHERE r.run_id = ? AND r.source = sources.name)
                WHERE name IN (SELECT source FROM run_sources
                               WHERE run_id = ? AND status = 'failed')
                """,
                [attempt, run_id, run_id, run_id],
            )
            self.db.execute(
                """
                UPDATE runs SET finished = ?, status = ?, exit_code = ?, error = ?,
                  new = (SELECT coalesce(sum(new), 0) FROM run_sources WHERE run_id = ?),
                  flagged = (SELECT coalesce(sum(flagged), 0) FROM run_sources WHERE run_id = ?),
                  failed = (SELECT count(*) FROM run_sources
                            WHERE run_id = ? AND status = 'failed')
                WHERE id = ?
                """,
                [finished, status, exit_code, error, run_id, run_id, run_id, run_id],
            )
        return self.outcomes(run_id)

    def outcomes(self, run_id: int) -> list[SourceOutcome]:
        """Return each source's outcome in a run, in the order the run listed them."""
        row = self.db.execute("SELECT sources FROM runs WHERE id = ?", [run_id]).fetchone()
        order = {name: index for index, name in enumerate(json.loads(row[0]))} if row else {}
        rows = self.db.execute(
            "SELECT source, status, entries, coalesce(new, 0), coalesce(flagged, 0), "
            "error_class, error FROM run_sources WHERE run_id = ?",
            [run_id],
        ).fetchall()
        outcomes = [SourceOutcome(*row) for row in rows]
        return sorted(outcomes, key=lambda outcome: order.get(outcome.source, len(order)))

    # Articles ----------------------------------------------------------------------------

    def is_known(self, source: str, guid: str | None, *keys: str) -> bool:
        """Return True when a story with one of these keys or URLs, or this GUID from this
        source, is archived."""
        marks = ", ".join("?" for _ in keys)
        row = self.db.execute(
            f"SELECT 1 FROM articles WHERE key IN ({marks}) "
            f"UNION ALL SELECT 1 FROM articles WHERE url IN ({marks}) "
            "UNION ALL SELECT 1 FROM articles WHERE source = ? AND guid = ? LIMIT 1",
            [*keys, *keys, source, guid],
        ).fetchone()
        return row is not None

    def add_article(
        self,
        article: dict[str, Any],
        flags: Sequence[dict[str, Any]],
        *,
        identifiers: Sequence[str] = (),
    ) -> int | None:
        """Store an article and its flags in one transaction; return its ID, or None if known.

        An article is known when its key, or one of *identifiers* (keys or URLs that name the
        same story), is archived, or its GUID is archived for the same source; then nothing
        is written.
        """
        with self.writing():
            known = {article["key"], *identifiers}
            if self.is_known(article["source"], article.get("guid"), *known):
                return None
            record = dict(article)
            record.setdefault("content_hash", content_hash(record.get("body") or ""))
            columns = ", ".join(record)
            marks = ", ".join("?" for _ in record)
            cursor = self.db.execute(
                f"INSERT INTO articles ({columns}) VALUES ({marks})", list(record.values())
            )
            article_id = int(cursor.lastrowid or 0)
            for flag in flags:
                self.db.execute(
                    "INSERT INTO flags (article_id, topic, score, threshold, rule, terms, "
                    "snippet, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        article_id,
                        flag["topic"],
                        flag["score"],
                        flag["threshold"],
                        flag["rule"],
                        json.dumps(flag["terms"], ensure_ascii=False),
                        flag["snippet"],
                        article["fetched"],
                    ],
                )
        return article_id
