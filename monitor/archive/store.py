"""The Archive: opening the SQLite file, write transactions, and the articles it keeps.

It runs in WAL mode with a busy timeout, so analysts can read while a crawl writes, and each
write is one short transaction: a crawl killed part-way loses at most the article it was
writing. The first write of an open archive checks that the file is sound (see
monitor.archive.integrity), so nothing is written into a damaged archive, and an archive
whose folder this user cannot write is read as an immutable snapshot.

Reads go straight to the sqlite3 connection (``Archive.conn``). The sqlite-utils wrapper
(``Archive.db``), which writes and migrations use, is built on first use: loading
sqlite-utils costs a reading command more than its queries, and an archive whose schema is
current (monitor.archive.versions) needs it for no read.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.archive.integrity import CheckRecord, file_state, is_damage, problems_of
from monitor.archive.runs import RunBook
from monitor.archive.space import free_bytes, is_disk_full
from monitor.archive.versions import is_current
from monitor.errors import ArchiveDamaged, ArchiveError, ArchiveReadOnly, DiskFull
from monitor.records import ArticleRecord, FlagRecord
from monitor.timeutil import to_text
from monitor.wordforms import search_text

if TYPE_CHECKING:
    import sqlite_utils
    from sqlite_utils.db import Table

BUSY_TIMEOUT_MS = 10_000
# The WAL is truncated back to this size after checkpoints, so readers cannot make it grow
# without bound (PITFALLS: "checkpoint starvation").
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
# A page text shorter than this (a paywall notice, a one-line brief) says too little to
# identify a story by its text alone.
MIN_TEXT_FOR_IDENTITY = 500
# Why a write to an archive opened as a snapshot is refused.
READ_ONLY_FOLDER = "this user may not write its folder, so it is open read-only"


def _connect(path: Path) -> sqlite3.Connection:
    """Open *path* for reading and writing, in WAL mode with a busy timeout."""
    connection = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        # PRAGMAs run outside any transaction, so none is left open here.
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        # What sqlite-utils sets on a connection it wraps, set here so that the triggers
        # behave the same whether or not the wrapper was ever built.
        connection.execute("PRAGMA recursive_triggers = ON")
    except BaseException:
        connection.close()
        raise
    return connection


def _connect_snapshot(path: Path) -> sqlite3.Connection:
    """Open *path* read-only as an immutable file, for a user who cannot write its folder.

    SQLite reads a WAL archive through an index file (``-shm``) beside it, which only a
    user who may write the folder can create; ``immutable=1`` reads the file alone, without
    locks. That is the whole archive when no WAL holds writes the file lacks, which is the
    case once every writer has closed it (the last one moves the WAL into the file); a
    writer that starts during the read can make it fail, and running the command again
    then reads the new state.
    """
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ArchiveError(
            f"{path}: cannot read the archive: this user may not write its folder, and its "
            f"WAL ({wal.name}) holds writes not yet in the file; run the command again when "
            f"its writer has finished, or copy {path.name} and {wal.name} together into a "
            "folder you can write and read the copy"
        )
    uri = path.resolve().as_uri() + "?immutable=1"
    connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute("PRAGMA query_only = ON")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA recursive_triggers = ON")
    except BaseException:
        connection.close()
        raise
    return connection


def _code(error: sqlite3.Error) -> int | None:
    """Return the primary result code of a SQLite error (SQLITE_READONLY, ...), if known."""
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _is_read_only(error: sqlite3.Error) -> bool:
    """Return True when SQLite could not write the archive, or make its WAL files, here."""
    code = _code(error)
    if code is None:
        return "readonly" in str(error)
    return code == sqlite3.SQLITE_READONLY


def content_hash(text: str) -> str:
    """Return the hash that identifies an article's text regardless of case and spacing."""
    normalised = " ".join(text.casefold().split())
    return sha256_hex(normalised.encode("utf-8"))


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of *data* in hex."""
    import hashlib  # here, not at the top: loading OpenSSL costs every reading command 5 ms

    return hashlib.sha256(data).hexdigest()


class Archive(RunBook):
    """An open archive file; use :meth:`open`. Run bookkeeping comes from RunBook.

    Reads use :attr:`conn`; writes go through :meth:`writing` and :attr:`db`.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, read_only: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.read_only = read_only
        self._db: sqlite_utils.Database | None = None
        self._verified = False
        self._record = CheckRecord(path)

    @property
    def db(self) -> sqlite_utils.Database:
        """The sqlite-utils wrapper of :attr:`conn`, built (loading sqlite-utils) on first use."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Archive:
        """Open the archive at *path*, creating it (when *create*) and applying migrations.

        Where this user may read the archive but not write its folder, SQLite cannot make
        the WAL's index beside it; the archive is then read as an immutable snapshot (see
        _connect_snapshot), and a write to it raises ArchiveReadOnly.
        """
        if not create and not path.exists():
            raise ArchiveError(
                f"{path}: no archive here yet (run 'wirewatch crawl' first, or check 'archive:' "
                "in the config)"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                archive = cls(_connect(path), path)
            except sqlite3.OperationalError as error:
                # Tried rather than asked: os.access says yes to root on a read-only mount.
                cannot_write = _is_read_only(error) or _code(error) == sqlite3.SQLITE_CANTOPEN
                if not (path.exists() and cannot_write):
                    raise
                archive = cls(_connect_snapshot(path), path, read_only=True)
            try:
                archive._migrate()
            except BaseException:
                archive.conn.close()
                raise
        except sqlite3.DatabaseError as error:
            if is_disk_full(error, path):
                raise DiskFull(path, free_bytes(path)) from None
            # A file that is no database at all is more likely the wrong file than a damaged one.
            not_sqlite = _code(error) == sqlite3.SQLITE_NOTADB
            if is_damage(error) and not not_sqlite:
                raise ArchiveDamaged(path, str(error)) from None
            if _is_read_only(error):
                raise ArchiveReadOnly(path, f"it is read-only for this user ({error})") from None
            if _code(error) == sqlite3.SQLITE_CANTOPEN:
                raise ArchiveError(
                    f"{path}: cannot open the archive ({error}): check that this user may read "
                    "the file and its folder"
                ) from None
            raise ArchiveError(f"{path}: cannot open the archive: {error}") from None
        except OSError as error:
            if is_disk_full(error, path):
                raise DiskFull(path, free_bytes(path)) from None
            raise ArchiveError(f"{path}: cannot create the archive: {error.strerror}") from None
        return archive

    def _migrate(self) -> None:
        """Bring the schema up to date; never in a damaged file, nor in a read-only one."""
        if is_current(self.conn):
            return
        from monitor.archive.schema import migrations  # sqlite-utils: only to migrate

        if not migrations.pending(self.db):
            return
        if self.read_only:
            raise ArchiveReadOnly(
                self.path,
                f"it needs upgrading for this version of wirewatch, and {READ_ONLY_FOLDER}",
            )
        self.verify()
        with self._changing():
            migrations.apply(self.db)

    def close(self) -> None:
        with self._changing():  # the last connection to close moves the WAL into the file
            self.conn.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: object
    ) -> None:
        if error is None:
            self.close()
            return
        with contextlib.suppress(sqlite3.Error):
            self.close()
        # A reader that meets a damaged page says so in one line, as a writer would.
        if is_damage(error):
            raise ArchiveDamaged(self.path, str(error)) from error

    def verify(self) -> None:
        """Raise ArchiveDamaged unless the archive file is sound; the first write calls it.

        ``PRAGMA quick_check`` reads every page; its answer is remembered for the file's
        current state (monitor.archive.integrity), so a writer pays for it only after a
        change made outside wirewatch.
        """
        if self._verified:
            return
        with self._record.held(create=True) as record:
            state = file_state(self.path)
            if record is None or state is None or record.read() != state:
                problems = problems_of(self.conn)
                if problems:
                    raise ArchiveDamaged(self.path, problems[0])
                if record is not None:
                    record.write(state)
        self._verified = True

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Keep the record of the sound file state current across a change of our own.

        Only a change from the recorded state is recorded: one from a state nobody checked
        (bytes written by something else) leaves the record behind, for the next writer
        to check.
        """
        if self.read_only:
            yield
            return
        with self._record.held() as record:
            before = file_state(self.path) if record is not None else None
            trusted = record is not None and before is not None and record.read() == before
            yield
            if record is not None and trusted:
                record.write(file_state(self.path))

    def checkpoint(self) -> None:
        """Write the WAL back into the database and truncate it (after each crawl).

        Readers that never pause would otherwise let the WAL grow without bound.
        """
        with self._one_line_errors(), self._changing():
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def table(self, name: str) -> Table:
        return self.db.table(name)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run a block's queries in one read transaction: one moment of the archive.

        Each statement of a reader otherwise sees the archive as it is when it runs, so a
        reader that asks in several steps (search ranks, then groups, then reads rows) could
        meet, between two steps, a crawl's new article or a prune's removed one. In WAL mode
        the snapshot blocks no writer. Inside a transaction already, the block joins it.
        """
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")  # nothing was written: it only ends the read

    @contextmanager
    def writing(self) -> Iterator[sqlite_utils.Database]:
        """Run a block as one write transaction, taking the write lock at the start.

        ``BEGIN IMMEDIATE`` rather than sqlite-utils' deferred ``BEGIN``: a deferred transaction
        that reads first and then writes fails at once with SQLITE_BUSY when another process
        wrote in between, instead of waiting for the busy timeout. A write that finds the
        disk full is rolled back whole and raises DiskFull. The first write checks that the
        file is sound (verify); a damaged or read-only archive raises ArchiveDamaged or
        ArchiveReadOnly before anything is written.
        """
        if self.read_only:
            raise ArchiveReadOnly(self.path, READ_ONLY_FOLDER)
        with self._one_line_errors():
            self.verify()
            self.db.execute("BEGIN IMMEDIATE")
            try:
                with self.db.atomic():
                    yield self.db
                with self._changing():
                    self.db.commit()
            except BaseException:
                # After a failed COMMIT (SQLITE_FULL) SQLite may already have rolled back.
                with contextlib.suppress(sqlite3.Error):
                    self.db.rollback()
                raise

    @contextmanager
    def _one_line_errors(self) -> Iterator[None]:
        """Turn a full disk, a damaged file and a read-only one into their one-line errors."""
        try:
            yield
        except (sqlite3.Error, OSError) as error:
            if is_disk_full(error, self.path):
                raise DiskFull(self.path, free_bytes(self.path)) from error
            if is_damage(error):
                raise ArchiveDamaged(self.path, str(error)) from error
            if isinstance(error, sqlite3.Error) and _is_read_only(error):
                raise ArchiveReadOnly(
                    self.path, f"it is read-only for this user ({error})"
                ) from error
            raise

    # Articles and tombstones ---------------------------------------------------------------

    def is_known(self, source: str, guid: str | None, *keys: str) -> bool:
        """Return True when a story was taken or skipped before under one of *keys*.

        The keys are checked against the tombstones (``seen``) and the archived articles'
        URLs; a GUID counts only for the same source.
        """
        marks = ", ".join("?" for _ in keys)
        row = self.conn.execute(
            f"SELECT 1 FROM seen WHERE key IN ({marks}) "
            f"UNION ALL SELECT 1 FROM articles WHERE url IN ({marks}) "
            "UNION ALL SELECT 1 FROM articles WHERE source = ? AND guid = ? LIMIT 1",
            [*keys, *keys, source, guid],
        ).fetchone()
        return row is not None

    def known_keys(self, source: str, limit: int) -> tuple[list[str], list[str]]:
        """Return the keys and GUIDs a source's latest stories and tombstones were taken
        under, newest first, at most *limit* of each kind: what a crawl worker that cannot
        read the archive needs to skip what is known (see monitor.cluster.jobs)."""
        keys = [
            row[0]
            for row in self.conn.execute(
                "SELECT key FROM seen WHERE source = ? ORDER BY rowid DESC LIMIT ?",
                [source, limit],
            )
        ]
        urls, guids = [], []
        for url, guid in self.conn.execute(
            "SELECT url, guid FROM articles WHERE source = ? ORDER BY id DESC LIMIT ?",
            [source, limit],
        ):
            urls.append(url)
            if guid:
                guids.append(guid)
        return list(dict.fromkeys([*keys, *urls])), guids

    def remember(self, keys: Sequence[str], source: str, reason: str, now: datetime) -> None:
        """Leave tombstones for stories deliberately not taken (too old, duplicates)."""
        if not keys:
            return
        with self.writing():
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO seen (key, source, first_seen, reason) VALUES (?, ?, ?, ?)",
                [(key, source, to_text(now), reason) for key in keys],
            )

    def add_article(
        self,
        article: ArticleRecord,
        flags: Sequence[FlagRecord],
        *,
        identifiers: Sequence[str] = (),
        html: bytes | None = None,
        full_text: bool = False,
    ) -> int | None:
        """Store an article, its flags and its page in one transaction; return its ID.

        Returns None, and writes only a tombstone, when the story is known: its key or one of
        *identifiers* was seen before, or its GUID is archived for the same source. With
        *full_text* (the body was extracted from the story's page), so is a story whose text
        the same source already has: a story re-published under a new GUID or title.
        Summaries are not compared: truncated ones often share their first lines.
        """
        record = article.columns()
        record["content_hash"] = content_hash(article.body)
        record["search"] = search_text(article.title, article.body)
        source = article.source
        with self.writing():
            known = self.is_known(source, article.guid, article.key, *identifiers)
            same_text = full_text and len(article.body) >= MIN_TEXT_FOR_IDENTITY
            if known or (same_text and self._same_text(source, record["content_hash"])):
                self.db.execute(
                    "INSERT OR IGNORE INTO seen (key, source, first_seen, reason) "
                    "VALUES (?, ?, ?, 'duplicate')",
                    [record["key"], source, record["fetched"]],
                )
                return None
            columns = ", ".join(record)
            marks = ", ".join("?" for _ in record)
            cursor = self.db.execute(
                f"INSERT INTO articles ({columns}) VALUES ({marks})", list(record.values())
            )
            article_id = int(cursor.lastrowid or 0)
            self.db.execute(
                "INSERT OR IGNORE INTO seen (key, source, article_id, first_seen, reason) "
                "VALUES (?, ?, ?, ?, 'archived')",
                [record["key"], source, article_id, record["fetched"]],
            )
            for flag in flags:
                self.db.execute(
                    "INSERT INTO flags (article_id, topic, score, threshold, rule, rules, terms, "
                    "snippet, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        article_id,
                        flag.topic,
                        flag.score,
                        flag.threshold,
                        flag.rule,
                        json.dumps(flag.rules),
                        json.dumps(flag.terms, ensure_ascii=False),
                        flag.snippet,
                        record["fetched"],
                    ],
                )
            if html is not None:
                self.db.execute(
                    "INSERT INTO pages (article_id, sha256, size, html) VALUES (?, ?, ?, ?)",
                    [
                        article_id,
                        sha256_hex(html),
                        len(html),
                        zlib.compress(html, 1),  # a third of the default level's CPU
                    ],
                )
        return article_id

    def _same_text(self, source: str, digest: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM articles WHERE source = ? AND content_hash = ? LIMIT 1",
            [source, digest],
        ).fetchone()
        return row is not None

    def page_html(self, article_id: int) -> bytes | None:
        """Return the HTML an article was extracted from, if it was kept."""
        row = self.conn.execute("SELECT html FROM pages WHERE article_id = ?", [article_id])
        found = row.fetchone()
        return zlib.decompress(found[0]) if found else None
