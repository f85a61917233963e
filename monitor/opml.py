"""Read the feeds of an OPML file, and write sources as OPML 2.0: what feed readers exchange.

An OPML file comes from elsewhere, so it is read as hostile XML: with defusedxml, which
refuses any DOCTYPE (where entity expansion and external entities live), and only up to
MAX_BYTES. What is written is built as an element tree, so every name and URL is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

MAX_BYTES = 8 * 1024 * 1024  # a reader's export of thousands of feeds is a few MiB


class OpmlError(ValueError):
    """Raised by :func:`read_opml` for a file that is no OPML it will read: says why."""


@dataclass(frozen=True)
class OpmlFeed:
    """One feed an OPML file lists: its title and its URL (``xmlUrl``)."""

    title: str
    url: str


def read_opml(data: bytes) -> list[OpmlFeed]:
    """Return every outline with an ``xmlUrl``, however deep in folders, in document order,
    each URL once; raise OpmlError for a file that is too large, hostile or not OPML."""
    if len(data) > MAX_BYTES:
        raise OpmlError(f"larger than {MAX_BYTES // 2**20} MiB; an OPML file is far smaller")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise OpmlError(
            "it declares a DOCTYPE or entities, which OPML never needs and which can make a "
            "reader expand or fetch data: refused (export the file again from its reader)"
        ) from None
    except ElementTree.ParseError as error:
        raise OpmlError(f"not readable XML ({error})") from None
    if _local(root.tag) != "opml":
        raise OpmlError(f"not an OPML file (the root is <{_local(root.tag)}>, not <opml>)")
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    for outline in root.iter():
        if _local(outline.tag) != "outline":
            continue
        attributes = {key.lower(): value for key, value in outline.attrib.items()}
        url = " ".join(attributes.get("xmlurl", "").split())
        if url and url not in seen:
            seen.add(url)
            title = attributes.get("title") or attributes.get("text") or ""
            feeds.append(OpmlFeed(" ".join(title.split()), url))
    return feeds


def write_opml(feeds: list[OpmlFeed], *, title: str, created: datetime) -> str:
    """Return an OPML 2.0 document listing *feeds* as RSS outlines."""
    opml = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(opml, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    body = ElementTree.SubElement(opml, "body")
    for feed in feeds:
        ElementTree.SubElement(
            body, "outline", type="rss", text=feed.title, title=feed.title, xmlUrl=feed.url
        )
    ElementTree.indent(opml)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + ElementTree.tostring(opml, encoding="unicode")
        + "\n"
    )


def _local(tag: object) -> str:
    """Return an element's name without its namespace (a comment's tag is no string)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
