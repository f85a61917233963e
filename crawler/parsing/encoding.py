"""Turn the bytes of an XML document into UTF-8 that says so, whatever it was sent as.

Feeds arrive in windows-1251 and EUC-KR, in UTF-16 without a byte-order mark, gzipped with no
Content-Encoding, with a newline before ``<?xml``, and with a declared charset that is not the
real one. feedparser copes with some of that and silently garbles the rest (PITFALLS:
Charset), so wirewatch decodes first and hands feedparser UTF-8 it cannot misread.
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass

import charset_normalizer

from crawler.parsing.model import FeedProblem

_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.I)
_PROLOG = re.compile(r"^\s*<\?xml[^>]*\?>")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
GZIP_MAGIC = b"\x1f\x8b"


class TooLarge(ValueError):
    """Raised by gunzip when a compressed body expands past its limit (a gzip bomb)."""


@dataclass(frozen=True)
class Decoded:
    """A document as UTF-8 bytes, and the encoding it was read in."""

    body: bytes
    encoding: str


def gunzip(body: bytes, limit: int) -> bytes:
    """Return *body* decompressed if it is gzip (sent without Content-Encoding), else as is.

    Raises TooLarge when it would expand beyond *limit* bytes.
    """
    if not body.startswith(GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        return body  # not really gzip after all; let the parser say what it is
    if len(out) > limit or inflater.unconsumed_tail:
        raise TooLarge(f"the gzipped body expands beyond {limit // (1024 * 1024)} MiB")
    return out


def unpack(body: bytes, limit: int) -> bytes | FeedProblem:
    """Return the document a source sent, gunzipped if need be, or why there is none.

    Every parser starts here: a body that expands beyond *limit* bytes is ``too_large``, and
    one with nothing but white space is ``empty``.
    """
    try:
        document = gunzip(body, limit)
    except TooLarge as error:
        return FeedProblem("too_large", str(error))
    if not document.strip():
        return FeedProblem("empty", "the server sent an empty document")
    return document


def to_utf8_xml(body: bytes, header_charset: str | None = None) -> Decoded:
    """Decode an XML document and re-encode it as UTF-8 with a matching declaration."""
    text, encoding = _decode(body, header_charset)
    text = text.lstrip("\ufeff").lstrip()
    declaration = '<?xml version="1.0" encoding="utf-8"?>'
    text = _PROLOG.sub(declaration, text, count=1) if _PROLOG.match(text) else text
    return Decoded(text.encode("utf-8"), encoding)


def _decode(body: bytes, header_charset: str | None) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace"), encoding
    wide = _wide_encoding(body)
    if wide:
        return body.decode(wide, errors="replace"), wide
    declared = _normalise(_declared(body))
    if declared and declared.startswith(("utf-16", "utf-32")):
        declared = None  # the bytes were not wide, so the declaration is wrong
    header = _normalise(header_charset)
    if declared and _single_byte(declared) and _is_utf8(body):
        return body.decode("utf-8"), "utf-8"  # the declaration lies: the bytes are UTF-8
    for candidate in (declared, header, "utf-8"):
        if candidate:
            try:
                return body.decode(candidate), candidate
            except (UnicodeDecodeError, LookupError):
                continue
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, errors="replace"), best.encoding
    return body.decode("utf-8", errors="replace"), "utf-8"


def _wide_encoding(body: bytes) -> str | None:
    """Recognise UTF-16 and UTF-32 without a byte-order mark by how ``<`` is spelt."""
    head = body[:4]
    if head.startswith(b"<\x00\x00\x00"):
        return "utf-32-le"
    if head.startswith(b"\x00\x00\x00<"):
        return "utf-32-be"
    if len(head) >= 2 and head[1] == 0 and head[0] != 0:
        return "utf-16-le"
    if len(head) >= 2 and head[0] == 0 and head[1] != 0:
        return "utf-16-be"
    return None


def _declared(body: bytes) -> str | None:
    match = _DECLARATION.match(body[:1024])
    return match.group(1).decode("ascii") if match else None


def _normalise(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _single_byte(encoding: str) -> bool:
    return encoding.startswith(("cp125", "iso8859", "latin", "koi8", "mac-", "ascii", "cp8"))


def _is_utf8(body: bytes) -> bool:
    """Return True when *body* is valid UTF-8 and has characters beyond ASCII."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not body.isascii()
