"""A small Datasette plugin: triage links and story links in the lists of flagged stories."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from datasette import hookimpl
from markupsafe import Markup, escape

from monitor.archive.labels import LABELS

# The columns every list of stories has (flagged_stories and the canned queries over it).
STORY_LIST_COLUMNS = frozenset({"id", "title", "triage"})


def story_href(article_id: int) -> str:
    """Return the path of an article's story page."""
    return f"/story/{int(article_id)}"


def mark_links(article_id: int, database: str) -> Markup:
    """Return links to the mark form for *article_id*, one per label."""
    links = []
    for label in LABELS:
        href = f"/{database}/mark_story?" + urlencode({"article_id": article_id, "label": label})
        links.append(f'<a href="{escape(href)}">{escape(label)}</a>')
    return Markup(" · ".join(links))  # noqa: S704 - every part above is escaped


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str
) -> Markup | None:
    """Turn the ``triage`` column into mark links and each story's title into a link to its
    story page."""
    if table not in ("flagged_stories", None) or value is None:
        return None
    if column == "triage":
        return mark_links(value, database)
    if column == "title" and _lists_stories(row):
        try:
            href = story_href(row["id"])
        except (TypeError, ValueError):
            return None
        return Markup('<a href="{}">{}</a>').format(href, value)
    return None


def _lists_stories(row: Any) -> bool:
    """Return True for a row of a list of stories: an article ID, its title and triage."""
    try:
        return set(row.keys()) >= STORY_LIST_COLUMNS
    except AttributeError:
        return False
