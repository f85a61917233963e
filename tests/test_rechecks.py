"""Re-checks of flagged stories (issue 15 part 4): edits, new headlines and removals.

Flagged stories are crawled from a local newswire; then the newswire changes their pages
(rewrites a sentence, a headline, answers 404 or 410, redirects to the section, forbids
the page in robots.txt, serves a page past the size cap) and ``wirewatch recheck`` reads
them again in its child process. The schedule and the verdicts are pure, tested with the
clock passed in.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.html
import pytest

from monitor.archive import Archive
from monitor.archive.prune import prune
from monitor.archive.rechecks import changes, queue_alerts
from monitor.archive.rechecks import record as record_recheck
from monitor.config import parse
from monitor.demo.stories import load_stories
from monitor.lock import ArchiveLock, LockRole
from monitor.newswire import Hit, Newswire, Reply
from monitor.rechecking import (
    MAX_DIFF_CHARS,
    Candidate,
    Outcome,
    Reading,
    Version,
    due,
    due_round,
    is_section,
    judge,
    word_diff,
)
from monitor.records import ArticleRecord, FlagRecord
from monitor.serve.versions import diff_html
from monitor.timeutil import to_text

from .conftest import article_page, copy_demo, rss, run_cli, write_config
from .serving import Served
from .test_daemon import Daemon, query, wait_for

HOUR, DAY = 3600.0, 86400.0
T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
HOOK = "/hooks/changes"
# The stories of the desk, by what happens to their page after the first crawl.
CASES = ("edited", "retitled", "gone404", "gone410", "section", "same", "robots", "huge")


# The schedule: which stories are due, and when -----------------------------------------------


def test_a_story_is_due_at_each_delay_after_its_first_fetch_once() -> None:
    delays = [HOUR, DAY, 7 * DAY]
    assert due_round(T0, delays, None, T0 + timedelta(minutes=59)) is None
    assert due_round(T0, delays, None, T0 + timedelta(hours=1)) == 0
    assert due_round(T0, delays, 0, T0 + timedelta(hours=5)) is None
    assert due_round(T0, delays, 0, T0 + timedelta(days=1)) == 1
    assert due_round(T0, delays, 1, T0 + timedelta(days=6)) is None
    assert due_round(T0, delays, 1, T0 + timedelta(days=7)) == 2
    assert due_round(T0, delays, 2, T0 + timedelta(days=70)) is None


def test_rounds_missed_while_no_daemon_ran_are_read_once_as_the_latest() -> None:
    delays = [HOUR, DAY, 7 * DAY]
    assert due_round(T0, delays, None, T0 + timedelta(days=8)) == 2
    assert due_round(T0, delays, 0, T0 + timedelta(days=3)) == 1


def test_due_leaves_out_removed_stories_and_those_not_yet_due() -> None:
    now = T0 + timedelta(days=2)
    stories = [
        Candidate(1, "http://a/1", "a", T0, None, False),  # 2 days old, never checked: round 1
        Candidate(2, "http://a/2", "a", T0, 1, False),  # round 1 done
        Candidate(3, "http://a/3", "a", T0, None, True),  # removed
        Candidate(4, "http://a/4", "a", now - timedelta(minutes=5), None, False),  # too new
        Candidate(5, "http://a/5", "a", now - timedelta(hours=2), None, False),  # round 0
    ]
    found = due(stories, [HOUR, DAY, 7 * DAY], now)
    assert [(story.article_id, round_) for story, round_ in found] == [(1, 1), (5, 0)]
    assert due(stories, [], now) == []


def test_recheck_after_must_rise_and_be_durations(tmp_path: Path) -> None:
    for bad, said in (("[1d, 1h]", "shortest to longest"), ("[soon]", "not a duration")):
        config = write_config(tmp_path, [])
        config.write_text(config.read_text() + f"recheck:\n  after: {bad}\n")
        result = run_cli("--config", str(config), "check")
        assert result.code == 2
        assert "recheck.after" in result.err and said in result.err
        assert "Traceback" not in result.err
    assert parse("recheck:\n  after: [30m, 2d]\n", Path("c.yaml")).recheck.after == [
        1800.0,
        2 * DAY,
    ]


# Verdicts and differences ---------------------------------------------------------------------


def test_the_word_difference_marks_removed_and_added_words_in_context() -> None:
    old = "Kim Jong Un met Putin at the cosmodrome on Wednesday and the two toured the site"
    new = "Kim Jong Un met Putin at the cosmodrome on Thursday and the two toured the site"
    assert word_diff(old, new) == (
        "… met Putin at the cosmodrome on [-Wednesday-] {+Thursday+} and the two toured the site"
    )


def test_the_word_difference_of_a_huge_rewrite_is_bounded() -> None:
    old = " ".join(f"word{i}" for i in range(50_000))
    new = " ".join(f"other{i}" for i in range(50_000))
    started = time.monotonic()
    diff = word_diff(old, new)
    assert len(diff) <= MAX_DIFF_CHARS
    assert time.monotonic() - started < 10


def test_a_redirect_to_the_home_page_or_a_section_above_is_a_removal() -> None:
    story = "http://site.example/world/asia/story-1.html"
    assert is_section(story, "http://site.example/")
    assert is_section(story, "http://site.example/world/")
    assert is_section(story, "https://www.site.example/world/asia")
    assert not is_section(story, "http://site.example/world/asia/story-1-updated.html")
    assert not is_section(story, "http://site.example/sport/")
    assert not is_section(story, "http://elsewhere.example/")


def test_a_page_that_cannot_be_read_is_no_change() -> None:
    before = Version("Title", "Some text", "hash")
    for reading in (
        Reading(None, "http://a/1", False, error="timeout: took too long"),
        Reading(503, "http://a/1", False, error="http: HTTP 503"),
        Reading(200, "http://a/1", False, title="Title", text=None),
    ):
        verdict = judge("http://a/1", before, reading)
        assert verdict.outcome == Outcome.FAILED
        assert verdict.changes() == []


def test_a_story_first_kept_as_its_feed_summary_takes_its_first_text_as_baseline() -> None:
    verdict = judge(
        "http://a/1", Version("T", None, None, first=True), Reading(200, "http://a/1", False,
                                                                    title="T", text="Text")
    )  # fmt: skip
    assert verdict.outcome == Outcome.FIRST
    assert verdict.changes() == []
    assert verdict.text == "Text"


def test_the_story_page_escapes_the_pages_words_in_a_difference() -> None:
    html = str(diff_html("said [-<b>no</b>-] {+<script>alert(1)</script>+} today"))
    assert "<script>" not in html and "<b>" not in html
    assert "<del>&lt;b&gt;no&lt;/b&gt;</del>" in html
    assert "<ins>&lt;script&gt;alert(1)&lt;/script&gt;</ins>" in html


# Against the local newswire ------------------------------------------------------------------


def _stories() -> dict[str, tuple[str, tuple[str, ...]]]:
    """One flagged story's headline and paragraphs per case, from the demo's stories."""
    _, stories = load_stories()
    about = [story for story in stories if story.about]
    return {case: (about[i].title, about[i].paragraphs) for i, case in enumerate(CASES)}


class Webhook:
    """Receives alerts (apprise json://) on the newswire."""

    def __init__(self, wire: Newswire) -> None:
        self.wire = wire
        wire.route(HOOK, lambda hit: Reply(b"{}", headers={"Content-Type": "application/json"}))

    def messages(self) -> list[dict[str, str]]:
        """The change alerts received (the crawl's alerts of new stories left out)."""
        sent = [json.loads(hit.body) for hit in self.wire.hits_for(HOOK)]
        return [m for m in sent if m["title"].startswith(("[edited]", "[retitled]", "[removed]"))]


class Desk:
    """A newswire with one flagged story per case, crawled once, then changed."""

    def __init__(self, wire: Newswire, folder: Path) -> None:
        self.wire, self.folder = wire, folder
        self.stories = _stories()
        self.robots = "User-agent: *\nAllow: /\n"
        wire.route("/robots.txt", lambda hit: Reply(self.robots.encode(),
                                                    headers={"Content-Type": "text/plain"}))  # fmt: skip
        items = []
        for case, (title, paragraphs) in self.stories.items():
            wire.route(self.path(case), Reply.html(article_page(title, paragraphs)))
            items.append({"title": title, "link": wire.url(self.path(case)), "guid": case,
                          "description": paragraphs[0]})  # fmt: skip
        wire.route("/site/rss.xml", Reply.xml(rss(items)))
        self.hook = Webhook(wire)
        self.config = write_config(
            folder, [{"name": "site", "url": wire.url("/site/rss.xml"), "interval": "1h"}],
            crawl={"max_size_mb": 1},
        )  # fmt: skip
        target = wire.url(HOOK).replace("http://", "json://")
        text = self.config.read_text(encoding="utf-8")
        self.config.write_text(text + f"alerts:\n  russia-dprk:\n    - {target}\n", "utf-8")

    def path(self, case: str) -> str:
        return f"/site/news/{case}.html"

    def cli(self, *args: str) -> str:
        result = run_cli("--config", str(self.config), *args, cwd=self.folder)
        assert result.code == 0, result.err
        return result.out

    def ids(self) -> dict[str, int]:
        with sqlite3.connect(self.folder / "archive.db") as db:
            rows = db.execute("SELECT url, id FROM articles").fetchall()
        return {url.rsplit("/", 1)[-1].removesuffix(".html"): id_ for url, id_ in rows}

    def change_pages(self) -> None:
        """What the sites do after the first crawl."""
        wire, stories = self.wire, self.stories
        title, paragraphs = stories["edited"]
        first = paragraphs[0].split()
        edited = " ".join([*first[:5], "reportedly", *first[5:]])
        wire.route(self.path("edited"), Reply.html(article_page(title, (edited, *paragraphs[1:]))))
        _, paragraphs = stories["retitled"]
        wire.route(
            self.path("retitled"), Reply.html(article_page("A quieter headline", paragraphs))
        )
        wire.route(self.path("gone404"), Reply(b"not here", status=404))
        wire.route(self.path("gone410"), Reply(b"gone", status=410))
        wire.route(
            "/site/news/", Reply.html("<html><body><h1>News</h1><p>Latest.</p></body></html>")
        )
        section = Reply(status=301, headers={"Location": wire.url("/site/news/")})
        wire.route(self.path("section"), section)
        self.robots = "User-agent: *\nDisallow: /site/news/robots.html\n"
        megabytes = (b"<p>" + b"x" * 1021 + b"</p>" for _ in range(4 * 1024))
        wire.route(self.path("huge"), Reply(stream=lambda: megabytes, length=4 * 1024 * 1028,
                                            headers={"Content-Type": "text/html"}))  # fmt: skip


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The desk after one crawl, the pages' changes and one ``recheck --all``."""
    pytest.importorskip("apprise", reason="change alerts need the optional apprise extra")
    folder = tmp_path_factory.mktemp("rechecks")
    with Newswire() as wire:
        desk = Desk(wire, folder)
        desk.cli("crawl")
        assert set(desk.ids()) == set(CASES)
        desk.hits_before = {case: wire.requests_for(desk.path(case)) for case in CASES}
        desk.change_pages()
        desk.started = time.monotonic()
        desk.out = desk.cli("recheck", "--all")
        desk.seconds = time.monotonic() - desk.started
        yield desk


def _changes(desk: Desk) -> list[dict[str, object]]:
    return json.loads(desk.cli("changes", "--format", "json"))


def _by_case(desk: Desk) -> dict[str, list[str]]:
    ids = {article_id: case for case, article_id in desk.ids().items()}
    found: dict[str, list[str]] = {}
    for change in _changes(desk):
        found.setdefault(ids[int(str(change["story"]))], []).append(str(change["change"]))
    return found


def _outcome(desk: Desk, case: str) -> tuple[str, str | None, str | None]:
    with sqlite3.connect(desk.folder / "archive.db") as db:
        return db.execute(
            "SELECT outcome, error, diff FROM rechecks WHERE article_id = ?", [desk.ids()[case]]
        ).fetchone()


def test_each_change_is_found_and_nothing_else(desk: Desk) -> None:
    assert _by_case(desk) == {
        "edited": ["edited"],
        "retitled": ["retitled"],
        "gone404": ["removed"],
        "gone410": ["removed"],
        "section": ["removed"],
    }
    assert "Re-checked 8 flagged stories: 5 changes found." in desk.out


def test_an_edit_is_recorded_with_its_word_difference_and_new_hash(desk: Desk) -> None:
    (edit,) = [c for c in _changes(desk) if c["change"] == "edited"]
    assert "{+reportedly+}" in str(edit["diff"])
    with sqlite3.connect(desk.folder / "archive.db") as db:
        old_hash, new_hash, text = db.execute(
            "SELECT a.content_hash, r.content_hash, r.text FROM rechecks r "
            "JOIN articles a ON a.id = r.article_id WHERE r.text_changed = 1"
        ).fetchone()
    assert new_hash != old_hash and len(new_hash) == 64
    assert "reportedly" in text
    assert len(str(edit["evidence_sha256"])) == 64


def test_changes_json_gives_story_url_change_and_utc_time(desk: Desk) -> None:
    listed = _changes(desk)
    ids = desk.ids()
    for change in listed:
        assert {"story", "url", "change", "checked"} <= set(change)
        assert change["change"] in ("edited", "retitled", "removed")
        assert str(change["checked"]).endswith("Z")
        assert change["story"] in ids.values()
    (retitled,) = [c for c in listed if c["change"] == "retitled"]
    assert retitled["new_title"] == "A quieter headline"
    assert retitled["url"] == desk.wire.url(desk.path("retitled"))
    assert json.loads(desk.cli("changes", "--since", "2099-01-01", "--format", "json")) == []


def test_an_unchanged_page_records_no_change(desk: Desk) -> None:
    assert _outcome(desk, "same")[0] == "same"
    assert "same" not in _by_case(desk)


def test_a_page_robots_txt_now_forbids_is_not_fetched(desk: Desk) -> None:
    outcome, error, _ = _outcome(desk, "robots")
    assert outcome == "failed" and "robots.txt" in (error or "")
    assert desk.wire.requests_for(desk.path("robots")) == desk.hits_before["robots"]


def test_a_page_past_the_size_cap_is_cut_off_not_read(desk: Desk) -> None:
    outcome, error, diff = _outcome(desk, "huge")
    assert outcome == "failed" and diff is None
    assert "too_large" in (error or "") or "size" in (error or "")
    assert desk.seconds < 60


def test_each_change_is_alerted_once(desk: Desk) -> None:
    messages = desk.hook.messages()
    assert len(messages) == 5
    titles = sorted(message["title"].split("]")[0] + "]" for message in messages)
    assert titles == ["[edited]", "[removed]", "[removed]", "[removed]", "[retitled]"]
    (edit,) = [m for m in messages if m["title"].startswith("[edited]")]
    assert "{+reportedly+}" in edit["message"]
    desk.cli("recheck", "--all")  # nothing changed since: nothing new to say
    assert len(desk.hook.messages()) == 5
    assert len(_changes(desk)) == 5


def test_show_lists_a_storys_rechecks(desk: Desk) -> None:
    out = desk.cli("show", str(desk.ids()["retitled"]))
    assert "Re-checks:" in out and "→ “A quieter headline”" in out
    record = json.loads(desk.cli("show", str(desk.ids()["section"]), "--format", "json"))
    assert record["rechecks"][0]["outcome"] == "removed"


def test_the_queries_read_indexes_not_the_whole_archive(desk: Desk) -> None:
    with Archive.open(desk.folder / "archive.db", create=False) as archive:
        conn = archive.conn
        plans = []
        for sql, params in (
            (
                "SELECT a.id FROM (SELECT DISTINCT article_id FROM flag_stories) s "
                "JOIN articles a ON a.id = s.article_id",
                [],
            ),
            ("SELECT id FROM rechecks WHERE checked >= ?", ["2026-01-01"]),
            ("SELECT max(round) FROM rechecks WHERE article_id = ?", [1]),
        ):
            plans.append(
                " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            )
        assert changes(archive, datetime(2099, 1, 1, tzinfo=UTC)) == []
    assert "SCAN a " not in plans[0] + " " and "USING INTEGER PRIMARY KEY" in plans[0]
    assert "idx_rechecks_checked" in plans[1]
    assert "idx_rechecks_article" in plans[2]


def test_without_stored_pages_a_feeds_headline_is_not_taken_for_a_new_one(
    tmp_path: Path, newswire: Newswire
) -> None:
    _, paragraphs = _stories()["same"]
    page = "/site/news/a.html"
    newswire.route(page, Reply.html(article_page("The page's own headline", paragraphs)))
    item = {"title": "The feed's shorter headline", "link": newswire.url(page), "guid": "a"}
    newswire.route("/site/rss.xml", Reply.xml(rss([item])))
    config = write_config(tmp_path, [{"name": "site", "url": newswire.url("/site/rss.xml")}])
    config.write_text(config.read_text() + "store_html: false\n")

    def recheck() -> list[dict[str, object]]:
        result = run_cli("--config", str(config), "recheck", "--all", cwd=tmp_path)
        assert result.code == 0, result.err
        listed = run_cli("--config", str(config), "changes", "--format", "json", cwd=tmp_path)
        return json.loads(listed.out)

    assert run_cli("--config", str(config), "crawl", cwd=tmp_path).code == 0
    assert recheck() == []  # the page's headline is read, and kept as the one to compare
    newswire.route(page, Reply.html(article_page("A rewritten headline", paragraphs)))
    (change,) = recheck()
    assert change["change"] == "retitled"
    assert (change["previous_title"], change["new_title"]) == (
        "The page's own headline",
        "A rewritten headline",
    )


def test_prune_removes_the_rechecks_of_a_story_no_topic_flags_any_more(tmp_path: Path) -> None:
    fetched = to_text(T0 - timedelta(days=400))
    with Archive.open(tmp_path / "archive.db") as archive:
        archive.db.execute("INSERT INTO sources (name, kind, url) VALUES ('s', 'feed', 'x')")
        record = ArticleRecord(source="s", key="k", url="http://a/1", guid=None, title="T",
                               summary="", body="Text", published=None, published_raw=None,
                               fetched=fetched, language="en", extract_error=None)  # fmt: skip
        flag = FlagRecord("russia-dprk", score=5, threshold=4, rule="rule", rules=("rule",),
                          terms=(), snippet="")  # fmt: skip
        article_id = archive.add_article(record, [flag])
        assert article_id is not None
        verdict = judge("http://a/1", Version("T", "Text", None), Reading(410, "http://a/1", False))
        recheck_id = record_recheck(archive, article_id, 0, T0, verdict, http_status=410,
                                    url="http://a/1", sha256=None)  # fmt: skip
        (found,) = changes(archive, ids=[recheck_id])
        queue_alerts(archive, [(found, ["json://127.0.0.1/hook"])], T0)
        with archive.writing() as db:  # as rematch does when no topic flags it any more
            db.execute("DELETE FROM flags WHERE article_id = ?", [article_id])
        result = prune(archive, T0 - timedelta(days=30))
        assert result.articles == 1
        left = archive.conn.execute(
            "SELECT (SELECT count(*) FROM rechecks), (SELECT count(*) FROM change_alerts)"
        ).fetchone()
    assert left == (0, 0)


def test_the_demo_page_shows_an_edited_storys_versions_escaped(
    demo_folder: Path, tmp_path: Path
) -> None:
    folder = copy_demo(demo_folder, tmp_path)
    with sqlite3.connect(folder / "wirewatch-demo" / "demo.db") as db:
        (shoigu,) = db.execute(
            "SELECT article_id FROM rechecks WHERE text_changed = 1 AND title_changed = 1"
        ).fetchone()
        (other,) = db.execute(
            "SELECT article_id FROM rechecks WHERE outcome = 'same' LIMIT 1"
        ).fetchone()
        db.execute(  # what a hostile site's rewrite could leave in a difference
            "INSERT INTO rechecks (article_id, checked, outcome, text_changed, diff) "
            "VALUES (?, '2026-12-03T10:00:00Z', 'changed', 1, ?)",
            [other, "said [-<b>no</b>-] {+<script>alert(1)</script>+} today"],
        )
    with Served(folder) as served:
        status, body, _ = served.get(f"/story/{shoigu}")
        assert status == 200
        page = lxml.html.fromstring(body)
        (versions,) = page.find_class("versions")
        assert "retitled" in versions.text_content()
        assert [d.text_content() for d in versions.iter("del")] == [
            "He gave no timetable for their arrival."
        ]
        assert "within weeks" in "".join(i.text_content() for i in versions.iter("ins"))
        status, body, _ = served.get(f"/story/{other}")
        assert status == 200
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    (versions,) = lxml.html.fromstring(body).find_class("versions")
    assert not list(versions.iter("script")) and not list(versions.iter("b"))


# The daemon ----------------------------------------------------------------------------------


def test_recheck_by_hand_is_refused_while_the_daemon_holds_the_archive(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "site", "url": "http://127.0.0.1:9/rss.xml"}])
    with ArchiveLock(tmp_path / "archive.db", LockRole.DAEMON).acquire():
        result = run_cli("--config", str(config), "recheck", cwd=tmp_path)
    assert result.code == 2
    assert "collects this archive already (stop it to re-check by hand)" in result.err
    assert "Traceback" not in result.err


