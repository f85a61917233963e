"""``wirewatch add URL``: find a site's feed or news sitemap, preview it, append it (issue 16)."""

from __future__ import annotations

import difflib
import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import load
from monitor.config.edit import add_sources, name_for, source_entry
from monitor.errors import ConfigError, WirewatchError
from monitor.newswire import Newswire, Reply

from .conftest import REPO, rss, run_cli

USER_AGENT = "wirewatch/0.1 (news monitoring; +https://github.com/wirewatch/wirewatch)"
NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>{base}/2026/12/02/a.html</loc><news:news>
    <news:publication><news:name>Hanbando</news:name><news:language>ko</news:language></news:publication>
    <news:publication_date>2026-12-02T08:00:00+09:00</news:publication_date>
    <news:title>북한 대표단 모스크바 도착</news:title></news:news></url>
  <url><loc>{base}/2026/12/03/b.html</loc><news:news>
    <news:publication><news:name>Hanbando</news:name><news:language>ko</news:language></news:publication>
    <news:publication_date>2026-12-03T09:30:00+09:00</news:publication_date>
    <news:title>러시아 외무장관 평양 방문</news:title></news:news></url>
</urlset>
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The repository's config.yaml (comments, multi-line lists and all), with no delay."""
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    assert "  delay: 2 " in text
    path = tmp_path / "config.yaml"
    path.write_text(text.replace("  delay: 2 ", "  delay: 0 ", 1), encoding="utf-8")
    return path


