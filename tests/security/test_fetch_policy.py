"""What the crawler fetches: http(s) only, no private address of another host, bounded sitemap
trees, and no link dropped in silence (issue 10 items 1, 6, 9 and 18).

Each test serves a hostile feed, sitemap or page from a local newswire, runs a real crawl in
a child process, and reads the real archive.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.python import without_none_values

from crawler.parsing.sitemaps import MAX_DEPTH, MAX_SITEMAPS
from crawler.runner import build_settings
from crawler.urlpolicy import MAX_LENGTH
from monitor.collection.cycle import run_cycle
from monitor.config import load
from monitor.events import Event, LinksSkipped
from monitor.newswire import Hit, Newswire, Reply
from tests.conftest import article_page, rss, run_cli, write_config
from tests.test_import_layers import modules_loaded_by

STORY = [
    "Russian Foreign Minister Sergei Lavrov arrived in Pyongyang on Thursday.",
    "He held talks with his counterpart Choe Son Hui on the second day of the visit.",
]
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


@pytest.fixture
def second_wire() -> Iterator[Newswire]:
    """A newswire on 127.0.0.2: another host on a private (loopback) address."""
    with Newswire(host="127.0.0.2") as wire:
        yield wire


class Listener:
    """A TCP port on 127.0.0.1 that records whether anything connected (an FTP server)."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self._socket.settimeout(0.2)
        self.port = int(self._socket.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.sendall(b"220 ready\r\n")  # an FTP greeting, as the server did
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()


def crawl(folder: Path, *, env: dict[str, str] | None = None) -> tuple[dict[str, Any], float]:
    """Run ``wirewatch crawl --format json`` in *folder*; return its report and its seconds."""
    began = time.monotonic()
    result = run_cli("crawl", "--format", "json", cwd=folder, env=env, timeout=90)
    assert result.code == 0, result.err
    return json.loads(result.out), time.monotonic() - began


def outcome(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(each for each in report["sources"] if each["source"] == name)


def articles(folder: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(load(folder / "config.yaml").archive) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM articles ORDER BY id")]


def archive_text(folder: Path) -> str:
    """Return every value of every table of the archive as text, pages decompressed."""
    parts = []
    with sqlite3.connect(load(folder / "config.yaml").archive) as db:
        tables = [
            name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        with contextlib.suppress(zlib.error):
                            value = zlib.decompress(value)
                        value = value.decode("utf-8", "replace")
                    parts.append(str(value))
    return "\n".join(parts)


def item(title: str, link: str, summary: str = "A summary from the feed.") -> dict[str, str]:
    return {"title": title, "link": link, "guid": title, "description": summary}


def urlset(*locs: str) -> Reply:
    urls = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return Reply.xml(f'<?xml version="1.0"?><urlset xmlns="{SITEMAP}">{urls}</urlset>')


def sitemap_index(*locs: str) -> Reply:
    maps = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return Reply.xml(f'<?xml version="1.0"?><sitemapindex xmlns="{SITEMAP}">{maps}</sitemapindex>')


# Item 1: local files ------------------------------------------------------------------------


def test_file_links_from_every_source_kind_are_never_fetched_nor_linked(
    tmp_path: Path, newswire: Newswire
) -> None:
    """issue 10 item 1: file: links in a feed, JSON Feed, sitemap, sitemap index and section
    page read nothing: not a marker file, not the crawler's environment, not /dev/zero. A
    feed item keeps what the feed says of it, under an address of its own, never its link."""
    secret = "wirewatch-marker-7c1f0e59"
    environment_secret = "wirewatch-environ-3b8d4a17"
    marker = tmp_path / "marker.txt"
    marker.write_text(f"{secret}\n", encoding="utf-8")
    hostile = [f"file://{marker}", f"file:{marker}", "file:/proc/self/environ", "file:/dev/zero"]
    wire = newswire
    for name in ("feed", "sitemap", "section"):
        wire.route(f"/{name}/good.html", Reply.html(article_page(f"Lavrov {name}", STORY)))
    items = [item("Good", wire.url("/feed/good.html"))]
    items += [item(f"Hostile {number}", link) for number, link in enumerate(hostile)]
    wire.route("/feed.xml", Reply.xml(rss(items)))
    wire.route("/summaries.xml", Reply.xml(rss(items[1:])))
    json_feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [{"id": f"j{n}", "url": link, "title": f"J{n}", "content_text": "x"}
                  for n, link in enumerate(hostile)],
    }  # fmt: skip
    wire.route("/feed.json", Reply(json.dumps(json_feed).encode(),
                                   headers={"Content-Type": "application/feed+json"}))  # fmt: skip
    wire.route("/sitemap.xml", urlset(*hostile, wire.url("/sitemap/good.html")))
    wire.route("/index.xml", sitemap_index(*hostile))
    links = "".join(
        f'<h2><a href="{link}">Story {n}</a></h2>'
        for n, link in enumerate([*hostile, wire.url("/section/good.html")])
    )
    wire.route("/section", Reply.html(f'<html><body>{links}<a class="next" href="file://{marker}">'
                                      "Next</a></body></html>"))  # fmt: skip
    write_config(
        tmp_path,
        [
            {"name": "feed", "url": wire.url("/feed.xml")},
            {"name": "summaries", "url": wire.url("/summaries.xml"), "full_text": False},
            {"name": "json", "url": wire.url("/feed.json")},
            {"name": "sitemap", "kind": "sitemap", "url": wire.url("/sitemap.xml")},
            {"name": "index", "kind": "sitemap", "url": wire.url("/index.xml")},
            {"name": "section", "kind": "page", "url": wire.url("/section"), "links": "h2 a",
             "next": "a.next", "depth": 3},
        ],
    )  # fmt: skip

    report, seconds = crawl(tmp_path, env={"WIREWATCH_TEST_SECRET": environment_secret})

    assert seconds < 45, "file:/dev/zero (or something else) held the crawl"
    text = archive_text(tmp_path)
    assert secret not in text
    assert environment_secret not in text
    assert "root:x:0:0" not in text
    hostile_rows = 0
    for row in articles(tmp_path):
        if row["title"].startswith(("Hostile", "J")):
            hostile_rows += 1
            assert row["url"].startswith("urn:wirewatch:entry:"), row
            assert row["body"] in ("A summary from the feed.", "x"), row
            assert row["extract_error"] is None, row  # as an entry without a link
        else:
            assert row["url"].startswith("http://127.0.0.1:"), row["url"]
    assert hostile_rows == 12  # four items in each of feed, summaries and json
    # A sitemap's <loc> and a section page's link say nothing but the link: nothing is kept.
    for name, new in (("feed", 5), ("summaries", 4), ("json", 4), ("sitemap", 1), ("section", 1)):
        assert outcome(report, name)["new"] == new, outcome(report, name)
    for name, count in (("feed", 4), ("summaries", 4), ("json", 4), ("sitemap", 4), ("index", 4)):
        assert outcome(report, name)["status"] == "ok", outcome(report, name)
        assert f"{count} link(s) not http(s) not followed" in outcome(report, name)["warning"]
    # The section page's own links are filtered while parsing; its next link is counted.
    assert "1 link(s) not http(s) not followed" in outcome(report, "section")["warning"]
    assert [hit.path for hit in wire.hits if "marker" in hit.path or "proc" in hit.path] == []


def test_redirects_to_file_urls_are_refused_and_say_so(tmp_path: Path, newswire: Newswire) -> None:
    """issue 10 item 1: a source or an article page that redirects to file: is not followed;
    the source fails with the policy class, the article keeps its feed summary."""
    secret = "wirewatch-marker-51d0a2c8"
    marker = tmp_path / "marker.txt"
    marker.write_text(secret, encoding="utf-8")
    wire = newswire
    wire.route("/moved.xml", Reply(status=302, headers={"Location": f"file://{marker}"}))
    wire.route("/story.html", Reply(status=301, headers={"Location": f"file://{marker}"}))
    wire.route("/feed.xml", Reply.xml(rss([item("Moved story", wire.url("/story.html"))])))
    write_config(
        tmp_path,
        [{"name": "moved", "url": wire.url("/moved.xml")},
         {"name": "feed", "url": wire.url("/feed.xml")}],
    )  # fmt: skip

    report, _ = crawl(tmp_path)

    moved = outcome(report, "moved")
    assert (moved["status"], moved["error_class"]) == ("failed", "policy"), moved
    assert "redirect refused" in moved["error"] and "file" in moved["error"]
    (story,) = articles(tmp_path)
    assert story["body"] == "A summary from the feed."
    assert "policy" in story["extract_error"] and "redirect refused" in story["extract_error"]
    assert secret not in archive_text(tmp_path)


def test_the_crawl_has_no_download_handler_but_http_and_https(tmp_path: Path) -> None:
    """issue 10 item 1: a request that got past the spider and the policy middleware still
    finds no handler for file:, data:, ftp: or s3: in the settings the crawl child runs with."""
    config = load(write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/feed.xml"}]))
    settings = build_settings(config.plan(config.sources), "WARNING")
    handlers = without_none_values(settings.getwithbase("DOWNLOAD_HANDLERS"))
    assert set(handlers) == {"http", "https"}
    assert settings.getint("URLLENGTH_LIMIT") == MAX_LENGTH
    middlewares = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    assert middlewares["crawler.middlewares.linkpolicy.LinkPolicyMiddleware"] < min(
        order
        for path, order in middlewares.items()
        if order is not None and "linkpolicy" not in path
    )


def test_the_crawl_has_no_console_control_server_or_cookie_jar_and_never_loads_them(
    tmp_path: Path,
) -> None:
    """No component that could open a port or keep state runs in a crawl child, and their
    modules are not even imported: each import cost every crawl child's start (issue 12)."""
    path = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/feed.xml"}])
    code = (
        "from scrapy.utils.conf import build_component_list\n"
        "from scrapy.utils.misc import load_object\n"
        "from crawler.runner import build_settings\n"
        "from monitor.config import load\n"
        f"config = load(__import__('pathlib').Path({str(path)!r}))\n"
        "settings = build_settings(config.plan(config.sources), 'WARNING')\n"
        "names = ['EXTENSIONS', 'DOWNLOADER_MIDDLEWARES', 'SPIDER_MIDDLEWARES', 'ITEM_PIPELINES']\n"
        "for name in names:\n"
        "    for component in build_component_list(settings.getwithbase(name)):\n"
        "        load_object(component)\n"
    )
    loaded = modules_loaded_by(code)
    assert "crawler.pipelines.archive" in loaded  # every component was loaded
    assert "scrapy.downloadermiddlewares.robotstxt" in loaded
    unwanted = ("scrapy.extensions.telnet", "scrapy.extensions.remote_control",
                "scrapy.downloadermiddlewares.cookies", "scrapy.extensions.memusage",
                "aiohttp", "tldextract", "twisted.conch")  # fmt: skip
    assert sorted(name for name in loaded if name.startswith(unwanted)) == []


# Item 6: redirects, other schemes, private addresses ----------------------------------------


def test_links_and_redirects_to_another_private_host_need_the_source_to_opt_in(
    tmp_path: Path, newswire: Newswire, second_wire: Newswire
) -> None:
    """issue 10 item 6: a feed on 127.0.0.1 whose link, or whose page's 302, leads to another
    private host (127.0.0.2) makes no request there; allow_private: true lets both through."""
    wire, inside = newswire, second_wire
    wire.route("/own.html", Reply.html(article_page("Own host", STORY)))
    wire.route("/hop.html", Reply(status=302, headers={"Location": inside.url("/inside.html")}))
    inside.route("/inside.html", Reply.html(article_page("Behind the redirect", STORY)))
    inside.route("/direct.html", Reply.html(article_page("Linked directly", STORY)))
    feed = [item("Own", wire.url("/own.html")), item("Hop", wire.url("/hop.html")),
            item("Direct", inside.url("/direct.html"))]  # fmt: skip
    wire.route("/feed.xml", Reply.xml(rss(feed)))
    refused, opted_in = tmp_path / "refused", tmp_path / "opted-in"
    for folder, extra in ((refused, {}), (opted_in, {"allow_private": True})):
        folder.mkdir()
        write_config(folder, [{"name": "wire", "url": wire.url("/feed.xml"), **extra}])

    report, _ = crawl(refused)

    assert inside.hits == []  # not the pages, not even robots.txt
    stored = {row["title"]: row for row in articles(refused)}
    assert stored["Own"]["extract_error"] is None  # the source's own host is always fine
    for title in ("Hop", "Direct"):
        assert stored[title]["body"] == "A summary from the feed.", stored[title]
        assert "policy" in stored[title]["extract_error"], stored[title]
        assert "127.0.0.2 is a private or loopback address" in stored[title]["extract_error"]
    wire_outcome = outcome(report, "wire")
    assert wire_outcome["status"] == "ok"
    assert "2 link(s) to private addresses not fetched" in wire_outcome["warning"]

    report, _ = crawl(opted_in)

    assert {hit.path for hit in inside.hits} >= {"/inside.html", "/direct.html"}
    stored = {row["title"]: row for row in articles(opted_in)}
    assert "Lavrov" in stored["Hop"]["body"] and "Lavrov" in stored["Direct"]["body"]
    assert outcome(report, "wire")["warning"] is None


def test_a_private_address_is_refused_in_every_spelling(
    tmp_path: Path, newswire: Newswire, second_wire: Newswire
) -> None:
    """issue 10 item 6: the shorthand, numeric, IPv6-mapped and localhost spellings of a
    loopback address, and the cloud metadata address, are all another private host."""
    port = newswire.base_url.rsplit(":", 1)[1]
    newswire.route_prefix("/", Reply.html(article_page("Inside", STORY)))
    hosts = ["127.1", "2130706433", "0x7f.1", "0177.0.0.1", "[::ffff:127.0.0.1]", "0.0.0.0",
             "localhost", "LOCALHOST.", "app.localhost", "[::1]", "169.254.169.254"]  # fmt: skip
    feed = [item(f"Via {host}", f"http://{host}:{port}/{n}.html") for n, host in enumerate(hosts)]
    second_wire.route("/feed.xml", Reply.xml(rss(feed)))
    write_config(tmp_path, [{"name": "wire", "url": second_wire.url("/feed.xml"), "timeout": 3}])

    report, _ = crawl(tmp_path)

    assert newswire.hits == []
    stored = articles(tmp_path)
    assert len(stored) == len(hosts)
    assert all("private or loopback address" in row["extract_error"] for row in stored), stored
    assert f"{len(hosts)} link(s) to private addresses" in outcome(report, "wire")["warning"]


def test_a_dns_name_that_resolves_to_a_private_address_is_refused(
    tmp_path: Path, newswire: Newswire, second_wire: Newswire
) -> None:
    """issue 10 item 6: a link by name (not a literal address) is checked by the address the
    name resolves to, through the crawler's own DNS cache."""
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        pytest.skip(f"this machine's name {name!r} does not resolve")
    if not address.startswith("127.") or name.lower().endswith("localhost"):
        pytest.skip(f"this machine's name {name!r} resolves to {address}, not to loopback")
    port = newswire.base_url.rsplit(":", 1)[1]
    newswire.route("/inside.html", Reply.html(article_page("Behind a name", STORY)))
    second_wire.route(
        "/feed.xml", Reply.xml(rss([item("By name", f"http://{name}:{port}/inside.html")]))
    )
    write_config(tmp_path, [{"name": "wire", "url": second_wire.url("/feed.xml")}])

    report, _ = crawl(tmp_path)

    assert newswire.hits == []
    (story,) = articles(tmp_path)
    assert f"{name} resolves to the private address {address}" in story["extract_error"]
    assert "1 link(s) to private addresses not fetched" in outcome(report, "wire")["warning"]


def test_ftp_and_data_links_are_never_fetched_nor_linked(
    tmp_path: Path, newswire: Newswire
) -> None:
    """issue 10 item 6: ftp: links open no connection, data: links are never read (their
    items keep only what the feed says), and a redirect to ftp: is refused."""
    secret = "wirewatch-data-9e4b27c3"
    ftp = Listener()
    try:
        wire = newswire
        ftp_url = f"ftp://127.0.0.1:{ftp.port}/pub/story.html"
        wire.route("/to-ftp.html", Reply(status=302, headers={"Location": ftp_url}))
        hostile = [
            item("FTP", ftp_url),
            item("Data", f"data:text/html,<p>{secret}</p>"),
            item("Data64", "data:text/html;base64,PHA+d2lyZXdhdGNoLWRhdGEtOWU0YjI3YzM8L3A+"),
            item("Redirected to FTP", wire.url("/to-ftp.html")),
        ]
        wire.route("/feed.xml", Reply.xml(rss(hostile)))
        wire.route("/summaries.xml", Reply.xml(rss(hostile[:3])))
        write_config(
            tmp_path,
            [{"name": "feed", "url": wire.url("/feed.xml")},
             {"name": "summaries", "url": wire.url("/summaries.xml"), "full_text": False}],
        )  # fmt: skip

        report, _ = crawl(tmp_path)
        time.sleep(0.3)  # the listener's accept loop polls every 0.2 s
    finally:
        ftp.close()

    assert ftp.connections == 0
    stored = {(row["source"], row["title"]): row for row in articles(tmp_path)}
    redirected = stored.pop(("feed", "Redirected to FTP"))
    assert redirected["url"].startswith("http://127.0.0.1:")
    assert "redirect refused: ftp: links are never fetched" in redirected["extract_error"]
    assert sorted(stored) == [
        (source, title) for source in ("feed", "summaries") for title in ("Data", "Data64", "FTP")
    ]
    for row in stored.values():
        assert row["url"].startswith("urn:wirewatch:entry:"), row
        assert row["body"] == "A summary from the feed.", row
        assert row["extract_error"] is None, row
    assert secret not in archive_text(tmp_path)
    assert outcome(report, "feed")["warning"] == (
        "3 link(s) not http(s) not followed; 1 redirect(s) to other schemes refused"
    )
    assert "3 link(s) not http(s) not followed" in outcome(report, "summaries")["warning"]


# Item 9: sitemap index trees ----------------------------------------------------------------


def test_an_endless_sitemap_index_tree_stops_within_its_bounds(
    tmp_path: Path, newswire: Newswire
) -> None:
    """issue 10 item 9: an index of indexes without end (20 children each, or one child each)
    is read at most MAX_DEPTH levels deep and MAX_SITEMAPS sitemaps per source and crawl."""
    wire = newswire

    def tree(hit: Hit) -> Reply:
        path = hit.path.removesuffix(".xml")
        return sitemap_index(*(wire.url(f"{path}/{n}.xml") for n in range(20)))

    def chain(hit: Hit) -> Reply:
        return sitemap_index(wire.url(hit.path.removesuffix(".xml") + "/next.xml"))

    wire.route_prefix("/tree", tree)
    wire.route_prefix("/chain", chain)
    write_config(
        tmp_path,
        [{"name": "tree", "kind": "sitemap", "url": wire.url("/tree.xml")},
         {"name": "chain", "kind": "sitemap", "url": wire.url("/chain.xml")}],
    )  # fmt: skip

    report, seconds = crawl(tmp_path)

    tree_hits = [hit.path for hit in wire.hits if hit.path.startswith("/tree")]
    chain_hits = [hit.path for hit in wire.hits if hit.path.startswith("/chain")]
    assert len(tree_hits) == 1 + MAX_SITEMAPS
    assert max(path.count("/") for path in tree_hits) == MAX_DEPTH  # /tree.xml is level 1
    assert len(chain_hits) == MAX_DEPTH
    tree_warning = outcome(report, "tree")["warning"]
    assert f"beyond the {MAX_SITEMAPS} read per crawl not read" in tree_warning
    assert f"nested deeper than {MAX_DEPTH} levels not read" in tree_warning
    assert outcome(report, "chain")["warning"] == (
        f"1 sitemap(s) nested deeper than {MAX_DEPTH} levels not read"
    )
    assert seconds < 45


# Item 18: over-long links -------------------------------------------------------------------


def test_an_over_long_link_is_counted_reported_and_kept_from_its_summary(
    tmp_path: Path, newswire: Newswire
) -> None:
    """issue 10 item 18: a link over 2,083 characters is not dropped in silence: the source's
    warning and the crawl's events count it, and its story is kept from the feed's summary."""
    wire = newswire
    # Under the limit as written, over it as requested: each Cyrillic letter is six characters
    # once percent-escaped, which is what Scrapy's URLLENGTH_LIMIT measured.
    long_link = wire.url("/long/" + "Пхеньян-" * (MAX_LENGTH // 20))
    assert len(long_link) < MAX_LENGTH
    wire.route("/short.html", Reply.html(article_page("Short link", STORY)))
    feed = [item("Long", long_link, "Kept from the feed."), item("Short", wire.url("/short.html"))]
    wire.route("/feed.xml", Reply.xml(rss(feed)))
    wire.route("/sitemap.xml", urlset(wire.url("/sitemap-long.html?id=" + "y" * MAX_LENGTH)))
    config = load(
        write_config(
            tmp_path,
            [{"name": "feed", "url": wire.url("/feed.xml")},
             {"name": "sitemap", "kind": "sitemap", "url": wire.url("/sitemap.xml")}],
        )
    )  # fmt: skip
    events: list[Event] = []

    result = run_cycle(config, timeout=60, on_event=events.append)

    assert result.status == "ok"
    warnings = {each.source: each.warning for each in result.outcomes}
    assert warnings["feed"] == f"1 link(s) over {MAX_LENGTH} characters not fetched"
    assert warnings["sitemap"] == f"1 link(s) over {MAX_LENGTH} characters not fetched"
    skipped = {event.source: event for event in events if isinstance(event, LinksSkipped)}
    assert skipped["feed"].counts["length"] == 1 and skipped["sitemap"].counts["length"] == 1
    assert not [hit for hit in wire.hits if "long" in hit.path]
    stored = {row["title"]: row for row in articles(tmp_path)}
    assert stored["Long"]["body"] == "Kept from the feed."
    assert "characters long" in stored["Long"]["extract_error"]
    assert stored["Short"]["extract_error"] is None
