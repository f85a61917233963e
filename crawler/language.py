"""Identify an article's language from its text (py3langid), and weigh it against what the
source or the page declares."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from array import array
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

logger = logging.getLogger(__name__)

# Below these, the text says too little and the declared language is kept.
MIN_CHARS = 60
MIN_CONFIDENCE = 0.6


def preload() -> None:
    """Load the model now (crawler.forkserver), so that each fork finds it loaded."""
    _identifier()


@cache
def _identifier() -> Any:
    """Return py3langid's identifier, loaded once per crawl process.

    The model ships LZMA-compressed, and unpacking it took 0.6-0.9 s of every crawl child's
    start. The unpacked arrays are kept in the user's cache folder (about 70 MB), which
    loads in about 0.2 s; where that folder cannot be written, the model is unpacked as
    before.
    """
    cached = _cache_file()
    if cached is not None:
        try:
            return _load(cached)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError) as error:  # damaged or foreign: build anew
            logger.info("language model cache %s is not usable (%s); rebuilding it", cached, error)
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if cached is not None:
        _save(identifier, cached)
    return identifier


def _cache_file() -> Path | None:
    """Return where the unpacked form of the installed model is kept, or None.

    The name carries the packed model's SHA-256 (about 3 ms to compute), so installations of
    the same model share one file and a new model gets its own.
    """
    try:
        digest = hashlib.sha256((MODEL_DIR / MODEL_FILE).read_bytes()).hexdigest()[:16]
        home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except (OSError, RuntimeError):  # no model file to key on, or no home to cache in
        return None
    return Path(home) / "wirewatch" / f"langid-{version('py3langid')}-{digest}.npz"


def _save(identifier: Any, path: Path) -> None:
    """Write the identifier's arrays to *path*, whole or not at all (other crawl children
    may be writing the same file at the same moment)."""
    arrays = {
        "ptc": identifier.nb_ptc,
        "pc": identifier.nb_pc,
        "classes": np.array(identifier.nb_classes),
        "nextmove": np.frombuffer(identifier.tk_nextmove, dtype=_dtype(identifier.tk_nextmove)),
        "row": np.frombuffer(identifier.tk_row, dtype=_dtype(identifier.tk_row)),
        "output": np.asarray(identifier.tk_output, dtype=np.int64),
    }
    part: Path | None = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, suffix=".part")
        part = Path(name)
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
        part.replace(path)
    except OSError as error:  # a read-only or full home: the next process unpacks again
        logger.info("language model not cached in %s: %s", path.parent, error)
        if part is not None:
            part.unlink(missing_ok=True)


def _load(path: Path) -> Any:
    """Return an identifier built from the arrays at *path*, checked for consistency.

    No pickled object is read (``allow_pickle=False``), and the arrays must fit together,
    so a file changed by something else is refused rather than trusted.
    """
    with np.load(path, allow_pickle=False) as data:
        ptc, pc, classes = data["ptc"], data["pc"], data["classes"].tolist()
        nextmove, row, output = data["nextmove"], data["row"], data["output"]
    states = len(row)
    if (
        ptc.ndim != 2
        or not ptc.shape[1] == len(pc) == len(classes)
        or len(output) != states
        or nextmove.size % 256
        or (states and int(row.max()) >= nextmove.size // 256)
        or (nextmove.size and int(nextmove.max()) >= states)
        or (output.size and not -1 <= int(output.min()) <= int(output.max()) < len(ptc))
    ):
        raise ValueError("its arrays do not fit together")
    return LanguageIdentifier(
        ptc,
        pc,
        [str(name) for name in classes],
        _array(nextmove),
        output.tolist(),
        norm_probs=True,
        tk_row=_array(row),
    )


def _dtype(values: array[int]) -> np.dtype[Any]:
    return np.dtype(f"u{values.itemsize}")


def _array(values: np.ndarray[Any, Any]) -> array[int]:
    typecode = {2: "H", 4: "I", 8: "L"}[values.dtype.itemsize]
    out = array(typecode)
    out.frombytes(np.ascontiguousarray(values).data.cast("B"))  # a view: no copy on the way
    return out


def identify(text: str) -> tuple[str | None, float]:
    """Return the most likely language of *text* and its probability."""
    # The first few hundred characters tell a language as well as the whole text does.
    sample = " ".join(text[:1600].split())[:800]
    if len(sample) < MIN_CHARS:
        return None, 0.0
    language, probability = _identifier().classify(sample)
    return str(language), float(probability)


def choose(text: str, *declared: str | None) -> str | None:
    """Return the language of an article: identified from its text when that is clear,
    else the first language declared (by the source's config, then by the page)."""
    detected, probability = identify(text)
    if detected and probability >= MIN_CONFIDENCE:
        return detected
    return next((language for language in declared if language), detected)
