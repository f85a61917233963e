"""Commands for the analyst's desk: flagged, show, mark, search, export, digest and serve."""

from __future__ import annotations

import getpass
import sys
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import click

from monitor import review
from monitor.archive import rechecks
from monitor.archive.labels import LABELS
from monitor.commands.options import (
    ARTICLE_ID,
    filter_options,
    filters_of,
    format_option,
    open_output,
    review_options,
    state_of,
    topic_option,
)
from monitor.errors import UsageError
from monitor.readout import Roles, story_readout
from monitor.reports import print_article, print_flagged, print_search
from monitor.review import Filters
from monitor.search import search as search_archive
from monitor.terminal import console, print_csv, print_json, print_jsonl
from monitor.timeutil import utcnow


def limit_option(function: Any) -> Any:
    return click.option(
        "--limit", type=click.IntRange(min=0), default=50, show_default=True,
        help="At most this many rows; 0 for all.",
    )(function)  # fmt: skip


def output_option(function: Any) -> Any:
    return click.option(
        "-o", "--output", "output_path", type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Write to FILE instead of stdout.",
    )(function)  # fmt: skip


@click.command()
@filter_options
@click.option(
    "--sanctioned", is_flag=True,
    help="Only stories that name an entry of a loaded sanctions list (wirewatch sanctions).",
)  # fmt: skip
@limit_option
@format_option("table", "json", "csv", default="table")
@click.pass_context
def flagged(ctx: click.Context, /, limit: int, output_format: str, **values: Any) -> None:
    """List flagged stories, newest first: one row per story, however many outlets ran it.

    Each row shows the story's earliest flagged copy, how many outlets carried it, its
    best score and its latest mark. Filter by topic, source, date, language, score, mark.

    \b
    Examples:
      wirewatch flagged --since 24h
      wirewatch flagged --unreviewed --min-score 10
      wirewatch flagged --topic russia-dprk --since 2026-11-01 --format json
      wirewatch flagged --sanctioned
    """
    state = state_of(ctx)
    with state.archive() as archive:
        filters = filters_of(state, archive, **values)
        rows, total = review.flagged(archive, filters, limit=limit or None)
    if output_format == "json":
        print_json(rows)
    elif output_format == "csv":
        print_csv(rows, ["id", "published", "fetched", "source", "topic", "score", "outlets",
                         "first_report", "label", "title", "url"])  # fmt: skip
    else:
        state.show_times()
        print_flagged(rows, total, since=values.get("since"))


@click.command()
@click.argument("article_id", type=ARTICLE_ID, metavar="ID")
@format_option("text", "json", default="text")
@click.pass_context
def show(ctx: click.Context, article_id: int, output_format: str) -> None:
    """Show one story: why it was flagged, its marks, the other outlets, and its text.

    The matched terms are highlighted on a terminal.

    \b
    Example:
      wirewatch show 12
    """
    state = state_of(ctx)
    with state.archive() as archive:
        record = review.article(archive, article_id)
        story = record.get("cluster_id") or record["id"]
        record["readout"] = story_readout(archive, story, state.roles())
        record["sanctions"] = review.sanctions_named(archive, article_id)
        record["rechecks"] = [asdict(check) for check in rechecks.of_story(archive, article_id)]
    if output_format == "json":
        print_json(record)
        return
    state.show_times()
    print_article(record)


@click.command()
@click.argument("article_id", type=ARTICLE_ID, metavar="ID")
@click.argument("label", type=click.Choice(LABELS), metavar="LABEL")
@click.option("--note", metavar="TEXT", help="Why, for the record.")
@format_option("text", "json", default="text")
@click.pass_context
def mark(
    ctx: click.Context, article_id: int, label: str, note: str | None, output_format: str
) -> None:
    """Triage a story: relevant, irrelevant or follow-up.

    Every mark is kept with its time and author, so a story's history of labels stays;
    its label is the latest. `flagged --unreviewed` lists the stories not marked yet.

    \b
    Examples:
      wirewatch mark 12 relevant
      wirewatch mark 14 follow-up --note "ask Seoul desk about the train schedule"
    """
    with state_of(ctx).archive() as archive:
        done = review.mark(archive, article_id, label, note=note, by=_analyst(), now=utcnow())
    if output_format == "json":
        print_json(done)
        return
    console().print(f"Marked #{article_id} {label}" + (f" ({note})" if note else "") + ".")


