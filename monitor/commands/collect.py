"""Commands that collect: check, crawl, run and demo (status, which reads, is its own module)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from monitor.archive import RunStatus
from monitor.collection.cycle import run_cycle, select_sources
from monitor.commands.options import crawl_lock, format_option, state_of, stop_on_sigterm
from monitor.config import find_path
from monitor.config.values import without_credentials
from monitor.errors import CrawlError, NoSourceRead
from monitor.logs import configure as configure_logs
from monitor.progress import CrawlProgress
from monitor.reports import print_cycle
from monitor.terminal import console, display_path, print_json


@click.command()
@format_option("text", "json", default="text")
@click.pass_context
def check(ctx: click.Context, output_format: str) -> None:
    """Validate the config file and summarise it.

    Each problem is printed as one line naming the file, the key and the fix, and the exit
    status is then 2.

    \b
    Example:
      wirewatch --config config.yaml check
    """
    config = state_of(ctx).config()
    kinds: dict[str, int] = {}
    for source in config.sources:
        kinds[source.kind] = kinds.get(source.kind, 0) + 1
    topics = {
        name: {
            "entities": len(topic.entities),
            "aliases": sum(len(a) for e in topic.entities.values() for a in e.values()),
            "rules": topic.named_rules(),
            "exclude": topic.exclude,
            "threshold": topic.threshold,
        }
        for name, topic in config.topics.items()
    }
    cluster = config.cluster and {
        "redis": without_credentials(config.cluster.redis),
        "batch": config.cluster.batch,
        "visibility_timeout": config.cluster.visibility_timeout,
    }
    if output_format == "json":
        print_json(
            {
                "config": str(config.path),
                "valid": True,
                "archive": str(config.archive),
                "sources": len(config.sources),
                "kinds": kinds,
                "topics": topics,
                **({"cluster": cluster} if cluster else {}),
            }
        )
        return
    out = console()
    out.print(f"{config.path}: valid")
    out.print(f"  archive  {display_path(config.archive)}")
    kind_text = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    out.print(f"  sources  {len(config.sources)}" + (f" ({kind_text})" if kind_text else ""))
    for name, info in topics.items():
        rules: dict[str, str] = info["rules"]  # type: ignore[assignment]
        described = (
            f"rule {rules['rule']!r}" if list(rules) == ["rule"] else f"rules {', '.join(rules)}"
        )
        out.print(
            f"  topic    {name}: {info['entities']} entities, {info['aliases']} aliases, "
            f"{described}"
            + (", an exclusion" if info["exclude"] else "")
            + f", threshold {info['threshold']:g}"
        )
    if not config.topics:
        out.print("  topics   none (nothing will be flagged; see the README to add one)")
    if cluster:
        out.print(
            f"  cluster  {cluster['redis']}: crawled by 'wirewatch worker' processes, "
            f"{cluster['batch']} sources a job"
        )


@click.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option(
    "--timeout",
    type=float,
    metavar="SECONDS",
    help="Hard limit for the whole crawl. Default: crawl.cycle_timeout.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show the crawler's log on stderr.")
@click.option(
    "--wait", type=click.FloatRange(min=0), default=600, show_default=True, metavar="SECONDS",
    help="How long to wait for another crawl of this archive (from cron, say) to finish.",
)  # fmt: skip
@format_option("table", "json", default="table")
@click.pass_context
def crawl(
    ctx: click.Context,
    sources: tuple[str, ...],
    timeout: float | None,
    verbose: bool,
    wait: float,
    output_format: str,
) -> None:
    """Collect every source (or the named ones) once, now.

    Prints one line per source: new articles, how many were flagged, and the error if the
    source failed. Exits 0 when the crawl ran, even if some sources failed; 3 when not one
    source could be read (offline, say), with what most likely went wrong; and 1 when its
    crawl process was killed (the run is then recorded as interrupted). Only one crawl
    writes an archive at a time: a second one (two cron runs that overlap) waits for the
    first, up to --wait; while `wirewatch run` owns the archive, crawl refuses.

    \b
    Examples:
      wirewatch crawl
      wirewatch crawl yonhap-en-nk tass-en --format json
    """
    config = state_of(ctx).config()
    chosen = select_sources(config, sources)
    with (
        crawl_lock(config.archive, wait, by_hand="crawl"),
        stop_on_sigterm(),
        CrawlProgress(len(chosen)) as progress,
    ):
        result = run_cycle(
            config,
            [source.name for source in chosen],
            timeout=timeout,
            on_event=progress,
            log_level="INFO" if verbose else "WARNING",
            log_stream=sys.stderr if verbose else None,
        )
    if output_format == "json":
        print_json(result.to_dict())
    else:
        print_cycle(result)
    if result.status == RunStatus.INTERRUPTED:
        raise CrawlError(
            f"the crawl was interrupted: {result.error}; the run is recorded as interrupted, "
            "and the next crawl collects what it missed"
        )
    diagnosis = result.diagnosis()
    if diagnosis:
        raise NoSourceRead(f"{diagnosis}; each source is tried again when it is next due")
    if result.status == RunStatus.TIMEOUT:
        console(stderr=True).print(f"wirewatch: warning: {result.error}")


@click.command()
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Log lines for people, or JSON lines for log shippers.",
)  # fmt: skip
@click.option(
    "--metrics-port", type=click.IntRange(1, 65535), metavar="PORT",
    help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics.",
)  # fmt: skip
@click.option(
    "--workers", type=click.IntRange(1, 64), metavar="N",
    help="Crawl processes at once. Default: crawl.workers.",
)  # fmt: skip
@click.pass_context
def run(ctx: click.Context, log_format: str, metrics_port: int | None, workers: int | None) -> None:
    """Run the daemon: poll each source on its schedule until stopped.

    Each source runs on its interval or cron line; due sources are crawled together in
    child processes. SIGTERM or Ctrl-C stops it cleanly (running crawls get a few seconds,
    then are killed); SIGHUP reloads the config file, keeping the old one if the new one is
    invalid. One daemon per archive: a second one exits 2, naming the first's PID.

    \b
    Examples:
      wirewatch run
      wirewatch --config /etc/wirewatch/config.yaml run --log-format json --metrics-port 9108
    """
    from monitor.collection.daemon import Daemon

    configure_logs(log_format)
    state = state_of(ctx)
    Daemon(find_path(state.config_path), workers=workers, metrics_port=metrics_port).run()


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("wirewatch-demo"),
    show_default=True,
    help="Where to write the demo's config and archive.",
)
@click.pass_context
def demo(ctx: click.Context, directory: Path) -> None:
    """Crawl the bundled offline newswire with your topics and show what they flag.

    A local server on 127.0.0.1 serves a few sources of sample stories, some about the
    default topic and many hard ones that are not. The demo crawls them once into a fresh
    archive in --dir, using the topics of your config file, and prints the flagged stories.

    \b
    Example:
      wirewatch demo --dir /tmp/wirewatch-demo
    """
    from monitor.demo import run_demo

    with stop_on_sigterm():
        run_demo(state_of(ctx).config(), directory)
