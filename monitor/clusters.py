"""Story clusters: the same wire story carried by many outlets is one story.

Copies are mostly containment, not similarity: a truncated lead, or the whole text with a
byline and boilerplate added. So candidates come from MinHash (datasketch) over word
5-shingles with LSH bands tuned low (Jaccard 0.3), and a candidate joins a story only when
the smaller text's shingles are at least CONTAINMENT inside the larger one's. Two distinct
stories that share a quote share too few shingles to pass.

Clustering runs in the parent process after each crawl (datasketch takes most of a second
to import; a crawl process should not pay that), over the articles without a cluster yet.
The LSH bands are kept in the archive (table ``lsh``) for WINDOW days.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.archive import Archive
from monitor.archive import clusters as book
from monitor.archive.clusters import BandKey
from monitor.archive.texts import unclustered

SHINGLE = 5
NUM_PERM = 128
# Bands and rows of the LSH index: what datasketch's MinHashLSH(threshold=0.3,
# num_perm=128) chooses (tests check it), written down so its import is needed only here.
BANDS, ROWS = 37, 3
CONTAINMENT = 0.7
WINDOW = timedelta(days=14)  # copies of a story appear within days, not months
MAX_CANDIDATES = 50
MIN_SHINGLES = 10  # about 14 words
BATCH = 100  # articles clustered per write transaction
_WORD = re.compile(r"\w+")


def shingles(text: str) -> set[str]:
    """Return the word 5-shingles of a text, case-folded (all of it when it is shorter)."""
    words = _WORD.findall(text.casefold())
    if len(words) < SHINGLE:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def containment(a: set[str], b: set[str]) -> float:
    """Return how much of the smaller shingle set lies inside the larger one."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def band_keys(found: set[str]) -> list[BandKey]:
    """Return the (band, hash) pairs of a shingle set's MinHash signature."""
    from datasketch import MinHash  # slow to import: only where clustering runs

    signature = MinHash(num_perm=NUM_PERM, seed=1)
    signature.update_batch([shingle.encode("utf-8") for shingle in found])
    values = signature.hashvalues
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        keys.append((band, int.from_bytes(digest, "big", signed=True)))
    return keys


def clusterable(found: set[str]) -> bool:
    """Return True when a text is long enough to be told apart from boilerplate."""
    return len(found) >= MIN_SHINGLES


def cluster_new(archive: Archive, now: datetime) -> int:
    """Give every article without a cluster one: the story of its earliest copy, or its own.

    Returns how many articles were clustered. Each article's bands are stored, and bands
    of articles older than WINDOW are dropped.
    """
    pending = unclustered(archive)
    for start in range(0, len(pending), BATCH):
        # One transaction per batch, not per article: the write lock is held for a batch
        # at a time, so a crawl writing meanwhile waits well within its busy timeout.
        with archive.writing():
            for article_id, title, body in pending[start : start + BATCH]:
                found = shingles(f"{title}\n{body}")
                # A text of a dozen words (a teaser, a paywall notice) is its own story.
                keys = band_keys(found) if clusterable(found) else []
                cluster = _match(archive, article_id, found, keys) or article_id
                book.assign(archive, article_id, cluster, keys)
    book.drop_bands_before(archive, now - WINDOW)
    return len(pending)


def _match(
    archive: Archive, article_id: int, found: set[str], keys: Sequence[BandKey]
) -> int | None:
    best: tuple[float, int] | None = None
    for candidate in book.candidates(archive, article_id, keys, MAX_CANDIDATES):
        score = containment(found, shingles(f"{candidate.title}\n{candidate.body}"))
        cluster = candidate.cluster_id
        if score >= CONTAINMENT and (best is None or (score, -cluster) > (best[0], -best[1])):
            best = (score, cluster)
    return best[1] if best else None
