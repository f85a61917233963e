"""The story page of ``wirewatch serve`` (issue 13 item 1): one article as an analyst reads it,
served by a real ``wirewatch serve`` on 127.0.0.1 over a copy of the demo archive."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import lxml.html
import pytest

from monitor.serve.story import marked

from .conftest import copy_demo, run_cli
from .serving import OS_USER, Served

HOSTILE_TITLE = "<script>alert('title')</script><img src=x onerror=alert(1)>"
HOSTILE_BODY = "\n<script>alert('body')</script>"
HOSTILE_NOTE = "<b onmouseover=alert('note')>look</b>"
HOSTILE_URL = "javascript:alert('url')"


@pytest.fixture(scope="module")
def served(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the tests that only read; the archive holds one mark of the Putin story."""
    folder = copy_demo(demo_folder, tmp_path_factory.mktemp("story"))
    putin = story_row(folder, "Putin lands in Pyongyang")
    result = run_cli(
        "--config", "wirewatch-demo/config.yaml", "mark", str(putin), "follow-up",
        "--note", "ask the Seoul desk", cwd=folder,
    )  # fmt: skip
    assert result.code == 0, result.err
    with Served(folder) as server:
        yield server


def query(folder: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        return db.execute(sql, params).fetchall()


def story_row(folder: Path, title_start: str) -> int:
    """The ID of the story's row in the flagged list: its earliest copy."""
    result = run_cli(
        "--config", "wirewatch-demo/config.yaml", "flagged", "--format", "json", cwd=folder
    )  # fmt: skip
    assert result.code == 0, result.err
    return next(r["id"] for r in json.loads(result.out) if r["title"].startswith(title_start))


def story_page(served: Served, article_id: int | str) -> lxml.html.HtmlElement:
    status, body, headers = served.get(f"/story/{article_id}")
    assert status == 200, body
    assert headers["content-type"].startswith("text/html")
    return lxml.html.fromstring(body)


def text_of(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def facts(page: lxml.html.HtmlElement, which: int = 0) -> dict[str, str]:
    """The terms and values of one of the page's lists of facts (0: the top, -1: evidence)."""
    listed = page.find_class("facts")[which]
    pairs = zip(listed.iter("dt"), listed.iter("dd"), strict=True)
    return {text_of(dt): text_of(dd) for dt, dd in pairs}


def test_the_story_page_shows_why_it_was_flagged_with_the_terms_highlighted(served) -> None:
    putin = story_row(served.folder, "Putin lands in Pyongyang")
    page = story_page(served, putin)
    heading = page.find(".//h1")
    assert text_of(heading) == "Putin lands in Pyongyang on first visit in 24 years"
    assert [m.text for m in heading.findall(".//mark")] == ["Putin", "Pyongyang", "visit"]
    (flag,) = page.find_class("flag")
    shown = text_of(flag)
    (topic, score, threshold, snippet) = query(
        served.folder,
        "SELECT topic, score, threshold, snippet FROM flags WHERE article_id = ?",
        (putin,),
    )[0]
    assert f"{topic}: score {score:g} (threshold {threshold:g})" in shown
    assert "Rules: sentence, headline, arms, story" in shown
    assert "Matched: russia: Putin ×" in shown
    assert f"Best sentence: {snippet}" in shown
    assert "Pyongyang" in [m.text for m in flag.findall(".//q/mark")]
    body = page.find_class("story-body")[0]
    words = {m.text for m in body.findall(".//mark")}
    assert {"Putin", "Pyongyang", "Kremlin"} <= words


def test_the_story_page_shows_source_outlets_and_dates_in_utc(served) -> None:
    putin = story_row(served.folder, "Putin lands in Pyongyang")
    ((source, published),) = query(
        served.folder, "SELECT source, published FROM articles WHERE id = ?", (putin,)
    )
    page = story_page(served, putin)
    top = facts(page)
    assert top["Source"] == source
    assert top["Outlets"] == "3"
    assert top["Published"].startswith(f"{published[:10]} {published[11:16]} UTC")
    times = page.findall(".//time")
    assert published in [t.get("datetime") for t in times]
    assert "toLocaleString" in page.find(".//script[last()]").text  # the reader's zone


def test_the_other_outlets_link_to_their_own_story_pages(served) -> None:
    putin = story_row(served.folder, "Putin lands in Pyongyang")
    page = story_page(served, putin)
    links = [a.get("href") for a in page.find_class("outlets")[0].findall(".//a")]
    others = query(
        served.folder,
        "SELECT id FROM articles WHERE title LIKE 'Putin lands in Pyongyang%' AND id != ?",
        (putin,),
    )
    assert sorted(links) == sorted(f"/story/{other}" for (other,) in others)
    for link in links:
        other = story_page(served, link.rsplit("/", 1)[1])
        assert f"/story/{putin}" in [a.get("href") for a in other.iter("a")]


def test_the_story_page_shows_the_marks_of_every_copy_with_their_notes(served) -> None:
    putin = story_row(served.folder, "Putin lands in Pyongyang")
    for article_id in [putin] + [
        row[0]
        for row in query(
            served.folder, "SELECT id FROM articles WHERE title LIKE 'Putin lands in Pyongyang%'"
        )
    ]:
        page = story_page(served, article_id)
        marks = text_of(page.find_class("marks")[0])
        assert "follow-up (ask the Seoul desk), by " in marks
        assert facts(page)["Mark"] == "follow-up"


def test_the_story_page_shows_its_evidence_and_triage_buttons(served) -> None:
    putin = story_row(served.folder, "Putin lands in Pyongyang")
    ((content_hash, url),) = query(
        served.folder, "SELECT content_hash, url FROM articles WHERE id = ?", (putin,)
    )
    page = story_page(served, putin)
    assert facts(page, -1)["Content hash"] == content_hash
    hrefs = [a.get("href") for a in page.iter("a")]
    assert url in hrefs
    assert f"/archive/articles/{putin}" in hrefs
    (form,) = [form for form in page.iter("form") if form.get("class") == "triage"]
    assert form.get("method") == "post" and form.get("action") == f"/story/{putin}/mark"
    buttons = [button.get("value") for button in form.iter("button")]
    assert buttons == ["relevant", "irrelevant", "follow-up"]
    # Only the buttons post a mark: no link on the page leads to the SQL form.
    assert not [href for href in hrefs if href and "mark_story" in href]


def test_an_unknown_story_is_a_404_page(served) -> None:
    for article_id in ("999999", "abc", "-1", "1.5", "99999999999999999999999", "%3Cscript%3E"):
        status, body, headers = served.get(f"/story/{article_id}")
        assert status == 404, article_id
        assert headers["content-type"].startswith("text/html")
        assert "No story here" in body
        assert "Traceback" not in body
    assert not any("Traceback" in line for line in served.stderr)


def test_every_title_in_the_flagged_lists_links_to_its_story_page(served) -> None:
    for path in ("/archive/flagged_stories", "/archive/unreviewed", "/archive/last_24h"):
        status, body, _ = served.get(path)
        assert status == 200, body
        page = lxml.html.fromstring(body)
        cells = page.find_class("col-title")
        titles = [cell for cell in cells if cell.tag == "td"]
        assert titles, path
        for cell in titles:
            (link,) = cell.findall("a")
            assert re.fullmatch(r"/story/[0-9]+", link.get("href")), path
            assert story_page(served, link.get("href").rsplit("/", 1)[1]).find(".//h1") is not None


def test_a_hostile_title_on_the_story_page_is_text(demo_folder: Path, tmp_path: Path) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    putin = story_row(folder, "Putin lands in Pyongyang")
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        db.execute(
            "UPDATE articles SET title = ?, body = body || ?, url = ? WHERE id = ?",
            (HOSTILE_TITLE, HOSTILE_BODY, HOSTILE_URL, putin),
        )
        db.execute(
            "INSERT INTO marks (article_id, label, note, marked_by, created) "
            "VALUES (?, 'relevant', ?, ?, '2026-01-01T00:00:00Z')",
            (putin, HOSTILE_NOTE, HOSTILE_NOTE),
        )
    with Served(folder) as server:
        status, body, _ = server.get(f"/story/{putin}")
        assert status == 200, body
        for hostile in (HOSTILE_TITLE, HOSTILE_BODY.strip(), HOSTILE_NOTE):
            assert hostile not in body
        assert "alert(" not in "".join(re.findall(r"<script>.*?</script>", body, re.DOTALL))
        page = lxml.html.fromstring(body)
        assert page.find(".//img") is None and page.find(".//b") is None
        assert HOSTILE_TITLE in page.find(".//h1").text_content()
        assert HOSTILE_NOTE in page.find_class("marks")[0].text_content()
        assert HOSTILE_BODY.strip() in page.find_class("story-body")[0].text_content()
        assert not [a for a in page.iter("a") if "javascript" in (a.get("href") or "")]
        assert facts(page, -1)["Address"] == HOSTILE_URL
        # The list that links to the page shows the title as text too.
        status, body, _ = server.get("/archive/unreviewed")
        assert status == 200 and HOSTILE_TITLE not in body
        status, body, _ = server.get("/flagged")
        assert status == 200 and HOSTILE_TITLE not in body
        row = lxml.html.fromstring(body).get_element_by_id(f"story-{putin}")
        assert HOSTILE_TITLE in row.find_class("title")[0].text_content()


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("Putin in Pyongyang", [(0, 5), (9, 18)], "<mark>Putin</mark> in <mark>Pyongyang</mark>"),
        ("a<b>c", [(1, 4)], "a<mark>&lt;b&gt;</mark>c"),
        ("<i>x</i>", [], "&lt;i&gt;x&lt;/i&gt;"),
        ("overlap", [(0, 4), (2, 7)], "<mark>over</mark><mark>lap</mark>"),
        ("short", [(3, 99), (50, 60), (4, 2)], "sho<mark>rt</mark>"),
    ],
)
def test_highlighting_builds_markup_from_escaped_pieces(text, spans, expected) -> None:
    assert str(marked(text, spans)) == expected


