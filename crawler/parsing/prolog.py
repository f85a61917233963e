"""Read the start of a markup document in one forward pass: its DOCTYPE and leading comments.

A regex with a lazy ``.*?`` that is retried at each candidate start rescans the rest of the
body every time: 102 s for 480 KB of ``<!DOCTYPE a[`` (issue 10), and a repeated
``(?:<!--.*?-->)*`` backtracks exponentially. Every function here moves one position forward
through the bytes with ``find`` and anchored matches, so its time is linear in the input.
"""

from __future__ import annotations

import re

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
# What ends or opens something inside a DOCTYPE: a quoted literal, a comment or processing
# instruction (which may hold a lone quote), the subset.
_IN_DECLARATION = re.compile(rb"[\"'\[>]")
_IN_SUBSET = re.compile(rb"[\"'\]]|<!--|<\?")
# What closes each unit that is crossed whole, and what to call it when nothing does.
_UNITS = {
    b'"': (b'"', "a quoted literal"),
    b"'": (b"'", "a quoted literal"),
    b"<!--": (b"-->", "a comment"),
    b"<?": (b"?>", "a processing instruction"),
}
_CLOSE_DOCTYPE = re.compile(rb"\s*>")
_XML_DECLARATION = re.compile(rb"<\?xml[^>]*>")
_SPACE = re.compile(rb"\s*")
_HTML_ROOT = re.compile(rb"<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)


class UnclosedDoctype(ValueError):
    """Raised by without_internal_subset when a DOCTYPE's internal subset never ends."""


def without_internal_subset(document: bytes) -> bytes:
    """Return *document* without its first DOCTYPE when that DOCTYPE has an internal subset.

    The internal subset (``<!DOCTYPE x [ ... ]>``) is where entity declarations live, so it
    is removed whole; a DOCTYPE without one is left as it is. Quoted literals and comments
    may hold ``]`` or ``>`` and are skipped as units. Raises UnclosedDoctype when the subset,
    a literal or a comment in it runs to the end of the document.
    """
    found = _DOCTYPE.search(document)
    if found is None:
        return document
    position = _skip(document, found.end(), _IN_DECLARATION)
    if document[position : position + 1] == b">":
        return document  # no internal subset
    position += 1  # past "["
    while True:
        position = _skip(document, position, _IN_SUBSET)
        closing = _CLOSE_DOCTYPE.match(document, position + 1)
        if closing is not None:
            return document[: found.start()] + document[closing.end() :]
        position += 1  # a "]" inside the subset that does not end it (e.g. "]]>" of a CDATA)


def _skip(document: bytes, position: int, stops: re.Pattern[bytes]) -> int:
    """Return the position of the next of *stops* from *position* that is not a unit's
    opening; a quoted literal, comment or processing instruction is stepped over whole."""
    while True:
        found = stops.search(document, position)
        if found is None:
            raise UnclosedDoctype("the DOCTYPE never ends")
        token = found.group()
        if token not in _UNITS:
            return found.start()
        closer, what = _UNITS[token]
        end = document.find(closer, found.end())
        if end < 0:
            raise UnclosedDoctype(f"{what} in the DOCTYPE is never closed")
        position = end + len(closer)


def starts_like_html(head: bytes) -> bool:
    """Return True when *head* opens as an HTML page: an optional XML declaration, comments
    and whitespace, then ``<!DOCTYPE html``, ``<html``, ``<head`` or ``<body``."""
    position = _after_space(head, 0)
    declaration = _XML_DECLARATION.match(head, position)
    if declaration is not None:
        position = _after_space(head, declaration.end())
    while head.startswith(b"<!--", position):
        end = head.find(b"-->", position + 4)
        if end < 0:
            return False
        position = _after_space(head, end + 3)
    return _HTML_ROOT.match(head, position) is not None


def _after_space(data: bytes, position: int) -> int:
    space = _SPACE.match(data, position)
    return space.end() if space else position
