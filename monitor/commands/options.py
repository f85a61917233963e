"""What the commands of ``wirewatch`` share: their state, options and small helpers.

The group (monitor.cli) and each command module import this one; it imports no command,
so the commands never need the group that lists them.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from monitor import review
from monitor.archive import Archive
from monitor.config.files import find_path
from monitor.config.outline import Outline, read_outline
from monitor.errors import ConfigError, Interrupted, UsageError
from monitor.readout import Roles
from monitor.review import LABELS, Filters
from monitor.timeutil import parse_since, show_times_in, utcnow, zone_named

if TYPE_CHECKING:
    from monitor.config import Config

F = TypeVar("F", bound=Callable[..., Any])
# SQLite keeps integers in 64 bits: no article can have an ID beyond this.
MAX_ID = 2**63 - 1


@dataclass
class State:
    """What the group's options give every command: where the config and archive are."""

    config_path: str | None
    archive_path: Path | None
    debug: bool
    zone: str | None = None  # --tz
    _config: Config | None = field(default=None, repr=False)
    _outline: Outline | None = field(default=None, repr=False)

    def config(self) -> Config:
        """The whole config file, validated: for commands that crawl, match or check."""
        if self._config is None:
            from monitor.config.loading import load  # pydantic and the topics' parsers

            self._config = load(find_path(self.config_path))
        return self._config

    def outline(self) -> Outline:
        """The keys of the config that reading the archive uses (monitor.config.outline)."""
        if self._outline is None:
            if self._config is not None:
                self._outline = Outline.of(self._config)
            else:
                self._outline = read_outline(find_path(self.config_path))
        return self._outline

    def archive_file(self) -> Path:
        """The archive named by --archive, else by the config's ``archive:``."""
        return self.archive_path or self.outline().archive

    def archive(self, *, create: bool = False) -> Archive:
        """Open the archive named by --archive, else by the config's ``archive:``."""
        return Archive.open(self.archive_file(), create=create)

    def roles(self) -> Roles:
        """The config's roles and each source's role; none for --archive without a config."""
        try:
            outline = self.outline()
        except ConfigError:
            if self.archive_path is None:
                raise
            return Roles()  # --archive read without a config: no source has a role
        return Roles(dict(outline.roles), dict(outline.source_roles))

    def show_times(self) -> None:
        """Show this command's times in --tz's zone, else the config's ``timezone:``."""
        name = self.zone
        if name is None:
            try:
                name = self.outline().timezone
            except ConfigError:
                if self.archive_path is None:
                    raise
                name = "UTC"  # --archive read without a config: nothing says otherwise
        try:
            zone = zone_named(name)
        except ValueError as error:
            raise UsageError(f"--tz: {error}") from None
        show_times_in(zone, "UTC" if zone is UTC else name)


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


def review_options(function: F) -> F:
    """The options that pick stories by score and mark: in flagged, search, export, digest."""
    options = [
        click.option(
            "--min-score", type=float, metavar="SCORE", help="Only flags with at least this score."
        ),
        click.option("--unreviewed", is_flag=True, help="Only stories no one has marked yet."),
        click.option(
            "--label", type=click.Choice(LABELS), help="Only stories whose latest mark is this."
        ),
    ]
    for option in options:
        function = option(function)
    return function


def filter_options(function: F) -> F:
    """The options that narrow a list of stories, the same in flagged, search and export."""
    options = [
        click.option("--source", metavar="NAME", help="Only stories from this source."),
        click.option(
            "--until", metavar="WHEN", help="Only stories dated before then (like --since)."
        ),
        click.option("--language", metavar="CODE", help="Only stories in this language (en)."),
        review_options,
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
        not_label=values.get("not_label"),
        sanctioned=bool(values.get("sanctioned")),
    )


def check_topic(state: State, archive: Archive, topic: str | None) -> None:
    """Refuse a topic that neither the config nor the archive knows, listing the known ones."""
    if topic is None:
        return
    known = set(review.topics_in(archive))
    if state.archive_path is None:
        known |= set(state.outline().topics)
    if topic not in known:
        raise UsageError(
            f"unknown topic {topic!r} (topics: {', '.join(sorted(known)) or 'none yet'})"
        )


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


@contextlib.contextmanager
def crawl_lock(archive: Path, wait: float, *, by_hand: str) -> Iterator[None]:
    """Hold the archive's lock as a crawl by hand does: wait up to *wait* seconds for
    another crawl, and refuse at once while the daemon, which collects on schedule, holds
    it. *by_hand* names what the command does, for the refusal ("crawl", "re-check")."""
    from monitor.lock import ArchiveLock, Locked, LockRole

    lock = ArchiveLock(archive, LockRole.CRAWL)
    try:
        lock.acquire()
    except Locked as locked:
        if locked.holder.role is LockRole.DAEMON:
            raise UsageError(
                f"{archive}: {locked.holder} collects this archive already "
                f"(stop it to {by_hand} by hand)"
            ) from None
        from monitor.terminal import console

        console(stderr=True).print(
            f"wirewatch: waiting up to {wait:g}s for {locked.holder} to finish"
        )
        try:
            lock.acquire(wait=wait)
        except Locked as still:
            raise Locked(archive, still.holder, f" (gave up waiting after {wait:g}s)") from None
    try:
        yield
    finally:
        lock.release()
