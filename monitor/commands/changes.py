"""Commands for edits and removals of flagged stories: recheck and changes."""

from __future__ import annotations

import sys
from typing import Any

import click

from monitor.archive.rechecks import ChangeRow
from monitor.commands.options import crawl_lock, format_option, state_of, stop_on_sigterm
from monitor.errors import UsageError
from monitor.reports import print_changes
from monitor.terminal import console, print_json
from monitor.timeutil import parse_since, utcnow

# Seconds a re-check by hand waits for a crawl by hand to finish.
WAIT = 600.0


@click.command()
@click.option("--all", "everything", is_flag=True, help="Re-check every flagged story now.")
@click.option(
    "--timeout", type=click.FloatRange(min=1), metavar="SECONDS",
    help="Hard limit for the re-checks. Default: crawl.cycle_timeout.",
)  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="Show the crawler's log on stderr.")
@format_option("table", "json", default="table")
@click.pass_context
def recheck(
    ctx: click.Context, everything: bool, timeout: float | None, verbose: bool, output_format: str
) -> None:
    """Fetch the flagged stories that are due again, and record edits and removals.

    A flagged story is due recheck.after its first fetch (by default 1 hour, 1 day and 7
    days); --all re-checks every flagged story at once. Pages are read as a crawl reads
    them (robots.txt, per-host limits, timeouts, size cap); the changes found are listed,
    and alerted where alerts: names a topic that flagged the story.

    \b
    Examples:
      wirewatch recheck
      wirewatch recheck --all
    """
    from monitor.collection.rechecks import run_rechecks

    config = state_of(ctx).config()
    with crawl_lock(config.archive, WAIT, by_hand="re-check"), stop_on_sigterm():
        result = run_rechecks(
            config,
            everything=everything,
            timeout=timeout,
            log_level="INFO" if verbose else "WARNING",
            log_stream=sys.stderr if verbose else None,
        )
    if output_format == "json":
        changed = [as_json(change) for change in result.changes]
        status = str(result.status)
        print_json({"checked": result.checked, "status": status, "error": result.error,
                    "changes": changed})  # fmt: skip
        return
    noun = "story" if result.checked == 1 else "stories"
    found = len(result.changes)
    console().print(
        f"Re-checked {result.checked} flagged {noun}: "
        f"{found} change{'s' if found != 1 else ''} found."
        + (f" ({result.error})" if result.error else "")
    )
    if result.changes:
        state_of(ctx).show_times()
        print_changes(result.changes)


@click.command()
@click.option(
    "--since", metavar="WHEN",
    help="Only changes seen from then: a duration back from now (24h, 7d) or a date.",
)  # fmt: skip
@format_option("table", "json", default="table")
@click.pass_context
def changes(ctx: click.Context, since: str | None, output_format: str) -> None:
    """List the edits, retitlings and removals that re-checks found in flagged stories.

    One row per change, oldest first: the story's ID (as flagged gives it), what changed,
    when it was seen, and the word-level difference of an edit.

    \b
    Examples:
      wirewatch changes --since 7d
      wirewatch changes --format json
    """
    from monitor.archive.rechecks import changes as read_changes

    state = state_of(ctx)
    try:
        when = parse_since(since, utcnow()) if since else None
    except ValueError as error:
        raise UsageError(f"--since: {error}") from None
    with state.archive() as archive:
        rows = read_changes(archive, when)
    if output_format == "json":
        print_json([as_json(row) for row in rows])
        return
    if not rows:
        console().print(
            "No changes found in flagged stories" + (f" since {since}." if since else ".")
        )
        return
    state.show_times()
    print_changes(rows)


def as_json(change: ChangeRow) -> dict[str, Any]:
    """Return a change as ``changes --format json`` gives it."""
    return {
        "story": change.story,
        "url": change.url,
        "change": str(change.change),
        "checked": change.checked,
        "source": change.source,
        "title": change.title,
        "previous_title": change.previous_title if change.change == "retitled" else None,
        "new_title": change.new_title if change.change == "retitled" else None,
        "diff": change.diff if change.change == "edited" else None,
        "content_hash": change.content_hash if change.change == "edited" else None,
        "evidence_sha256": change.sha256,
        "http_status": change.http_status,
        "final_url": change.final_url,
    }
