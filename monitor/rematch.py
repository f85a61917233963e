"""Re-run topics over the archive after their YAML changed: add, update and remove flags.

Articles are read and written in batches, each batch one transaction, so a rematch that is
stopped part-way leaves every article either re-judged or untouched, and running it again
finishes the job. A flag is never duplicated: (article, topic) is unique in the archive.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from monitor.archive import Archive
from monitor.matcher.engine import Matcher
from monitor.timeutil import to_text

BATCH = 200


def rematch(
    archive: Archive,
    matcher: Matcher,
    topics: Sequence[str],
    *,
    since: datetime | None = None,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Counter[str]]:
    """Judge the archived articles (dated from *since*) again with *topics*.

    Returns, per topic, how many flags were ``added``, ``removed``, ``updated`` (score or
    evidence changed) and ``kept``. *progress* is called with (done, total) after each batch.
    """
    where, params = "1", []
    if since is not None:
        where, params = "coalesce(published, fetched) >= ?", [to_text(since)]
    ids = [row[0] for row in archive.db.execute(f"SELECT id FROM articles WHERE {where}", params)]
    indexes = {topic: matcher.topics.index(topic) for topic in topics}
    counts: dict[str, Counter[str]] = {topic: Counter() for topic in topics}
    for offset in range(0, len(ids), BATCH):
        batch = ids[offset : offset + BATCH]
        marks = ", ".join("?" for _ in batch)
        articles = archive.db.execute(
            f"SELECT id, title, body FROM articles WHERE id IN ({marks})", batch
        ).fetchall()
        with archive.writing():
            for article_id, title, body in articles:
                results = matcher.match(title, body)
                for topic, index in indexes.items():
                    result = results[index]
                    flag = result.to_dict() if result.flagged else None
                    counts[topic][_apply(archive, article_id, topic, flag, now)] += 1
        if progress is not None:
            progress(min(offset + BATCH, len(ids)), len(ids))
    return counts


def _apply(
    archive: Archive, article_id: int, topic: str, flag: dict[str, Any] | None, now: datetime
) -> str:
    """Make the archive hold *flag* (or no flag) for this article and topic; say what changed."""
    row = archive.db.execute(
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
    terms = json.dumps(flag["terms"], ensure_ascii=False)
    if row is not None and (row[0], row[1], row[2]) == (flag["score"], terms, flag["rule"]):
        return "kept"
    archive.db.execute(
        "INSERT INTO flags (article_id, topic, score, threshold, rule, rules, terms, snippet, "
        "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(article_id, topic) DO UPDATE "
        "SET score = excluded.score, threshold = excluded.threshold, rule = excluded.rule, "
        "rules = excluded.rules, terms = excluded.terms, snippet = excluded.snippet",
        [article_id, topic, flag["score"], flag["threshold"], flag["rule"],
         json.dumps(flag["rules"]), terms, flag["snippet"], to_text(now)],
    )  # fmt: skip
    return "added" if row is None else "updated"
