"""Change alerts: say once, through a topic's alert channels, that a flagged story changed.

When a re-check finds a flagged story edited, retitled or removed, each target that the
``alerts:`` section names for a topic that flagged the story gets one message per change.
The archive keeps one row per change and target (``change_alerts``): a sent one is never
sent again, a failed one is tried again after the next round of re-checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from monitor.alerts import Notifier
from monitor.archive import Archive
from monitor.archive import rechecks as book
from monitor.archive.rechecks import ChangeRow
from monitor.episodes import Owed, deliver
from monitor.rechecking import Change, gone_how

DIFF_CHARS = 600  # of the word-level difference, in a message

_SAID = {
    Change.EDITED: "edited",
    Change.RETITLED: "retitled",
    Change.REMOVED: "removed",
}


def targets_of(alerts: Mapping[str, Sequence[str]], topics: Iterable[str]) -> list[str]:
    """Return the alert targets of *topics*, each once, in the config's order."""
    found: list[str] = []
    for topic in topics:
        found.extend(url for url in alerts.get(topic, ()) if url not in found)
    return found


def queue(
    archive: Archive,
    alerts: Mapping[str, Sequence[str]],
    found: Sequence[ChangeRow],
    now: datetime,
) -> int:
    """Queue one alert per change in *found* and target of its story's topics."""
    if not alerts or not found:
        return 0
    topics = book.topics_of(archive, [change.story for change in found])
    work = [(change, targets_of(alerts, topics.get(change.story, ()))) for change in found]
    return book.queue_alerts(archive, work, now)


def send(
    archive: Archive,
    alerts: Mapping[str, Sequence[str]],
    now: datetime,
    notify: Notifier | None = None,
) -> tuple[int, int]:
    """Send every change alert not yet delivered to a configured target; (sent, failed)."""
    if not alerts:
        return 0, 0
    configured = {url for urls in alerts.values() for url in urls}
    owed = [
        Owed(alert.id, alert.target, *message(alert.change))
        for alert in book.undelivered(archive)
        if alert.target in configured
    ]
    return deliver(
        owed,
        lambda alert_id: book.mark_sent(archive, alert_id, now),
        lambda alert_id, error: book.mark_failed(archive, alert_id, error),
        notify,
        kind="change",
    )


def message(change: ChangeRow) -> tuple[str, str]:
    """Return the title and body of the alert for one change of a flagged story."""
    head = f"[{_SAID[change.change]}] {change.title}"
    when = change.checked[:16].replace("T", " ")
    lines = [f"{change.source}: the story was {_SAID[change.change]} (seen {when} UTC)"]
    if change.change == Change.RETITLED:
        lines.append(f"was: {change.previous_title}")
        lines.append(f"now: {change.new_title}")
    elif change.change == Change.EDITED and change.diff:
        diff = change.diff
        lines.append(diff if len(diff) <= DIFF_CHARS else diff[: DIFF_CHARS - 1] + "…")
    elif change.change == Change.REMOVED:
        lines.append(gone_how(change.http_status, change.url, change.final_url))
    lines += [change.url, f"wirewatch show {change.story}"]
    return head, "\n".join(lines)
