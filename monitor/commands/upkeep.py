"""Commands that keep the archive for years: backup and prune."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from monitor.commands.options import format_option, since_of, state_of
from monitor.errors import UsageError
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


# Articles younger than this still find their copies (monitor.clusters.WINDOW is 14 days),
# and an analyst may still mark them: prune never comes closer to now.
YOUNGEST = timedelta(days=30)


@click.command()
@click.option(
    "--older-than", "older_than", required=True, metavar="AGE|DATE",
    help="Remove articles fetched before this: 365d, 52w or a date such as 2025-12-01. "
         "At least 30 days back.",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Count what would go; remove nothing.")
@format_option("text", "json", default="text")
@click.pass_context
def prune(ctx: click.Context, /, older_than: str, dry_run: bool, output_format: str) -> None:
    """Remove old articles whose story no one flagged or marked, and their pages.

    An article goes when it was fetched before --older-than and no copy of its story was
    flagged or marked: every flagged or marked story keeps all its outlets. Its
    full-text entry, its fetched page and its grouping bands go with it; the crawler
    still remembers its link, so it is never collected again. It works in small
    transactions, so it can run while the daemon crawls. The file does not shrink: SQLite
    reuses the space for new articles.

    \b
    Examples:
      wirewatch prune --older-than 365d --dry-run
      wirewatch prune --older-than 365d
      wirewatch prune --older-than 2025-12-01 --format json
    """
    from monitor.archive.prune import prune as remove_old

    now = utcnow()
    cutoff = since_of(older_than, option="--older-than")
    assert cutoff is not None
    if cutoff > now - YOUNGEST:
        raise UsageError(
            f"--older-than {older_than}: prune keeps the last 30 days (their copies are still "
            "being grouped into stories, and analysts still mark them): give 30d or more"
        )
    state = state_of(ctx)
    out = console(stderr=True)
    with state.archive() as archive, out.status("Pruning…") as status:

        def progress(count: int) -> None:
            status.update(f"Pruning… {count} articles {'found' if dry_run else 'removed'}")

        result = remove_old(archive, cutoff, dry_run=dry_run, progress=progress)
    if output_format == "json":
        print_json({**result.to_dict(), "older_than": cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")})
        return
    verb = "Would remove" if dry_run else "Removed"
    console().print(
        f"{verb} {result.articles} articles fetched before {cutoff:%Y-%m-%d %H:%M} UTC "
        f"({result.text_bytes / 1024 / 1024:.1f} MiB of text) and {result.pages} fetched "
        f"pages ({result.page_bytes / 1024 / 1024:.1f} MiB), in {result.batches} "
        f"transactions, {result.seconds:.1f} s. Flagged and marked stories were kept whole."
    )
