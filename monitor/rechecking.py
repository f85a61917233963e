"""Re-checks of flagged stories: which are due, and what a page read again says changed.

Pure decisions, with the clock and the pages passed in: nothing here reads the archive or
the network. The crawler's re-check spider (crawler.spiders.recheck) reads each page with
the crawl's politeness and extraction and hands :func:`judge` what it found; the archive
(monitor.archive.rechecks) keeps the verdicts; ``wirewatch recheck`` and the daemon ask
:func:`due` which stories to read.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from monitor.archive import content_hash
from monitor.matcher.normalize import nfkc

# A word-level difference is cut after this many characters: a rewritten page must not
# make a row, a page or an alert of megabytes.
MAX_DIFF_CHARS = 4000
# Words of unchanged text kept around each change, so the difference reads in context.
CONTEXT_WORDS = 6
# Status codes that say the page was taken down.
GONE_STATUSES = frozenset({404, 410})


class Outcome(StrEnum):
    """What one re-check found; the text is what ``rechecks.outcome`` holds."""

    SAME = "same"  # read again, neither text nor title changed
    CHANGED = "changed"  # the text, the title or both changed
    REMOVED = "removed"  # 404, 410, or a redirect to a section or home page
    FIRST = "first"  # the story had no page text to compare with: this read is the baseline
    FAILED = "failed"  # no answer to judge (a timeout, a 500, robots.txt, a refused link)


class Change(StrEnum):
    """A change that ``wirewatch changes`` lists and an alert reports."""

    EDITED = "edited"
    RETITLED = "retitled"
    REMOVED = "removed"


@dataclass(frozen=True)
class Candidate:
    """A flagged story that may be re-checked: its article, page and history of checks."""

    article_id: int
    url: str
    source: str
    fetched: datetime  # when the story was first fetched
    done_round: int | None  # the latest round already checked, if any
    removed: bool  # a check found the page gone: it is not read again


@dataclass(frozen=True)
class Target:
    """A story to read again, as the parent hands it to the re-check child."""

    article_id: int
    url: str
    source: str
    round: int | None  # the round of recheck.after, None for ``recheck --all``


@dataclass(frozen=True)
class Version:
    """The version of a story a re-check compares with: the latest that was read."""

    title: str | None
    text: str | None  # None when the story's page text was never read (a feed summary)
    content_hash: str | None
    first: bool = False  # the article as first archived: no re-check has kept a version yet


@dataclass(frozen=True)
class Reading:
    """What the re-check spider got for one story's page."""

    status: int | None  # HTTP status, None when nothing came back
    url: str  # where the page ended up, after redirects
    redirected: bool
    title: str | None = None  # the page's headline, as the crawler extracts it
    text: str | None = None  # the page's article text, as the crawler extracts it
    sha256: str | None = None  # of the page's bytes: the new evidence
    error: str | None = None  # why there is nothing to judge


@dataclass(frozen=True)
class Verdict:
    """What one re-check found, as the archive records it."""

    outcome: Outcome
    title_changed: bool = False
    text_changed: bool = False
    title: str | None = None
    previous_title: str | None = None
    text: str | None = None  # kept when it is a new version (changed, or the first read)
    content_hash: str | None = None
    diff: str | None = None
    error: str | None = None

    def changes(self) -> list[Change]:
        """Return the changes this check found, for listing and alerting."""
        return changes_of(self.outcome, self.text_changed, self.title_changed)


def changes_of(outcome: str, text_changed: bool, title_changed: bool) -> list[Change]:
    """Return the changes a re-check of this outcome stands for: removed, or edited and/or
    retitled."""
    if outcome == Outcome.REMOVED:
        return [Change.REMOVED]
    found = [Change.EDITED] if text_changed else []
    return found + ([Change.RETITLED] if title_changed else [])


def due_round(
    fetched: datetime, delays: Sequence[float], done_round: int | None, now: datetime
) -> int | None:
    """Return the round of re-checks due for a story fetched at *fetched*, or None.

    Round ``i`` falls due *delays[i]* seconds after the first fetch. Rounds missed while no
    daemon ran are not made up one by one: only the latest round that has fallen due is
    read, once.
    """
    passed = [i for i, delay in enumerate(delays) if fetched + timedelta(seconds=delay) <= now]
    if not passed:
        return None
    latest = passed[-1]
    return latest if done_round is None or done_round < latest else None


