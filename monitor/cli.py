"""The ``wirewatch`` command line: the group, its commands, and the one place where
expected errors become a line on stderr and an exit status.

The commands themselves live in monitor.commands: collect (check, crawl, run, status,
demo), topics (match, topic-test, rematch) and review (flagged, show, mark, search,
export, digest, serve); what they share is in monitor.commands.options.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import click

from monitor import __version__
from monitor.commands import collect, desk, topics
from monitor.commands.options import State
from monitor.config import ENV_VAR
from monitor.errors import ConfigError, ExitStatus, WirewatchError
from monitor.terminal import printable


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


for _command in (
    collect.check, collect.crawl, collect.status, collect.run, collect.demo,
    topics.match, topics.topic_test, topics.rematch,
    desk.flagged, desk.show, desk.mark,
    desk.search, desk.export, desk.digest,
    desk.serve,
):  # fmt: skip
    cli.add_command(_command)


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
