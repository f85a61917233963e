"""``wirewatch sanctions``: load the sanctions lists named in the config, and see them."""

from __future__ import annotations

import click

from monitor.commands.options import format_option, state_of
from monitor.errors import ConfigError, ConfigProblem, UsageError
from monitor.terminal import console, print_json
from monitor.timeutil import utcnow


@click.group()
def sanctions() -> None:
    """Sanctions lists: load the files the config names, and see what is loaded.

    The UN Security Council's consolidated list (XML) and OFAC's SDN list (XML or CSV),
    as their publishers give them out; wirewatch never downloads them. Once loaded, every
    story that names a listed person, entity or vessel (by a name or alias, or a vessel's
    IMO number) says so in `show` and on its page in `serve`, and `flagged --sanctioned`
    lists those stories.

    \b
    Examples:
      wirewatch sanctions load
      wirewatch sanctions list --format json
    """


@sanctions.command()
@format_option("text", "json", default="text")
@click.pass_context
def load(ctx: click.Context, /, output_format: str) -> None:
    """Load the lists of the config's sanctions: files, replacing those loaded before.

    Only the entries of sanctions: programs are kept (DPRK and RUSSIA by default: the UN
    1718 list and OFAC's DPRK and Russia programs). Then every article of the archive is
    matched against them; each crawl after that matches its new articles.

    \b
    Example:
      wirewatch sanctions load
    """
    from monitor.archive import sanctions as stored
    from monitor.progress import Progress
    from monitor.sanctions import Entry, SanctionsFileError, read_file

    state = state_of(ctx)
    config = state.config()
    if not config.sanctions.files:
        raise ConfigError(
            config.path,
            [ConfigProblem("sanctions.files", "names no file: add the list files you have, "
                           "e.g. sanctions: {files: [lists/consolidated.xml, lists/sdn.csv]}")],
        )  # fmt: skip
    entries: list[tuple[Entry, str]] = []
    folder = config.path.resolve().parent
    for name in config.sanctions.files:
        path = name.expanduser()
        path = path if path.is_absolute() else folder / path
        try:
            found = read_file(path, config.sanctions.programs)
        except OSError as error:
            problem = f"cannot read {path}: {error.strerror or error}"
            raise ConfigError(config.path, [ConfigProblem("sanctions.files", problem)]) from None
        except SanctionsFileError as error:
            raise UsageError(
                f"{path}: not a sanctions list wirewatch reads: {error}. Give the UN "
                "consolidated list (XML) or OFAC's SDN list (XML or CSV) as published."
            ) from None
        entries.extend((entry, str(path)) for entry in found)
    with state.archive(create=True) as archive:
        total = archive.conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        bar = Progress("matching articles")
        with bar:
            done = stored.load(archive, entries, utcnow(), lambda n: bar(n, total))
    result = {
        "entries": done.entries,
        "names": done.names,
        "articles_matched": done.articles,
        "hits": done.hits,
        "files": [str(path) for path in config.sanctions.files],
    }
    if output_format == "json":
        print_json(result)
        return
    console().print(
        f"Loaded {done.entries} entries ({done.names} names) from "
        f"{len(config.sanctions.files)} file{'s' if len(config.sanctions.files) != 1 else ''}; "
        f"matched {done.articles} articles: {done.hits} name a listed entry. "
        "See them with: wirewatch flagged --sanctioned"
    )


@sanctions.command(name="list")
@format_option("table", "json", default="table")
@click.pass_context
def list_entries(ctx: click.Context, /, output_format: str) -> None:
    """List the loaded entries, with how many articles name each.

    \b
    Example:
      wirewatch sanctions list --format json
    """
    from monitor.archive import sanctions as stored

    with state_of(ctx).archive() as archive:
        entries = stored.entries_of(archive)
        counts = dict(
            archive.conn.execute("SELECT entry, count(*) FROM sanction_hits GROUP BY entry")
        )
    rows = [
        {"key": e.key, "list": e.list, "kind": e.kind, "name": e.name, "aliases": list(e.aliases),
         "programs": list(e.programs), "imo": list(e.imo), "articles": counts.get(e.key, 0)}
        for e in entries
    ]  # fmt: skip
    if output_format == "json":
        print_json(rows)
        return
    if not rows:
        console().print("No sanctions list is loaded: name the files in the config's "
                        "sanctions: files, then run wirewatch sanctions load.")  # fmt: skip
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None)
    for column in ("list", "kind", "name", "programs", "IMO", "articles"):
        table.add_column(column, justify="right" if column == "articles" else "left")
    for row in rows:
        table.add_row(
            Text(row["list"]), Text(row["kind"]), Text(row["name"]),
            Text(", ".join(row["programs"])), Text(", ".join(row["imo"])), str(row["articles"]),
        )  # fmt: skip
    console().print(table)