def due(
    candidates: Iterable[Candidate], delays: Sequence[float], now: datetime
) -> list[tuple[Candidate, int]]:
    """Return each story that has a round of re-checks due at *now*, with that round."""
    found = []
    for candidate in candidates:
        if candidate.removed:
            continue
        round_ = due_round(candidate.fetched, delays, candidate.done_round, now)
        if round_ is not None:
            found.append((candidate, round_))
    return found


def judge(original_url: str, before: Version, reading: Reading) -> Verdict:
    """Decide what a page read again says about the story *before* described."""
    if reading.status in GONE_STATUSES:
        return Verdict(Outcome.REMOVED, previous_title=before.title)
    if reading.redirected and is_section(original_url, reading.url):
        return Verdict(Outcome.REMOVED, previous_title=before.title)
    if reading.error or reading.status is None or reading.status >= 400:
        status = f"HTTP {reading.status}" if reading.status else "no answer"
        return Verdict(Outcome.FAILED, error=reading.error or status)
    if not reading.text:
        return Verdict(Outcome.FAILED, error="no article text found on the page")
    text = nfkc(reading.text)
    digest = content_hash(text)
    title = " ".join(nfkc(reading.title).split()) if reading.title else None
    if before.text is None:
        return Verdict(Outcome.FIRST, title=title, text=text, content_hash=digest)
    text_changed = digest != before.content_hash
    title_changed = bool(title and before.title and _fold(title) != _fold(before.title))
    if not (text_changed or title_changed):
        return Verdict(Outcome.SAME, title=title, content_hash=digest)
    return Verdict(
        Outcome.CHANGED,
        title_changed=title_changed,
        text_changed=text_changed,
        title=title,
        previous_title=before.title if title_changed else None,
        text=text,
        content_hash=digest,
        diff=word_diff(before.text, text) if text_changed else None,
    )


def _fold(title: str) -> str:
    return " ".join(title.casefold().split())


def is_section(original_url: str, final_url: str) -> bool:
    """Return True when *final_url* is the home page or a section above *original_url*.

    A site that takes a story down often redirects its address to the section it was in
    (``/world/``) or to the home page: the story is gone, though the answer is a 200.
    """
    before, after = urlsplit(original_url), urlsplit(final_url)
    if (after.hostname or "").removeprefix("www.") != (before.hostname or "").removeprefix("www."):
        return False
    path = [part for part in after.path.split("/") if part]
    was = [part for part in before.path.split("/") if part]
    if path == was:
        return False
    return not path or (len(path) < len(was) and was[: len(path)] == path)


def word_diff(old: str, new: str, limit: int = MAX_DIFF_CHARS) -> str:
    """Return a readable word-level difference: ``[-removed-]`` and ``{+added+}`` in context.

    Unchanged stretches are shortened to a few words either side of each change, and the
    whole is cut at *limit* characters.
    """
    before, after = old.split(), new.split()
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    parts: list[str] = []
    opcodes = matcher.get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            words = before[i1:i2]
            first, last = index == 0, index == len(opcodes) - 1
            if len(words) > 2 * CONTEXT_WORDS or ((first or last) and len(words) > CONTEXT_WORDS):
                head = [] if first else words[:CONTEXT_WORDS]
                tail = [] if last else words[-CONTEXT_WORDS:]
                words = [*head, "…", *tail]
            parts.append(" ".join(words))
            continue
        if tag in ("replace", "delete"):
            parts.append("[-" + " ".join(before[i1:i2]) + "-]")
        if tag in ("replace", "insert"):
            parts.append("{+" + " ".join(after[j1:j2]) + "+}")
        if sum(map(len, parts)) > limit:
            break
    text = " ".join(part for part in parts if part)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def gone_how(status: int | None, url: str, final_url: str | None) -> str:
    """Return how a removed story's address answers: its status, or where it now leads."""
    if final_url and final_url != url and status not in (404, 410):
        return f"redirected to {final_url}"
    return f"HTTP {status}" if status else "no answer"