def _analyst() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@click.command()
@click.argument("query")
@filter_options
@click.option("--flagged", "flagged_only", is_flag=True, help="Only stories a topic flagged.")
@limit_option
@format_option("table", "json", "csv", default="table")
@click.pass_context
def search(
    ctx: click.Context, /, query: str, flagged_only: bool, limit: int, output_format: str,
    **values: Any,
) -> None:  # fmt: skip
    """Search the whole archive, in every language, best match first.

    QUERY has words (all must occur), "quoted phrases", prefix* words, AND, OR, NOT and
    parentheses. Words are matched by their stem, and Korean nouns with their particles:
    Пхеньян finds Пхеньяне, and 북한 finds 북한은. One row per story, as flagged lists
    them: a wire story that several outlets ran is its best-matching copy, with its outlets.

    \b
    Examples:
      wirewatch search 'Lavrov AND (Wonsan OR Kalma)'
      wirewatch search '"Kim Jong Un" NOT missile' --since 30d --format json
      wirewatch search Пхеньян --language ru
    """
    state = state_of(ctx)
    with state.archive() as archive:
        filters = filters_of(state, archive, **values)
        rows, total = search_archive(
            archive, query, filters, flagged_only=flagged_only, limit=limit or None
        )
    if output_format == "json":
        print_json(rows)
    elif output_format == "csv":
        print_csv([{**row, "topics": ";".join(row["topics"])} for row in rows],
                  ["id", "published", "fetched", "source", "outlets", "language", "topics",
                   "label", "title", "url", "snippet"])  # fmt: skip
    else:
        state.show_times()
        print_search(rows, total, cut=bool(limit) and len(rows) == limit)


@click.command()
@format_option("jsonl", "csv", "atom", "md", default="jsonl")
@click.option("--flagged", "flagged_only", is_flag=True, help="Only stories a topic flagged.")
@filter_options
@output_option
@click.pass_context
def export(
    ctx: click.Context, /, output_format: str, flagged_only: bool, output_path: Path | None,
    **values: Any,
) -> None:  # fmt: skip
    """Export stories: JSON lines, CSV, an Atom feed or Markdown.

    jsonl and csv give every article (oldest first) with id, url, source, title,
    published, fetched, language, topics, label, story, best sentence, summary and
    body. atom and md give the flagged stories, one per story with its outlets:
    subscribe to the Atom file in any feed reader.

    \b
    Examples:
      wirewatch export --format jsonl --flagged --since 7d > flagged.jsonl
      wirewatch export --format atom --topic russia-dprk -o flagged.atom
      wirewatch export --format csv --label relevant -o relevant.csv
    """
    state = state_of(ctx)
    with state.archive() as archive:
        filters = filters_of(state, archive, **values)
        stream: IO[str] = open_output(output_path) if output_path else sys.stdout
        try:
            count = _write(archive, output_format, filters, flagged_only, stream)
        finally:
            if output_path:
                stream.close()
    if output_path:
        what = "articles" if output_format in ("jsonl", "csv") else "stories"
        console(stderr=True).print(f"Wrote {count} {what} to {output_path}.")


def _write(
    archive: Any, output_format: str, filters: Filters, flagged_only: bool, stream: Any
) -> int:
    # The documents' writers (markupsafe, feedgen) load only for an export.
    from monitor.exports import stories, write_atom, write_csv, write_markdown

    if output_format == "jsonl":
        return print_jsonl(review.export(archive, filters, flagged_only=flagged_only), stream)
    if output_format == "csv":
        return write_csv(review.export(archive, filters, flagged_only=flagged_only), stream)
    rows = stories(archive, filters)
    title = f"wirewatch: {filters.topic or 'flagged stories'}"
    if output_format == "atom":
        return write_atom(rows, stream, title=title, topic=filters.topic, now=utcnow())
    return write_markdown(rows, stream, title=title)


@click.command()
@click.option(
    "--since", default="24h", show_default=True, metavar="WHEN",
    help="Stories dated from then: 24h, 7d or a date.",
)  # fmt: skip
@topic_option
@review_options
@format_option("md", "html", default="md")
@output_option
@click.pass_context
def digest(
    ctx: click.Context, /, since: str, output_format: str, output_path: Path | None,
    **values: Any,
) -> None:  # fmt: skip
    """Write the digest: flagged stories grouped by topic and by story.

    Each story has its headline, its outlets, its first report and its best sentence.
    Markdown for email or chat, HTML for a browser. Stories marked irrelevant are left
    out, unless --label irrelevant asks for them, and so are those scored below their
    topic's digest_min_score.

    \b
    Examples:
      wirewatch digest
      wirewatch digest --since 7d --format html -o week.html
      wirewatch digest --unreviewed --min-score 10
    """
    from monitor.exports import digest as render_digest  # jinja2 and markupsafe: here only

    state = state_of(ctx)
    descriptions: dict[str, str] = {}
    minimums: dict[str, float] = {}
    roles = state.roles()
    if state.archive_path is None:
        topics = state.config().topics
        descriptions = {name: t.description for name, t in topics.items()}
        minimums = {name: t.digest_score() for name, t in topics.items()}
    with state.archive() as archive:
        coverage = _coverage(state, archive, roles)
        # An analyst who marked a story irrelevant has said it is not news for the digest.
        hidden = None if values.get("label") else "irrelevant"
        filters = filters_of(state, archive, since=since, not_label=hidden, **values)
        state.show_times()
        text, count = render_digest(
            archive, filters, descriptions, output_format=output_format, now=utcnow(),
            min_scores=minimums, roles=roles, coverage=coverage,
        )  # fmt: skip
    if output_path is None:
        click.echo(text, nl=False)
        return
    with open_output(output_path) as stream:
        stream.write(text)
    console(stderr=True).print(f"Wrote a digest of {count} stories to {output_path}.")


