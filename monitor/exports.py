"""Stories out of the archive: CSV, an Atom feed, Markdown, and the daily digest.

JSON lines come straight from monitor.review; the formats here are for people and for
feed readers. The Atom feed holds one entry per flagged story (not per copy), so analysts
can subscribe to what wirewatch flags in any feed reader.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, Any

import jinja2
from feedgen.feed import FeedGenerator

from monitor import __version__
from monitor.archive import Archive
from monitor.review import Filters, flagged, outlets
from monitor.timeutil import from_text

CSV_COLUMNS = ["id", "url", "source", "title", "published", "fetched", "language", "topics",
               "label", "story", "snippet", "summary", "body"]  # fmt: skip


def write_csv(rows: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """Write articles as CSV (topics joined by ';'); return how many."""
    writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({**row, "topics": ";".join(row.get("topics") or [])})
        count += 1
    return count


def stories(archive: Archive, filters: Filters) -> list[dict[str, Any]]:
    """Return the flagged stories that match, newest first, each with its outlets."""
    rows, _ = flagged(archive, filters)
    for row in rows:
        row["outlets"] = outlets(archive, row["story"])
    return rows


def write_atom(
    rows: Sequence[dict[str, Any]], stream: IO[str], *, title: str, topic: str | None, now: datetime
) -> int:
    """Write flagged stories (of *topic*, or all) as an Atom 1.0 feed; return how many entries.

    The feed's ID depends only on the topic, and each entry's on its topic and story, so a
    feed reader that reads a newer export sees only the new stories as new.
    """
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
        entry.title(row["title"])
        entry.link(href=row["url"])
        when = from_text(row["published"] or row["fetched"])
        entry.published(when)
        entry.updated(when)
        sources = ", ".join(outlet["source"] for outlet in row.get("outlets", [])) or row["source"]
        entry.author({"name": row["source"]})
        entry.category(term=row["topic"])
        entry.summary(f"{row['snippet']} ({sources}; score {row['score']:g})")
    stream.write(feed.atom_str(pretty=True).decode("utf-8"))
    return len(rows)


def write_markdown(rows: Sequence[dict[str, Any]], stream: IO[str], *, title: str) -> int:
    """Write flagged stories as a Markdown list; return how many."""
    stream.write(f"# {title}\n\n")
    for row in rows:
        outlets_text = ", ".join(
            f"[{outlet['source']}]({outlet['url']})" for outlet in row.get("outlets", [])
        )
        stream.write(
            f"## [{row['title']}]({row['url']})\n\n"
            f"{row['first_report'].replace('T', ' ')[:16]} UTC · {row['source']} · "
            f"{row['topic']}, score {row['score']:g}"
            + (f" · marked {row['label']}" if row.get("label") else "")
            + f"\n\n> {row['snippet']}\n\n"
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
) -> tuple[str, int]:
    """Render the digest: flagged stories grouped by topic, then by story; return it and
    how many stories it holds."""
    rows = stories(archive, filters)
    topics: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row["first_report"] = row["first_report"].replace("T", " ")[:16]
        topics.setdefault(row["topic"], []).append(row)
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        keep_trailing_newline=True,
    )
    template = environment.get_template(f"digest.{output_format}.j2")
    since = filters.since.strftime("%Y-%m-%d %H:%M") if filters.since else "the start"
    text = template.render(
        topics=[
            {"name": name, "description": descriptions.get(name, ""), "stories": found}
            for name, found in topics.items()
        ],
        stories_count=len(rows),
        since=since,
        until=now.strftime("%Y-%m-%d %H:%M"),
    )
    return text, len(rows)
