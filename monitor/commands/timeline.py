"""``wirewatch timeline``: the flagged stories as events, oldest first, each with who
reported it first and when each role followed."""

from __future__ import annotations

from typing import Any

import click

from monitor.archive.readout import flagged_copies
from monitor.commands.options import check_topic, format_option, since_of, state_of, topic_option
from monitor.readout import timeline_events
from monitor.terminal import console, print_csv, print_json

CSV_COLUMNS = ["story", "topic", "first_seen", "first_source", "first_role", "roles", "never",
               "outlets", "title"]  # fmt: skip


@click.command()
@topic_option
@click.option(
    "--since", default="90d", show_default=True, metavar="WHEN",
    help="Stories dated from then: a duration back from now (90d, 24h) or a date.",
)  # fmt: skip
@format_option("table", "json", "csv", default="table")
@click.pass_context
def timeline(ctx: click.Context, /, topic: str | None, since: str, output_format: str) -> None:
    """List the flagged stories as events, oldest first, with who reported each first.

    Each event is a story (its ID as flagged gives it), when and by which source and role
    it was first seen, and how long after that each other role carried it. Roles are the
    config's roles: and each source's role:.

    \b
    Examples:
      wirewatch timeline
      wirewatch timeline --topic russia-dprk --since 7d
      wirewatch timeline --since 2026-11-01 --format json
    """
    state = state_of(ctx)
    start = since_of(since)
    roles = state.roles()
    with state.archive() as archive:
        check_topic(state, archive, topic)
        found = flagged_copies(archive, since=start, topic=topic)
    events = timeline_events(found, roles)
    if output_format == "json":
        print_json(events)
        return
    if output_format == "csv":
        print_csv([_flat(event) for event in events], CSV_COLUMNS)
        return
    state.show_times()
    if not events:
        console().print(f"No flagged stories since {since}.")
        return
    from monitor.reports import print_timeline  # rich: for people only

    print_timeline(events)
    count = len(events)
    console().print(f"{count} flagged stor{'y' if count == 1 else 'ies'} since {since}.")


def _flat(event: dict[str, Any]) -> dict[str, Any]:
    """Return an event as one CSV row: roles as ``role=time`` pairs, never as names."""
    return {
        **event,
        "roles": " ".join(f"{role}={when}" for role, when in event["roles"].items()),
        "never": " ".join(event["never"]),
    }
