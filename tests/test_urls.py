from __future__ import annotations

import pytest

from crawler.urls import canonical_url, choose_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://Example.com/a?utm_source=rss&utm_medium=feed&id=7#top",
            "https://example.com/a?id=7",
        ),
        ("https://example.com/a?fbclid=XYZ&gclid=1", "https://example.com/a"),
        # Article identity lives in these parameters on many Korean and Russian sites.
        (
            "https://www.example.co.kr/news/articleView.html?idxno=12345&utm_campaign=x",
            "https://www.example.co.kr/news/articleView.html?idxno=12345",
        ),
        (
            "https://example.ru/view.php?ELEMENT_ID=99&no=3",
            "https://example.ru/view.php?ELEMENT_ID=99&no=3",
        ),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ],
)
def test_canonical_urls_drop_tracking_and_keep_identity(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_a_page_s_own_canonical_link_is_preferred() -> None:
    assert (
        choose_url("https://m.example.com/story/1?ref=x", "https://www.example.com/story/1")
        == "https://www.example.com/story/1"
    )


def test_a_canonical_that_points_at_the_front_page_is_ignored() -> None:
    assert choose_url("https://example.com/story/1", "https://example.com/") == (
        "https://example.com/story/1"
    )


def test_a_canonical_that_is_not_http_is_ignored() -> None:
    assert choose_url("https://example.com/s/1", "javascript:void(0)") == "https://example.com/s/1"
