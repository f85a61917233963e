"""Which due sources to crawl now, and in which groups: pure decisions, the clock passed in.

The daemon's jobs only mark sources due; this decides which of them backoff or a server's
hint (Cache-Control, Retry-After) puts off, from what the archive says and the time given,
and how a crawl's sources split by host into crawl processes or cluster jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from monitor.config import Source


def ready_sources(
    names: Iterable[str],
    intervals: Mapping[str, float],
    next_due: Mapping[str, datetime | None],
    now: datetime,
) -> set[str]:
    """Return the sources of *names* to crawl at *now*; a pure decision, with the clock given.

    *intervals* holds each configured source's polling interval (a name it lacks was removed
    from the config and is never ready); *next_due* is when the archive says each source is
    due (missing or None: never finished, so due). A source's job fires about one interval
    after its last run, so only a due time more than half an interval away (backoff,
    Cache-Control) puts a source off.
    """
    ready = set()
    for name in names:
        interval = intervals.get(name)
        if interval is None:
            continue
        due = next_due.get(name)
        if due is None or (due - now).total_seconds() <= 0.5 * interval:
            ready.add(name)
    return ready


def group_by_host(sources: Sequence[Source], workers: int) -> list[list[Source]]:
    """Split sources into at most *workers* groups, all of a host's sources in one group.

    Hosts go, most sources first, to the group with the fewest so far, so the groups are
    about even.
    """
    by_host: dict[str, list[Source]] = {}
    for source in sources:
        by_host.setdefault(urlsplit(source.url).hostname or "", []).append(source)
    groups: list[list[Source]] = [[] for _ in range(max(1, min(workers, len(by_host))))]
    for host_sources in sorted(by_host.values(), key=len, reverse=True):
        min(groups, key=len).extend(host_sources)
    return [group for group in groups if group]
