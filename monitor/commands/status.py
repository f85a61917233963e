"""``wirewatch status``: the daemon and each source's health, read from the archive.

It reads the config's outline (monitor.config.outline), not the whole validated config, and
loads none of what collects: it answers as fast as the other reading commands.
"""

from __future__ import annotations

from typing import Any

import click

from monitor import alerts, review
from monitor.archive.coverage_alerts import active as coverage_active
from monitor.archive.health_alerts import active
from monitor.commands.options import format_option, state_of
from monitor.reports import print_cluster, print_status
from monitor.terminal import console, print_json


@click.command()
@format_option("table", "json", default="table")
@click.pass_context
def status(ctx: click.Context, output_format: str) -> None:
    """Show the daemon and each source's health: state, last success, next run, failures.

    A failing source is retried later and later (up to every six hours) and is never
    dropped; it recovers by itself when the site does. A silent one usually publishes but
    has had nothing new for several times its usual gap.

    \b
    Examples:
      wirewatch status
      wirewatch status --format json
    """
    state = state_of(ctx)
    kinds = state.outline().sources
    names = list(kinds)
    path = state.archive_file()
    rows: list[dict[str, Any]] = []
    daemon: dict[str, Any] = {"running": False, "pid": None, "since": None}
    sent: dict[str, Any] | None = None
    troubles: list[dict[str, str]] = []  # the health alerts whose failure lasts
    quiet: list[dict[str, str]] = []  # the roles silent or spiking on a topic, now
    if path.exists():
        with state.archive() as archive:
            rows = review.sources_status(archive, names)
            daemon = review.daemon(archive)
            if state.outline().alerts:
                sent = alerts.summary(archive)
            troubles = [
                {"alert": title.removeprefix("[wirewatch] "), "since": since}
                for title, since in active(archive)
            ]
            quiet = [{"alert": body, "since": since} for body, since in coverage_active(archive)]
    known = {row["name"] for row in rows}
    rows += [
        {"name": name, "kind": kinds[name], "url": None, "last_attempt": None,
         "last_success": None, "next_due": None, "next_run": None, "failures": 0,
         "articles": 0, "last_error": None, "last_outcome": None, "state": "never read"}
        for name in names
        if name not in known
    ]  # fmt: skip
    rows.sort(key=lambda row: names.index(row["name"]))
    cluster = None
    settings = state.outline().cluster
    if settings is not None:  # the workers' heartbeats, from Redis
        from monitor.cluster.queue import Queue

        queue = Queue(settings, timeout=2.0)
        cluster = queue.summary()
        queue.close()
    if output_format == "json":
        print_json(
            {"daemon": daemon, "sources": rows, "alerts": sent, "health": troubles,
             "coverage": quiet, **({"cluster": cluster} if cluster is not None else {})}
        )  # fmt: skip
        return
    state.show_times()
    print_status(rows, daemon, sent, troubles)
    if cluster is not None:
        print_cluster(cluster)
    out = console()
    for alarm in quiet:
        out.print(
            f"Coverage: {alarm['alert']} (alerted once, until it ends)", style="yellow",
            soft_wrap=True,
        )  # fmt: skip
