"""Progress on stderr for long work: a bar for a rematch, a live line for a crawl.

Both are silent when stderr is not a terminal. Kept apart from monitor.terminal, so that
commands that only print load neither rich's live displays nor the crawl's events.
"""

from __future__ import annotations

from typing import Any

from rich.progress import Progress as RichProgress
from rich.status import Status

from monitor import events
from monitor.terminal import console


class Progress:
    """A progress bar on stderr for long work; silent when stderr is not a terminal.

    Call it with (done, total) as the work goes on.
    """

    def __init__(self, description: str) -> None:
        self._console = console(stderr=True)
        self._bar: RichProgress | None = None
        self._task: Any = None
        self.description = description

    def __enter__(self) -> Progress:
        if self._console.is_terminal:
            self._bar = RichProgress(console=self._console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=None)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)


class CrawlProgress:
    """A one-line live status of a running crawl on stderr; silent when stderr is not a terminal."""

    def __init__(self, total_sources: int) -> None:
        self.total = total_sources
        self.done = 0
        self.new = 0
        self.flagged = 0
        self.failed = 0
        self._console = console(stderr=True)
        self._status: Status | None = None

    def __enter__(self) -> CrawlProgress:
        if self._console.is_terminal:
            self._status = self._console.status(self._line())
            self._status.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._status is not None:
            self._status.stop()

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.FeedRead):
            self.done += 1
        elif isinstance(event, events.SourceFailed):
            self.done += 1
            self.failed += 1
        elif isinstance(event, events.ArticleArchived):
            self.new += 1
            self.flagged += bool(event.flagged)
        if self._status is not None:
            self._status.update(self._line())

    def _line(self) -> str:
        return (
            f"Crawling: {self.done}/{self.total} sources read, {self.new} new articles, "
            f"{self.flagged} flagged, {self.failed} failed"
        )
