"""A Datasette plugin: the home page's timeline, flagged stories per day for the last 90 days,
and the latest of them as events (who reported each first, which roles followed).

One aggregate query over the covering index of the stories' dates (idx_flag_stories_date)
counts the rows of the flagged list per UTC day; ``index.html`` draws them as an inline SVG
bar chart, each bar a link to that day's stories. The template builds the markup; this
module gives it numbers and ISO dates only.
"""

from __future__ import annotations

import sqlite3  # noqa: TID251 - Datasette hands execute_fn its own sqlite3 connection
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from datasette import hookimpl

from monitor.archive import Archive
from monitor.archive.readout import flagged_copies
from monitor.readout import followed, timeline_events
from monitor.reports import short_date
from monitor.serve import inbox
from monitor.serve.metadata import DATABASE
from monitor.serve.pages import may_read, roles_of_serve, story_href

DAYS = 90  # today (UTC) and the 89 days before it
BAR_WIDTH = 7  # pixels of one day's bar; a pixel of gap follows each
HEIGHT = 80  # pixels of the tallest bar
LATEST = 20  # the newest flagged stories listed under the chart, with who carried them
COUNTS = (
    "SELECT substr(date, 1, 10) AS day, count(*) AS stories FROM flag_stories "
    "WHERE date >= :start AND date < :end GROUP BY day"
)


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def extra_template_vars(view_name: str, datasette: Any, request: Any) -> Any:
    """Give the home page ``timeline``: the bars of the last 90 days, or None."""
    if view_name != "index":
        return None

    async def inner() -> dict[str, Any]:
        if request is None or not await may_read(datasette, request):
            return {"timeline": None}
        today = datetime.now(UTC).date()
        start = today - timedelta(days=DAYS - 1)
        params = {"start": start.isoformat(), "end": (today + timedelta(days=1)).isoformat()}
        database = datasette.get_database(DATABASE)
        rows = await database.execute(COUNTS, params)
        counts = {str(row["day"]): int(row["stories"]) for row in rows}
        roles = roles_of_serve(datasette)
        path = Path(database.path)

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            archive = Archive(conn, path, read_only=True)
            return timeline_events(flagged_copies(archive, latest=LATEST), roles)

        events = await database.execute_fn(read)
        return {"timeline": chart(start, counts, inbox.PATH), "events": latest(events)}

    return inner


def latest(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the newest events first, each with its story page, its first time as shown
    and the roles that followed (text the template escapes)."""
    return [
        {
            **event,
            "href": story_href(event["story"]),
            "when": short_date(event["first_seen"]),
            "then": followed(event),
        }
        for event in reversed(events)
    ]


def chart(start: date, counts: dict[str, int], href: str) -> dict[str, Any]:
    """Return the chart of *counts* (stories by ISO day) for the DAYS days from *start*.

    Each day with stories is a bar with its position and size in pixels and the link to
    its stories; a day without is a gap, with no bar.
    """
    days = [(start + timedelta(days=offset)).isoformat() for offset in range(DAYS)]
    tallest = max((counts.get(day, 0) for day in days), default=0)
    bars = []
    for offset, day in enumerate(days):
        stories = counts.get(day, 0)
        if stories <= 0:
            continue
        height = max(2, round(HEIGHT * stories / tallest))
        bars.append(
            {
                "day": day,
                "stories": stories,
                "href": f"{href}?day={day}",
                "x": offset * (BAR_WIDTH + 1),
                "y": HEIGHT - height,
                "width": BAR_WIDTH,
                "height": height,
            }
        )
    return {
        "bars": bars,
        "total": sum(bar["stories"] for bar in bars),
        "tallest": tallest,
        "first": days[0],
        "last": days[-1],
        "width": DAYS * (BAR_WIDTH + 1),
        "height": HEIGHT,
        "days": DAYS,
    }
