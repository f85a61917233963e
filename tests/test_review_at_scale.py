"""Review queries that stay fast on a big archive (issue 7, load and scale).

A story's copies are found through an index on ``coalesce(cluster_id, id)`` and stories are
dated through one on ``coalesce(published, fetched)``; without them each story in a list
scanned every article (benchmarks/archive_scale.py: minutes on a million articles). Search
ranks its matches in the FTS index and reads the text, topics and label of only the rows
it shows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from monitor import review
from monitor.archive import Archive
from monitor.archive.schema import (
    JOINED_FLAGGED_STORIES,
    RANKED_FLAGGED_STORIES,
    STORY_HITS,
    migrations,
    refresh_sql,
)
from monitor.archive.versions import SCHEMA
from monitor.records import ArticleRecord, FlagRecord
from monitor.review import Filters
from monitor.search import search

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WORDS = ["troops", "treaty", "railway", "shells", "tourists", "bridge", "workers", "flights"]


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def archive(tmp_path: Path):
    """An archive of 240 stories about Pyongyang, every fourth flagged and every third with
    a copy at another outlet, clustered as monitor.clusters leaves them."""
    with Archive.open(tmp_path / "archive.db") as opened:
        for name in ("wire", "echo"):
            opened.db.execute(
                "INSERT INTO sources (name, kind, url) VALUES (?, 'feed', ?)",
                [name, f"http://127.0.0.1/{name}.xml"],
            )
        for number in range(240):
            when = NOW - timedelta(hours=number)
            words = " ".join(WORDS[: 1 + number % len(WORDS)])
            body = f"Pyongyang and Moscow: {words}. Story {number}. " + "More text. " * (number % 7)
            flags = [
                FlagRecord("russia-dprk", score=5.0 + number % 3, threshold=4.0, rule="rule",
                           rules=("rule",), terms=(), snippet=body[:40])
            ] if number % 4 == 0 else []  # fmt: skip
            original = opened.add_article(article(number, "wire", body, when), flags)
            if number % 3 == 0:
                copy = opened.add_article(
                    article(number, "echo", body, when + timedelta(minutes=30)), flags
                )
                opened.db.execute(
                    "UPDATE articles SET cluster_id = ? WHERE id = ?", [original, copy]
                )
            opened.db.execute(
                "UPDATE articles SET cluster_id = id WHERE cluster_id IS NULL AND id = ?",
                [original],
            )
        opened.db.conn.commit()
        yield opened


def article(number: int, source: str, body: str, when: datetime) -> ArticleRecord:
    url = f"http://127.0.0.1/{source}/{number}"
    return ArticleRecord(source=source, key=url, url=url, guid=url, title=f"Story {number}",
                         summary=body[:20], body=body, published=stamp(when), published_raw=None,
                         fetched=stamp(when), language="en", extract_error=None)  # fmt: skip


def plans_of(archive: Archive, run) -> list[str]:
    """Run *run* and return the query plan of each statement it executed, one text each."""
    statements: list[str] = []
    archive.db.conn.set_trace_callback(statements.append)
    try:
        run()
    finally:
        archive.db.conn.set_trace_callback(None)
    return [
        "\n".join(row[3] for row in archive.db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())
        for sql in statements
        if sql.lstrip().upper().startswith(("SELECT", "WITH"))
    ]


def scans_of_articles(plan: str) -> list[str]:
    """Return the lines of a plan that read the articles table from end to end."""
    return [
        line
        for line in plan.splitlines()
        if line.startswith("SCAN ") and " USING " not in line and "(" not in line.split()[1]
        and line.split()[1] in {"a", "o", "x", "articles"}
    ]  # fmt: skip


def test_flagged_finds_each_story_s_copies_through_an_index(archive) -> None:
    since = Filters(since=NOW - timedelta(days=2))
    plans = plans_of(archive, lambda: review.flagged(archive, since, limit=10))
    assert any("idx_articles_story" in plan for plan in plans)
    assert not [line for plan in plans for line in scans_of_articles(plan)]
    rows, total = review.flagged(archive, since, limit=0)
    assert total == len(rows) == 13  # one row per story in two days, copies folded in
    assert {row["outlets"] for row in rows} == {1, 2}


def test_flagged_since_reads_only_the_recent_articles(archive) -> None:
    since = Filters(since=NOW - timedelta(hours=6))
    plans = plans_of(archive, lambda: review.flagged(archive, since, limit=10))
    # The stories are read from their date index, not ranked from every flag (issue 11).
    assert plans and all("idx_flag_stories_date (date>?)" in plan for plan in plans)
    # The one scan allowed is of the page: the few rows picked, then read in full.
    scans = [line for plan in plans for line in plan.splitlines() if "SCAN" in line]
    assert set(scans) <= {"SCAN page"}
    rows, _ = review.flagged(archive, since, limit=0)
    everything, _ = review.flagged(archive, Filters(), limit=0)
    recent = [
        row
        for row in everything
        if (row["published"] or row["fetched"]) >= stamp(NOW - timedelta(hours=6))
    ]
    assert [row["id"] for row in rows] == [row["id"] for row in recent] != []


def test_flagged_by_source_keeps_the_copy_that_stands_for_each_story(archive) -> None:
    """Issue 11: the CLI ranked the copies after filtering, so --source showed another
    outlet's later copy as the story; it now filters the stories that serve lists."""
    with archive.writing() as db:
        # Story 0's copy at echo is corrected to have come first: it now stands for it.
        (wire,) = db.execute("SELECT id FROM articles WHERE url LIKE '%/wire/0'").fetchone()
        (echo,) = db.execute("SELECT id FROM articles WHERE url LIKE '%/echo/0'").fetchone()
        db.execute("UPDATE articles SET published = '2026-11-27T11:00:00Z' WHERE id = ?", [echo])
    everything, _ = review.flagged(archive, Filters(), limit=0)
    assert echo in [row["id"] for row in everything] and wire not in [
        row["id"] for row in everything
    ]
    for source in ("wire", "echo"):
        rows, total = review.flagged(archive, Filters(source=source), limit=0)
        assert rows == [row for row in everything if row["source"] == source] != []
        assert total == len(rows)
        served = archive.db.execute(
            "SELECT id FROM flagged_stories WHERE source = ? ORDER BY date DESC, id DESC",
            [source],
        ).fetchall()
        assert [row["id"] for row in rows] == [found for (found,) in served]
    wire_rows, _ = review.flagged(archive, Filters(source="wire"), limit=0)
    assert wire not in [row["id"] for row in wire_rows]  # not the story's copy any more


