"""A Datasette plugin: the story page at ``/story/{id}``, one article as an analyst reads it.

The page shows what ``wirewatch show`` prints, read by the same function (review.article):
the headline and text with the matched terms highlighted, why each topic flagged it, the
other outlets that ran it, its marks and its evidence, and buttons that post a mark to
``triage``. Every piece of archive text is escaped; the highlights are built from escaped
pieces, never from the text as markup.
"""

from __future__ import annotations

import hashlib
import sqlite3  # noqa: TID251 - Datasette hands execute_fn its own sqlite3 connection
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from monitor import review
from monitor.archive import Archive, rechecks, stories
from monitor.archive.labels import LABELS
from monitor.errors import NotFoundError
from monitor.escaping import web_url
from monitor.readout import readout_line, story_readout
from monitor.reports import matched_terms, sentence_spans, short_date
from monitor.serve.inbox import list_of, neighbours
from monitor.serve.metadata import DATABASE
from monitor.serve.pages import (
    ARTICLE_ID,
    LOG_IN,
    came_from,
    error_page,
    local_path,
    may_read,
    roles_of_serve,
    story_href,
)
from monitor.serve.triage import MAX_NOTE_CHARS
from monitor.serve.versions import versions
from monitor.timeutil import utcnow

Neighbours = tuple[int | None, int | None]  # the stories before and after one in its list
NO_PAGE = "No fetched page is kept for this article (a feed entry, or its page was pruned)."
NOT_FOUND = "No story here: story pages are /story/ID, with an ID from the flagged stories."


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def register_routes() -> list[tuple[str, Any]]:
    """Route ``/story/{id}`` to the story page."""
    return [
        (r"^/story/(?P<article_id>[^/]*)$", story_page),
        (r"^/story/(?P<article_id>[^/]*)/page$", stored_page),
    ]


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def prepare_jinja2_environment(env: Any) -> None:
    """Give the templates ``short_date``: a stored UTC time as ``2026-11-27 08:00``."""
    env.filters["short_date"] = short_date


async def _refused(datasette: Any, request: Any, missing: str) -> Response | None:
    """Return the error page for a request that may not read the archive (403) or names no
    article ID (404, saying *missing*); None for one that may go on."""
    if not await may_read(datasette, request):
        return await error_page(datasette, request, 403, LOG_IN)
    if not ARTICLE_ID.fullmatch(request.url_vars["article_id"]):
        return await error_page(datasette, request, 404, missing)
    return None


async def story_page(datasette: Any, request: Any) -> Response:
    """Render the story page of one article; a 404 page when there is no such article."""
    refused = await _refused(datasette, request, NOT_FOUND)
    if refused is not None:
        return refused
    text = request.url_vars["article_id"]
    database = datasette.get_database(DATABASE)
    path = Path(database.path)

    # After a mark the form returns to the page the analyst came from (a list), else here.
    back = local_path(request.args.get("next")) or came_from(request) or request.path
    listed = list_of(back, utcnow())

    roles = roles_of_serve(datasette)

    def read(conn: sqlite3.Connection) -> tuple[dict[str, Any], Neighbours] | None:
        archive = Archive(conn, path, read_only=True)
        try:
            record = review.article(archive, int(text))
        except NotFoundError:
            return None
        record["page"] = stories.page_facts(archive, record["id"])
        story = record.get("cluster_id") or record["id"]
        record["readout"] = story_readout(archive, story, roles)
        record["sanctions"] = review.sanctions_named(archive, record["id"])
        record["rechecks"] = [asdict(check) for check in rechecks.of_story(archive, record["id"])]
        return record, neighbours(archive, listed, record["id"]) if listed else (None, None)

    found = await database.execute_fn(read)
    if found is None:
        return await error_page(datasette, request, 404, NOT_FOUND)
    record, (previous, following) = found
    context = {
        **page(record),
        # From a list, a mark goes on to the next story of it (after the last, to the list).
        "next": walk_href(following, back) or back,
        "next_story": walk_href(following, back),
        "previous_story": walk_href(previous, back),
        "listed": back if listed else None,
        "max_note": MAX_NOTE_CHARS,
    }
    html = await datasette.render_template(
        "story.html", context, request=request, view_name="story"
    )
    return Response.html(html)


