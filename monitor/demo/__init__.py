"""``wirewatch demo``: crawl the bundled offline newswire with your topics, and show the result."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml
from rich.text import Text

from monitor import review
from monitor.archive import Archive
from monitor.collection.cycle import run_cycle
from monitor.collection.rechecks import RecheckResult, run_rechecks
from monitor.config import Config, load
from monitor.demo.stories import (
    BROKEN_SITE,
    load_revisions,
    load_roles,
    load_stories,
    publish,
    revise,
)
from monitor.newswire import Newswire
from monitor.progress import CrawlProgress
from monitor.reports import print_changes, print_cycle, print_flagged, print_timeline, short_date
from monitor.terminal import console, display_path
from monitor.timeutil import utcnow, zone_name

# Samples of the UN and OFAC lists in their published formats (not the lists themselves).
SANCTIONS = Path(__file__).parent / "sanctions"
TIMELINE_SHOWN = 5  # the timeline's latest events that the demo prints
# The topic the sample stories are labelled for.
LABELLED_TOPIC = "russia-dprk"


def run_demo(config: Config, directory: Path) -> None:
    """Serve the newswire, crawl it once into a fresh archive in *directory*, print the result."""
    sites, stories = load_stories()
    directory.mkdir(parents=True, exist_ok=True)
    archive_path = directory / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{archive_path}{suffix}").unlink(missing_ok=True)
    out = console()
    with Newswire() as wire:
        publish(wire, sites, stories, utcnow())
        sources: list[dict[str, Any]] = [
            {"name": site.name, "url": wire.url(site.feed_path()), "kind": "feed",
             **({"role": site.role} if site.role else {})}
            for site in sites
        ]  # fmt: skip
        sources.append(
            {"name": BROKEN_SITE, "url": wire.url(f"/{BROKEN_SITE}/rss.xml"), "kind": "feed"}
        )
        demo_config = _write_config(directory, config, sources)
        copies = sum(len(story.also) for story in stories)
        out.print(
            f"Serving {len(stories)} sample stories and {copies} wire copies of them from "
            f"{len(sites)} sites (and one that is down) at {wire.base_url}"
        )
        out.print(
            f"Crawling them with the topics of {config.path} into "
            f"{display_path(demo_config.archive)}"
        )
        out.print()
        with CrawlProgress(len(sources)) as progress:
            result = run_cycle(demo_config, on_event=progress)
        # Then the sites rewrite one flagged story and take one down, and every flagged
        # story is read again, as `wirewatch recheck --all` does.
        revise(wire, sites, stories, load_revisions(), utcnow())
        rechecked = run_rechecks(demo_config, everything=True)
    print_cycle(result)
    _print_changes(rechecked)
    with Archive.open(demo_config.archive, create=False) as archive:
        _load_sanctions(archive, demo_config)
        rows, total = review.flagged(archive)
        urls = {row["url"] for row in rows if row["topic"] == LABELLED_TOPIC}
    out.print()
    out.print(Text("Flagged stories", style="bold"))
    print_flagged(rows, total)
    if LABELLED_TOPIC in config.topics:
        _print_score(stories, urls)
    _print_readout(demo_config)
    _print_sanctioned(demo_config)
    _print_next_steps(Path(display_path(directory / "config.yaml")))


def _write_config(directory: Path, config: Config, sources: list[dict[str, Any]]) -> Config:
    path = directory / "config.yaml"
    data = {
        "archive": "demo.db",
        "crawl": {"delay": 0, "timeout": 10, "cycle_timeout": 120},
        "sources": sources,
        "topics": config.model_dump(mode="json")["topics"],
        "roles": load_roles(),
    }
    data["sanctions"] = {"files": [str(path) for path in sorted(SANCTIONS.glob("*"))]}
    header = "# Written by `wirewatch demo`: the offline newswire's sources, your topics.\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return load(path)


def _load_sanctions(archive: Archive, config: Config) -> None:
    """Load the sample sanctions lists that the demo's config names, as `wirewatch sanctions
    load` would."""
    from monitor.archive import sanctions as stored
    from monitor.sanctions import read_file

    entries = [
        (entry, path.name)
        for path in config.sanctions.files
        for entry in read_file(path, config.sanctions.programs)
    ]
    stored.load(archive, entries, utcnow())


def _print_sanctioned(config: Config) -> None:
    with Archive.open(config.archive, create=False) as archive:
        rows, _ = review.flagged(archive, review.Filters(sanctioned=True))
        named = {row["id"]: review.sanctions_named(archive, row["id"]) for row in rows}
    for row in rows:
        entries = "; ".join(f"{e['name']} ({e['list']} {e['kind']})" for e in named[row["id"]])
        console().print(
            Text(f"Story #{row['id']} names an entry of the sample sanctions lists: {entries}.")
        )


def _print_readout(config: Config) -> None:
    """Print who carried the most-carried flagged story first, and the timeline's size."""
    from monitor.archive.readout import flagged_copies
    from monitor.readout import readout_line, roles_of, timeline_events

    roles = roles_of(config.roles, config.source_roles())
    with Archive.open(config.archive, create=False) as archive:
        events = timeline_events(flagged_copies(archive), roles)
    if not events:
        return
    widest = max(events, key=lambda event: (len(event["roles"]), event["outlets"]))
    when = f"{short_date(widest['first_seen'])} {zone_name()}"
    out = console()
    out.print()
    out.print(
        Text(f"Story #{widest['story']} reached the most roles: {widest['title']}", style="bold")
    )
    out.print(Text(f"  {readout_line(widest, when)}"))
    topics = len({event["topic"] for event in events})
    latest = events[-TIMELINE_SHOWN:]
    out.print(
        f"The timeline has {len(events)} flagged stor{'y' if len(events) == 1 else 'ies'} "
        f"of {topics} topic{'' if topics == 1 else 's'}, oldest first, each with who "
        f"reported it first; the latest {len(latest)}:"
    )
    print_timeline(latest)


def _print_changes(rechecked: RecheckResult) -> None:
    """Print what re-reading every flagged story found after two of them changed."""
    out = console()
    out.print()
    out.print(Text("After the crawl", style="bold"))
    found = len(rechecked.changes)
    out.print(
        f"Two flagged stories changed on their sites; re-checking all {rechecked.checked} "
        f"flagged stories found {found} change{'s' if found != 1 else ''}:"
    )
    # By source, then story: the re-check child reads the pages in whatever order they answer.
    print_changes(sorted(rechecked.changes, key=lambda row: (row.source, row.story)))


def _print_score(stories: list[Any], flagged_urls: set[str]) -> None:
    about = {story.slug for story in stories if story.about}
    flagged = {url.rsplit("/", 1)[-1].removesuffix(".html") for url in flagged_urls}
    caught = len(about & flagged)
    false_alarms = len(flagged - about)
    console().print(
        f"\nThe newswire's labels say {len(about)} of its {len(stories)} stories are about "
        f"Russia–North Korea relations: {LABELLED_TOPIC} flagged {caught} of them, with "
        f"{false_alarms} false alarm{'s' if false_alarms != 1 else ''}."
    )


def wirewatch_command() -> str:
    """Return how to run this wirewatch from the working folder, as a shell reads it.

    ``wirewatch`` when that name on PATH is this installation's script; else the script's
    path, relative when that is shorter (``make demo`` leaves ``.venv/bin/wirewatch``, which
    is not on PATH until the venv is activated); else this Python with ``-m monitor``.
    """
    script = Path(sys.executable).parent / "wirewatch"
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m monitor"
    found = shutil.which("wirewatch")
    if found is not None and Path(found).resolve() == script.resolve():
        return "wirewatch"
    relative = os.path.relpath(script)
    if os.sep not in relative:
        relative = f"./{relative}"  # a bare name would be looked up on PATH
    return shlex.quote(min(relative, str(script), key=len))


def _print_next_steps(config_path: Path) -> None:
    prefix = f"{wirewatch_command()} --config {shlex.quote(str(config_path))}"
    console().print(
        "\nExplore the demo archive:\n"
        f"  {prefix} flagged                 the list above\n"
        f"  {prefix} show ID                 one story and why it was flagged\n"
        f"  {prefix} mark ID relevant        triage a story\n"
        f"  {prefix} search Пхеньян          full-text search, in any language\n"
        f"  {prefix} flagged --sanctioned    stories naming a sanctioned ship or firm\n"
        f"  {prefix} timeline                who reported each story first, and who followed\n"
        f"  {prefix} digest                  the last 24 hours, by story\n"
        f"  {prefix} serve                   all of it in a browser\n"
        f"  sqlite3 {shlex.quote(str(config_path.parent / 'demo.db'))}   the archive itself"
    )
