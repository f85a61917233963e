"""The ``wirewatch`` command line: the group, the options its commands share, and the one
place where expected errors become a line on stderr and an exit status.

The commands themselves live in monitor.commands: collect (check, crawl, run, status,
demo), topics (match, topic-test, rematch) and review (flagged, show, mark, search,
export, digest, serve).
"""

from __future__ import annotations

import errno
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any, TypeVar

import click

from monitor import __version__, review
from monitor.archive import Archive
from monitor.config import ENV_VAR, Config, find_path, load
from monitor.errors import ConfigError, ExitStatus, Interrupted, UsageError, WirewatchError
from monitor.output import printable
from monitor.review import LABELS, Filters
from monitor.timeutil import parse_since, utcnow

F = TypeVar("F", bound=Callable[..., Any])
# SQLite keeps integers in 64 bits: no article can have an ID beyond this.
MAX_ID = 2**63 - 1


@dataclass
class State:
    """What the group's options give every command: where the config and archive are."""

    config_path: str | None
    archive_path: Path | None
    debug: bool
    _config: Config | None = field(default=None, repr=False)

    def config(self) -> Config:
        if self._config is None:
            self._config = load(find_path(self.config_path))
        return self._config

    def archive(self, *, create: bool = False) -> Archive:
        """Open the archive named by --archive, else by the config's ``archive:``."""
        path = self.archive_path or self.config().archive
        return Archive.open(path, create=create)


def format_option(*choices: str, default: str) -> Callable[[F], F]:
    """The ``--format`` option, the same in every command that has one."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help="Output for people (table, text) or for scripts (json, jsonl, csv).",
    )


class ArticleId(click.ParamType[int, Any]):
    """An article ID argument; one too large for SQLite is a usage error in one line."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            number = int(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a valid integer.", param, ctx)
        if abs(number) > MAX_ID:
            raise UsageError(
                f"ID {value}: no article has an ID this large (the IDs are in 'wirewatch "
                "flagged' and 'wirewatch search')"
            )
        return number


ARTICLE_ID = ArticleId()


def open_output(path: Path) -> IO[str]:
    """Open the file of ``-o/--output`` for writing; a place it cannot go is one line."""
    try:
        return path.open("w", encoding="utf-8")
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            problem = f"the folder {path.parent} does not exist: create it, or write somewhere else"
        elif isinstance(error, IsADirectoryError):
            problem = "it is a folder: give the name of a file to write"
        elif isinstance(error, PermissionError):
            problem = "this user may not write there: choose a folder you can write"
        else:
            problem = f"cannot write it ({error.strerror}): write somewhere else"
        raise UsageError(f"--output {path}: {problem}") from None


def since_option(function: F) -> F:
    return click.option(
        "--since",
        metavar="WHEN",
        help="Only stories dated from then: a duration back from now (24h, 7d) or a date "
        "(2026-11-01).",
    )(function)


def topic_option(function: F) -> F:
    return click.option("--topic", metavar="TOPIC", help="Only this topic's flags.")(function)


def filter_options(function: F) -> F:
    """The options that narrow a list of stories, the same in flagged, search and export."""
    options = [
        click.option("--source", metavar="NAME", help="Only stories from this source."),
        click.option(
            "--until", metavar="WHEN", help="Only stories dated before then (like --since)."
        ),
        click.option("--language", metavar="CODE", help="Only stories in this language (en)."),
        click.option(
            "--min-score", type=float, metavar="SCORE", help="Only flags with at least this score."
        ),
        click.option("--unreviewed", is_flag=True, help="Only stories no one has marked yet."),
        click.option(
            "--label", type=click.Choice(LABELS), help="Only stories whose latest mark is this."
        ),
        since_option,
        topic_option,
    ]
    for option in options:
        function = option(function)
    return function


def filters_of(state: State, archive: Archive, **values: Any) -> Filters:
    """Build the Filters of a command from its filter options, checking the topic."""
    check_topic(state, archive, values.get("topic"))
    return Filters(
        topic=values.get("topic"),
        source=values.get("source"),
        since=since_of(values.get("since")),
        until=since_of(values.get("until"), option="--until"),
        language=values.get("language"),
        min_score=values.get("min_score"),
        unreviewed=bool(values.get("unreviewed")),
        label=values.get("label"),
    )