def _coverage(state: Any, archive: Any, roles: Roles) -> list[str]:
    """Return the roles' silences and spikes that hold now, one line each (none without a
    config)."""
    if state.archive_path is not None or not roles:
        return []
    from monitor.coverage import current

    config = state.config()
    verdict = current(archive, list(config.topics), roles, config.coverage, utcnow())
    return [alarm.body.split("\n", 1)[0] for alarm in verdict.ongoing]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8001,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    metavar="NAME",
    multiple=True,
    help="Also answer to this host name, e.g. behind a proxy (repeat for more). Requests "
    "for any other name get 421.",
)
@click.option(
    "--accounts",
    "accounts_file",
    type=click.Path(path_type=Path),  # its problems are said by monitor.serve.accounts
    metavar="FILE",
    help="Analysts log in with the accounts in FILE (NAME:HASH lines, read at start), and "
    "each mark records the account.",
)
@click.option(
    "--add-account",
    metavar="NAME",
    help="Add the account NAME to --accounts FILE (or give it a new password), asking for "
    "the password twice, then exit.",
)
@click.option(
    "--analyst",
    metavar="NAME",
    help="Without a login, record marks as by NAME. Default: the OS user.",
)
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, allow_hosts: tuple[str, ...],
    accounts_file: Path | None, add_account: str | None, analyst: str | None,
) -> None:  # fmt: skip
    """Review in a browser: Datasette over the live archive.

    The home page leads to the flagged stories, with facets, search and triage links;
    canned queries list the last 24 hours, the unreviewed stories, the follow-ups and the
    sources' health; /archive/flagged_atom.atom is an Atom feed of the flagged stories.

    Each mark made in the browser records who made it: on 127.0.0.1 the OS user who runs
    serve, or --analyst NAME. On another address analysts must log in: each with their own
    account from --accounts FILE (add one with --add-account NAME, which asks for its
    password), or all as analyst with WIREWATCH_SERVE_PASSWORD. A mark then records the
    account.

    It answers only to the address it listens on (and localhost on loopback; any of the
    machine's addresses on 0.0.0.0), and to each --allow-host NAME, so a web page cannot
    reach it under a name of its own (DNS rebinding). Marks are taken only from its own
    pages: a POST from another origin, or without the page's CSRF token, gets 403.

    \b
    Examples:
      wirewatch serve
      wirewatch serve --analyst kim
      wirewatch serve --accounts desk.accounts --add-account kim
      wirewatch serve --accounts desk.accounts --host 0.0.0.0 --port 8001
      WIREWATCH_SERVE_PASSWORD=... wirewatch serve --host 0.0.0.0 --port 8001
      wirewatch serve --allow-host wire.example.org   # behind a reverse proxy
    """
    if add_account is not None:
        _add_account(accounts_file, add_account)
        return
    from monitor.serve import desk
    from monitor.serve import serve as serve_archive

    who = desk(host, accounts_file, analyst, _analyst())  # bad options before the archive
    state = state_of(ctx)
    path = state.archive_path or state.config().archive
    with state.archive():  # brings the schema up to date, or says there is no archive
        pass
    err = console(stderr=True)

    def announce(url: str) -> None:
        err.print(f"Serving {path} at {url} (Ctrl-C to stop)", soft_wrap=True, highlight=False)

    serve_archive(path, host, port, announce, allow_hosts, who, state.roles())


def _add_account(accounts_file: Path | None, name: str) -> None:
    from monitor.serve import accounts

    if accounts_file is None:
        raise UsageError("--add-account needs --accounts FILE: the file to add the account to")
    accounts.check(accounts_file, name)  # before asking for a password it could not keep
    password = click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    replaced = accounts.add(accounts_file, name, password)
    done = "Changed the password of" if replaced else "Added the account"
    console(stderr=True).print(f"{done} {name} in {accounts_file}.", highlight=False)
