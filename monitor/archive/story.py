"""What makes articles one story, and what dates a story, as SQL fragments spelled once.

A story is its cluster (the ID of its earliest copy; an article not yet clustered is its
own story), and it is dated when it was published, or fetched when its source gives no
date. The expression indexes of migration 0007 serve only this exact spelling, so every
query takes it from here; should a story get columns of its own, only these two functions
change.
"""

from __future__ import annotations


def story_of(alias: str = "") -> str:
    """Return the SQL expression of an article's story, for table *alias* (or none)."""
    prefix = f"{alias}." if alias else ""
    return f"coalesce({prefix}cluster_id, {prefix}id)"


def dated(alias: str = "") -> str:
    """Return the SQL expression of an article's date, for table *alias* (or none)."""
    prefix = f"{alias}." if alias else ""
    return f"coalesce({prefix}published, {prefix}fetched)"
