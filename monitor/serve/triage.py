"""A small Datasette plugin: triage in the browser.

Links to the mark form and to each story's page in the lists of flagged stories, and the
handler of the story page's triage buttons: a POST to ``/story/{id}/mark`` (which Datasette's
CSRF check and ``guard`` let through only from serve's own pages) records the mark as
``wirewatch mark`` does, by the analyst at the desk (``analyst``), then returns to the local
page the form names.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from monitor import review
from monitor.archive import Archive
from monitor.archive.labels import LABELS, labels_in_words
from monitor.errors import NotFoundError, WirewatchError
from monitor.serve.analyst import analyst_of
from monitor.serve.metadata import DATABASE
from monitor.serve.pages import ARTICLE_ID, LOG_IN, error_page, local_path, may_read, story_href
from monitor.timeutil import utcnow

# The columns every list of stories has (flagged_stories and the canned queries over it).
STORY_LIST_COLUMNS = frozenset({"id", "title", "triage"})
MAX_NOTE_CHARS = 1000  # a note is a line or two for the record, not a document
GET_CHANGES_NOTHING = "A mark is made with the buttons of a story page; a GET changes nothing."


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


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def register_routes() -> list[tuple[str, Any]]:
    """Route the story page's triage buttons to ``mark``."""
    return [(r"^/story/(?P<article_id>[^/]*)/mark$", mark)]


async def mark(datasette: Any, request: Any) -> Response:
    """Record the mark a story page's form posts, then redirect to the page it names."""
    if request.method != "POST":
        return await error_page(datasette, request, 405, GET_CHANGES_NOTHING)
    analyst = analyst_of(request)
    if analyst is None or not await may_read(datasette, request):
        return await error_page(datasette, request, 403, f"Not marked. {LOG_IN}")
    text = request.url_vars["article_id"]
    form = await request.post_vars()
    label = form.get("label", "")
    note = (form.get("note") or "").strip() or None
    if not ARTICLE_ID.fullmatch(text):
        return await error_page(datasette, request, 404, "Not marked: no such story.")
    if label not in LABELS:
        return await error_page(
            datasette, request, 400, f"Not marked: the label must be {labels_in_words()}."
        )
    if note is not None and len(note) > MAX_NOTE_CHARS:
        return await error_page(
            datasette, request, 400, f"Not marked: a note has at most {MAX_NOTE_CHARS} characters."
        )
    article_id = int(text)
    path = Path(datasette.get_database(DATABASE).path)
    try:
        await asyncio.to_thread(_mark, path, article_id, label, note, analyst)
    except NotFoundError:
        return await error_page(datasette, request, 404, "Not marked: no such story.")
    except WirewatchError as error:
        return await error_page(datasette, request, 503, f"Not marked: {error}")
    datasette.add_message(request, f"Marked #{article_id} {label}.", datasette.INFO)
    return Response.redirect(local_path(form.get("next")) or story_href(article_id))


def _mark(path: Path, article_id: int, label: str, note: str | None, analyst: str) -> None:
    """Record the mark as ``wirewatch mark`` does, by *analyst*, on a connection of its own."""
    with Archive.open(path, create=False) as archive:
        review.mark(archive, article_id, label, note=note, by=analyst, now=utcnow())
