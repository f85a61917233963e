"""The ``wirewatch`` command line: the one place where errors become a line and an exit code."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click

from monitor import __version__, review
from monitor.archive import Archive
from monitor.config import ENV_VAR, Config, find_path, load
from monitor.crawl import run_cycle, select_sources
from monitor.errors import (
    ConfigError,
    ExitStatus,
    Interrupted,
    TopicTestFailed,
    UsageError,
    WirewatchError,
)
from monitor.lock import ArchiveLock, Locked
from monitor.logs import configure as configure_logs
from monitor.matcher.engine import Matcher
from monitor.output import (
    CrawlProgress,
    Progress,
    console,
    display_path,
    print_csv,
    print_json,
    print_jsonl,
)
from monitor.rematch import rematch as rematch_archive
from monitor.timeutil import parse_since, utcnow
from monitor.topictest import LineError, evaluate_topic, read_stories, verdict
from monitor.views import (
    print_article,
    print_cycle,
    print_flagged,
    print_status,
    print_topic_report,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    """What the group's options give every command: where the config and archive are."""

    config_path: str | None
    archive_path: Path | None
    debug: bool
    _config: Config | None = field(default=None, repr=False)

    def config(self) -> Config:
        if self._config is None:
            self._config = load(find_path(self.config_path))
        return self._config

    def archive(self, *, create: bool = False) -> Archive:
        """Open the archive named by --archive, else by the config's ``archive:``."""
        path = self.archive_path or self.config().archive
        return Archive.open(path, create=create)


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


def since_option(function: F) -> F:
    return click.option(
        "--since",
        metavar="WHEN",
        help="Only stories dated from then: a duration back from now (24h, 7d) or a date "
        "(2026-11-01).",
    )(function)


def topic_option(function: F) -> F:
    return click.option("--topic", metavar="TOPIC", help="Only this topic's flags.")(function)


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


def _state(ctx: click.Context) -> State:
    state = ctx.find_object(State)
    assert state is not None
    return state


