"""Re-check flagged stories: pick the due ones, read them in a child process, alert changes.

The pages are read by ``python -m crawler.recheck``, a child in its own session as a crawl
child is (monitor.collection.children): the same politeness, extraction and hard timeout,
and monitor/ never imports the crawler. ``wirewatch recheck`` runs this once; the daemon
runs it on schedule.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import IO

from monitor import change_alerts
from monitor.alerts import Notifier
from monitor.archive import Archive, RunStatus
from monitor.archive import rechecks as book
from monitor.archive.rechecks import ChangeRow
from monitor.archive.space import free_bytes
from monitor.collection.children import STOP_GRACE, CrawlChild, supervise
from monitor.config import Config, Source
from monitor.errors import CrawlError, DiskFull, Interrupted
from monitor.rechecking import Target, due
from monitor.timeutil import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecheckResult:
    """What one round of re-checks did."""

    checked: int
    changes: list[ChangeRow]
    status: RunStatus
    error: str | None = None


class RecheckChild(CrawlChild):
    """One ``python -m crawler.recheck`` process, reading the pages of *targets*."""

    def __init__(
        self,
        config: Config,
        sources: list[Source],
        targets: list[Target],
        log_level: str,
        log_stream: IO[str] | None,
    ) -> None:
        super().__init__(config, sources, 0, None, log_level, log_stream)
        self.targets = targets

    module = "crawler.recheck"

    def arguments(self) -> list[str]:
        return ["--plan", "-", "--log-level", self.log_level]

    def payload(self) -> str:
        plan = json.loads(self.config.plan(self.sources).to_json())
        return json.dumps({"plan": plan, "targets": [asdict(t) for t in self.targets]})


def pick(config: Config, archive: Archive, now: datetime, *, everything: bool) -> list[Target]:
    """Return the stories to read now: those due (recheck.after), or every flagged one.

    Only stories of sources still in the config (their politeness is the source's), and
    none found removed: its removal is said once, and there is nothing left to read.
    """
    known = {source.name for source in config.sources}
    found = [c for c in book.candidates(archive) if c.source in known and not c.removed]
    if everything:
        return [Target(c.article_id, c.url, c.source, None) for c in found]
    return [
        Target(c.article_id, c.url, c.source, round_)
        for c, round_ in due(found, config.recheck.after, now)
    ]


def run_rechecks(
    config: Config,
    *,
    everything: bool = False,
    clock: Callable[[], datetime] = utcnow,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    grace: float = STOP_GRACE,
    log_level: str = "WARNING",
    log_stream: IO[str] | None = None,
    notify: Notifier | None = None,
) -> RecheckResult:
    """Read the due flagged stories again (all of them with *everything*), record what
    changed, and alert the changes through the alerts of the topics that flagged them.

    *timeout* (default ``crawl.cycle_timeout``) bounds the child as a crawl's is bounded;
    setting *cancel* stops it after *grace* seconds.
    """
    with Archive.open(config.archive) as archive:
        targets = pick(config, archive, clock(), everything=everything)
        if not targets:
            change_alerts.send(archive, config.alerts, clock(), notify)  # retry failed ones
            return RecheckResult(0, [], RunStatus.OK)
        last = book.last_id(archive)
        wanted = {target.source for target in targets}
        sources = [source for source in config.sources if source.name in wanted]
        child = RecheckChild(config, sources, targets, log_level, log_stream)
        limit = timeout if timeout is not None else config.crawl.cycle_timeout
        try:
            status, _, error = supervise([child], 0, limit, cancel, grace)
        except KeyboardInterrupt:
            raise Interrupted("re-checks interrupted") from None
        finally:
            child.close()  # none outlives the round
        if child.disk_full():
            raise DiskFull(config.archive, free_bytes(config.archive))
        found = book.changes(archive, after_id=last)
        if status == RunStatus.FAILED and error and book.last_id(archive) == last:
            raise CrawlError(f"the re-checks could not run: {error}")
        try:
            change_alerts.queue(archive, config.alerts, found, clock())
            change_alerts.send(archive, config.alerts, clock(), notify)
        except DiskFull:
            raise
        except Exception:  # an alert service must not stop the collection
            logger.exception("change alerts could not be sent; they are tried again later")
        checked = book.last_id(archive) - last
    return RecheckResult(checked, found, status, error)
