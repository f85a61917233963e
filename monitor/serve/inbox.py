"""A Datasette plugin: the flagged stories as an inbox, at ``/flagged``.

One compact row per story and topic, newest first, as ``wirewatch flagged`` lists them
(review.flagged): its mark, its title linked to its story page, its source, outlets, score
and time, and buttons that post a mark to ``triage``. The filters (mark, topic, source,
language, period, score) stay folded away until asked for; the search box searches the
stories' words with the inflection ``wirewatch search`` has (monitor.wordforms), so
"troops" finds "troop" and "войска" finds "войск".

The list's address names its filters, so a story opened from it walks the same list
(``story`` asks :func:`list_of` for it) and a mark returns to it, on the next row.
"""

from __future__ import annotations

import math
import re
import sqlite3  # noqa: TID251 - Datasette hands execute_fn its own sqlite3 connection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from datasette import hookimpl
from datasette.utils.asgi import Response

from monitor import review
from monitor.archive import Archive
from monitor.archive.labels import LABELS
from monitor.archive.stories import Filters, neighbour_stories
from monitor.serve.metadata import DATABASE, UNREVIEWED_PATH
from monitor.serve.pages import LOG_IN, error_page, may_read, story_href
from monitor.serve.triage import MAX_NOTE_CHARS
from monitor.timeutil import utcnow
from monitor.wordforms import QueryError, to_fts

PATH = "/flagged"
PAGE_SIZE = 50
MAX_PAGE = 10_000  # 500,000 rows in: past any list an analyst pages through
MAX_QUERY_CHARS = 500  # a search is a few words, not a document
MAX_NAME_CHARS = 200  # a topic, source or language name
UNREVIEWED = "unreviewed"
PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
           "90d": timedelta(days=90)}  # fmt: skip
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class ListQuery:
    """What the address of a list of flagged stories asks for, checked.

    *problems* holds a sentence for each value that was not understood; that value is
    then left out, and the page says so.
    """

    filters: Filters = field(default_factory=Filters)
    match: str | None = None  # the FTS5 expression of the search box
    values: dict[str, str] = field(default_factory=dict)  # the accepted values, by name
    page: int = 1
    problems: tuple[str, ...] = ()

    def href(self, **changes: str | int | None) -> str:
        """Return this list's address with *changes* to its values (None drops one)."""
        values: dict[str, Any] = {**self.values, "page": self.page}
        values.update(changes)
        kept = {name: value for name, value in values.items() if value not in (None, "", 1)}
        return PATH + (f"?{urlencode(kept)}" if kept else "")


def parse(args: dict[str, str], now: datetime) -> ListQuery:
    """Return the list that the query string *args* asks for, as of *now*."""
    values: dict[str, str] = {}
    problems: list[str] = []
    changes: dict[str, Any] = {}
    match = None

    label = args.get("label", "")
    if label == UNREVIEWED:
        changes["unreviewed"] = True
    elif label in LABELS:
        changes["label"] = label
    elif label:
        problems.append(f"No such mark: choose {UNREVIEWED} or one of {', '.join(LABELS)}.")
        label = ""
    for name in ("topic", "source", "language"):
        value = args.get(name, "").strip()
        if len(value) > MAX_NAME_CHARS:
            problems.append(f"The {name} is too long to be a {name}'s name.")
        elif value:
            changes[name] = value
            values[name] = value
    since = args.get("since", "")
    if since in PERIODS:
        changes["since"] = now - PERIODS[since]
    elif since:
        problems.append(f"No such period: choose one of {', '.join(PERIODS)}.")
        since = ""
    day = args.get("day", "")
    if day:
        try:
            start = datetime.fromisoformat(day).replace(tzinfo=UTC) if _DAY.fullmatch(day) else None
        except ValueError:
            start = None
        if start is None:
            problems.append("A day is written YYYY-MM-DD, as 2026-11-27.")
            day = ""
        else:
            changes["since"], changes["until"] = start, start + timedelta(days=1)
    min_score = args.get("min_score", "").strip()
    if min_score:
        try:
            score = float(min_score)
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            problems.append("The least score is a number, as 5 or 7.5.")
            min_score = ""
        else:
            changes["min_score"] = score
    sanctioned = args.get("sanctioned", "")
    if sanctioned:
        changes["sanctioned"] = True
        sanctioned = "1"
    query = args.get("q", "").strip()
    if len(query) > MAX_QUERY_CHARS:
        problems.append(f"A search has at most {MAX_QUERY_CHARS} characters.")
        query = ""
    elif query:
        try:
            match = f"search : ({to_fts(query)})"
        except QueryError as error:
            problems.append(f"Search {query!r}: {error}.")
    try:
        page = min(MAX_PAGE, max(1, int(args.get("page", "1"))))
    except ValueError:
        page = 1
    accepted = {"label": label, "since": since, "day": day, "min_score": min_score, "q": query,
                "sanctioned": sanctioned}  # fmt: skip
    values.update({name: value for name, value in accepted.items() if value})
    return ListQuery(replace(Filters(), **changes), match, values, page, tuple(problems))