async def stored_page(datasette: Any, request: Any) -> Response:
    """Return the page an article was extracted from, as it was fetched, for reading only.

    It is shown as plain text, never as a page of this server: whatever it holds (scripts,
    forms, links) does nothing in the analyst's browser. A header says whether its SHA-256
    still matches the one stored beside it.
    """
    refused = await _refused(datasette, request, NO_PAGE)
    if refused is not None:
        return refused
    text = request.url_vars["article_id"]
    database = datasette.get_database(DATABASE)
    path = Path(database.path)

    def read(conn: sqlite3.Connection) -> tuple[bytes, str] | None:
        archive = Archive(conn, path, read_only=True)
        facts = stories.page_facts(archive, int(text))
        html = archive.page_html(int(text)) if facts else None
        return (html, facts["sha256"]) if facts and html is not None else None

    found = await database.execute_fn(read)
    if found is None:
        return await error_page(datasette, request, 404, NO_PAGE)
    html, stored = found
    digest = hashlib.sha256(html).hexdigest()
    return Response(
        html.decode("utf-8", errors="replace"),
        content_type="text/plain; charset=utf-8",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Content-Disposition": f'inline; filename="article-{int(text)}.html.txt"',
            "X-Wirewatch-Sha256": digest,
            "X-Wirewatch-Sha256-Matches": "yes" if digest == stored else "no",
        },
    )


def walk_href(article_id: int | None, back: str) -> str | None:
    """Return the story page of *article_id* that still returns to *back*, or None."""
    if article_id is None:
        return None
    return f"{story_href(article_id)}?{urlencode({'next': back})}"


def page(record: dict[str, Any]) -> dict[str, Any]:
    """Return the template's context for one article as review.article gives it."""
    spans: dict[str, list[tuple[int, int]]] = {"title": [], "body": []}
    for flag in record["flags"]:
        for term in flag["terms"]:
            if term.get("field") in spans:
                spans[term["field"]].append((term["start"], term["end"]))
    flags = [
        {
            "topic": flag["topic"],
            "score": f"{flag['score']:g}",
            "threshold": f"{flag['threshold']:g}",
            "rules": [name for name in flag["rules"] if name != "rule"] or [flag["rule"]],
            "matched": matched_terms(flag["terms"], record),
            "sentence": marked(*sentence_spans(flag, record)),
        }
        for flag in record["flags"]
    ]
    outlets = [{**outlet, "href": story_href(outlet["id"])} for outlet in record["outlets"]]
    return {
        "article": record,
        "title_html": marked(record["title"] or "", spans["title"]),
        "body_html": marked(record["body"] or "", spans["body"]),
        "flags": flags,
        "outlets": outlets,
        "outlet_count": len(outlets) + 1,
        "readout": readout_line(record["readout"], f"{short_date(first)} UTC")
        if (first := (record.get("readout") or {}).get("first_seen"))
        else None,
        "marks": record["marks"],
        "versions": versions(record.get("rechecks") or []),
        "web_url": web_url(record["url"]),
        "mark_action": f"{story_href(record['id'])}/mark",
        "labels": LABELS,
        "database": DATABASE,
    }


def marked(text: str, spans: Iterable[tuple[int, int]]) -> Markup:
    """Return *text* escaped, with each character span wrapped in ``<mark>``.

    Overlapping spans merge; spans outside the text are dropped.
    """
    pieces = []
    at = 0
    for start, end in sorted((int(start), int(end)) for start, end in spans):
        start, end = max(start, at), min(end, len(text))
        if end <= start:
            continue
        pieces.append(escape(text[at:start]))
        pieces.append(Markup("<mark>{}</mark>").format(text[start:end]))
        at = end
    pieces.append(escape(text[at:]))
    return Markup("").join(pieces)
