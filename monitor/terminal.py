"""Terminal output: rich tables for people (colour only on a terminal), JSON and CSV for scripts.

Everything printed here may come from a hostile feed or page, so archive text reaches the
terminal only through :func:`printable` (no escape sequences, no bidi overrides), is never
read as rich markup, and CSV cells never start a spreadsheet formula.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rich import box
from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderHook, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text


def _unprintable() -> dict[int, str]:
    """Map each character a terminal would obey rather than show to a visible stand-in."""
    # C0 controls and DEL become their Control Pictures (ESC shows as ␛), one cell wide like
    # any letter; newline and tab stay, they are layout.
    table = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\n\t"}
    table[0x7F] = "\u2421"
    # C1 controls (0x9b is CSI on its own), bidi embeddings, overrides and isolates (which
    # reorder what follows, e.g. to hide a file extension), and the two non-characters that
    # XML refuses: all become the replacement character.
    for code in [*range(0x80, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                 *range(0x2066, 0x206A), 0xFFFE, 0xFFFF]:  # fmt: skip
        table[code] = "\ufffd"
    return table


_UNPRINTABLE = _unprintable()


def printable(text: str) -> str:
    """Return *text* with every control character and bidi control shown, not obeyed.

    Each one becomes a single visible character (ESC becomes ␛, a C1 control or U+202E
    becomes �), so lengths and offsets stay the same. Every string from the archive passes
    through here on its way to a terminal.
    """
    return text.translate(_UNPRINTABLE)


def printable_text(text: Text) -> Text:
    """Return a copy of rich *text* made :func:`printable`, with its styles where they were."""
    clean = printable(text.plain)
    if clean == text.plain:
        return text
    copy = text.copy()
    copy.plain = clean  # the same length, so every span still covers the same characters
    return copy


@dataclass
class _Printable:
    """A renderable shown through :func:`printable`, down to the last segment."""

    inner: ConsoleRenderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        inner = printable_text(self.inner) if isinstance(self.inner, Text) else self.inner
        for segment in console.render(inner, options):
            # Control segments are rich's own (cursor moves of a live display); text
            # segments hold the content, which was laid out before this last pass.
            if segment.control or segment.text.isprintable():
                yield segment
            else:
                yield Segment(printable(segment.text), segment.style)


class _PrintableHook(RenderHook):
    """Puts everything a console prints through :func:`printable`."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Printable(renderable) for renderable in renderables]


def console(*, stderr: bool = False) -> Console:
    """Return a console on stdout (or stderr); rich drops colour when it is not a terminal.

    Output to a file or a pipe is not wrapped at 80 columns: tables get room, and text is
    left for the reader's own tools to wrap. What it prints is :func:`printable`, and it
    reads neither markup nor emoji codes: a title's ``[link=...]`` or ``:x:`` is text.
    """
    # Markup is off: titles and URLs may contain [brackets]; styles go through Text objects.
    options: dict[str, Any] = {"highlight": False, "markup": False, "emoji": False}
    out = Console(stderr=stderr, **options)
    if not out.is_terminal:
        out = Console(stderr=stderr, width=200, soft_wrap=True, **options)
    out.push_render_hook(_PrintableHook())
    return out


def display_path(path: Path) -> str:
    """Return *path* relative to the working folder when it is inside it, else as it is."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# json escapes C0 controls itself; these it would write raw, and a terminal may obey them.
JSON_ESCAPES = {code: f"\\u{code:04x}" for code in _UNPRINTABLE if code >= 0x7F}


def to_json(data: Any, *, indent: int | None = None) -> str:
    """Return *data* as JSON with every control and bidi character written as a \\u escape.

    The data is exactly the same once parsed; only the text on the screen is safe.
    """
    # Such characters can only be inside JSON strings, where \uXXXX means the same.
    return json.dumps(data, indent=indent, ensure_ascii=False).translate(JSON_ESCAPES)


def print_json(data: Any) -> None:
    """Print *data* as indented JSON on stdout."""
    sys.stdout.write(to_json(data, indent=2) + "\n")


def print_jsonl(rows: Iterable[dict[str, Any]], stream: Any = None) -> int:
    """Print one JSON object per line; return how many were printed."""
    out = stream or sys.stdout
    count = 0
    for row in rows:
        out.write(to_json(row) + "\n")
        count += 1
    return count


# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (=HYPERLINK(...) sends data away; tab and CR are how a formula hides behind whitespace).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """Return *value* as a CSV cell that no spreadsheet runs as a formula.

    A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    gets a leading single quote (``'=HYPERLINK(...)``), the usual way to make a spreadsheet
    show it as text. Numbers stay numbers.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_writer(stream: IO[str], columns: Sequence[str]) -> Callable[[dict[str, Any]], None]:
    """Return a function that writes one row (a dict) as CSV on *stream*, safe for a
    spreadsheet (see :func:`spreadsheet_cell`), and :func:`printable` on a terminal.

    The header is written first. To a file or a pipe the text is kept exactly.
    """
    writer = csv.DictWriter(stream, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    on_terminal = _is_terminal(stream)

    def write(row: dict[str, Any]) -> None:
        cells = {key: spreadsheet_cell(row.get(key)) for key in columns}
        if on_terminal:
            cells = {
                key: printable(value) if isinstance(value, str) else value
                for key, value in cells.items()
            }
        writer.writerow(cells)

    return write


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real file
        return False


def print_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print rows as CSV with a header line (cells as :func:`csv_writer` makes them)."""
    write = csv_writer(sys.stdout, columns)
    for row in rows:
        write(row)


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
        # Made printable before the table measures its columns, so the widths are right.
        table.add_row(
            *(
                printable_text(cell) if isinstance(cell, Text) else Text(printable(str(cell)))
                for cell in row
            )
        )
    (out or console()).print(table)


def highlight(text: str, spans: Iterable[tuple[int, int]], style: str = "bold yellow") -> Text:
    """Return *text* with the given character spans styled."""
    rich_text = Text(text)
    for start, end in spans:
        rich_text.stylize(style, start, end)
    return rich_text