def check_topic(state: State, archive: Archive, topic: str | None) -> None:
    """Refuse a topic that neither the config nor the archive knows, listing the known ones."""
    if topic is None:
        return
    known = set(review.topics_in(archive))
    if state.archive_path is None:
        known |= set(state.config().topics)
    if topic not in known:
        raise UsageError(
            f"unknown topic {topic!r} (topics: {', '.join(sorted(known)) or 'none yet'})"
        )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help=f"Config file. Default: ${ENV_VAR}, else ./config.yaml.",
)
@click.option(
    "--archive",
    "archive_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Archive file to read, instead of the config's archive:.",
)
@click.option("--debug", is_flag=True, help="Show a traceback when a command fails.")
@click.version_option(__version__, prog_name="wirewatch")
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, archive_path: Path | None, debug: bool
) -> None:
    """Collect news from many sources and flag the stories about the subjects you follow.

    wirewatch reads the sources and topics in config.yaml, crawls the sources into a SQLite
    archive, and flags each story that a topic matches.

    \b
    Start here:
      wirewatch demo                 crawl a bundled offline newswire and show what it flags
      wirewatch check                validate config.yaml
      wirewatch crawl                collect every source once
      wirewatch flagged --since 24h  list the stories flagged in the last day
      wirewatch show 12              read one story and why it was flagged
    """
    ctx.obj = State(config_path, archive_path, debug)
    _Boundary.debug = debug


def state_of(ctx: click.Context) -> State:
    state = ctx.find_object(State)
    assert state is not None
    return state


def since_of(text: str | None, *, option: str = "--since") -> datetime | None:
    """Read a --since or --until value; a bad one is a usage error with a hint."""
    if text is None:
        return None
    try:
        return parse_since(text, utcnow())
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


class stop_on_sigterm:
    """Turn SIGTERM into Interrupted while a long command runs, so its cleanup happens."""

    def __enter__(self) -> None:
        self._previous = signal.signal(signal.SIGTERM, self._handle)

    def __exit__(self, *exc_info: object) -> None:
        signal.signal(signal.SIGTERM, self._previous)

    @staticmethod
    def _handle(signum: int, frame: FrameType | None) -> None:
        raise Interrupted("stopped by SIGTERM")


class _Boundary:
    debug = False


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; expected failures print one line on stderr and exit with their status."""
    try:
        result = cli.main(args=argv, prog_name="wirewatch", standalone_mode=False)
    except WirewatchError as error:
        if _Boundary.debug:
            raise
        # Config problems name their file first; other errors get the program's name.
        prefix = "" if isinstance(error, ConfigError) else "wirewatch: "
        # A message may quote a feed, a page or a server: shown, never obeyed by the terminal.
        for line in str(error).splitlines():
            click.echo(printable(prefix + line), err=True)
        sys.exit(error.exit_status)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("wirewatch: interrupted", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        # The reader (e.g. head) went away; that is not an error of ours.
        sys.stderr.close()
        sys.exit(ExitStatus.SUCCESS)
    except Exception as error:
        if _Boundary.debug:
            raise
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            # e.g. stdout redirected to a log file on a full disk
            where = f"{error.filename}: " if error.filename else ""
            click.echo(
                f"wirewatch: {where}no space left on the device: free some space on it and "
                "run the command again",
                err=True,
            )
            sys.exit(ExitStatus.ERROR)
        click.echo(
            printable(
                f"wirewatch: internal error: {type(error).__name__}: {error} "
                "(run with --debug for the traceback, and please report it)"
            ),
            err=True,
        )
        sys.exit(ExitStatus.ERROR)
    sys.exit(result if isinstance(result, int) else ExitStatus.SUCCESS)


# The commands register themselves on the group when imported.
from monitor.commands import collect, review_commands, topics  # noqa: E402, F401
