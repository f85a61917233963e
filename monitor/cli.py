"""The ``wirewatch`` command line: the group, its commands, and the one place where
expected errors become a line on stderr and an exit status.

The commands themselves live in monitor.commands: collect (check, crawl, run, demo),
status, topics (match, topic-test, rematch) and desk (flagged, show, mark, search,
export, digest, serve); what they share is in monitor.commands.options.

A command's module is imported only when that command runs (or its own --help is asked
for): ``wirewatch --version`` and ``wirewatch --help`` load click and nothing else of
weight, and a reading command never loads the crawler's or the daemon's libraries.
"""

from __future__ import annotations

import errno
import importlib
import sys
from pathlib import Path

import click

from monitor import CONFIG_ENV_VAR, __version__
from monitor.errors import ConfigError, ExitStatus, WirewatchError

# Each command: where it is defined, and the summary ``wirewatch --help`` shows for it (the
# first sentence of its own help; tests/test_cli_startup.py holds the two together).
COMMANDS: dict[str, tuple[str, str]] = {
    "add": ("monitor.commands.sources:add",
            "Find a site's feed or news sitemap, preview it, and add it to the config as a "
            "source."),
    "backup": ("monitor.commands.upkeep:backup",
               "Copy the archive to PATH, safely while the daemon runs, and check the copy."),
    "changes": ("monitor.commands.changes:changes",
                "List the edits, retitlings and removals that re-checks found in flagged "
                "stories."),
    "check": ("monitor.commands.collect:check",
              "Validate the config file and summarise it."),
    "crawl": ("monitor.commands.collect:crawl",
              "Collect every source (or the named ones) once, now."),
    "demo": ("monitor.commands.collect:demo",
             "Crawl the bundled offline newswire with your topics and show what they flag."),
    "digest": ("monitor.commands.desk:digest",
               "Write the digest: flagged stories grouped by topic and by story."),
    "export": ("monitor.commands.desk:export",
               "Export stories: JSON lines, CSV, an Atom feed or Markdown."),
    "flagged": ("monitor.commands.desk:flagged",
                "List flagged stories, newest first: one row per story, however many outlets "
                "ran it."),
    "mark": ("monitor.commands.desk:mark",
             "Triage a story: relevant, irrelevant or follow-up."),
    "match": ("monitor.commands.topics:match",
              "Match stories from JSON lines against a topic, with no archive involved."),
    "prune": ("monitor.commands.upkeep:prune",
              "Remove old articles whose story no one flagged or marked, and their pages."),
    "recheck": ("monitor.commands.changes:recheck",
                "Fetch the flagged stories that are due again, and record edits and removals."),
    "rematch": ("monitor.commands.topics:rematch",
                "Re-run the topics over the archive after you changed them."),
    "run": ("monitor.commands.collect:run",
            "Run the daemon: poll each source on its schedule until stopped."),
    "sanctions": ("monitor.commands.sanctions:sanctions",
                  "Sanctions lists: load the files the config names, and see what is loaded."),
    "search": ("monitor.commands.desk:search",
               "Search the whole archive, in every language, best match first."),
    "serve": ("monitor.commands.desk:serve",
              "Review in a browser: Datasette over the live archive."),
    "show": ("monitor.commands.desk:show",
             "Show one story: why it was flagged, its marks, the other outlets, and its text."),
    "sources": ("monitor.commands.sources:sources",
                "Import sources from an OPML file, or export the config's feeds as OPML."),
    "status": ("monitor.commands.status:status",
               "Show the daemon and each source's health: state, last success, next run, "
               "failures."),
    "timeline": ("monitor.commands.timeline:timeline",
                 "List the flagged stories as events, oldest first, with who reported each "
                 "first."),
    "topic-test": ("monitor.commands.topics:topic_test",
                   "Test a topic on labelled stories: precision, recall and F1, and every "
                   "mistake."),
    "worker": ("monitor.commands.cluster:worker",
               "Crawl jobs from the cluster's Redis queue until stopped."),
}  # fmt: skip


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command is wanted."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands with their summaries, importing none of them."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help=f"Config file. Default: ${CONFIG_ENV_VAR}, else ./config.yaml.",
)
@click.option(
    "--archive",
    "archive_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Archive file to read, instead of the config's archive:.",
)
@click.option(
    "--tz",
    "zone",
    metavar="ZONE",
    help="Show times in this zone (Asia/Seoul, Europe/Moscow) instead of the config's "
    "timezone: (default UTC). JSON and CSV stay in UTC.",
)
@click.option("--debug", is_flag=True, help="Show a traceback when a command fails.")
@click.version_option(__version__, prog_name="wirewatch")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    archive_path: Path | None,
    zone: str | None,
    debug: bool,
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
    from monitor.commands.options import State

    ctx.obj = State(config_path, archive_path, debug, zone)
    _Boundary.debug = debug


class _Boundary:
    debug = False


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; expected failures print one line on stderr and exit with their status."""
    _Boundary.debug = False  # until this run's --debug is read
    try:
        result = cli.main(args=argv, prog_name="wirewatch", standalone_mode=False)
    except WirewatchError as error:
        if _Boundary.debug:
            raise
        # Config problems name their file first; other errors get the program's name.
        prefix = "" if isinstance(error, ConfigError) else "wirewatch: "
        # A message may quote a feed, a page or a server: shown, never obeyed by the terminal.
        for line in str(error).splitlines():
            click.echo(_printable(prefix + line), err=True)
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
            _printable(
                f"wirewatch: internal error: {type(error).__name__}: {error} "
                "(run with --debug for the traceback, and please report it)"
            ),
            err=True,
        )
        sys.exit(ExitStatus.ERROR)
    sys.exit(result if isinstance(result, int) else ExitStatus.SUCCESS)


def _printable(text: str) -> str:
    """Return *text* as the terminal shows it safely (see monitor.terminal.printable)."""
    from monitor.terminal import printable  # rich, loaded only when there is an error to show

    return printable(text)
