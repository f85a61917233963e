"""Terminal output: rich tables for people (colour only on a terminal), JSON and CSV for scripts."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.status import Status
from rich.table import Table
from rich.text import Text


def console(*, stderr: bool = False) -> Console:
    """Return a console on stdout (or stderr); rich drops colour when it is not a terminal.

    Output to a file or a pipe is not wrapped at 80 columns: tables get room, and text is
    left for the reader's own tools to wrap.
    """
    # Markup is off: titles and URLs may contain [brackets]; styles go through Text objects.
    out = Console(stderr=stderr, highlight=False, markup=False)
    if not out.is_terminal:
        out = Console(stderr=stderr, highlight=False, markup=False, width=200, soft_wrap=True)
    return out


def display_path(path: Path) -> str:
    """Return *path* relative to the working folder when it is inside it, else as it is."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def print_json(data: Any) -> None:
    """Print *data* as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def print_jsonl(rows: Iterable[dict[str, Any]], stream: Any = None) -> int:
    """Print one JSON object per line; return how many were printed."""
    out = stream or sys.stdout
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def print_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print rows as CSV with a header line."""
    writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


def print_table(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str],
    *,
    out: Console | None = None,
    justify: dict[str, str] | None = None,
) -> None:
    """Print rows as an aligned table with a header, without borders."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header in headers:
        table.add_column(
            header,
            justify=(justify or {}).get(header, "left"),  # type: ignore[arg-type]
            overflow="fold",
        )
    for row in rows:
        table.add_row(*(cell if isinstance(cell, Text) else Text(str(cell)) for cell in row))
    (out or console()).print(table)


def highlight(text: str, spans: Iterable[tuple[int, int]], style: str = "bold yellow") -> Text:
    """Return *text* with the given character spans styled."""
    rich_text = Text(text)
    for start, end in spans:
        rich_text.stylize(style, start, end)
    return rich_text


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

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "feed":
            self.done += 1
        elif kind == "source_error":
            self.done += 1
            self.failed += 1
        elif kind == "article":
            self.new += 1
            self.flagged += bool(event.get("flagged"))
        if self._status is not None:
            self._status.update(self._line())

    def _line(self) -> str:
        return (
            f"Crawling: {self.done}/{self.total} sources read, {self.new} new articles, "
            f"{self.flagged} flagged, {self.failed} failed"
        )
