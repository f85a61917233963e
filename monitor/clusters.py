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
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy

from monitor.archive import Archive
from monitor.archive import clusters as book
from monitor.archive.clusters import BandKey
from monitor.archive.texts import texts_of, unclustered

if TYPE_CHECKING:
    import numpy.typing

    # The sorted, distinct hashes of a text's shingles (see _fingerprint).
    Fingerprint = numpy.typing.NDArray[numpy.int64]

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
# Fingerprints kept within a round of clustering: 8 bytes a word (16 KB for a 2,000-word text).
FINGERPRINTS = 4096
_WORD = re.compile(r"\w+")


def shingles(text: str) -> set[str]:
    """Return the word 5-shingles of a text, case-folded (all of it when it is shorter)."""
    return {" ".join(gram) for gram in _grams(_WORD.findall(text.casefold()))}


def _grams(words: list[str]) -> set[tuple[str, ...]]:
    """Return the word 5-grams of *words* as tuples: cheaper to build than joined strings."""
    if len(words) < SHINGLE:
        return {tuple(words)} if words else set()
    return set(zip(*(words[start:] for start in range(SHINGLE)), strict=False))


def fingerprint(text: str) -> Fingerprint:
    """Return a text's 5-grams as this process's hashes of them, sorted and distinct.

    Python's hash of a str differs between processes, so these never leave the process
    (the stored bands use band_keys' stable hashes); 8 bytes a shingle to keep.
    """
    return _hashed(_grams(_WORD.findall(text.casefold())))


def _hashed(grams: set[tuple[str, ...]]) -> Fingerprint:
    return numpy.unique(numpy.fromiter(map(hash, grams), dtype=numpy.int64, count=len(grams)))


def containment(a: Fingerprint, b: Fingerprint) -> float:
    """Return how much of the smaller text's shingles lie inside the larger one's."""
    if not a.size or not b.size:
        return 0.0
    return numpy.intersect1d(a, b, assume_unique=True).size / min(a.size, b.size)


def band_keys(found: set[str]) -> list[BandKey]:
    """Return the (band, hash) pairs of a shingle set's MinHash signature."""
    from datasketch import MinHash  # slow to import: only where clustering runs

    permutations, scheme = _permutations()
    signature = MinHash(num_perm=NUM_PERM, seed=1, permutations=permutations, scheme=scheme)
    signature.update_batch([shingle.encode("utf-8") for shingle in found])
    values = signature.hashvalues
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        keys.append((band, int.from_bytes(digest, "big", signed=True)))
    return keys


@cache
def _permutations() -> tuple[Any, str]:
    """The permutations of MinHash(NUM_PERM, seed=1), drawn once: drawing them took 1 ms."""
    from datasketch import MinHash

    template = MinHash(num_perm=NUM_PERM, seed=1)
    return template.permutations, template.scheme


def clusterable(grams: set[tuple[str, ...]]) -> bool:
    """Return True when a text is long enough to be told apart from boilerplate."""
    return len(grams) >= MIN_SHINGLES


def cluster_new(archive: Archive, now: datetime) -> int:
    """Give every article without a cluster one: the story of its earliest copy, or its own.

    Returns how many articles were clustered. Each article's bands are stored, and bands
    of articles older than WINDOW are dropped.
    """
    pending = unclustered(archive)
    seen = _Fingerprints(FINGERPRINTS)
    for start in range(0, len(pending), BATCH):
        # One transaction per batch, not per article: the write lock is held for a batch
        # at a time, so a crawl writing meanwhile waits well within its busy timeout.
        with archive.writing():
            for article_id, title, body in pending[start : start + BATCH]:
                text = f"{title}\n{body}"
                grams = _grams(_WORD.findall(text.casefold()))
                # A text of a dozen words (a teaser, a paywall notice) is its own story.
                keys = band_keys({" ".join(g) for g in grams}) if clusterable(grams) else []
                found = _hashed(grams)
                cluster = _match(archive, article_id, found, keys, seen) or article_id
                book.assign(archive, article_id, cluster, keys)
                if keys:
                    seen.put(article_id, found)  # a later copy in this round finds it here
    book.drop_bands_before(archive, now - WINDOW)
    return len(pending)


class _Fingerprints:
    """The fingerprints of the candidates read in one round of clustering, the most recent
    *size* of them: wire copies of a story arrive together, so each finds the same few."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.kept: OrderedDict[int, Fingerprint] = OrderedDict()

    def get(self, article_id: int) -> Fingerprint | None:
        found = self.kept.get(article_id)
        if found is not None:
            self.kept.move_to_end(article_id)
        return found

    def put(self, article_id: int, found: Fingerprint) -> None:
        self.kept[article_id] = found
        self.kept.move_to_end(article_id)
        while len(self.kept) > self.size:
            self.kept.popitem(last=False)


def _match(
    archive: Archive,
    article_id: int,
    found: Fingerprint,
    keys: Sequence[BandKey],
    seen: _Fingerprints,
) -> int | None:
    best: tuple[float, int] | None = None
    candidates = book.candidates(archive, article_id, keys, MAX_CANDIDATES)
    fingerprints = {candidate.id: seen.get(candidate.id) for candidate in candidates}
    missing = [number for number, known in fingerprints.items() if known is None]
    for text in texts_of(archive, missing):
        read = fingerprint(f"{text.title}\n{text.body}")
        fingerprints[text.id] = read
        seen.put(text.id, read)
    for candidate in candidates:
        known = fingerprints[candidate.id]
        score = containment(found, known) if known is not None else 0.0
        cluster = candidate.cluster_id
        if score >= CONTAINMENT and (best is None or (score, -cluster) > (best[0], -best[1])):
            best = (score, cluster)
    return best[1] if best else None