def added_lines(before: str, after: str) -> list[str]:
    """Return the lines *after* added to *before*; fail if any line of *before* changed."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    added = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        assert tag in ("equal", "insert"), f"changed {old[i1:i2]} into {new[j1:j2]}"
        if tag == "insert":
            added.extend(new[j1:j2])
    return added


def english_feed(base: str) -> str:
    return rss([
        {"title": "Russian delegation arrives in Pyongyang for talks on the new bridge",
         "link": f"{base}/a", "guid": "a", "pubDate": "Tue, 01 Dec 2026 10:00:00 GMT",
         "description": "Officials of both countries met at the airport and spoke of trade."},
        {"title": "Kremlin says the treaty with North Korea takes effect next week",
         "link": f"{base}/b", "guid": "b", "pubDate": "Wed, 02 Dec 2026 12:30:00 GMT",
         "description": "The spokesman told reporters that the agreement was ratified."},
    ])  # fmt: skip


def test_add_follows_the_autodiscovery_link_and_appends_the_feed_keeping_every_comment(
    config: Path, newswire: Newswire
) -> None:
    page = ('<html><head><title>Wire</title><link rel="alternate" type="application/rss+xml" '
            'title="News" href="/news/rss.xml"></head><body>Home</body></html>')  # fmt: skip
    newswire.route("/", Reply.html(page))
    newswire.route("/news/rss.xml", Reply.xml(english_feed(newswire.base_url)))
    before = config.read_text(encoding="utf-8")

    result = run_cli("--config", str(config), "add", newswire.url("/"))

    assert result.code == 0, result.err
    assert f"Found a feed at {newswire.url('/news/rss.xml')}" in result.out
    assert "an autodiscovery link of the page" in result.out
    # Newest first, with its date and language.
    assert "2026-12-02 12:30  en   Kremlin says the treaty" in result.out
    assert result.out.index("Kremlin says") < result.out.index("Russian delegation")
    assert "Added source 127.0.0.1 (feed," in result.out
    added = added_lines(before, config.read_text(encoding="utf-8"))
    assert added == [
        "  - name: 127.0.0.1  # found by wirewatch add: an autodiscovery link of the page\n",
        f"    url: {newswire.url('/news/rss.xml')}\n",
        "    kind: feed\n",
        "    language: en\n",
    ]
    loaded = load(config)
    assert loaded.sources[-1].url == newswire.url("/news/rss.xml")
    assert [source.name for source in loaded.sources][-2:] == ["kcna-watch", "127.0.0.1"]
    # Politely: robots.txt first, the config's user agent on every request, no path probed
    # once the page named its feed.
    assert newswire.requests_for("/robots.txt") == 1
    assert {hit.headers["User-Agent"] for hit in newswire.hits_for("/")} == {USER_AGENT}
    assert newswire.requests_for("/feed") == 0


def test_add_finds_a_news_sitemap_that_robots_txt_names(config: Path, newswire: Newswire) -> None:
    newswire.route(
        "/", Reply.html("<html><head><title>Hanbando</title></head><body></body></html>")
    )
    sitemap_url = newswire.url("/sitemaps/news.xml")
    newswire.route(
        "/robots.txt", Reply(f"User-agent: *\nAllow: /\nSitemap: {sitemap_url}\n".encode())
    )
    newswire.route("/sitemaps/news.xml", Reply.xml(NEWS_SITEMAP.format(base=newswire.base_url)))
    before = config.read_text(encoding="utf-8")

    result = run_cli("--config", str(config), "add", newswire.url("/"), "--name", "hanbando",
                     "--format", "json")  # fmt: skip

    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["added"] is True
    assert report["source"] == {"name": "hanbando", "url": sitemap_url, "kind": "sitemap",
                                "language": "ko"}  # fmt: skip
    found = report["found"][0]
    assert found["how"] == "robots.txt"
    assert [item["title"] for item in found["items"]] == ["러시아 외무장관 평양 방문",
                                                          "북한 대표단 모스크바 도착"]  # fmt: skip
    assert found["items"][0]["published"] == "2026-12-03T00:30:00Z"
    # Every common feed path was tried (and missed) before the sitemap.
    assert newswire.requests_for("/rss.xml") == 1
    assert len(added_lines(before, config.read_text(encoding="utf-8"))) == 4
    assert load(config).sources[-1].kind == "sitemap"


def test_a_site_with_no_feed_and_no_sitemap_is_one_clear_error_and_the_config_is_untouched(
    config: Path, newswire: Newswire
) -> None:
    newswire.route("/", Reply.html("<html><head><title>Plain</title></head><body>x</body></html>"))
    newswire.route("/feed", Reply.html("<html><body>Not a feed</body></html>"))
    before = config.read_bytes()

    result = run_cli("--config", str(config), "add", newswire.url("/"))

    assert result.code == 2
    assert result.err.startswith(f"wirewatch: {newswire.url('/')}: found no feed and no news "
                                 "sitemap there")  # fmt: skip
    assert "the config was not changed" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err
    assert config.read_bytes() == before
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.yaml"]


def test_add_obeys_robots_txt(config: Path, newswire: Newswire) -> None:
    newswire.route("/robots.txt", Reply(b"User-agent: *\nDisallow: /\n"))
    newswire.route("/", Reply.xml(english_feed(newswire.base_url)))

    result = run_cli("--config", str(config), "add", newswire.url("/"))

    assert result.code == 2
    assert newswire.requests_for("/") == 0


def test_the_url_itself_may_be_the_feed_and_dry_run_writes_nothing(
    config: Path, newswire: Newswire
) -> None:
    newswire.route("/rss", Reply.xml(english_feed(newswire.base_url)))
    before = config.read_bytes()

    result = run_cli("--config", str(config), "add", newswire.url("/rss"), "--dry-run",
                     "--format", "json")  # fmt: skip

    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["added"] is False
    assert report["found"][0]["how"] == "the URL itself"
    assert report["source"]["url"] == newswire.url("/rss")
    assert config.read_bytes() == before


def test_a_feed_already_in_the_config_is_not_added_twice(config: Path, newswire: Newswire) -> None:
    newswire.route("/rss", Reply.xml(english_feed(newswire.base_url)))
    assert run_cli("--config", str(config), "add", newswire.url("/rss")).code == 0
    once = config.read_bytes()

    result = run_cli("--config", str(config), "add", newswire.url("/rss"))

    assert result.code == 2
    assert "is already in the config, as source 127.0.0.1" in result.err
    assert config.read_bytes() == once


@pytest.mark.parametrize(
    ("url", "example"),
    [("file:///etc/passwd", "https://example.org/"), ("ftp://example.org/feed", "https://example.org/"),
     ("example.org", "https://example.org/")],
)  # fmt: skip
def test_add_takes_only_http_urls(config: Path, url: str, example: str) -> None:
    result = run_cli("--config", str(config), "add", url)

    assert result.code == 2
    assert "is not an http(s) URL" in result.err
    assert result.err.rstrip().endswith(f"e.g. {example}")


def test_a_redirect_to_another_scheme_is_not_followed(config: Path, newswire: Newswire) -> None:
    newswire.route("/", Reply(status=302, headers={"Location": "file:///etc/passwd"}))

    result = run_cli("--config", str(config), "add", newswire.url("/"), "--format", "json")

    assert result.code == 2
    assert "found no feed" in result.err
    assert "passwd" not in result.out


def test_names_come_from_the_host_and_never_clash() -> None:
    assert name_for("https://www.example.com/news", []) == "example.com"
    assert name_for("https://example.com/", ["example.com", "example.com-2"]) == "example.com-3"
    assert name_for("http://[::1]:8080/", []) == "1"


def test_an_entry_that_would_make_the_config_invalid_leaves_the_file_alone(config: Path) -> None:
    before = config.read_bytes()

    with pytest.raises(ConfigError, match=r"sources\[22\]\.url"):
        add_sources(config, [source_entry("bad", "gopher://example.org/", "feed")])

    assert config.read_bytes() == before
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.yaml"]


def test_a_config_without_sources_gets_a_list(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("# my config\narchive: a.db  # the archive\n", encoding="utf-8")

    add_sources(path, [source_entry("one", "https://example.org/feed", "feed")])

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my config\narchive: a.db  # the archive\n")
    assert [source.url for source in load(path).sources] == ["https://example.org/feed"]


def test_sources_on_the_files_last_line_without_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("sources:\n- name: a  # first\n  url: https://a.org/feed\n  kind: feed",
                    encoding="utf-8")  # fmt: skip

    add_sources(path, [source_entry("b", "https://b.org/feed", "feed")])

    assert path.read_text(encoding="utf-8") == (
        "sources:\n- name: a  # first\n  url: https://a.org/feed\n  kind: feed\n"
        "- name: b\n  url: https://b.org/feed\n  kind: feed\n"
    )


def test_an_unreachable_site_is_one_line_saying_so(config: Path) -> None:
    with Newswire() as wire:
        gone = wire.url("/")  # a port that nothing listens on once the server stops
    before = config.read_bytes()

    result = run_cli("--config", str(config), "add", gone)

    assert result.code == 2
    assert result.err.startswith(f"wirewatch: cannot reach {gone}: ")
    assert config.read_bytes() == before


def test_the_fetcher_bounds_the_time_and_size_of_each_document(newswire: Newswire) -> None:
    from crawler.sitefetch import FetchFailed, SiteFetcher

    newswire.route("/slow", Reply(b"late", delay=3))
    newswire.route("/big", Reply(b"x" * 5000))
    fetcher = SiteFetcher(newswire.base_url, user_agent=USER_AGENT, timeout=0.5, max_bytes=4096)

    with pytest.raises(FetchFailed, match="timed out"):
        fetcher.get(newswire.url("/slow"))
    with pytest.raises(FetchFailed, match="larger than 4 KiB"):
        fetcher.get(newswire.url("/big"))


def test_a_sitemap_index_in_robots_txt_is_previewed_by_its_newest_sitemap(
    config: Path, newswire: Newswire
) -> None:
    base = newswire.base_url
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/news-1.xml</loc><lastmod>2026-12-01T00:00:00Z</lastmod></sitemap>"
        f"<sitemap><loc>{base}/news-2.xml</loc><lastmod>2026-12-03T00:00:00Z</lastmod></sitemap>"
        "</sitemapindex>"
    )
    whole_site = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                  f"<url><loc>{base}/about.html</loc></url></urlset>")  # fmt: skip
    robots = f"Sitemap: {base}/pages.xml\nSitemap: {base}/index.xml\n"
    newswire.route("/robots.txt", Reply(robots.encode()))
    newswire.route("/pages.xml", Reply.xml(whole_site))
    newswire.route("/index.xml", Reply.xml(index))
    newswire.route("/news-2.xml", Reply.xml(NEWS_SITEMAP.format(base=base)))

    result = run_cli("--config", str(config), "add", newswire.url("/"), "--format", "json",
                     "--dry-run")  # fmt: skip

    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["source"]["url"] == newswire.url("/index.xml")
    assert report["source"]["kind"] == "sitemap"
    assert len(report["found"][0]["items"]) == 2
    assert any("not a news sitemap" in note for note in report["notes"])
    assert newswire.requests_for("/news-1.xml") == 0


def test_an_autodiscovery_link_to_another_private_host_is_not_fetched(
    config: Path, newswire: Newswire
) -> None:
    port = newswire.base_url.rsplit(":", 1)[1]
    page = ('<html><head><link rel="alternate" type="application/rss+xml" '
            f'href="http://localhost:{port}/internal.xml"></head></html>')  # fmt: skip
    newswire.route("/", Reply.html(page))
    newswire.route("/internal.xml", Reply.xml(english_feed(newswire.base_url)))

    result = run_cli("--config", str(config), "add", newswire.url("/"), "--dry-run")

    assert result.code == 2
    assert newswire.requests_for("/internal.xml") == 0


def test_the_commands_that_add_sources_never_import_the_crawler() -> None:
    code = ("import sys, monitor.commands.sources, monitor.config.edit, monitor.opml; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'crawler'))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_a_write_that_fails_midway_leaves_the_config_whole_and_no_stray_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.config.edit

    def full_disk(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(monitor.config.edit.os, "fsync", full_disk)
    before = config.read_bytes()

    with pytest.raises(WirewatchError, match=r"cannot write the config \(No space left"):
        add_sources(config, [source_entry("new", "https://example.org/feed", "feed")])

    assert config.read_bytes() == before
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.yaml"]


def test_the_new_file_keeps_the_mode_of_the_old(config: Path) -> None:
    config.chmod(0o640)

    add_sources(config, [source_entry("new", "https://example.org/feed", "feed")])

    assert config.stat().st_mode & 0o777 == 0o640
    assert load(config).sources[-1].name == "new"
