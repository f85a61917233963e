"""Stories out of the archive: CSV, an Atom feed, Markdown, and the daily digest.

JSON lines come straight from monitor.review; the formats here are for people and for
feed readers. The Atom feed holds one entry per flagged story (not per copy), so analysts
can subscribe to what wirewatch flags in any feed reader.

Archive text is hostile until shown otherwise: HTML and Markdown show it as text (see
monitor.escaping), only http(s) addresses become links, in the Atom feed too, and no CSV
cell starts a spreadsheet formula.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from monitor import __version__
from monitor.archive import Archive
from monitor.escaping import (
    html_finalize,
    html_link,
    markdown_finalize,
    markdown_link,
    markdown_text,
    web_url,
)
from monitor.readout import Roles, readout_line, readout_of
from monitor.review import Filters, flagged, outlets
from monitor.terminal import csv_writer, printable
from monitor.timeutil import from_text, in_zone, shown_zone, to_text, zone_name

if TYPE_CHECKING:
    import jinja2

CSV_COLUMNS = ["id", "url", "source", "title", "published", "fetched", "language", "topics",
               "label", "story", "snippet", "summary", "body"]  # fmt: skip


def write_csv(rows: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """Write articles as CSV (topics joined by ';'); return how many.

    A text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) is written with a leading ``'``, so a title
    ``=HYPERLINK(...)`` opens as text. On a terminal, control characters are shown, not
    obeyed; to a file the text is kept as it is.
    """
    write = csv_writer(stream, CSV_COLUMNS)
    count = 0
    for row in rows:
        write({**row, "topics": ";".join(row.get("topics") or [])})
        count += 1
    return count


def stories(
    archive: Archive, filters: Filters, min_scores: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """Return the flagged stories that match, newest first, each with its outlets; a topic
    in *min_scores* keeps only its stories scored that much or more."""
    rows, _ = flagged(archive, filters)
    if min_scores:
        rows = [row for row in rows if row["score"] >= min_scores.get(row["topic"], 0)]
    for row in rows:
        row["outlets"] = outlets(archive, row["story"])
    return rows


def write_atom(
    rows: Sequence[dict[str, Any]], stream: IO[str], *, title: str, topic: str | None, now: datetime
) -> int:
    """Write flagged stories (of *topic*, or all) as an Atom 1.0 feed; return how many entries.

    The feed's ID depends only on the topic, and each entry's on its topic and story, so a
    feed reader that reads a newer export sees only the new stories as new. Texts are Atom
    text (never HTML) with control characters shown, and an entry links to its story only
    when the story's address is http(s); otherwise the address is in its text content.
    """
    from feedgen.feed import FeedGenerator  # loaded by the Atom export alone

    feed = FeedGenerator()
    feed.id(f"tag:wirewatch,2026:flagged/{topic or 'all'}")
    feed.title(title)
    feed.subtitle("Stories flagged by wirewatch")
    feed.author({"name": "wirewatch"})
    feed.generator("wirewatch", __version__)
    feed.link(href="https://github.com/wirewatch/wirewatch", rel="alternate")
    latest = max((from_text(row["first_report"]) for row in rows), default=now)
    feed.updated(latest)
    for row in reversed(rows):  # feedgen puts the last added first
        entry = feed.add_entry()
        entry.id(f"tag:wirewatch,2026:story/{row['topic']}/{row['story']}")
        entry.title(printable(row["title"]))
        sources = ", ".join(outlet["source"] for outlet in row.get("outlets", [])) or row["source"]
        summary = printable(f"{row['snippet']} ({sources}; score {row['score']:g})")
        if web_url(row["url"]):
            entry.link(href=row["url"])
        else:  # Atom wants a link or content: the address is shown, not followed
            entry.content(printable(f"{row['url']} (not a web address)\n\n{summary}"))
        when = from_text(row["published"] or row["fetched"])
        entry.published(when)
        entry.updated(when)
        entry.author({"name": printable(row["source"])})
        entry.category(term=row["topic"])
        entry.summary(summary)
    stream.write(feed.atom_str(pretty=True).decode("utf-8"))
    return len(rows)


def write_markdown(rows: Sequence[dict[str, Any]], stream: IO[str], *, title: str) -> int:
    """Write flagged stories as a Markdown list; return how many.

    Titles and snippets are escaped to show as text (no HTML, no markup), and only http(s)
    addresses become links.
    """
    stream.write(f"# {markdown_text(title)}\n\n")
    for row in rows:
        outlets_text = ", ".join(
            markdown_link(outlet["source"], outlet["url"]) for outlet in row.get("outlets", [])
        )
        meta = (
            f"{row['first_report'].replace('T', ' ')[:16]} UTC · {row['source']} · "
            f"{row['topic']}, score {row['score']:g}"
            + (f" · marked {row['label']}" if row.get("label") else "")
        )
        stream.write(
            f"## {markdown_link(row['title'], row['url'])}\n\n"
            f"{markdown_text(meta)}\n\n> {markdown_text(row['snippet'] or '')}\n\n"
            + (f"Outlets: {outlets_text}\n\n" if outlets_text else "")
        )
    return len(rows)


def digest(
    archive: Archive,
    filters: Filters,
    descriptions: dict[str, str],
    *,
    output_format: str,
    now: datetime,
    min_scores: Mapping[str, float] | None = None,
    roles: Roles | None = None,
    coverage: Sequence[str] = (),
) -> tuple[str, int]:
    """Render the digest: flagged stories grouped by topic, then by story; return it and
    how many stories it holds. A topic in *min_scores* keeps only its stories scored that
    much or more (its ``digest_min_score``). With *roles*, each story has its readout;
    *coverage* are the roles' silences and spikes that hold now, one line each."""
    rows = stories(archive, filters, min_scores)
    topics: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        readout = readout_of([(o["source"], o["date"]) for o in row["outlets"]], roles or Roles())
        row["readout"] = None
        if roles and readout is not None:
            first = f"{in_zone(to_text(readout.first_seen), shown_zone())} {zone_name()}"
            row["readout"] = readout_line(readout.as_json(), first)
        row["first_report"] = in_zone(row["first_report"], shown_zone())
        topics.setdefault(row["topic"], []).append(row)
    template = _environment(output_format).get_template(f"digest.{output_format}")
    since = in_zone(to_text(filters.since), shown_zone()) if filters.since else "the start"
    text = template.render(
        topics=[
            {"name": name, "description": descriptions.get(name, ""), "stories": found}
            for name, found in topics.items()
        ],
        stories_count=len(rows),
        coverage=list(coverage),
        since=since,
        until=in_zone(to_text(now), shown_zone()),
        zone=zone_name(),
    )
    return text, len(rows)


def _environment(output_format: str) -> jinja2.Environment:
    """Return the jinja2 environment for the digest in *output_format* (html or md).

    Escaping is set by the output, not guessed from the template's name: HTML is always
    autoescaped, and Markdown escapes every printed value (see monitor.escaping). Each
    has a ``link(text, url)`` that links only http(s) addresses.
    """
    html = output_format == "html"
    import jinja2  # loaded by the digest alone

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor", "templates"),
        # Markdown is not HTML: its escaping is the finalize below, for every printed value.
        autoescape=html,  # noqa: S701
        finalize=html_finalize if html else markdown_finalize,
        keep_trailing_newline=True,
    )
    environment.globals["link"] = html_link if html else markdown_link
    return environment