def test_the_flagged_stories_view_finds_copies_through_an_index(archive) -> None:
    plan = "\n".join(
        row[3] for row in archive.db.execute("EXPLAIN QUERY PLAN SELECT * FROM flagged_stories")
    )
    assert "idx_articles_story" in plan
    assert scans_of_articles(plan) == []


# The ranking that flag_stories keeps, computed from scratch over every flag.
RANKED = STORY_HITS.format(where="1") + " ORDER BY topic, story"


def kept(archive: Archive) -> list[tuple]:
    return archive.db.execute(
        "SELECT topic, story, article_id, date, score FROM flag_stories ORDER BY topic, story"
    ).fetchall()


def move_correct_unflag_and_flag_again(db: sqlite_utils.Database) -> None:
    """A copy joins another story, a story's copy is corrected to have come first, a flag is
    taken back, and a second topic flags articles some stories already stand for."""
    first, second = [row[0] for row in db.execute("SELECT id FROM articles LIMIT 2 OFFSET 8")]
    db.execute("UPDATE articles SET cluster_id = ? WHERE id = ?", [first, second])
    db.execute("UPDATE articles SET published = '2020-01-01T00:00:00Z' WHERE id = ?", [16])
    db.execute("DELETE FROM flags WHERE article_id = (SELECT min(article_id) FROM flags)")
    db.execute(
        "INSERT INTO flags (article_id, topic, score, threshold, rule, rules, terms, snippet, "
        "created) SELECT id, 'second-topic', 9.5, 1, 'r', '[]', '[]', 's', ? FROM articles "
        "WHERE id % 5 = 0",
        [stamp(NOW)],
    )


