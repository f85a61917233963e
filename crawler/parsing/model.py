"""What the parsers return: entries found in a source's document, or the problem with it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ParamSpec

P = ParamSpec("P")


@dataclass(frozen=True)
class FeedEntry:
    """One story a source lists: from a feed entry, a sitemap URL or a link on a page."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None
    published_raw: str | None
    language: str | None = None  # when the source says, e.g. news:language in a sitemap


@dataclass(frozen=True)
class FeedProblem:
    """Why a document could not be read; ``error_class`` names the kind of failure."""

    error_class: str  # not_a_feed, malformed, empty, too_large
    message: str


@dataclass(frozen=True)
class Feed:
    """What a source's document gave: entries, or the problem that stopped it.

    *warning* is a recoverable defect (feedparser's "bozo", skipped entries). *ttl* is the
    RSS ``<ttl>`` in seconds. *children* are further documents of the same source to read:
    the sitemaps of a sitemap index, or the next page of a listing.
    """

    entries: list[FeedEntry]
    problem: FeedProblem | None = None
    warning: str | None = None
    ttl: float | None = None
    children: list[str] = field(default_factory=list)


def problem_from(error: BaseException) -> FeedProblem:
    """Describe what a parser raised on hostile input as the problem with the document."""
    if isinstance(error, MemoryError):
        return FeedProblem(
            "too_large", "reading the document needs more memory than crawl.memory_mb allows"
        )
    if isinstance(error, RecursionError):
        return FeedProblem("malformed", "the document nests too deep to read")
    detail = " ".join(str(error).split())[:300]
    return FeedProblem("malformed", f"not readable: {type(error).__name__}: {detail}")


def reports_problems(parse: Callable[P, Feed]) -> Callable[P, Feed]:
    """Make *parse* return a FeedProblem, never raise, when hostile input breaks it.

    The errors caught are those bad bytes cause (a value no library accepts, nesting past
    the stack, a document past the memory cap); the source fails, with that class, alone.
    """

    @functools.wraps(parse)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> Feed:
        try:
            return parse(*args, **kwargs)
        except (MemoryError, RecursionError, ValueError, OverflowError) as error:
            return Feed([], problem_from(error))

    return guarded
