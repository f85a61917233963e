"""Feed parsing is pure: bytes in, entries or a named problem out."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from crawler.parsing.feeds import parse_feed

from .conftest import rss

URL = "http://127.0.0.1/feed.xml"


def test_rss_entries_keep_title_link_guid_summary_and_utc_time() -> None:
    body = rss(
        [
            {
                "title": "Lavrov arrives",
                "link": "http://127.0.0.1/a/1",
                "guid": "urn:story:1",
                "description": "&lt;p&gt;The minister &lt;b&gt;landed&lt;/b&gt;.&lt;/p&gt;",
                "pubDate": "Sat, 12 Jul 2025 10:30:00 +0900",
            }
        ]
    ).encode()
    feed = parse_feed(body, url=URL)
    assert feed.problem is None
    (entry,) = feed.entries
    assert (entry.title, entry.link, entry.guid) == (
        "Lavrov arrives",
        "http://127.0.0.1/a/1",
        "urn:story:1",
    )
    assert entry.summary == "The minister landed."
    assert entry.published == datetime(2025, 7, 12, 1, 30, tzinfo=UTC)
    assert entry.published_raw == "Sat, 12 Jul 2025 10:30:00 +0900"


def test_scripts_and_styles_in_an_entry_leave_no_text_and_its_markup_none() -> None:
    description = (
        "&lt;style&gt;p { color: red }&lt;/style&gt;&lt;p&gt;Talks in "
        "&lt;a href='/wonsan'&gt;Wonsan&lt;/a&gt;&lt;script&gt;steal(document.cookie)"
        "&lt;/script&gt; &lt;applet code='x'&gt;applet text&lt;/applet&gt;ended.&lt;/p&gt;"
    )
    body = rss([{"title": "Talks &lt;i&gt;end&lt;/i&gt;", "link": "/a/1", "guid": "g1",
                 "description": description}]).encode()  # fmt: skip
    (entry,) = parse_feed(body, url=URL).entries
    assert entry.summary == "Talks in Wonsan ended."
    assert entry.title == "Talks end"
    assert entry.link == "http://127.0.0.1/a/1"


def test_atom_entries_are_read() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
    <entry><title>One</title><id>tag:x,2025:1</id><link href="/a/1"/>
    <updated>2025-07-12T01:30:00Z</updated><summary>s</summary></entry></feed>"""
    (entry,) = parse_feed(body, url=URL).entries
    assert entry.link == "http://127.0.0.1/a/1"  # relative links resolve against the feed
    assert entry.published == datetime(2025, 7, 12, 1, 30, tzinfo=UTC)


def test_an_html_page_is_not_a_feed() -> None:
    feed = parse_feed(b"<!DOCTYPE html><html><body>Sorry</body></html>", url=URL)
    assert feed.entries == []
    assert feed.problem is not None and feed.problem.error_class == "not_a_feed"


def test_text_that_is_not_xml_is_not_a_feed() -> None:
    feed = parse_feed(b"just some words", url=URL)
    assert feed.problem is not None and feed.problem.error_class == "not_a_feed"


def test_malformed_xml_with_no_entries_is_a_malformed_feed() -> None:
    feed = parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</ti', url=URL)
    assert feed.problem is not None and feed.problem.error_class == "malformed"


def test_a_truncated_feed_still_gives_its_complete_entries() -> None:
    body = rss([{"title": "Kept", "link": "http://127.0.0.1/1"}]).encode()
    truncated = body[: body.index(b"</channel>")] + b"<item><title>cut"
    feed = parse_feed(truncated, url=URL)
    assert feed.problem is None
    assert "Kept" in [entry.title for entry in feed.entries]
    assert feed.warning  # the defect is kept as a warning


def test_a_newline_before_the_xml_declaration_is_tolerated() -> None:
    body = b"\n" + rss([{"title": "Fine", "link": "http://127.0.0.1/1"}]).encode()
    assert [entry.title for entry in parse_feed(body, url=URL).entries] == ["Fine"]


def test_an_entity_expansion_attack_is_refused_quickly() -> None:
    lol = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "x" * 100}">' for i in range(8))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{lol}]>'
        "<rss><channel><title>&e7;</title></channel></rss>"
    )
    started = time.perf_counter()
    feed = parse_feed(body.encode(), url=URL)
    assert time.perf_counter() - started < 1
    assert feed.entries == []


def test_entities_declared_outside_a_doctype_are_refused() -> None:
    body = b'<?xml version="1.0"?><!ENTITY x "y"><rss><channel><title>&x;</title></channel></rss>'
    feed = parse_feed(body, url=URL)
    assert feed.problem is not None and feed.problem.error_class == "malformed"


def test_a_wrong_http_charset_does_not_garble_the_text() -> None:
    body = rss([{"title": "Пхеньян и Москва", "link": "http://127.0.0.1/1"}]).encode("utf-8")
    feed = parse_feed(body, url=URL, content_type="application/rss+xml; charset=windows-1251")
    assert feed.entries[0].title == "Пхеньян и Москва"
