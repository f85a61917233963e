"""The pure parsers: encodings, dates, sitemaps, listings, JSON Feed, hints and bot walls."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from crawler.parsing.botwall import bot_wall
from crawler.parsing.dates import clamp_future, parse_rfc3339
from crawler.parsing.encoding import TooLarge, gunzip, to_utf8_xml, unpack
from crawler.parsing.feeds import parse_feed
from crawler.parsing.hints import freshness, retry_after
from crawler.parsing.jsonfeed import parse_json_feed
from crawler.parsing.listing import parse_listing
from crawler.parsing.model import FeedProblem
from crawler.parsing.sitemaps import parse_sitemap
from monitor.collection.cycle import group_by_host
from monitor.config import Source

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LONG = "Пхеньян и Москва договорились о новых поставках нефти и зерна"
XML = '<?xml version="1.0" encoding="{}"?><rss version="2.0"><channel><item><title>{}</title></item></channel></rss>'


@pytest.mark.parametrize(
    ("body", "header", "title"),
    [
        (XML.format("windows-1251", "Пхеньян").encode("cp1251"), None, "Пхеньян"),
        (XML.format("utf-8", "Пхеньян").encode("cp1251"), "windows-1251", "Пхеньян"),  # lies
        (XML.format("iso-8859-1", "Пхеньян").encode("utf-8"), None, "Пхеньян"),  # lies too
        (XML.format("euc-kr", "평양").encode("euc-kr"), None, "평양"),
        (XML.format("utf-16", "평양").encode("utf-16-le"), None, "평양"),  # no BOM
        (XML.format("utf-16", "평양").encode("utf-16"), None, "평양"),  # with BOM
        (b"\n  " + XML.format("utf-8", "Fine").encode(), None, "Fine"),
        # Detected from the bytes: it takes a sentence or two of text to tell cp1251 apart.
        (XML.format("utf-8", LONG).encode("cp1251"), None, LONG),
    ],
)
def test_feeds_are_decoded_whatever_they_claim(body: bytes, header: str | None, title: str) -> None:
    content_type = f"text/xml; charset={header}" if header else None
    (entry,) = parse_feed(body, url="http://127.0.0.1/f", content_type=content_type).entries
    assert entry.title == title
    assert to_utf8_xml(body, header).body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')


def test_a_gzip_body_is_unpacked_and_a_gzip_bomb_refused() -> None:
    assert gunzip(gzip.compress(b"<rss/>"), 1024) == b"<rss/>"
    with pytest.raises(TooLarge):
        gunzip(gzip.compress(b" " * 10_000), 1024)
    bomb = parse_feed(gzip.compress(b" " * 2_000_000), url="http://127.0.0.1/f", max_bytes=1024)
    assert bomb.problem is not None and bomb.problem.error_class == "too_large"


# mtime=0: the same bytes, and so the same test IDs, in every pytest-xdist worker.
@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b"<rss/>", b"<rss/>"),
        (gzip.compress(b"<rss/>", mtime=0), b"<rss/>"),
        (b"\x1f\x8bnot gzip after all", b"\x1f\x8bnot gzip after all"),
        (b"", FeedProblem("empty", "the server sent an empty document")),
        (gzip.compress(b" \n ", mtime=0), FeedProblem("empty", "the server sent an empty document")),
        (gzip.compress(b" " * 3_000_000, mtime=0),
         FeedProblem("too_large", "the gzipped body expands beyond 2 MiB")),
    ],
)  # fmt: skip
def test_every_parser_starts_from_the_same_unpacked_document(
    body: bytes, found: bytes | FeedProblem
) -> None:
    assert unpack(body, 2 * 1024 * 1024) == found


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
        ("2026-11-27T08:00Z", datetime(2026, 11, 27, 8, tzinfo=UTC)),
        ("2026-11-27T08:00:00+09:00", datetime(2026, 11, 26, 23, tzinfo=UTC)),
        ("2026-11-27T08:00:00", datetime(2026, 11, 27, 8, tzinfo=UTC)),  # no offset: UTC
        ("0001-01-01T00:00:00+14:00", None),  # before year 1 in UTC
        ("9999-12-31T23:00:00-05:00", None),  # after year 9999 in UTC
        ("Fri, 27 Nov 2026 08:00:00 GMT", None),  # RFC 822 is feedparser's to read
        ("", None),
        (None, None),
    ],
)
def test_rfc3339_dates_are_read_in_utc_and_impossible_ones_are_none(
    text: str | None, when: datetime | None
) -> None:
    assert parse_rfc3339(text) == when


def test_future_dates_are_clamped_to_the_time_of_discovery() -> None:
    assert clamp_future(datetime(2027, 1, 1, tzinfo=UTC), NOW) == NOW
    assert clamp_future(datetime(2026, 11, 27, 12, 5, tzinfo=UTC), NOW).minute == 5  # skew
    assert clamp_future(None, NOW) is None


NEWS_SITEMAP = """<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>http://127.0.0.1/a/1</loc><news:news>
    <news:publication><news:name>W</news:name><news:language>ko</news:language></news:publication>
    <news:publication_date>2026-11-27T18:00:00+09:00</news:publication_date>
    <news:title>북러 정상회담</news:title></news:news></url>
  <url><loc>http://127.0.0.1/a/2</loc><lastmod>2026-11-01</lastmod></url>
  <url><loc>http://127.0.0.1/a/3</loc></url>