# Triage from the story page (issue 13 item 2) -----------------------------------------------


@pytest.fixture(scope="module")
def marking_server(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the tests that mark, on a copy of the archive of its own."""
    with Served(copy_demo(demo_folder, tmp_path_factory.mktemp("story-desk"))) as server:
        yield server


@pytest.fixture
def desk(marking_server: Served) -> Served:
    """The marking server as a fresh copy would be: no mark in the archive (the demo makes
    none, and marks are only written to their own table), no cookie in its browser."""
    with closing(sqlite3.connect(marking_server.folder / "wirewatch-demo" / "demo.db",
                                 timeout=30)) as db, db:  # fmt: skip
        db.execute("DELETE FROM marks")
    marking_server.cookies.clear()
    return marking_server


def marks(folder: Path) -> list[tuple]:
    return query(folder, "SELECT article_id, label, note, marked_by FROM marks ORDER BY id")


def test_a_mark_from_the_story_page_is_kept_and_returns_to_where_the_analyst_came_from(
    desk,
) -> None:
    train = story_row(desk.folder, "Direct Moscow-Pyongyang train")
    page = story_page(desk, train)
    (form,) = page.find_class("triage")
    assert form.get("method") == "post" and form.get("action") == f"/story/{train}/mark"
    assert [b.get("value") for b in form.iter("button")] == ["relevant", "irrelevant", "follow-up"]
    status, _, headers = desk.post(
        f"/story/{train}/mark",
        {"label": "follow-up", "note": "check the timetable", "next": "/archive/unreviewed"},
        page=f"/story/{train}",
    )
    assert status == 302 and headers["location"] == "/archive/unreviewed"
    assert marks(desk.folder) == [(train, "follow-up", "check the timetable", OS_USER)]
    status, body, _ = desk.get("/archive/unreviewed")
    assert f"Marked #{train} follow-up." in body
    assert f'href="/story/{train}"' not in body
    # Without a next field it returns to the story page, which shows the new mark.
    status, _, headers = desk.post(
        f"/story/{train}/mark", {"label": "relevant"}, page=f"/story/{train}"
    )
    assert status == 302 and headers["location"] == f"/story/{train}"
    page = story_page(desk, train)
    assert facts(page)["Mark"] == "relevant"
    assert f"follow-up (check the timetable), by {OS_USER}" in text_of(page.find_class("marks")[0])


def test_the_story_page_s_form_returns_to_the_local_page_that_linked_to_it(desk) -> None:
    train = story_row(desk.folder, "Direct Moscow-Pyongyang train")
    here = desk.url.rstrip("/")
    for referer, expected in [
        (f"{here}/archive/flagged_stories?_size=20", "/archive/flagged_stories?_size=20"),
        ("https://evil.example/archive/unreviewed", f"/story/{train}"),
        (None, f"/story/{train}"),
    ]:
        request = urllib.request.Request(
            f"{desk.url}story/{train}", headers={"Referer": referer} if referer else {}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            page = lxml.html.fromstring(response.read())
        (back,) = page.xpath("//form[@class='triage']//input[@name='next']")
        assert back.get("value") == expected, referer


@pytest.mark.parametrize(
    "next_page",
    [
        "https://evil.example/",
        "//evil.example/archive",
        "/\\evil.example/archive",
        "javascript:alert(1)",
        "/archive\r\nLocation: https://evil.example/",
        "archive/unreviewed",
        "/" + "a" * 5000,
    ],
)
def test_a_mark_never_redirects_to_another_host(desk, next_page) -> None:
    train = story_row(desk.folder, "Direct Moscow-Pyongyang train")
    status, _, headers = desk.post(
        f"/story/{train}/mark", {"label": "relevant", "next": next_page}, page=f"/story/{train}"
    )
    assert status == 302 and headers["location"] == f"/story/{train}"
    assert marks(desk.folder) == [(train, "relevant", None, OS_USER)]


def test_a_post_without_the_csrf_token_leaves_the_marks_unchanged(desk) -> None:
    train = story_row(desk.folder, "Direct Moscow-Pyongyang train")
    story_page(desk, train)  # the browser holds the CSRF cookie, as after opening the page
    form = urllib.parse.urlencode({"label": "irrelevant", "next": "/"}).encode()
    for token in (None, "forged"):
        data = form + (f"&csrftoken={token}".encode() if token else b"")
        request = urllib.request.Request(f"{desk.url}story/{train}/mark", data=data)
        status, _, _ = desk._open(request)
        assert status == 403, token
    # Nor without the cookie, as from curl or another site.
    request = urllib.request.Request(f"{desk.url}story/{train}/mark", data=form)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    refused.value.close()
    assert refused.value.code == 403
    assert marks(desk.folder) == []


def test_a_get_never_changes_the_marks(desk) -> None:
    train = story_row(desk.folder, "Direct Moscow-Pyongyang train")
    for path, params in [
        (f"/story/{train}/mark", {"label": "relevant", "note": "x", "next": "/"}),
        (f"/story/{train}", {"label": "relevant", "note": "x"}),
    ]:
        status, body, _ = desk.get(path, **params)
        assert status in (200, 405), body
    status, body, _ = desk.get(f"/story/{train}/mark", label="relevant")
    assert status == 405 and "a GET changes nothing" in body
    assert marks(desk.folder) == []


def test_a_bad_mark_from_the_story_page_is_refused_and_nothing_is_written(desk) -> None:
    train = story_row(desk.folder, "Direct Moscow-Pyongyang train")
    page = f"/story/{train}"
    for path, form, expected in [
        (f"/story/{train}/mark", {"label": "maybe"}, 400),
        (f"/story/{train}/mark", {"label": "relevant", "note": "n" * 1001}, 400),
        ("/story/999999/mark", {"label": "relevant"}, 404),
        ("/story/abc/mark", {"label": "relevant"}, 404),
    ]:
        status, body, _ = desk.post(path, form, page=page)
        assert status == expected, (path, form, body)
        assert "Not marked" in body and "Traceback" not in body
    assert marks(desk.folder) == []
    # A note of the longest size is kept whole.
    status, _, _ = desk.post(f"/story/{train}/mark", {"label": "relevant", "note": "n" * 1000},
                             page=page)  # fmt: skip
    assert status == 302
    assert marks(desk.folder) == [(train, "relevant", "n" * 1000, OS_USER)]


def test_the_fetched_page_is_shown_as_text_with_its_hash_checked(served) -> None:
    putin = story_row(served.folder, "Putin lands in Pyongyang")
    ((sha256, size),) = query(
        served.folder, "SELECT sha256, size FROM pages WHERE article_id = ?", (putin,)
    )
    page = story_page(served, putin)
    assert facts(page, -1)["Fetched page"] == (
        f"the page as fetched, shown as text ({size:,} bytes), SHA-256 {sha256}"
    )
    assert page.get_element_by_id("fetched-page").get("href") == f"/story/{putin}/page"
    status, body, headers = served.get(f"/story/{putin}/page")
    assert status == 200
    # Text, never a page of this server: its scripts and forms cannot run.
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith("sandbox")
    assert headers["x-wirewatch-sha256"] == sha256
    assert headers["x-wirewatch-sha256-matches"] == "yes"
    assert len(body.encode()) == size and "<html" in body.lower()


def test_a_fetched_page_altered_or_not_kept_is_shown_as_such(
    demo_folder: Path, tmp_path: Path
) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    putin = story_row(folder, "Putin lands in Pyongyang")
    train = story_row(folder, "Direct Moscow-Pyongyang train")
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        db.execute("UPDATE pages SET sha256 = ? WHERE article_id = ?", ("0" * 64, putin))
        db.execute("DELETE FROM pages WHERE article_id = ?", (train,))
    with Served(folder) as server:
        status, _, headers = server.get(f"/story/{putin}/page")
        assert status == 200 and headers["x-wirewatch-sha256-matches"] == "no"
        assert facts(story_page(server, train), -1)["Fetched page"].startswith("not kept")
        for path in (f"/story/{train}/page", "/story/99999999/page", "/story/x/page"):
            status, body, _ = server.get(path)
            assert status == 404 and "No fetched page is kept" in body, path