@cli.command()
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
    config = _state(ctx).config()
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
    if output_format == "json":
        print_json(
            {
                "config": str(config.path),
                "valid": True,
                "archive": str(config.archive),
                "sources": len(config.sources),
                "kinds": kinds,
                "topics": topics,
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


@cli.command()
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
    source failed. Exits 0 when the crawl ran, even if some sources failed. Only one crawl
    writes an archive at a time: a second one (two cron runs that overlap) waits for the
    first, up to --wait; while `wirewatch run` owns the archive, crawl refuses.

    \b
    Examples:
      wirewatch crawl
      wirewatch crawl yonhap-en-nk tass-en --format json
    """
    config = _state(ctx).config()
    chosen = select_sources(config, sources)
    with _archive_lock(config, wait), _stop_on_sigterm(), CrawlProgress(len(chosen)) as progress:
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
    if result.status == "timeout":
        console(stderr=True).print(f"wirewatch: warning: {result.error}")


@cli.command()
@topic_option
@since_option
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="At most this many rows; 0 for all.",
)
@format_option("table", "json", "csv", default="table")
@click.pass_context
def flagged(
    ctx: click.Context, topic: str | None, since: str | None, limit: int, output_format: str
) -> None:
    """List flagged stories, newest first.

    \b
    Examples:
      wirewatch flagged --since 24h
      wirewatch flagged --topic russia-dprk --since 2026-11-01 --format json
    """
    state = _state(ctx)
    with state.archive() as archive:
        _check_topic(state, archive, topic)
        rows, total = review.flagged(archive, topic=topic, since=_since(since), limit=limit or None)
    if output_format == "json":
        print_json(rows)
        return
    if output_format == "csv":
        print_csv(rows, ["id", "published", "fetched", "source", "topic", "score", "title", "url"])
        return
    print_flagged(rows, total, since=since)


@cli.command()
@click.argument("article_id", type=int, metavar="ID")
@format_option("text", "json", default="text")
@click.pass_context
def show(ctx: click.Context, article_id: int, output_format: str) -> None:
    """Show one story and why it was flagged, with the matched terms highlighted.

    \b
    Example:
      wirewatch show 12
    """
    with _state(ctx).archive() as archive:
        record = review.article(archive, article_id)
    if output_format == "json":
        print_json(record)
        return
    print_article(record)


@cli.command()
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
    state = _state(ctx)
    names = [source.name for source in state.config().sources]
    kinds = {source.name: source.kind for source in state.config().sources}
    path = state.archive_path or state.config().archive
    rows: list[dict[str, Any]] = []
    daemon: dict[str, Any] = {"running": False, "pid": None, "since": None}
    if path.exists():
        with state.archive() as archive:
            rows = review.sources_status(archive, names)
            daemon = review.daemon(archive)
    known = {row["name"] for row in rows}
    rows += [
        {"name": name, "kind": kinds[name], "url": None, "last_attempt": None,
         "last_success": None, "next_due": None, "next_run": None, "failures": 0,
         "articles": 0, "last_error": None, "state": "never read"}
        for name in names
        if name not in known
    ]  # fmt: skip
    rows.sort(key=lambda row: names.index(row["name"]))
    if output_format == "json":
        print_json({"daemon": daemon, "sources": rows})
        return
    print_status(rows, daemon)


def _one_topic(config: Config, topic: str | None) -> str:
    """Return the topic to use: the one named, or the config's only one."""
    names = list(config.topics)
    if topic is not None:
        if topic not in config.topics:
            raise UsageError(
                f"unknown topic {topic!r} (topics in {config.path}: {', '.join(names) or 'none'})"
            )
        return topic
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError(f"{config.path}: topics: no topics to match (add one under topics:)")
    raise UsageError(
        f"{config.path} has several topics; choose one with --topic ({', '.join(names)})"
    )


@cli.command()
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-", metavar="[FILE|-]")
@topic_option
@click.pass_context
def match(ctx: click.Context, source: Any, topic: str | None) -> None:
    """Match stories from JSON lines against a topic, with no archive involved.

    Each input line is an object with id, title, body and an optional lang. Each output
    line answers one input line: id, flagged, score, threshold, rules, terms (with their
    positions) and snippet. A bad input line is reported on stderr with its line number;
    the others are still answered, and the exit status is then 2.

    \b
    Examples:
      wirewatch match stories.jsonl
      echo '{"id": 1, "title": "Lavrov in Pyongyang", "body": "Talks began."}' | wirewatch match
    """
    config = _state(ctx).config()
    name = _one_topic(config, topic)
    matcher = Matcher(config.topics)
    index = matcher.topics.index(name)
    bad = 0
    for story in read_stories(source):
        if isinstance(story, LineError):
            bad += 1
            click.echo(f"wirewatch: {source.name}: {story}", err=True)
            continue
        result = matcher.match(story.title, story.body)[index]
        print_jsonl([verdict(story, result)])
    if bad:
        raise UsageError(f"{bad} input line{'s' if bad > 1 else ''} could not be matched")


@cli.command("topic-test")
@click.argument("source", type=click.File("r", encoding="utf-8"), metavar="FILE")
@topic_option
@click.option("--set", "subset", metavar="NAME", help='Only lines whose "set" field is NAME.')
@click.option("--fail-under", type=click.FloatRange(0, 1), metavar="F1",
              help="Exit 1 when F1 is below this, for CI.")  # fmt: skip
@format_option("text", "json", default="text")
@click.pass_context
def topic_test(
    ctx: click.Context, source: Any, topic: str | None, subset: str | None,
    fail_under: float | None, output_format: str,
) -> None:  # fmt: skip
    """Test a topic on labelled stories: precision, recall and F1, and every mistake.

    Each line of FILE is an object with id, title, body, lang and label (true when the
    story is about the topic). Run it after every topic edit.

    \b
    Examples:
      wirewatch topic-test tests/data/russia_dprk_labelled.jsonl
      wirewatch topic-test labelled.jsonl --set holdout --fail-under 0.9
    """
    config = _state(ctx).config()
    name = _one_topic(config, topic)
    stories = []
    for story in read_stories(source, labelled=True):
        if isinstance(story, LineError):
            raise UsageError(f"{source.name}: {story}")
        if subset is None or story.fields.get("set") == subset:
            stories.append(story)
    if not stories:
        raise UsageError(
            f"{source.name}: no labelled stories" + (f" in set {subset!r}" if subset else "")
        )
    report = evaluate_topic(Matcher(config.topics), name, stories)
    if output_format == "json":
        print_json(report.to_dict())
    else:
        print_topic_report(report, source.name)
    if fail_under is not None and report.overall.f1 < fail_under:
        raise TopicTestFailed(f"F1 {report.overall.f1:.3f} is below --fail-under {fail_under}")


@cli.command()
@topic_option
@since_option
@format_option("text", "json", default="text")
@click.pass_context
def rematch(ctx: click.Context, topic: str | None, since: str | None, output_format: str) -> None:
    """Re-run the topics over the archive after you changed them.

    Flags are added where a topic now matches, removed where it no longer does, and
    updated where the score or evidence changed; none is ever duplicated.

    \b
    Examples:
      wirewatch rematch
      wirewatch rematch --topic russia-dprk --since 30d
    """
    state = _state(ctx)
    config = state.config()
    topics = [_one_topic(config, topic)] if topic else list(config.topics)
    with state.archive() as archive, _stop_on_sigterm(), Progress("Rematching") as progress:
        counts = rematch_archive(
            archive, Matcher(config.topics), topics, since=_since(since), now=utcnow(),
            progress=progress,
        )  # fmt: skip
    if output_format == "json":
        print_json({topic: dict(count) for topic, count in counts.items()})
        return
    for name, count in counts.items():
        console().print(
            f"{name}: {count['added']} flags added, {count['removed']} removed, "
            f"{count['updated']} updated, {count['kept']} unchanged"
        )


@cli.command()
@format_option("jsonl", default="jsonl")
@click.option("--flagged", "flagged_only", is_flag=True, help="Only stories flagged by a topic.")
@topic_option
@since_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write to FILE instead of stdout.",
)
@click.pass_context
def export(
    ctx: click.Context,
    output_format: str,
    flagged_only: bool,
    topic: str | None,
    since: str | None,
    output: Path | None,
) -> None:
    """Export stories, oldest first, one JSON object per line.

    Each object has id, url, source, title, published, fetched, language, summary, body and
    topics (the topics that flagged it).

    \b
    Examples:
      wirewatch export --format jsonl --flagged --since 7d > flagged.jsonl
      wirewatch export --topic russia-dprk -o russia-dprk.jsonl
    """
    state = _state(ctx)
    with state.archive() as archive:
        _check_topic(state, archive, topic)
        rows = review.export(archive, flagged_only=flagged_only, topic=topic, since=_since(since))
        if output is None:
            print_jsonl(rows)
            return
        with output.open("w", encoding="utf-8") as stream:
            count = print_jsonl(rows, stream)
    console(stderr=True).print(f"Wrote {count} stories to {output}.")


@cli.command()
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
def run(ctx: click.Context, log_format: str, metrics_port: int | None, workers: int | None) -> int:
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
    from monitor.scheduler import Daemon

    configure_logs(log_format)
    state = _state(ctx)
    return Daemon(find_path(state.config_path), workers=workers, metrics_port=metrics_port).run()


@cli.command()
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

    with _stop_on_sigterm():
        run_demo(_state(ctx).config(), directory)


@contextlib.contextmanager
def _archive_lock(config: Config, wait: float) -> Iterator[None]:
    """Hold the archive's lock for a crawl, waiting for another crawl but not for the daemon."""
    lock = ArchiveLock(config.archive, "crawl")
    try:
        lock.acquire()
    except Locked as locked:
        if "wirewatch run" in locked.holder:
            raise UsageError(
                f"{config.archive}: {locked.holder} collects this archive already "
                "(stop it to crawl by hand)"
            ) from None
        console(stderr=True).print(
            f"wirewatch: waiting up to {wait:g}s for {locked.holder} to finish"
        )
        try:
            lock.acquire(wait=wait)
        except Locked as still:
            raise Locked(
                config.archive, f"{still.holder} (gave up waiting after {wait:g}s)"
            ) from None
    try:
        yield
    finally:
        lock.release()


def _check_topic(state: State, archive: Archive, topic: str | None) -> None:
    if topic is None:
        return
    known = set(review.topics_in(archive))
    if state.archive_path is None:
        known |= set(state.config().topics)
    if topic not in known:
        raise UsageError(
            f"unknown topic {topic!r} (topics: {', '.join(sorted(known)) or 'none yet'})"
        )


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_since(text, utcnow())
    except ValueError as error:
        raise UsageError(f"--since: {error}") from None


class _stop_on_sigterm:
    """Turn SIGTERM into Interrupted while a long command runs, so its cleanup happens."""

    def __enter__(self) -> None:
        self._previous = signal.signal(signal.SIGTERM, self._handle)

    def __exit__(self, *exc_info: object) -> None:
        signal.signal(signal.SIGTERM, self._previous)

    @staticmethod
    def _handle(signum: int, frame: FrameType | None) -> None:
        raise Interrupted("stopped by SIGTERM")


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
        for line in str(error).splitlines():
            click.echo(prefix + line, err=True)
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
        click.echo(
            f"wirewatch: internal error: {type(error).__name__}: {error} "
            "(run with --debug for the traceback, and please report it)",
            err=True,
        )
        sys.exit(ExitStatus.ERROR)
    sys.exit(result if isinstance(result, int) else ExitStatus.SUCCESS)