def test_each_story_s_earliest_flagged_copy_is_kept_through_moves_rematches_and_new_copies(
    archive,
) -> None:
    assert kept(archive) == archive.db.execute(RANKED).fetchall() != []
    with archive.writing() as db:
        move_correct_unflag_and_flag_again(db)
    assert kept(archive) == archive.db.execute(RANKED).fetchall()
    # The web view gives what the view that ranked every flag on each read gave.
    view = sorted(archive.db.execute("SELECT * FROM flagged_stories").fetchall())
    assert view == sorted(archive.db.execute(RANKED_FLAGGED_STORIES).fetchall())


def test_the_newest_flagged_stories_are_read_from_their_date_index(archive) -> None:
    sql = "SELECT * FROM flagged_stories ORDER BY date DESC LIMIT 50"
    plan = "\n".join(row[3] for row in archive.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert "idx_flag_stories_date" in plan, plan
    assert "flags f" not in plan.split("SEARCH s")[0]  # no ranking of every flag first


def test_a_story_s_outlets_come_from_an_index(archive) -> None:
    plans = plans_of(archive, lambda: review.article(archive, 1))
    assert any("idx_articles_story" in plan for plan in plans)
    assert not [line for plan in plans for line in scans_of_articles(plan)]


def test_search_reads_the_text_of_only_the_matches_it_shows(archive) -> None:
    everything, total = search(archive, "Pyongyang Moscow", limit=None)
    assert total == 320 and len(everything) == 240  # articles, and the stories they make
    steps = {}
    for limit in (5, None):
        counted = [0]

        def step(counted: list[int] = counted) -> int:
            counted[0] += 1
            return 0

        archive.db.conn.set_progress_handler(step, 100)
        try:
            rows, found = search(archive, "Pyongyang Moscow", limit=limit)
        finally:
            archive.db.conn.set_progress_handler(None, 100)
        steps[limit] = counted[0]
        assert found == total
        assert [row["id"] for row in rows] == [row["id"] for row in everything][: limit or None]
    assert steps[5] * 2 < steps[None]


def test_search_keeps_tied_matches_in_date_order_across_the_limit(archive) -> None:
    everything, _ = search(archive, "railway", limit=None)
    for limit in (1, 2, 3, 7, 20):
        rows, _ = search(archive, "railway", limit=limit)
        assert [row["id"] for row in rows] == [row["id"] for row in everything][:limit]


def test_search_gives_the_same_stories_and_copies_at_every_limit(archive) -> None:
    """Issue 13: one row per story, shown by its best-matching, then earliest, copy; the
    limited search looks up only enough matches to find its stories, and agrees."""
    everything, _ = search(archive, "Pyongyang Moscow treaty", limit=None)
    assert len({row["story"] for row in everything}) == len(everything)
    copied = [row for row in everything if row["outlets"] == 2]
    assert copied and all(row["source"] == "wire" for row in copied)  # wire ran it first
    for limit in (1, 4, 30, 100):
        rows, _ = search(archive, "Pyongyang Moscow treaty", limit=limit)
        assert rows == everything[:limit]


def test_the_articles_table_lists_newest_fetched_first_from_an_index(archive) -> None:
    plan = "\n".join(
        row[3]
        for row in archive.db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM articles ORDER BY fetched DESC LIMIT 51"
        )
    )
    assert "idx_articles_fetched" in plan
    assert "TEMP B-TREE" not in plan


def test_the_browser_runs_no_facet_suggestion_queries(archive) -> None:
    from monitor.serve import build  # Datasette is slow to import: only here

    # Datasette would otherwise try every column of a page as a facet, each try a query
    # over the whole view, before the page is sent.
    assert build(archive.path).setting("suggest_facets") is False


