"""The progress events a crawl child writes on its stdout, one JSON object per line.

``{"event": "feed", "source": S, "entries": N, "new": K}`` once a source's feed is read;
``{"event": "source_error", "source": S, "error_class": C, "error": M}`` when a source fails;
``{"event": "article", "source": S, "id": I, "flagged": [topics]}`` for each archived article;
``{"event": "links_skipped", "source": S, "warning": W, KIND: N, ...}`` as a crawl ends, for
each source some of whose links it did not fetch (crawler.urlpolicy names the kinds);
``{"event": "fatal", "error": M}`` when the crawl cannot run at all;
``{"event": "finished", "peak_rss_mb": F}`` as a crawl child ends, with its peak memory.
The archive, not these events, is the record of a run: they drive progress displays, and
the peak memory in a crawl's report.
"""

from __future__ import annotations

import json
from typing import Any, TextIO


def emit(stream: TextIO, event: str, **fields: Any) -> None:
    """Write one event line and flush it, so the parent sees it at once."""
    stream.write(json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")
    stream.flush()


def read(line: str) -> dict[str, Any] | None:
    """Return the event on a line, or None for a line that is not an event."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "event" in event else None
