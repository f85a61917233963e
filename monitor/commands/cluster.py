"""The crawl worker of a cluster: ``wirewatch worker``."""

from __future__ import annotations

import signal
from types import FrameType

import click

from monitor.commands.options import state_of
from monitor.config import find_path, load
from monitor.errors import UsageError
from monitor.logs import configure as configure_logs


@click.command()
@click.option(
    "--processes", type=click.IntRange(1, 64), default=1, show_default=True, metavar="N",
    help="Jobs crawled at once, each in its own crawl process; one per core is plenty.",
)  # fmt: skip
@click.option(
    "--name", metavar="NAME",
    help="How status names this worker. Default: the host name and process ID.",
)  # fmt: skip
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Log lines for people, or JSON lines for log shippers.",
)  # fmt: skip
@click.pass_context
def worker(ctx: click.Context, processes: int, name: str | None, log_format: str) -> None:
    """Crawl jobs from the cluster's Redis queue until stopped.

    Start workers on any machine that has this config file (cluster.redis names the Redis
    server) and can reach the sources. The daemon, `wirewatch run` on the archive's
    machine, queues the due sources; each worker crawls them with the same politeness,
    extraction and matching as the daemon, and sends what it finds back through Redis. A
    worker never opens the archive. SIGTERM or Ctrl-C stops it and hands its jobs back; a
    worker killed outright loses nothing, as its jobs go to another worker after
    cluster.visibility_timeout.

    \b
    Examples:
      wirewatch worker
      wirewatch --config /etc/wirewatch/config.yaml worker --processes 2 --name crawler-2
    """
    from monitor.collection.worker import Worker

    configure_logs(log_format)
    path = find_path(state_of(ctx).config_path)
    config = load(path)
    if config.cluster is None:
        raise UsageError(
            f"{path}: cluster: a worker needs a Redis server to take jobs from; add "
            'cluster: {redis: "redis://HOST:6379/0"} to the config of the daemon and its '
            "workers"
        )
    each = Worker(config, name=name, processes=processes)

    def stop(signum: int, frame: FrameType | None) -> None:
        each.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    each.run()