def test_writing_a_flag_ranks_only_the_copies_of_its_story(archive) -> None:
    stories = "SELECT coalesce(cluster_id, id) FROM articles WHERE id = 8"
    insert = refresh_sql(stories, "'russia-dprk'").split(";\n")[1].rstrip(";")
    plan = "\n".join(row[3] for row in archive.db.execute(f"EXPLAIN QUERY PLAN {insert}"))
    assert "SEARCH a USING INDEX idx_articles_story" in plan, plan
    assert "SCAN a" not in plan and "SCAN f" not in plan


# What Datasette runs for a search of the flagged stories: the view filtered on the matches
# of the table its metadata names (monitor.serve.metadata), here flag_stories_fts.
SEARCHED = (
    "SELECT {columns} FROM flagged_stories WHERE id IN "
    "(SELECT rowid FROM flag_stories_fts WHERE flag_stories_fts MATCH ?)"
)
QUERIES = ["Pyongyang", "railway", "railway shells", "Story", "tourists OR bridge", "flights"]


def searched(archive: Archive, query: str) -> list[tuple]:
    sql = SEARCHED.format(columns="*")
    return sorted(archive.db.execute(sql, [query]).fetchall())


def searched_in_every_article(archive: Archive, query: str) -> list[tuple]:
    """The same search as the view of migration 0008 ran it: over every article's index."""
    sql = (
        f"SELECT * FROM ({JOINED_FLAGGED_STORIES}) WHERE id IN "
        "(SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"
    )
    return sorted(archive.db.execute(sql, [query]).fetchall())


def index_of(archive: Archive, table: str) -> list[tuple]:
    """Every (term, row, column, offset) an FTS5 index holds."""
    archive.db.execute(f"CREATE VIRTUAL TABLE temp.vocab_{table} USING fts5vocab(main, {table}, "
                       "'instance')")  # fmt: skip
    try:
        return sorted(archive.db.execute(f"SELECT * FROM temp.vocab_{table}").fetchall())
    finally:
        archive.db.execute(f"DROP TABLE temp.vocab_{table}")


