"""What a crawl reads from and writes to the archive, and its stand-in on a cluster worker.

A crawl child on the archive's machine is given the :class:`~monitor.archive.Archive` itself.
A child on a crawl worker (``python -m crawler --job -``) never opens the archive: it is
given a :class:`RemoteLedger`, which answers the reads from the snapshot the daemon sent with
the job and writes each archive write as a ``result`` event on stdout. The worker passes
those on to the daemon through Redis, and the daemon makes the writes (monitor.cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from monitor import events
from monitor.cluster import wire
from monitor.records import ArticleRecord, FlagRecord


class Ledger(Protocol):
    """The archive as a crawl uses it; :class:`monitor.archive.Archive` is one."""

    def is_first_fetch(self, source: str) -> bool: ...

    def validators(self, source: str) -> tuple[str | None, str | None]: ...

    def is_known(self, source: str, guid: str | None, *keys: str) -> bool: ...

    def remember(self, keys: Sequence[str], source: str, reason: str, now: datetime) -> None: ...

    def record_feed(
        self,
        run_id: int,
        source: str,
        entries: int,
        warning: str | None = None,
        *,
        http_status: int = 200,
        hint: float | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None: ...

    def record_not_modified(self, run_id: int, source: str, hint: float | None) -> None: ...

    def record_source_error(
        self,
        run_id: int,
        source: str,
        error_class: str,
        message: str,
        now: datetime,
        *,
        http_status: int | None = None,
        hint: float | None = None,
    ) -> None: ...

    def add_warning(self, run_id: int, source: str, warning: str) -> None: ...

    def add_article(
        self,
        article: ArticleRecord,
        flags: Sequence[FlagRecord],
        *,
        identifiers: Sequence[str] = (),
        html: bytes | None = None,
        full_text: bool = False,
    ) -> int | None: ...


class RemoteLedger:
    """The archive of a crawl on a cluster worker: reads from a snapshot, writes sent on."""

    SENT = 0  # what add_article returns for an article sent on: the daemon gives the ID

    def __init__(self, snapshot: wire.Snapshot, send: Callable[[events.Result], None]) -> None:
        self.snapshot = snapshot
        self.send = send
        self._keys = {key for keys in snapshot.keys.values() for key in keys}
        self._guids = {(source, g) for source, guids in snapshot.guids.items() for g in guids}

    def is_first_fetch(self, source: str) -> bool:
        return self.snapshot.first.get(source, True)

    def validators(self, source: str) -> tuple[str | None, str | None]:
        return self.snapshot.validators.get(source, (None, None))

    def is_known(self, source: str, guid: str | None, *keys: str) -> bool:
        """Known from the snapshot or taken by this crawl; the daemon checks again on write."""
        if guid is not None and (source, guid) in self._guids:
            return True
        return any(key in self._keys for key in keys)

    def remember(self, keys: Sequence[str], source: str, reason: str, now: datetime) -> None:
        if not keys:
            return
        self._keys.update(keys)
        self._send("remember", source=source, keys=list(keys), reason=reason, now=wire.when(now))

    def record_feed(
        self,
        run_id: int,
        source: str,
        entries: int,
        warning: str | None = None,
        *,
        http_status: int = 200,
        hint: float | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        self._send(
            "feed", source=source, entries=entries, warning=warning, http_status=http_status,
            hint=hint, etag=etag, last_modified=last_modified,
        )  # fmt: skip

    def record_not_modified(self, run_id: int, source: str, hint: float | None) -> None:
        self._send("not_modified", source=source, hint=hint)

    def record_source_error(
        self,
        run_id: int,
        source: str,
        error_class: str,
        message: str,
        now: datetime,
        *,
        http_status: int | None = None,
        hint: float | None = None,
    ) -> None:
        self._send(
            "source_error", source=source, error_class=error_class, message=message,
            now=wire.when(now), http_status=http_status, hint=hint,
        )  # fmt: skip

    def add_warning(self, run_id: int, source: str, warning: str) -> None:
        self._send("warning", source=source, warning=warning)

    def add_article(
        self,
        article: ArticleRecord,
        flags: Sequence[FlagRecord],
        *,
        identifiers: Sequence[str] = (),
        html: bytes | None = None,
        full_text: bool = False,
    ) -> int | None:
        keys = [article.key, article.url, *identifiers]
        if self.is_known(article.source, article.guid, *keys):
            return None
        self._keys.update(keys)
        if article.guid is not None:
            self._guids.add((article.source, article.guid))
        args = wire.article_args(
            article, flags, identifiers=identifiers, html=html, full_text=full_text
        )
        self._send("article", source=article.source, **args)
        return self.SENT

    def _send(self, op: str, **args: object) -> None:
        self.send(events.Result(op, dict(args)))
