"""Commands that add sources without editing YAML by hand: add, sources import and export."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from monitor.commands.options import State, format_option, open_output, state_of
from monitor.config.files import find_path
from monitor.config.names import NAME
from monitor.errors import UsageError, WirewatchError
from monitor.terminal import console, display_path, print_json
from monitor.timeutil import in_zone, shown_zone, zone_name

if TYPE_CHECKING:
    from monitor.config import Config

# The discovery child makes a dozen requests at most, each with its own timeout.
DISCOVERY_TIMEOUT = 180.0
MAX_REQUEST_SECONDS = 15.0  # of one request, whatever crawl.timeout allows
MAX_DELAY = 2.0  # between two requests, whatever crawl.delay asks: a person is waiting


@click.command()
@click.argument("url")
@click.option("--name", metavar="NAME", help="Name the source NAME, instead of after the host.")
@click.option("--dry-run", is_flag=True, help="Show the source that would be added; add none.")
@format_option("text", "json", default="text")
@click.pass_context
def add(ctx: click.Context, /, url: str, name: str | None, dry_run: bool,
        output_format: str) -> None:  # fmt: skip
    """Find a site's feed or news sitemap, preview it, and add it to the config as a source.

    wirewatch reads URL (a feed, or any page of the site), then the page's autodiscovery
    links, then a few paths where sites keep feeds (/feed, /rss.xml, /atom.xml, ...), then
    the news sitemaps that robots.txt names, and stops at the first it can read. It shows
    the latest items with their dates and languages, and appends the source to the end of
    sources: in the config file, leaving the rest of the file, comments included, as it was.
    It obeys robots.txt and crawl:'s user_agent.

    \b
    Examples:
      wirewatch add https://www.example.com/
      wirewatch add https://www.example.com/news --name example-news --dry-run
      wirewatch --config /etc/wirewatch/config.yaml add https://example.org/ --format json
    """
    from monitor.config.edit import add_sources, name_for, source_entry

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # A bare host (example.org) was most likely meant as a web site; any other scheme
        # (file:, ftp:) is never fetched, so the example is a neutral one.
        bare = not parts.scheme and "/" not in url.strip().rstrip("/")
        example = f"https://{url.strip().rstrip('/')}/" if bare else "https://example.org/"
        raise UsageError(f"{url!r} is not an http(s) URL: give the site's address, e.g. "
                         f"{example}")  # fmt: skip
    state = state_of(ctx)
    config = state.config()
    taken = {source.name: source for source in config.sources}
    if name is not None and not NAME.fullmatch(name):
        raise UsageError(f"--name {name!r}: use letters, digits, '.', '_' and '-' (e.g. yonhap-en)")
    if name is not None and name in taken:
        raise UsageError(f"--name {name}: the config already has a source of that name")
    discovery = _discover(url.strip(), config)
    if discovery["unreachable"]:
        raise UsageError(
            f"cannot reach {discovery['unreachable']}; the config was not changed (check the "
            "address, or try again when the site is up)"
        )
    if not discovery["found"]:
        tried = "; ".join(discovery["notes"][-3:])
        raise UsageError(
            f"{url}: found no feed and no news sitemap there (tried the page's autodiscovery "
            "links, the common feed paths and robots.txt's sitemaps"
            + (f"; last: {tried}" if tried else "")
            + "); the config was not changed. If you know the feed's address, run "
            "'wirewatch add' with it"
        )
    found = discovery["found"][0]
    same = next((s.name for s in config.sources if s.url.rstrip("/") == found["url"].rstrip("/")),
                None)  # fmt: skip
    if same is not None:
        raise UsageError(f"{found['url']} is already in the config, as source {same}")
    entry = source_entry(
        name or name_for(url, taken),
        found["url"],
        found["kind"],
        language=found["language"],
        comment=f"found by wirewatch add: {found['how']}",
    )
    path = config.path or find_path(state.config_path)
    if not dry_run:
        add_sources(path, [entry])
    if output_format == "json":
        print_json({"added": not dry_run, "config": str(path), "source": dict(entry),
                    "found": discovery["found"], "notes": discovery["notes"]})  # fmt: skip
        return
    _show_preview(state, found)
    verb = "Would add" if dry_run else "Added"
    console().print(
        f"{verb} source {entry['name']} ({entry['kind']}, {found['url']}) to "
        f"{display_path(path)}."
        + ("" if dry_run else f" Crawl it once with 'wirewatch crawl {entry['name']}'.")
    )


def _discover(url: str, config: Config) -> dict[str, Any]:
    """Run ``python -m crawler.discover`` on *url* and return what it found (its JSON)."""
    crawl = config.crawl
    command = [
        sys.executable, "-m", "crawler.discover", url,
        "--user-agent", crawl.user_agent,
        "--timeout", str(min(crawl.timeout, MAX_REQUEST_SECONDS)),
        "--delay", str(min(crawl.delay, MAX_DELAY)),
    ]  # fmt: skip
    if crawl.allow_private:
        command.append("--allow-private")
    with console(stderr=True).status(f"Looking for feeds at {url}…"):
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=DISCOVERY_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise WirewatchError(
                f"{url}: looking for feeds took more than {DISCOVERY_TIMEOUT:.0f} s; the site "
                "is too slow now, try again later"
            ) from None
    try:
        if done.returncode != 0:
            raise ValueError(done.returncode)
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise WirewatchError(f"{url}: looking for feeds failed: {last}") from None
    return result


def _show_preview(state: State, found: dict[str, Any]) -> None:
    state.show_times()
    zone = shown_zone()
    out = console()
    kind = "news sitemap" if found["kind"] == "sitemap" else "feed"
    out.print(f"Found a {kind} at {found['url']} ({found['how']}).")
    if not found["items"]:
        out.print("It lists no items yet.")
        return
    out.print(f"Its latest items ({zone_name()}):")
    for item in found["items"]:
        when = in_zone(item["published"], zone) or "(no date)"
        language = item["language"] or "?"
        out.print(f"  {when:16}  {language:3}  {item['title'] or item['link'] or ''}")


@click.group()
def sources() -> None:
    """Import sources from an OPML file, or export the config's feeds as OPML.

    OPML is the list of feeds that every feed reader imports and exports.

    \b
    Examples:
      wirewatch sources import subscriptions.opml
      wirewatch sources export --output wirewatch.opml
    """


@sources.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be added; add nothing.")
@format_option("text", "json", default="text")
@click.pass_context
def import_(ctx: click.Context, /, file: Path, dry_run: bool, output_format: str) -> None:
    """Add the feeds of an OPML file as sources, skipping those the config already has.

    Every outline with an xmlUrl is a feed, however deep in folders. A feed whose URL a
    source already has is skipped; the others are appended to sources: as feeds named after
    their host, and the rest of the config file stays as it was.

    \b
    Examples:
      wirewatch sources import subscriptions.opml --dry-run
      wirewatch sources import subscriptions.opml
    """
    from monitor.config.edit import add_sources, name_for, source_entry
    from monitor.opml import MAX_BYTES, OpmlError, read_opml

    state = state_of(ctx)
    config = state.config()
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)  # one past the bound: read_opml sees it
    except OSError as error:
        raise UsageError(f"{file}: cannot read it ({error.strerror})") from None
    try:
        feeds = read_opml(data)
    except OpmlError as error:
        raise UsageError(f"{file}: {error}") from None
    known = {source.url.rstrip("/"): source.name for source in config.sources}
    taken = set(known.values())
    added, skipped = [], []
    for feed in feeds:
        if feed.url.rstrip("/") in known:
            skipped.append({"url": feed.url, "title": feed.title,
                            "reason": f"already source {known[feed.url.rstrip('/')]}"})  # fmt: skip
            continue
        parts = urlsplit(feed.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            skipped.append({"url": feed.url, "title": feed.title, "reason": "not an http(s) URL"})
            continue
        name = name_for(feed.url, taken)
        taken.add(name)
        known[feed.url.rstrip("/")] = name
        added.append(source_entry(name, feed.url, "feed", comment=feed.title or None))
    path = config.path or find_path(state.config_path)
    if added and not dry_run:
        add_sources(path, added)
    if output_format == "json":
        print_json({"added": [dict(entry) for entry in added], "skipped": skipped,
                    "written": bool(added) and not dry_run, "config": str(path)})  # fmt: skip
        return
    out = console()
    for entry in added:
        out.print(f"{'would add' if dry_run else 'added'}    {entry['name']}  {entry['url']}")
    for skip in skipped:
        out.print(f"skipped  {skip['url']}  ({skip['reason']})")
    verb = "Would add" if dry_run else "Added"
    out.print(f"{verb} {len(added)} sources to {display_path(path)}, skipped {len(skipped)}.")


@sources.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the OPML to FILE instead of stdout.")  # fmt: skip
@click.pass_context
def export(ctx: click.Context, /, output: Path | None) -> None:
    """Write the config's feed sources as an OPML 2.0 file, for a feed reader.

    Sitemap and page sources have no feed a reader could follow, so only feeds are listed.

    \b
    Examples:
      wirewatch sources export --output wirewatch.opml
      wirewatch sources export > wirewatch.opml
    """
    from monitor.opml import OpmlFeed, write_opml

    config = state_of(ctx).config()
    feeds = [OpmlFeed(source.name, source.url) for source in config.sources
             if source.kind == "feed"]  # fmt: skip
    text = write_opml(feeds, title="wirewatch sources", created=datetime.now(UTC))
    if output is None:
        sys.stdout.write(text)
        return
    with open_output(output) as stream:
        stream.write(text)
    console(stderr=True).print(f"Wrote {len(feeds)} feeds to {display_path(output)}.")
