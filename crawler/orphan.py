"""Stop a crawl child whose parent has died.

The parent (``wirewatch crawl`` or ``wirewatch run``) bounds each crawl with a hard timeout
and records its run. A child runs in a session of its own, so when the parent is killed
outright (SIGKILL, the OOM killer) nothing signals the child: it would go on unbounded and
unrecorded, and could overlap the next crawl. A watcher thread notices that the child was
re-parented, asks Scrapy to stop as SIGTERM would, and ends the process if that takes too
long. The next crawl settles the run as interrupted and collects what was missed.
"""

from __future__ import annotations

import os
import signal
import threading
import time

CHECK_EVERY = 0.5  # seconds between looks at the parent
STOP_GRACE = 5.0  # seconds Scrapy gets to close before the process ends regardless
ORPHANED = 3  # exit status of a child that stopped because its parent died


def stop_when_orphaned(parent: int | None = None) -> threading.Thread:
    """Watch the parent process (default: the current one) from a daemon thread."""
    watched = os.getppid() if parent is None else parent
    thread = threading.Thread(target=_watch, args=(watched,), name="orphan-watch", daemon=True)
    thread.start()
    return thread


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(CHECK_EVERY)
    os.kill(os.getpid(), signal.SIGTERM)  # Scrapy's graceful stop, in the main thread
    time.sleep(STOP_GRACE)
    os._exit(ORPHANED)
