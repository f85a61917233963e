"""Serve the bundled sample stories as feeds and article pages on a local Newswire."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import format_datetime
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

import yaml

from monitor.newswire import Newswire, Reply
from monitor.timeutil import parse_duration, to_text

# A site that is down, so the demo shows how a failing source is reported.
BROKEN_SITE = "gone-gazette"


@dataclass(frozen=True)
class Story:
    """One sample story, with the label that says whether it is about Russia–DPRK relations."""

    slug: str
    site: str
    age: float  # seconds before "now"
    about: bool
    title: str
    summary: str
    paragraphs: tuple[str, ...]
    comments: tuple[str, ...]
    also: tuple[str, ...] = ()  # other sites that run it as a wire copy
    lags: tuple[tuple[str, float], ...] = ()  # seconds after the original, where not 30 min

    def path(self, site: str | None = None) -> str:
        return f"/{site or self.site}/news/{self.slug}.html"

    def copy_for(self, site: str, number: int) -> Story:
        """Return the story as another site runs it: alternately a truncated lead, or the
        whole text with a credit line; half an hour later than the original, unless the
        story's lags say otherwise."""
        if number % 2:
            paragraphs = (*self.paragraphs[:2], f"This story first appeared on {self.site}.")
        else:
            paragraphs = (*self.paragraphs, f"Reporting by {self.site}; edited by {site} staff.")
        lag = dict(self.lags).get(site, 1800.0)
        return Story(self.slug, site, max(0.0, self.age - lag), self.about, self.title,
                     self.summary, paragraphs, (), ())  # fmt: skip


@dataclass(frozen=True)
class Site:
    name: str
    title: str
    format: str  # rss or atom
    language: str = "en"
    role: str | None = None

    def feed_path(self) -> str:
        return f"/{self.name}/{'atom.xml' if self.format == 'atom' else 'rss.xml'}"


def load_stories() -> tuple[list[Site], list[Story]]:
    """Read the bundled ``stories.yaml``."""
    text = resources.files("monitor.demo").joinpath("stories.yaml").read_text("utf-8")
    data: Any = yaml.safe_load(text)
    sites = [
        Site(s["name"], s["title"], s["format"], s.get("language", "en"), s.get("role"))
        for s in data["sites"]
    ]
    stories = [
        Story(
            slug=s["slug"],
            site=s["site"],
            age=parse_duration(s["age"]),
            about=bool(s["about"]),
            title=s["title"],
            summary=s["summary"],
            paragraphs=tuple(s["paragraphs"]),
            comments=tuple(s.get("comments") or ()),
            also=tuple(_site(copy) for copy in s.get("also") or ()),
            lags=tuple(
                (copy["site"], parse_duration(copy["after"]))
                for copy in s.get("also") or ()
                if isinstance(copy, dict)
            ),
        )
        for s in data["stories"]
    ]
    return sites, stories


def _site(copy: str | dict[str, str]) -> str:
    """Return the site of an also: entry: a name, or a mapping with site and after."""
    return copy if isinstance(copy, str) else copy["site"]


def load_roles() -> dict[str, str]:
    """Return the roles the bundled sites have, each with its description."""
    text = resources.files("monitor.demo").joinpath("stories.yaml").read_text("utf-8")
    data: Any = yaml.safe_load(text)
    return dict(data.get("roles") or {})


def publish(wire: Newswire, sites: list[Site], stories: list[Story], now: datetime) -> None:
    """Route every site's feed, every story's page and the broken site on *wire*."""
    for site in sites:
        copies = [
            story.copy_for(site.name, number)
            for number, story in enumerate(s for s in stories if site.name in s.also)
        ]
        own = sorted(
            [story for story in stories if story.site == site.name] + copies,
            key=lambda s: s.age,
        )
        render = _atom if site.format == "atom" else _rss
        wire.route(site.feed_path(), Reply.xml(render(wire, site, own, now)))
        for story in own:
            wire.route(story.path(), Reply.html(_page(wire, site, story, own, now)))
    wire.route(
        f"/{BROKEN_SITE}/rss.xml",
        Reply(b"Service Unavailable", status=503, headers={"Content-Type": "text/plain"}),
    )


def _link(wire: Newswire, story: Story) -> str:
    # Feeds carry tracking parameters, as real ones do; wirewatch must strip them.
    return wire.url(story.path()) + "?utm_source=rss&utm_medium=feed"


