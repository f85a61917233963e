"""Collection: crawling the sources once, and the daemon that does it on schedule.

- :mod:`~monitor.collection.children`: the ``python -m crawler`` processes of one run;
- :mod:`~monitor.collection.cycle`: one crawl, recorded, then the steps after it;
- :mod:`~monitor.collection.result`: what a cycle did;
- :mod:`~monitor.collection.triggers`: when each source is polled (APScheduler triggers);
- :mod:`~monitor.collection.dispatch`: which due sources go now, a pure decision;
- :mod:`~monitor.collection.daemon`: ``wirewatch run``.

This package imports nothing of itself here, so importing one part loads only that part.
"""
