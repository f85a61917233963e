"""What identifies a feed entry in the archive (crawler.identity)."""

from __future__ import annotations

from crawler.identity import identify
from crawler.parsing.feeds import parse_feed
from crawler.parsing.model import FeedEntry


def entry(
    link: str | None, guid: str | None = None, title: str = "t", summary: str = ""
) -> FeedEntry:
    return FeedEntry(guid, link, title, summary, None, None)


def test_a_link_of_its_own_identifies_an_entry_without_tracking_tags() -> None:
    (identity,) = identify([entry("http://127.0.0.1/a/1?utm_source=rss", "g1")], source="s")
    assert identity.key == identity.url == "http://127.0.0.1/a/1"
    assert identity.fetch == "http://127.0.0.1/a/1?utm_source=rss"


def test_entries_sharing_one_link_are_told_apart_by_guid_and_not_fetched() -> None:
    # A blog whose posts are anchors of one day's page, or podcast episodes that all link home.
    entries = [
        entry(
            "http://127.0.0.1/2017/06/26.html#a080605", "http://127.0.0.1/2017/06/26.html#a080605"
        ),
        entry(
            "http://127.0.0.1/2017/06/26.html#a030658", "http://127.0.0.1/2017/06/26.html#a030658"
        ),
    ]
    first, second = identify(entries, source="s")
    assert first.key != second.key
    assert first.url == "http://127.0.0.1/2017/06/26.html#a080605"
    assert first.fetch is None and second.fetch is None


def test_entries_without_link_or_guid_are_told_apart_by_their_text() -> None:
    entries = [entry(None, None, "One", "a"), entry(None, None, "Two", "b")]
    first, second = identify(entries, source="s")
    assert first.key != second.key
    assert first.url.startswith("urn:wirewatch:entry:s:")


def test_guid_keys_belong_to_their_source() -> None:
    (here,) = identify([entry(None, "1")], source="here")
    (there,) = identify([entry(None, "1")], source="there")
    assert here.key != there.key


def test_a_permalink_guid_stands_in_for_a_missing_link() -> None:
    (identity,) = identify([entry(None, "http://127.0.0.1/a/9")], source="s")
    assert identity.key == "http://127.0.0.1/a/9"
    assert identity.fetch == "http://127.0.0.1/a/9"


def test_an_item_with_only_a_description_is_kept() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><description>only a description</description></item></channel></rss>"
    )
    (only,) = parse_feed(body, url="http://127.0.0.1/f.xml").entries
    assert only.summary == "only a description"
