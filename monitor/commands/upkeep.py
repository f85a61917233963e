"""Commands that keep the archive for years: backup."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.commands.options import format_option, state_of
from monitor.terminal import console, display_path, print_json
from monitor.timeutil import utcnow


@click.command()
@click.argument("path", type=click.Path())
@click.option("--overwrite", is_flag=True, help="Replace PATH when a file is already there.")
@format_option("text", "json", default="text")
@click.pass_context
def backup(ctx: click.Context, /, path: str, overwrite: bool, output_format: str) -> None:
    """Copy the archive to PATH, safely while the daemon runs, and check the copy.

    The copy is the archive at one moment: every article, flag and mark committed before
    the backup began. It is one file (no WAL beside it), checked by SQLite's
    integrity_check and the full-text index's own check before it takes its name; a copy
    that fails is removed. PATH may be a folder: the copy is then named after the archive
    and the time, in UTC. Restore by stopping wirewatch and putting the copy in the
    archive's place.

    \b
    Examples:
      wirewatch backup /var/backups/wirewatch/
      wirewatch backup archive-copy.db --overwrite
      wirewatch backup /mnt/usb/ --format json
    """
    from monitor.archive.backup import backup as copy_archive

    state = state_of(ctx)
    with state.archive() as archive:
        result = copy_archive(
            archive, Path(path), now=utcnow(), overwrite=overwrite, folder=path.endswith("/")
        )
    if output_format == "json":
        print_json(result.to_dict())
        return
    console().print(
        f"Backed up {result.articles} articles ({result.flagged_stories} flagged stories, "
        f"{result.size / 1024 / 1024:.1f} MiB) to {display_path(result.path)} in "
        f"{result.seconds:.1f} s; the copy passed its integrity checks."
    )
