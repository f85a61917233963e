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
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.archive import Archive
from monitor.timeutil import to_text

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


def queue_new(archive: Archive, targets: dict[str, list[str]], now: datetime) -> int:
    """Queue one alert per recently flagged story and target without one; return how many."""
    since = to_text(now - RECENT)
    created = to_text(now)
    queued = 0
    for topic, urls in targets.items():
        stories = archive.db.execute(
            """
            SELECT a.cluster_id, min(a.id) FROM flags f JOIN articles a ON a.id = f.article_id
            WHERE f.topic = ? AND f.created >= ? AND a.cluster_id IS NOT NULL
            GROUP BY a.cluster_id
            """,
            [topic, since],
        ).fetchall()
        if not stories:
            continue
        with archive.writing() as db:
            for url in urls:
                before = db.conn.total_changes
                db.conn.executemany(
                    "INSERT OR IGNORE INTO alerts (topic, cluster_id, article_id, target, "
                    "status, attempts, created) VALUES (?, ?, ?, ?, 'pending', 0, ?)",
                    [(topic, cluster, article, url, created) for cluster, article in stories],
                )
                queued += db.conn.total_changes - before
    return queued


def send_pending(
    archive: Archive, targets: dict[str, list[str]], now: datetime, notify: Notifier
) -> tuple[int, int]:
    """Send every alert not yet delivered to a configured target; return (sent, failed)."""
    sent = failed = 0
    rows = archive.db.execute(
        """
        SELECT al.id, al.topic, al.target, al.article_id, a.title, a.url, a.source,
               coalesce(a.published, a.fetched), f.snippet, f.score,
               (SELECT count(DISTINCT o.source) FROM articles o WHERE o.cluster_id = al.cluster_id)
        FROM alerts al JOIN articles a ON a.id = al.article_id
        LEFT JOIN flags f ON f.article_id = al.article_id AND f.topic = al.topic
        WHERE al.status != 'sent' ORDER BY al.id
        """
    ).fetchall()
    for row in rows:
        alert_id, topic, target = row[0], row[1], row[2]
        if target not in targets.get(topic, ()):
            continue  # the target was removed from the config: keep the row, send nothing
        title, body = message(topic, *row[3:])
        error = notify(target, title, body)
        with archive.writing() as db:
            if error is None:
                db.execute(
                    "UPDATE alerts SET status = 'sent', attempts = attempts + 1, sent = ?, "
                    "last_error = NULL WHERE id = ?",
                    [to_text(now), alert_id],
                )
                sent += 1
            else:
                db.execute(
                    "UPDATE alerts SET status = 'failed', attempts = attempts + 1, "
                    "last_error = ? WHERE id = ?",
                    [error, alert_id],
                )
                failed += 1
                logger.warning(
                    "alert %s for %s could not be sent to %s: %s; it is tried again after "
                    "the next crawl",
                    alert_id,
                    topic,
                    redact(target),
                    error,
                )
    return sent, failed


def message(
    topic: str,
    article_id: int,
    title: str | None,
    url: str,
    source: str,
    date: str,
    snippet: str | None,
    score: float | None,
    outlets: int,
) -> tuple[str, str]:
    """Return the title and body of the alert for one flagged story."""
    head = f"[{topic}] {title or url}"
    text = (snippet or "").strip()
    if len(text) > SNIPPET:
        text = text[: SNIPPET - 1].rstrip() + "…"
    carried = f"{outlets} outlets" if outlets > 1 else "1 outlet"
    lines = [
        f"{source}, {date[:16].replace('T', ' ')} UTC ({carried}, score {score or 0:g})",
        text,
        url,
        f"wirewatch show {article_id}",
    ]
    return head, "\n".join(line for line in lines if line)


def dispatch(
    archive: Archive, targets: dict[str, list[str]], now: datetime, notify: Notifier | None = None
) -> Delivery:
    """Queue the new stories' alerts and send every one not yet delivered."""
    if not targets:
        return Delivery(0, 0, 0)
    queued = queue_new(archive, targets, now)
    sent, failed = send_pending(archive, targets, now, notify or apprise_notifier())
    return Delivery(queued, sent, failed)


def apprise_notifier(timeout: float = 20.0) -> Notifier:
    """Return a notifier that sends through apprise, with its error text on failure."""
    import apprise

    def notify(target: str, title: str, body: str) -> str | None:
        sender = apprise.Apprise()
        if not sender.add(target):
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
    counts = dict(
        archive.db.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall()
    )
    failing = archive.db.execute(
        "SELECT topic, target, attempts, last_error FROM alerts WHERE status = 'failed' "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return {
        "sent": counts.get("sent", 0),
        "pending": counts.get("pending", 0),
        "failed": counts.get("failed", 0),
        "last_failure": None
        if failing is None
        else {
            "topic": failing[0],
            "target": redact(failing[1]),
            "attempts": failing[2],
            "error": failing[3],
        },
    }