def assert_the_story_index_is_exact(archive: Archive) -> None:
    """flag_stories_fts indexes the text of exactly the articles that stand for a story."""
    archive.db.execute(
        "CREATE VIRTUAL TABLE temp.fresh USING fts5 (title, body, search, "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    try:
        archive.db.execute(
            "INSERT INTO temp.fresh (rowid, title, body, search) SELECT id, title, body, search "
            "FROM articles WHERE id IN (SELECT article_id FROM flag_stories)"
        )
        archive.db.execute(
            "CREATE VIRTUAL TABLE temp.vocab_fresh USING fts5vocab(temp, fresh, 'instance')"
        )
        expected = sorted(archive.db.execute("SELECT * FROM temp.vocab_fresh").fetchall())
    finally:
        archive.db.execute("DROP TABLE IF EXISTS temp.vocab_fresh")
        archive.db.execute("DROP TABLE temp.fresh")
    assert index_of(archive, "flag_stories_fts") == expected != []


def test_the_web_view_of_stories_gives_the_rows_and_search_results_of_the_joins(archive) -> None:
    """Issue 12: the view reads flag_stories alone and searches the stories' own index;
    its rows, and what a search finds, are those of the view that joined every article."""

    def same() -> None:
        view = sorted(archive.db.execute("SELECT * FROM flagged_stories").fetchall())
        assert view == sorted(archive.db.execute(JOINED_FLAGGED_STORIES).fetchall()) != []
        for query in QUERIES:
            assert searched(archive, query) == searched_in_every_article(archive, query), query
        assert_the_story_index_is_exact(archive)

    same()
    with archive.writing() as db:
        move_correct_unflag_and_flag_again(db)
        # And an article that a story stands for has its text corrected.
        story = db.execute("SELECT article_id FROM flag_stories LIMIT 1").fetchone()[0]
        db.execute(
            "UPDATE articles SET title = 'Kaesong bridge', search = 'kaesong bridge', "
            "language = 'ko' WHERE id = ?",
            [story],
        )
        db.execute("DELETE FROM flags WHERE topic = 'second-topic' AND article_id % 10 = 0")
    same()
    assert [row[0] for row in searched(archive, "Kaesong")] == [story]


def test_a_search_of_the_stories_never_reads_the_articles_that_match(archive) -> None:
    """Issue 12: with a join, SQLite read every matching article to find the few that
    stand for a story (67,513 of them for one search of a million articles, in each of a
    page's seven queries); the stories now look themselves up among the matches."""
    columns = "id, day, date, topic, source, language, score, outlets, label, title, url"
    for sql in (
        SEARCHED.format(columns=f"{columns}") + " ORDER BY date DESC LIMIT 51",
        SEARCHED.format(columns="count(*)"),
        f"SELECT language, count(*) FROM ({SEARCHED.format(columns=columns)}) GROUP BY language",
    ):
        plan = [row[3] for row in archive.db.execute(f"EXPLAIN QUERY PLAN {sql}", ["Story"])]
        assert plan[0].startswith(("SEARCH s ", "SCAN s")), plan  # the stories, outermost
        assert not any("articles_fts" in line for line in plan), plan
        assert "SCAN flag_stories_fts VIRTUAL TABLE" in "\n".join(plan)


def test_counting_the_stories_or_faceting_them_reads_no_article(archive) -> None:
    """Issue 12: each of the seven queries of a page of flagged stories (the count and five
    facets) read every story's article; the label facet still reads each story's marks."""
    for sql in (
        "SELECT count(*) FROM flagged_stories",
        *(
            f"SELECT {column}, count(*) FROM (SELECT * FROM flagged_stories) GROUP BY {column}"
            for column in ("topic", "day", "source", "language")
        ),
    ):
        plan = "\n".join(row[3] for row in archive.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "articles" not in plan and "flags" not in plan, plan


def test_the_articles_table_s_facets_read_indexes_not_the_articles(archive) -> None:
    """Issue 12: the language facet read the whole table (language is stored after the
    body), 0.8 s of the articles page on a million articles."""
    for column in ("source", "language"):
        sql = (
            f"SELECT {column} AS value, count(*) AS count FROM (SELECT * FROM articles) "
            f"WHERE {column} IS NOT NULL GROUP BY {column} ORDER BY count DESC, value LIMIT 31"
        )
        plan = "\n".join(row[3] for row in archive.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING COVERING INDEX" in plan, plan


def test_an_archive_from_before_0009_gets_its_stories_indexed_for_search(tmp_path) -> None:
    path = tmp_path / "old.db"
    with sqlite_utils.Database(path) as db:
        migrations.apply(db, stop_before=SCHEMA[SCHEMA.index("0009_web_pages_at_scale")])
        db.execute(
            "INSERT INTO sources (name, kind, url) VALUES ('wire', 'feed', 'http://127.0.0.1/')"
        )
        for number, title in enumerate(["Kaesong bridge reopens", "Harbour strike ends"], 1):
            db.execute(
                "INSERT INTO articles (id, key, url, source, title, body, fetched, content_hash, "
                "search) VALUES (?, ?, ?, 'wire', ?, 'Text.', ?, 'h', lower(?))",
                [number, f"k{number}", f"http://127.0.0.1/{number}", title, stamp(NOW), title],
            )
        db.execute(
            "INSERT INTO flags (article_id, topic, score, created) VALUES (1, 'korea', 5, ?)",
            [stamp(NOW)],
        )
    with Archive.open(path, create=False) as migrated:
        assert [row[0] for row in searched(migrated, "Kaesong")] == [1]
        assert searched(migrated, "Harbour") == []  # not flagged: not a story
        assert_the_story_index_is_exact(migrated)