</urlset>""".encode()


def test_a_news_sitemap_keeps_title_date_and_language_and_drops_old_urls() -> None:
    since = datetime(2026, 11, 25, tzinfo=UTC)
    feed = parse_sitemap(NEWS_SITEMAP, url="http://127.0.0.1/s.xml", since=since, max_bytes=10**6)
    first, second = feed.entries
    assert (first.link, first.title, first.language) == (
        "http://127.0.0.1/a/1",
        "북러 정상회담",
        "ko",
    )
    assert first.published == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert second.link == "http://127.0.0.1/a/3"  # no date: kept, after the dated ones
    assert feed.warning == "1 URLs older than max_age were skipped"


def test_a_sitemap_index_lists_its_recent_children() -> None:
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>http://127.0.0.1/new.xml</loc><lastmod>2026-11-27</lastmod></sitemap>
      <sitemap><loc>http://127.0.0.1/old.xml</loc><lastmod>2019-01-01</lastmod></sitemap>
    </sitemapindex>"""
    feed = parse_sitemap(
        index, url="http://127.0.0.1/i.xml", since=NOW.replace(day=20), max_bytes=10**6
    )
    assert feed.children == ["http://127.0.0.1/new.xml"] and feed.entries == []


def test_a_sitemap_with_entities_is_not_expanded() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url></urlset>'
    feed = parse_sitemap(body, url="http://127.0.0.1/s.xml", since=NOW, max_bytes=10**6)
    assert all("root:" not in (entry.link or "") for entry in feed.entries)


def test_a_listing_page_gives_links_titles_and_the_next_page() -> None:
    html = '<h2><a href="/n/1">One</a></h2><h2><a href="/n/2">Two</a></h2><a class="next" href="?p=2">»</a>'
    feed = parse_listing(html, url="http://127.0.0.1/s/", links="h2 a", next_page="a.next")
    assert [(e.link, e.title) for e in feed.entries] == [
        ("http://127.0.0.1/n/1", "One"),
        ("http://127.0.0.1/n/2", "Two"),
    ]
    assert feed.children == ["http://127.0.0.1/s/?p=2"]
    empty = parse_listing("<p>nothing</p>", url="http://127.0.0.1/s/", links="h2 a")
    assert empty.problem is not None and empty.problem.error_class == "empty"


def test_a_json_feed_is_read_and_other_json_is_not_a_feed() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "url": "http://127.0.0.1/a", "title": "T", "content_html": "<p>Hi <b>there</b></p>", "date_published": "2026-11-27T09:00:00+09:00"}]}'
    (entry,) = parse_json_feed(body, url="http://127.0.0.1/f.json").entries
    assert (entry.title, entry.summary) == ("T", "Hi there")
    assert entry.published == datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    other = parse_feed(b'{"hello": "world"}', url="http://127.0.0.1/x")
    assert other.problem is not None and other.problem.error_class == "not_a_feed"


def test_server_hints_are_read_in_seconds() -> None:
    assert freshness({"cache-control": "public, max-age=300"}, NOW) == 300
    assert freshness({"cache-control": "no-cache, max-age=300"}, NOW) is None
    assert freshness({"expires": "Fri, 27 Nov 2026 13:00:00 GMT"}, NOW) == 3600
    assert retry_after({"retry-after": "120"}, NOW) == 120
    assert retry_after({"retry-after": "Fri, 27 Nov 2026 12:30:00 GMT"}, NOW) == 1800


def test_challenge_pages_are_bot_walls_and_plain_refusals_are_not() -> None:
    assert bot_wall(403, {}, b"<title>Just a moment...</title>") == "Cloudflare"
    assert bot_wall(200, {"cf-mitigated": "challenge"}, b"") == "Cloudflare"
    assert bot_wall(403, {}, b"<h1>Forbidden</h1>") is None
    assert bot_wall(404, {}, b"captcha-delivery.com") is None


def test_sources_are_grouped_by_host_for_the_crawl_processes() -> None:
    def source(name: str, host: str) -> Source:
        return Source(name=name, url=f"http://{host}/feed", kind="feed")

    sources = [source("a1", "a"), source("a2", "a"), source("b", "b"), source("c", "c")]
    groups = group_by_host(sources, 2)
    assert sorted(sorted(s.name for s in group) for group in groups) == [["a1", "a2"], ["b", "c"]]
    assert group_by_host(sources, 8) == [[sources[0], sources[1]], [sources[2]], [sources[3]]]
    assert len(group_by_host(sources, 1)) == 1
