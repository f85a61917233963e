"""A small Datasette plugin: triage links in the flagged-stories view."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from datasette import hookimpl
from markupsafe import Markup, escape

from monitor.archive.labels import LABELS


@hookimpl  # type: ignore[misc,untyped-decorator,unused-ignore]
def render_cell(value: Any, column: str, table: str | None, database: str) -> Markup | None:
    """Turn the ``triage`` column into links to the mark form, one per label."""
    if column != "triage" or table not in ("flagged_stories", None) or value is None:
        return None
    links = []
    for label in LABELS:
        href = f"/{database}/mark_story?" + urlencode({"article_id": value, "label": label})
        links.append(f'<a href="{escape(href)}">{escape(label)}</a>')
    return Markup(" · ".join(links))  # noqa: S704 - every part above is escaped