def list_of(back: str, now: datetime) -> ListQuery | None:
    """Return the list whose address is *back* (this page's, or the unreviewed stories'
    canned query), or None when *back* is no such list."""
    parts = urlsplit(back)
    if parts.path == UNREVIEWED_PATH:
        return ListQuery(Filters(unreviewed=True))
    if parts.path != PATH:
        return None
    return parse(dict(parse_qsl(parts.query)), now)


def neighbours(
    archive: Archive, listed: ListQuery, article_id: int
) -> tuple[int | None, int | None]:
    """Return the stories before and after *article_id* in *listed*."""
    if listed.problems and listed.match is None and "q" in listed.values:
        return None, None  # a search that cannot run lists nothing
    return neighbour_stories(archive, listed.filters, article_id, match=listed.match)


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def register_routes() -> list[tuple[str, Any]]:
    """Route ``/flagged`` to the inbox."""
    return [(rf"^{PATH}$", inbox_page)]


async def inbox_page(datasette: Any, request: Any) -> Response:
    """Render one page of the flagged stories that the address's filters ask for."""
    if not await may_read(datasette, request):
        return await error_page(datasette, request, 403, LOG_IN)
    listed = parse({name: request.args.get(name) for name in request.args}, utcnow())
    database = datasette.get_database(DATABASE)
    path = Path(database.path)
    searchable = listed.match is not None or "q" not in listed.values

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        archive = Archive(conn, path, read_only=True)
        choices = {
            "topics": review.topics_in(archive),
            "sources": _distinct(conn, "source"),
            "languages": _distinct(conn, "language"),
        }
        if not searchable:
            return {"rows": [], "total": 0, **choices}
        rows, total = review.flagged(
            archive,
            listed.filters,
            limit=PAGE_SIZE,
            offset=(listed.page - 1) * PAGE_SIZE,
            match=listed.match,
        )
        return {"rows": rows, "total": total, **choices}

    found = await database.execute_fn(read)
    here = listed.href()
    rows = found["rows"]
    for at, row in enumerate(rows):
        row["href"] = f"{story_href(row['id'])}?{urlencode({'next': here})}"
        # A mark made on this row returns here, with the next row chosen.
        following = rows[at + 1]["id"] if at + 1 < len(rows) else row["id"]
        row["next"] = f"{here}#story-{following}"
        row["action"] = f"{story_href(row['id'])}/mark"
    pages = max(1, math.ceil(found["total"] / PAGE_SIZE))
    context = {
        "rows": rows,
        "total": found["total"],
        "listed": listed,
        "values": listed.values,
        "problems": listed.problems,
        "folded": not (set(listed.values) - {"label", "q"}),
        "labels": LABELS,
        "unreviewed": UNREVIEWED,
        "periods": list(PERIODS),
        "topics": found["topics"],
        "sources": found["sources"],
        "languages": found["languages"],
        "several_topics": len(found["topics"]) > 1,
        "quick": [
            ("All", listed.href(label=None, page=None)),
            ("Unreviewed", listed.href(label=UNREVIEWED, page=None)),
            *((label.capitalize(), listed.href(label=label, page=None)) for label in LABELS),
        ],
        "previous_page": listed.href(page=listed.page - 1) if listed.page > 1 else None,
        "next_page": listed.href(page=listed.page + 1) if listed.page < pages else None,
        "pages": pages,
        "first_row": (listed.page - 1) * PAGE_SIZE + 1,
        "max_note": MAX_NOTE_CHARS,
    }
    html = await datasette.render_template(
        "flagged.html", context, request=request, view_name="flagged"
    )
    return Response.html(html, status=400 if listed.problems else 200)


def _distinct(conn: sqlite3.Connection, column: str) -> list[str]:
    """Return the values of one of flag_stories' columns, in order: the filter's choices."""
    assert column in ("source", "language")
    found = conn.execute(f"SELECT DISTINCT {column} FROM flag_stories WHERE {column} IS NOT NULL")
    return sorted(str(row[0]) for row in found)
