"""The Datasette metadata of ``wirewatch serve``: titles, facets, search and canned queries."""

from __future__ import annotations

from typing import Any

from monitor.archive.labels import Label, labels_in_words

DATABASE = "archive"  # the stable name in every URL, whatever the file is called
# The stories a canned query lists share these columns.
_STORY_COLUMNS = "id, date, topic, source, outlets, score, label, title, snippet, url, triage"
# The unreviewed list's rows and order; the story page walks the same list (inbox.py).
UNREVIEWED_FROM = "FROM flagged_stories WHERE label IS NULL ORDER BY date DESC, id DESC"
UNREVIEWED_PATH = f"/{DATABASE}/unreviewed"
_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


def metadata(database: str) -> dict[str, Any]:
    """Return the metadata for serving the archive under the name *database*."""
    return {
        "title": "wirewatch",
        "description_html": (
            'Stories flagged by wirewatch. Start with the <a href="/flagged">flagged stories</a>.'
        ),
        "databases": {
            database: {
                "tables": {
                    "flagged_stories": {
                        "title": "Flagged stories",
                        "description": "One row per story and topic, newest first. Mark a "
                        "story with the links in its triage column.",
                        "facets": ["topic", "source", "language", "label", "day"],
                        "sort_desc": "date",
                        # The index of the stories' own articles (migration 0009): a
                        # search reads their words, not those of every article.
                        "fts_table": "flag_stories_fts",
                        "fts_pk": "id",
                        "label_column": "title",
                    },
                    "articles": {
                        "facets": ["source", "language"],
                        "sort_desc": "fetched",
                        "label_column": "title",
                        "hidden": False,
                    },
                    "flags": {"facets": ["topic"], "sort_desc": "created"},
                    "marks": {"facets": ["label", "marked_by"], "sort_desc": "created"},
                    "sources": {"facets": ["kind", "last_error_class"]},
                    **{
                        hidden: {"hidden": True}
                        for hidden in (
                            "seen",
                            "pages",
                            "lsh",
                            "schedule",
                            "daemon",
                            "alerts",
                            "health_alerts",
                            "change_alerts",
                            "coverage_alerts",
                            "run_sources",
                            "_sqlite_migrations",
                        )
                    },
                },
                "queries": _queries(),
            }
        },
    }


def _queries() -> dict[str, Any]:
    return {
        "last_24h": {
            "title": "Flagged in the last 24 hours",
            "sql": f"SELECT {_STORY_COLUMNS} FROM flagged_stories "
            f"WHERE date >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day') ORDER BY date DESC",
        },
        "unreviewed": {
            "title": "Unreviewed stories",
            "description": "Flagged stories no one has marked yet, newest first.",
            "sql": f"SELECT {_STORY_COLUMNS} {UNREVIEWED_FROM}",
        },
        "follow_ups": {
            "title": "Follow-ups",
            "sql": f"SELECT {_STORY_COLUMNS} FROM flagged_stories "
            f"WHERE label = '{Label.FOLLOW_UP}' "
            "ORDER BY date DESC",
        },
        "source_health": {
            "title": "Source health",
            "description": "Each source's last success, failures in a row and last error.",
            "sql": "SELECT name, kind, last_success, next_due, failures, last_error_class, "
            "last_error, (SELECT count(*) FROM articles a WHERE a.source = s.name) AS articles "
            "FROM sources s ORDER BY failures DESC, name",
        },
        "mark_story": {
            "title": "Mark a story",
            "description": f"Label a story {labels_in_words()}, with a note. Every mark is kept.",
            "sql": "INSERT INTO marks (article_id, label, note, marked_by, created) "
            # :_analyst_name is the analyst at the desk (monitor.serve.analyst), never a
            # value of the form.
            f"VALUES (:article_id, :label, :note, :_analyst_name, {_NOW})",
            "write": True,
            "on_success_message": "Marked. The story's label is updated.",
            "on_success_redirect": "/archive/unreviewed",
            "on_error_message": f"Not marked: the label must be {labels_in_words()}, "
            "and the ID a story's.",
        },
        "flagged_atom": {
            "title": "Flagged stories (Atom)",
            "description": "Subscribe to /archive/flagged_atom.atom in a feed reader.",
            # printable() and web_url() come from monitor.serve.feed: a story whose address
            # is not http(s) links to its row here ('articles/ID', relative to the feed).
            "sql": "SELECT 'tag:wirewatch,2026:story/' || topic || '/' || story AS atom_id, "
            "printable(title) AS atom_title, date AS atom_updated, "
            "coalesce(web_url(url), 'articles/' || id) AS atom_link, "
            "printable(snippet || ' (' || source || ', ' || outlets || ' outlets, ' || topic "
            "|| ')') AS atom_content FROM flagged_stories ORDER BY date DESC LIMIT 200",
        },
    }
