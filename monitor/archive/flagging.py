"""Writing topics' verdicts on archived articles again (``wirewatch topics rematch``).

A verdict adds, updates or removes the flag of one article and topic; (article, topic) is
unique, so a flag is never duplicated, and a batch of verdicts is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal, NamedTuple

from monitor.records import FlagRecord
from monitor.timeutil import to_text

if TYPE_CHECKING:
    from monitor.archive.store import Archive

# What a verdict did to the archive; "unflagged" means no flag before and none after.
FlagChange = Literal["added", "removed", "updated", "kept", "unflagged"]


class Verdict(NamedTuple):
    """A topic's judgement of one article: its flag as the matcher stores it, or None."""

    article_id: int
    topic: str
    flag: FlagRecord | None


def apply_verdicts(
    archive: Archive, verdicts: Sequence[Verdict], now: datetime
) -> list[FlagChange]:
    """Make the archive hold each verdict's flag (or none), in one transaction.

    Returns what each verdict changed, in order. A flag whose score, evidence and rule are
    unchanged is kept as it is, with its original creation time.
    """
    with archive.writing():
        return [_apply(archive, verdict, now) for verdict in verdicts]


def _apply(archive: Archive, verdict: Verdict, now: datetime) -> FlagChange:
    article_id, topic, flag = verdict
    row = archive.conn.execute(
        "SELECT score, terms, rule FROM flags WHERE article_id = ? AND topic = ?",
        [article_id, topic],
    ).fetchone()
    if flag is None:
        if row is None:
            return "unflagged"
        archive.db.execute(
            "DELETE FROM flags WHERE article_id = ? AND topic = ?", [article_id, topic]
        )
        return "removed"
    terms = json.dumps(flag.terms, ensure_ascii=False)
    if row is not None and (row[0], row[1], row[2]) == (flag.score, terms, flag.rule):
        return "kept"
    archive.db.execute(
        "INSERT INTO flags (article_id, topic, score, threshold, rule, rules, terms, snippet, "
        "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(article_id, topic) DO UPDATE "
        "SET score = excluded.score, threshold = excluded.threshold, rule = excluded.rule, "
        "rules = excluded.rules, terms = excluded.terms, snippet = excluded.snippet",
        [article_id, topic, flag.score, flag.threshold, flag.rule, json.dumps(flag.rules),
         terms, flag.snippet, to_text(now)],
    )  # fmt: skip
    return "added" if row is None else "updated"