def test_the_daemon_runs_the_due_rechecks(tmp_path: Path, newswire: Newswire) -> None:
    stories = _stories()
    title, paragraphs = stories["edited"]
    newswire.route("/site/news/a.html", Reply.html(article_page(title, paragraphs)))
    item = {"title": title, "link": newswire.url("/site/news/a.html"), "guid": "a"}
    newswire.route("/site/rss.xml", Reply.xml(rss([item])))
    config = write_config(
        tmp_path, [{"name": "site", "url": newswire.url("/site/rss.xml"), "interval": "1h"}]
    )
    assert run_cli("--config", str(config), "crawl", cwd=tmp_path).code == 0
    # The story was first fetched two hours ago: its one-hour re-check is due.
    with sqlite3.connect(tmp_path / "archive.db") as db:
        db.execute(
            "UPDATE articles SET fetched = ?", [to_text(datetime.now(UTC) - 2 * timedelta(hours=1))]
        )
    newswire.route("/site/news/a.html", Reply(b"gone", status=410))
    daemon = Daemon(tmp_path)
    try:
        wait_for(lambda: query(tmp_path, "SELECT outcome, round FROM rechecks"), 60,
                 "the daemon's re-check")  # fmt: skip
        assert query(tmp_path, "SELECT outcome, round FROM rechecks") == [("removed", 0)]
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        daemon.close()
    assert newswire.requests_for("/site/news/a.html") == 2  # the crawl, and the re-check
    assert not daemon.crawl_processes()


def test_routing_a_path_again_replaces_its_reply(newswire: Newswire) -> None:
    """The newswire replaces a page's reply when it is routed again (what the demo uses)."""
    newswire.route("/p", Reply.html("<p>one</p>"))
    newswire.route("/p", Reply(b"gone", status=410))
    assert newswire.reply_for(Hit("GET", "/p", {})).status == 410