def _rss(wire: Newswire, site: Site, stories: list[Story], now: datetime) -> str:
    items = "".join(
        f"""
    <item>
      <title>{escape(story.title)}</title>
      <link>{escape(_link(wire, story))}</link>
      <guid isPermaLink="false">{site.name}:{story.slug}</guid>
      <pubDate>{format_datetime(now - timedelta(seconds=story.age))}</pubDate>
      <description>{escape(story.summary)}</description>
    </item>"""
        for story in stories
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
  <channel>
    <title>{escape(site.title)}</title>
    <link>{wire.url(f"/{site.name}/")}</link>
    <description>Sample stories of the wirewatch offline newswire</description>
    <language>{site.language}</language>{items}
  </channel>
</rss>
"""


def _atom(wire: Newswire, site: Site, stories: list[Story], now: datetime) -> str:
    entries = "".join(
        f"""
  <entry>
    <title>{escape(story.title)}</title>
    <id>tag:wirewatch.demo,2026:{site.name}:{story.slug}</id>
    <link rel="alternate" href="{escape(_link(wire, story))}"/>
    <published>{to_text(now - timedelta(seconds=story.age))}</published>
    <updated>{to_text(now - timedelta(seconds=story.age))}</updated>
    <summary>{escape(story.summary)}</summary>
  </entry>"""
        for story in stories
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{escape(site.title)}</title>
  <id>tag:wirewatch.demo,2026:{site.name}</id>
  <updated>{to_text(now)}</updated>
  <link rel="alternate" href="{wire.url(f"/{site.name}/")}"/>{entries}
</feed>
"""


def _page(wire: Newswire, site: Site, story: Story, others: list[Story], now: datetime) -> str:
    """Render an article page with the boilerplate real sites have around the story."""
    published = to_text(now - timedelta(seconds=story.age))
    body = "\n".join(f"      <p>{escape(p)}</p>" for p in story.paragraphs)
    # A "most read" box lists other headlines of the site: text that is not the story.
    most_read = "\n".join(
        f'        <li><a href="{other.path()}">{escape(other.title)}</a></li>'
        for other in others
        if other.slug != story.slug
    )
    comments = "\n".join(
        f'      <div class="comment"><p>{escape(text)}</p></div>' for text in story.comments
    )
    return f"""<!DOCTYPE html>
<html lang="{site.language}">
<head>
  <meta charset="utf-8">
  <title>{escape(story.title)} | {escape(site.title)}</title>
  <link rel="canonical" href="{wire.url(story.path())}">
  <meta property="article:published_time" content="{published}">
</head>
<body>
  <header>
    <a href="/{site.name}/">{escape(site.title)}</a>
    <nav><a href="/{site.name}/world">World</a> <a href="/{site.name}/asia">Asia</a>
      <a href="/{site.name}/business">Business</a> <a href="/{site.name}/sport">Sport</a></nav>
  </header>
  <main>
    <article>
      <h1>{escape(story.title)}</h1>
      <p class="byline">By staff reporters, {published[:10]}</p>
{body}
    </article>
    <aside class="most-read">
      <h2>Most read</h2>
      <ul>
{most_read}
      </ul>
    </aside>
    <section id="comments" class="comments">
      <h2>Reader comments</h2>
{comments}
    </section>
  </main>
  <footer>&#169; {escape(site.title)}. Sample content written for the wirewatch demo.</footer>
</body>
</html>
"""


@dataclass(frozen=True)
class Revision:
    """A change the newswire makes to a story after the demo's first crawl."""

    slug: str
    title: str | None = None  # the new headline
    replace: tuple[str, str] | None = None  # a sentence of the text, and what it becomes
    removed: bool = False  # the page redirects to its section from now on


def load_revisions() -> list[Revision]:
    """Read the ``revisions:`` of the bundled ``stories.yaml``."""
    text = resources.files("monitor.demo").joinpath("stories.yaml").read_text("utf-8")
    data: Any = yaml.safe_load(text)
    return [
        Revision(
            slug=r["slug"],
            title=r.get("title"),
            replace=(r["replace"][0], r["replace"][1]) if r.get("replace") else None,
            removed=bool(r.get("removed")),
        )
        for r in data.get("revisions") or ()
    ]


def revise(
    wire: Newswire,
    sites: list[Site],
    stories: list[Story],
    revisions: list[Revision],
    now: datetime,
) -> None:
    """Replace the replies of the revised stories' pages on *wire*: edited or removed."""
    by_slug = {story.slug: story for story in stories}
    by_name = {site.name: site for site in sites}
    for revision in revisions:
        story = by_slug[revision.slug]
        site = by_name[story.site]
        if revision.removed:
            section = f"/{site.name}/news/"
            wire.route(section, Reply.html(_section(site)))
            wire.route(story.path(), Reply(status=301, headers={"Location": wire.url(section)}))
            continue
        paragraphs = story.paragraphs
        if revision.replace is not None:
            old, new = revision.replace
            paragraphs = tuple(paragraph.replace(old, new) for paragraph in paragraphs)
        edited = replace(story, title=revision.title or story.title, paragraphs=paragraphs)
        own = [other for other in stories if other.site == site.name]
        wire.route(story.path(), Reply.html(_page(wire, site, edited, own, now)))


def _section(site: Site) -> str:
    """Render a site's news section: where a removed story's address now leads."""
    return (
        f'<!DOCTYPE html><html lang="{site.language}"><head><meta charset="utf-8">'
        f"<title>News | {escape(site.title)}</title></head><body><h1>News</h1>"
        "<p>The latest stories of the day.</p></body></html>"
    )
