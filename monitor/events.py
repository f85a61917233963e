"""The progress events a crawl child writes on its stdout, one JSON object per line.

Each event is a small record; on the wire it is its fields plus ``"event"``, its kind:

- ``feed`` (FeedRead): a source's document was read, with its entries and the new ones;
- ``source_error`` (SourceFailed): a source failed, with the error's class and text;
- ``article`` (ArticleArchived): an article was archived, with the topics that flagged it;
- ``links_skipped`` (LinksSkipped): as a crawl ends, the links of a source it did not fetch,
  counted by kind (crawler.urlpolicy names the kinds);
- ``fatal`` (Fatal): the crawl cannot run at all;
- ``finished`` (Finished): a crawl child ends, with its peak memory and its CPU seconds by
  stage (STAGES);
- ``result`` (Result): on a cluster worker, an archive write the crawl made, for the daemon
  to apply (monitor.cluster.wire).

The archive, not these events, is the record of a run: they drive progress displays, and
the peak memory and CPU time in a crawl's report.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, TextIO

# The error classes (SourceFailed.error_class) of a source whose server was never reached
# (see crawler.failures). When every source fails with one of these, this machine's network
# is likelier at fault than each site: a source's own error then names what failed first,
# such as its robots.txt.
UNREACHED = frozenset({"dns", "refused", "timeout", "connection", "tls"})


@dataclass(frozen=True)
class FeedRead:
    kind: ClassVar[str] = "feed"
    source: str
    entries: int
    new: int
    not_modified: bool = False


@dataclass(frozen=True)
class SourceFailed:
    kind: ClassVar[str] = "source_error"
    source: str
    error_class: str
    error: str


@dataclass(frozen=True)
class ArticleArchived:
    kind: ClassVar[str] = "article"
    source: str
    id: int
    flagged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LinksSkipped:
    kind: ClassVar[str] = "links_skipped"
    source: str
    warning: str
    counts: dict[str, int] = field(default_factory=dict)  # links left, by kind of refusal


@dataclass(frozen=True)
class Fatal:
    kind: ClassVar[str] = "fatal"
    error: str


# Where a crawl child's CPU time goes: its start (interpreter, imports, settings, archive),
# reading feeds, extracting article text, identifying languages, matching topics, reading and
# writing the archive, and the rest (Scrapy and Twisted: fetching, scheduling, plumbing).
STAGES = ("start-up", "feeds", "extraction", "language", "matching", "archive", "other")


@dataclass(frozen=True)
class Finished:
    kind: ClassVar[str] = "finished"
    peak_rss_mb: float | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # by stage, see STAGES


@dataclass(frozen=True)
class Result:
    kind: ClassVar[str] = "result"
    op: str
    args: dict[str, Any] = field(default_factory=dict)


Event = FeedRead | SourceFailed | ArticleArchived | LinksSkipped | Fatal | Finished | Result
KINDS: dict[str, type[Event]] = {
    each.kind: each
    for each in (FeedRead, SourceFailed, ArticleArchived, LinksSkipped, Fatal, Finished, Result)
}


def emit(stream: TextIO, event: Event) -> None:
    """Write one event line and flush it, so the parent sees it at once."""
    line = {"event": event.kind, **dataclasses.asdict(event)}
    stream.write(json.dumps(line, ensure_ascii=False) + "\n")
    stream.flush()


def read(line: str) -> Event | None:
    """Return the event on a line, or None for a line that is not one (a stray print, say)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = KINDS.get(str(data.pop("event", "")))
    if kind is None:
        return None
    try:
        return kind(**data)
    except TypeError:  # missing or unknown fields: not an event of this version
        return None
