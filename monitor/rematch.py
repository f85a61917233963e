"""Re-run topics over the archive after their YAML changed: add, update and remove flags.

Articles are read and written in batches, each batch one transaction, so a rematch that is
stopped part-way leaves every article either re-judged or untouched, and running it again
finishes the job. A flag is never duplicated: (article, topic) is unique in the archive.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from monitor.archive import Archive
from monitor.archive.flagging import Verdict, apply_verdicts
from monitor.archive.texts import ids_dated_from, texts_of
from monitor.matcher.engine import Matcher

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
    ids = ids_dated_from(archive, since)
    indexes = {topic: matcher.topics.index(topic) for topic in topics}
    counts: dict[str, Counter[str]] = {topic: Counter() for topic in topics}
    for offset in range(0, len(ids), BATCH):
        verdicts = []
        for article in texts_of(archive, ids[offset : offset + BATCH]):
            # Matched before the batch's transaction opens, so it holds the lock briefly.
            results = matcher.match(article.title, article.body)
            for topic, index in indexes.items():
                result = results[index]
                flag = result.to_flag() if result.flagged else None
                verdicts.append(Verdict(article.id, topic, flag))
        for verdict, change in zip(verdicts, apply_verdicts(archive, verdicts, now), strict=True):
            counts[verdict.topic][change] += 1
        if progress is not None:
            progress(min(offset + BATCH, len(ids)), len(ids))
    return counts
