"""Alerts: tell someone when a topic flags a new story, through apprise.

``alerts:`` in the config maps a topic to apprise URLs (Slack, e-mail, Matrix, a JSON
webhook, ...). After each crawl the parent process does two things:

1. **Queue.** Every story (cluster) that a topic flagged recently and that has no alert yet
   for a target gets one row in ``alerts``, status ``pending``. The row is unique per
   topic, story and target, so the ten outlets that carry one wire story make one alert.
2. **Send.** Each pending or failed row is sent. A success is written down at once
   (``sent``) and never sent again; a failure is logged, counted and tried again after the
   next crawl, with its error kept for ``wirewatch status``.

Only stories first flagged within RECENT are queued, so adding alerts to an old archive
does not send its whole history. apprise is an optional extra (``wirewatch[alerts]``).

A target is the apprise URL as the config writes it, with ``$NAME`` for a secret: that is
what the ``alerts`` table, the log and ``status`` hold. The secret is filled in from the
environment only to send (monitor.config.resolve.expand), and is never stored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.archive import Archive
from monitor.archive import alerts as book
from monitor.archive.alerts import PendingAlert
from monitor.config.resolve import MissingSecret, expand, variables

logger = logging.getLogger(__name__)

RECENT = timedelta(days=1)
SNIPPET = 400
# A notifier sends one message to one apprise URL and returns None, or the error.
Notifier = Callable[[str, str, str], "str | None"]


@dataclass(frozen=True)
class Delivery:
    """What one round of alerts did."""

    queued: int
    sent: int
    failed: int


def queue_new(
    archive: Archive,
    targets: dict[str, list[str]],
    now: datetime,
    min_scores: Mapping[str, float] | None = None,
) -> int:
    """Queue one alert per recently flagged story and target without one; return how many.

    A topic in *min_scores* alerts only the stories with a copy scored that much or more
    (its ``alert_min_score``); a story that reaches it later is alerted then.
    """
    queued = 0
    for topic, urls in targets.items():
        minimum = (min_scores or {}).get(topic, 0.0)
        stories = book.flagged_since(archive, topic, now - RECENT, minimum)
        if stories:
            queued += book.queue(archive, topic, stories, urls, now)
    return queued


def send_pending(
    archive: Archive, targets: dict[str, list[str]], now: datetime, notify: Notifier
) -> tuple[int, int]:
    """Send every alert not yet delivered to a configured target; return (sent, failed)."""
    sent = failed = 0
    for alert in book.undelivered(archive):
        if alert.target not in targets.get(alert.topic, ()):
            continue  # the target was removed from the config: keep the row, send nothing
        title, body = message(alert)
        error = notify(alert.target, title, body)
        if error is None:
            book.mark_sent(archive, alert.id, now)
            sent += 1
            continue
        book.mark_failed(archive, alert.id, error)
        failed += 1
        logger.warning(
            "alert %s for %s could not be sent to %s: %s; it is tried again after the next crawl",
            alert.id,
            alert.topic,
            redact(alert.target),
            error,
        )
    return sent, failed


def message(alert: PendingAlert) -> tuple[str, str]:
    """Return the title and body of the alert for one flagged story."""
    head = f"[{alert.topic}] {alert.title or alert.url}"
    text = (alert.snippet or "").strip()
    if len(text) > SNIPPET:
        text = text[: SNIPPET - 1].rstrip() + "…"
    carried = f"{alert.outlets} outlets" if alert.outlets > 1 else "1 outlet"
    when = alert.date[:16].replace("T", " ")
    lines = [
        f"{alert.source}, {when} UTC ({carried}, score {alert.score or 0:g})",
        text,
        alert.url,
        f"wirewatch show {alert.article_id}",
    ]
    return head, "\n".join(line for line in lines if line)


def dispatch(
    archive: Archive,
    targets: dict[str, list[str]],
    now: datetime,
    notify: Notifier | None = None,
    min_scores: Mapping[str, float] | None = None,
) -> Delivery:
    """Queue the new stories' alerts (of the scores *min_scores* asks per topic) and send
    every one not yet delivered."""
    if not targets:
        return Delivery(0, 0, 0)
    forget_filled_secrets(archive, targets, os.environ)
    queued = queue_new(archive, targets, now, min_scores)
    sent, failed = send_pending(archive, targets, now, notify or apprise_notifier())
    return Delivery(queued, sent, failed)


def forget_filled_secrets(
    archive: Archive, targets: dict[str, list[str]], environ: Mapping[str, str]
) -> None:
    """Put back the written form of targets that an older wirewatch stored with secrets."""
    for topic, urls in targets.items():
        for url in urls:
            if not variables(url):
                continue
            try:
                filled = expand(url, environ)
            except MissingSecret:
                continue
            if book.retarget(archive, topic, filled, url):
                logger.info("alerts of %s to %s no longer hold its secret", topic, redact(url))


def apprise_notifier(timeout: float = 20.0, environ: Mapping[str, str] | None = None) -> Notifier:
    """Return a notifier that sends through apprise, with its error text on failure.

    Each target's ``$NAME`` is filled from *environ* (the process's environment by default)
    for that one call; the filled URL goes to apprise and nowhere else.
    """
    import apprise

    def notify(target: str, title: str, body: str) -> str | None:
        try:
            url = expand(target, os.environ if environ is None else environ)
        except MissingSecret as error:
            return f"{error} (export it before starting wirewatch)"
        sender = apprise.Apprise()
        if not sender.add(url):
            return f"apprise cannot use the URL {redact(target)}"
        result: Any = sender.notify(body=body, title=title, timeout=timeout)
        if result:
            return None
        problems = _messages(result.logs()) if hasattr(result, "logs") else []
        return "; ".join(problems) or "apprise reported a failure"

    return notify


def _messages(entries: Iterable[Any]) -> list[str]:
    return [
        str(entry.message) for entry in entries if getattr(entry, "level", "") in _PROBLEM_LEVELS
    ]


_PROBLEM_LEVELS = ("WARNING", "ERROR", "CRITICAL", "warning", "error", "critical")


def redact(target: str) -> str:
    """Return an apprise URL with its credentials and path hidden, for logs and status."""
    scheme, sep, rest = target.partition("://")
    if not sep:
        return "<an apprise URL>"
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/…" if "/" in rest or "@" in rest else f"{scheme}://{host}"


def summary(archive: Archive) -> dict[str, Any]:
    """Return counts of alerts by status and the latest failure, for ``wirewatch status``."""
    counts = book.counts(archive)
    failing = counts.last_failure
    return {
        "sent": counts.sent,
        "pending": counts.pending,
        "failed": counts.failed,
        "last_failure": None
        if failing is None
        else {
            "topic": failing.topic,
            "target": redact(failing.target),
            "attempts": failing.attempts,
            "error": failing.error,
        },
    }
