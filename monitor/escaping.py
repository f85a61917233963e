"""Archive text made safe for the documents wirewatch writes: HTML, Markdown and links.

Titles, snippets and links come from feeds and pages anyone can publish, so a document
shows them as text: HTML and Markdown never get markup out of them, and only an http or
https address ever becomes a link (a ``javascript:`` or ``data:`` one is shown as text).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from markupsafe import Markup, escape

from monitor.terminal import printable

WEB_SCHEMES = ("http", "https")


def web_url(url: str | None) -> str | None:
    """Return *url* if it is an http(s) address with a host, else None.

    A URL with a space or a control character is refused too: browsers drop those before
    reading the scheme, so ``java\\tscript:`` would be ``javascript:`` to them.
    """
    if not url or any(char.isspace() or not char.isprintable() for char in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced [ in the host
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.netloc:
        return None
    return url


def html_link(text: str, url: str | None) -> Markup:
    """Return an HTML link to *url* showing *text*, or the text alone if *url* is not a web
    address; both escaped."""
    target = web_url(url)
    shown = printable(text)
    if target is None:
        return escape(shown)
    return Markup('<a href="{}">{}</a>').format(target, shown)


class MarkdownSafe(str):
    """Markdown that is already escaped: the Markdown digest prints it as it is."""

    __slots__ = ()


# Characters that start emphasis, code, links, tables or strikethrough anywhere in a line.
_MARKDOWN_INLINE = {ord(char): "\\" + char for char in "\\`*_[]|~"}
# Raw HTML and entities: written as entities, which every Markdown renderer shows as text
# (and chat tools such as Slack require).
_MARKDOWN_INLINE.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"})
# Characters that make a block (heading, list, quote) at the start of a line.
_MARKDOWN_LINE_START = "#+-="


def markdown_text(text: str) -> MarkdownSafe:
    """Return *text* as Markdown that shows exactly it, on one line: no markup, no HTML, no
    link, no heading or list."""
    line = " ".join(printable(text).split()).translate(_MARKDOWN_INLINE)
    digits = len(line) - len(line.lstrip("0123456789"))
    if line[:1] in _MARKDOWN_LINE_START:
        line = "\\" + line
    elif digits and line[digits : digits + 1] in (".", ")"):  # "1. " starts a list
        line = f"{line[:digits]}\\{line[digits:]}"
    return MarkdownSafe(line)


# In a link's destination these would end it or open another; percent-encoded they mean the
# same address.
_DESTINATION = {ord("("): "%28", ord(")"): "%29", ord("<"): "%3C", ord(">"): "%3E"}


def markdown_link(text: str, url: str | None) -> MarkdownSafe:
    """Return a Markdown link to *url* showing *text*, or the text alone if *url* is not a
    web address."""
    shown = markdown_text(text)
    target = web_url(url)
    if target is None:
        return shown
    return MarkdownSafe(f"[{shown}]({target.translate(_DESTINATION)})")


def html_finalize(value: object) -> object:
    """Make every text an HTML template prints :func:`printable` (autoescape then escapes
    it): a bidi override must not reorder the page around it."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def markdown_finalize(value: object) -> object:
    """Escape every value a Markdown template prints, unless it is :class:`MarkdownSafe`.

    Given to jinja2 as ``finalize``, it makes escaping the default, as autoescape does for
    HTML: a template field cannot forget it.
    """
    if isinstance(value, MarkdownSafe) or not isinstance(value, str):
        return value
    return markdown_text(value)
