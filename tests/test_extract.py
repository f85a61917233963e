"""Article extraction and the assembly of an archived article from entry and page."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.extract import Page, build_article, extract_page
from crawler.identity import Identity
from crawler.parsing.model import FeedEntry

from .conftest import article_page

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ENTRY = FeedEntry(
    guid="urn:1",
    link="http://127.0.0.1/a/1?utm_source=rss",
    title="Shoigu in Pyongyang",
    summary="Russia's security chief visited.",
    published=datetime(2025, 6, 4, 3, 0, tzinfo=UTC),
    published_raw="Wed, 04 Jun 2025 12:00:00 +0900",
)
IDENTITY = Identity("http://127.0.0.1/a/1", "http://127.0.0.1/a/1", "http://127.0.0.1/a/1")
PARAGRAPHS = [
    "Sergei Shoigu, secretary of Russia's Security Council, arrived in Pyongyang on Wednesday.",
    "He was received by Kim Jong Un, state media in both countries reported on Thursday.",
]


def test_the_article_text_is_kept_and_reader_comments_are_not() -> None:
    html = article_page(
        "Shoigu in Pyongyang",
        PARAGRAPHS,
        comments=["Reader: this is all about football, really."],
        canonical="http://127.0.0.1/a/1",
    )
    page = extract_page(html, url="http://127.0.0.1/a/1?utm_source=rss", raw=html.encode())
    assert page.error is None and page.text is not None
    assert "arrived in Pyongyang" in page.text
    assert "football" not in page.text
    assert not page.text.startswith("Shoigu in Pyongyang")  # the headline is not body text
    assert page.canonical == "http://127.0.0.1/a/1"
    assert page.language == "en"


def test_a_page_without_article_text_says_so() -> None:
    page = extract_page("<html><body></body></html>", url="http://127.0.0.1/empty")
    assert page.text is None
    assert page.error == "no article text found on the page"


def test_an_article_combines_entry_and_page() -> None:
    page = Page("Body text.", canonical="http://127.0.0.1/a/1", language="en")
    article = build_article(
        ENTRY,
        IDENTITY,
        page,
        source="wire",
        language=None,
        fetched=NOW,
        response_url="http://127.0.0.1/a/1?utm_source=rss",
    )
    assert article.url == "http://127.0.0.1/a/1"
    assert article.body == "Body text."
    assert article.published == "2025-06-04T03:00:00Z"
    assert article.fetched == "2026-11-27T12:00:00Z"
    assert article.language == "en"
    assert article.extract_error is None


def test_without_page_text_the_summary_stands_in_with_the_reason() -> None:
    page = Page(None, "no article text found on the page")
    article = build_article(
        ENTRY,
        IDENTITY,
        page,
        source="wire",
        language="en",
        fetched=NOW,
        response_url="http://127.0.0.1/a/1",
    )
    assert article.body == "Russia's security chief visited."
    assert article.extract_error == "no article text found on the page"


def test_the_page_date_is_used_when_the_feed_has_none() -> None:
    entry = FeedEntry("urn:2", "http://127.0.0.1/a/2", "t", "s", None, None)
    page = Page("Body.", published=datetime(2025, 6, 4, 3, 0, tzinfo=UTC))
    article = build_article(
        entry,
        IDENTITY,
        page,
        source="wire",
        language=None,
        fetched=NOW,
        response_url="http://127.0.0.1/a/2",
    )
    assert article.published == "2025-06-04T03:00:00Z"


def test_a_headline_with_the_site_name_appended_is_still_dropped() -> None:
    paragraphs = "".join(
        f"<p>Paragraph {i} of the story says something long enough to be article text.</p>"
        for i in range(6)
    )
    html = (
        '<html><head><meta property="og:title" content="NASA adds five landers - SpaceNews.com">'
        f"</head><body><article><h1>NASA adds five landers</h1>{paragraphs}</article></body></html>"
    )
    page = extract_page(html, url="http://127.0.0.1/a")
    assert page.text is not None and page.text.startswith("Paragraph 0")


def test_an_article_shows_in_a_log_without_its_text_page_or_flags() -> None:
    """Scrapy logs the whole item when a pipeline raises: kilobytes of a page per article."""
    body = "Sergei Shoigu arrived in Pyongyang. " * 300
    page = Page(body, html=b"<html>" + b"x" * 50_000 + b"</html>")
    item = build_article(ENTRY, IDENTITY, page, source="wire", language="en", fetched=NOW)
    shown = repr(item)
    assert "Shoigu in Pyongyang" in shown and "wire" in shown  # title and source say which
    assert "arrived in Pyongyang" not in shown and "xxxx" not in shown
    assert len(shown) < 600, len(shown)
