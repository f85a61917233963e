"""The archive's schema, as sqlite-utils migrations: each runs once, in a transaction.

A new migration is also named in monitor.archive.versions.SCHEMA, which tells a current
archive from one that needs migrating without loading this module.
"""

from __future__ import annotations

import sqlite_utils

from monitor.archive.labels import label_check
from monitor.archive.versions import MIGRATION_SET

migrations = sqlite_utils.Migrations(MIGRATION_SET)


@migrations(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    db.table("sources").create(
        {
            "name": str,
            "kind": str,
            "url": str,
            "last_attempt": str,
            "last_success": str,
            "failures": int,
            "last_error_class": str,
            "last_error": str,
        },
        pk="name",
        not_null={"kind", "url", "failures"},
        defaults={"failures": 0},
    )
    db.table("runs").create(
        {
            "id": int,
            "started": str,
            "finished": str,
            "status": str,  # running, ok, failed, timeout, interrupted
            "sources": str,  # JSON list of source names
            "pid": int,
            "exit_code": int,
            "new": int,
            "flagged": int,
            "failed": int,
            "error": str,
        },
        pk="id",
        not_null={"started", "status", "sources"},
    )
    db.table("run_sources").create(
        {
            "run_id": int,
            "source": str,
            "status": str,  # running, fetched, ok, failed, interrupted
            "entries": int,
            "warning": str,  # a defect of the feed that did not stop it being read
            "new": int,
            "flagged": int,
            "error_class": str,
            "error": str,
            "finished": str,
        },
        pk=("run_id", "source"),
        foreign_keys=[("run_id", "runs", "id"), ("source", "sources", "name")],
        not_null={"status"},
    )
    articles = db.table("articles")
    articles.create(
        {
            "id": int,
            "key": str,  # identity of the story, see crawler.identity
            "url": str,
            "guid": str,
            "source": str,
            "title": str,
            "summary": str,
            "body": str,
            "published": str,
            "published_raw": str,
            "fetched": str,
            "language": str,
            "content_hash": str,
            "extract_error": str,
            "run_id": int,
        },
        pk="id",
        not_null={"key", "url", "source", "fetched", "title", "body", "content_hash"},
        foreign_keys=[("source", "sources", "name"), ("run_id", "runs", "id")],
    )
    articles.create_index(["key"], unique=True)
    articles.create_index(["url"])
    articles.create_index(["source", "guid"])
    articles.create_index(["content_hash"])
    articles.create_index(["run_id"])
    articles.create_index(["published"])
    articles.enable_fts(
        ["title", "body"], create_triggers=True, tokenize="unicode61 remove_diacritics 2"
    )
    flags = db.table("flags")
    flags.create(
        {
            "id": int,
            "article_id": int,
            "topic": str,
            "score": float,
            "threshold": float,
            "rule": str,
            "terms": str,  # JSON list of {entity, alias, field, start, end}
            "snippet": str,
            "created": str,
        },
        pk="id",
        not_null={"article_id", "topic", "score", "created"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    flags.create_index(["article_id", "topic"], unique=True)
    flags.create_index(["topic", "created"])


@migrations(name="0002_politeness_health_tombstones")
def _politeness_health_tombstones(db: sqlite_utils.Database) -> None:
    sources = db.table("sources")
    sources.add_column("etag", str)  # conditional GET validators, saved after a complete read
    sources.add_column("last_modified", str)
    sources.add_column("next_due", str)  # when the source should next be polled (UTC text)
    run_sources = db.table("run_sources")
    run_sources.add_column("http_status", int)
    run_sources.add_column("hint", float)  # seconds the server asked us to wait, if it did
    run_sources.add_column("etag", str)
    run_sources.add_column("last_modified", str)
    articles = db.table("articles")
    articles.add_column("declared_language", str)  # what the source says; language is detected
    # Tombstones: every story key ever taken or deliberately skipped, so a feed that
    # re-publishes old items never brings them back as new.
    db.table("seen").create(
        {"key": str, "source": str, "article_id": int, "first_seen": str, "reason": str},
        pk="key",
        not_null={"source", "first_seen", "reason"},
    )
    db.execute(
        "INSERT INTO seen (key, source, article_id, first_seen, reason) "
        "SELECT key, source, id, fetched, 'archived' FROM articles"
    )
    articles.create_index(["source", "content_hash"])
    # Evidence: the HTML each article was extracted from, zlib-compressed, with its SHA-256.
    db.table("pages").create(
        {"article_id": int, "sha256": str, "size": int, "html": bytes},
        pk="article_id",
        foreign_keys=[("article_id", "articles", "id")],
        not_null={"sha256", "size", "html"},
    )


@migrations(name="0003_flag_rules")
def _flag_rules(db: sqlite_utils.Database) -> None:
    # The names of the topic's rules that fired, as a JSON list: facets in the web view.
    db.table("flags").add_column("rules", str)


@migrations(name="0004_daemon")
def _daemon(db: sqlite_utils.Database) -> None:
    # What `wirewatch status` shows of a running daemon: who, since when, last heartbeat.
    db.table("daemon").create(
        {"id": int, "pid": int, "host": str, "started": str, "heartbeat": str, "stopped": str,
         "config": str},
        pk="id",
    )  # fmt: skip
    # When the daemon will next poll each source, by its schedule.
    db.table("schedule").create({"source": str, "next_run": str, "trigger": str}, pk="source")


@migrations(name="0005_review")
def _review(db: sqlite_utils.Database) -> None:
    from monitor.wordforms import search_text

    articles = db.table("articles")
    # Normalised words (stems, Korean nouns without particles) for search; see wordforms.
    articles.add_column("search", str)
    # The story an article belongs to: the ID of its earliest copy; see monitor.clusters.
    articles.add_column("cluster_id", int)
    articles.create_index(["cluster_id"])
    rows = db.execute("SELECT id, title, body FROM articles").fetchall()
    db.conn.executemany(
        "UPDATE articles SET search = ? WHERE id = ?",
        [(search_text(title, body), article_id) for article_id, title, body in rows],
    )
    articles.disable_fts()
    articles.enable_fts(
        ["title", "body", "search"],
        create_triggers=True,
        tokenize="unicode61 remove_diacritics 2",
        replace=True,
    )
    articles.rebuild_fts()
    db.table("lsh").create({"band": int, "hash": int, "article_id": int})
    db.table("lsh").create_index(["band", "hash"])
    db.table("lsh").create_index(["article_id"])
    # Triage: every mark is kept, so the history of a story's labels is preserved.
    db.execute(
        f"""
        CREATE TABLE marks (
          id INTEGER PRIMARY KEY,
          article_id INTEGER NOT NULL REFERENCES articles(id),
          label TEXT NOT NULL CHECK ({label_check()}),
          note TEXT,
          marked_by TEXT,
          created TEXT NOT NULL
        )
        """
    )
    db.table("marks").create_index(["article_id", "created"])
    # The browser marks through a canned query, on a connection without foreign keys.
    db.execute(
        """
        CREATE TRIGGER marks_need_a_story BEFORE INSERT ON marks
        WHEN NOT EXISTS (SELECT 1 FROM articles WHERE id = NEW.article_id)
        BEGIN SELECT RAISE(ABORT, 'no story has this ID'); END
        """
    )
    # Alerts: one per new flagged story and target; delivered once, retried until then.
    db.table("alerts").create(
        {"id": int, "topic": str, "cluster_id": int, "article_id": int, "target": str,
         "status": str, "attempts": int, "last_error": str, "created": str, "sent": str},
        pk="id",
        not_null={"topic", "cluster_id", "article_id", "target", "status", "attempts", "created"},
        defaults={"attempts": 0},
    )  # fmt: skip
    db.table("alerts").create_index(["topic", "cluster_id", "target"], unique=True)


# The flagged stories as migration 0006 defined them: every flag ranked by story on each
# read. Kept for that migration, and as the baseline of benchmarks/archive_scale.py.
RANKED_FLAGGED_STORIES = """
    WITH hits AS (
      SELECT a.id, a.title, a.url, a.source, a.language, f.topic, f.snippet,
             coalesce(a.published, a.fetched) AS date,
             coalesce(a.cluster_id, a.id) AS story,
             row_number() OVER (PARTITION BY f.topic, coalesce(a.cluster_id, a.id)
                                ORDER BY coalesce(a.published, a.fetched), a.id) AS rank,
             max(f.score) OVER (PARTITION BY f.topic, coalesce(a.cluster_id, a.id)) AS score
      FROM flags f JOIN articles a ON a.id = f.article_id
    )
    SELECT h.id, substr(h.date, 1, 10) AS day, h.date, h.topic, h.source, h.language,
           h.score,
           (SELECT count(DISTINCT o.source) FROM articles o
            WHERE coalesce(o.cluster_id, o.id) = h.story) AS outlets,
           (SELECT m.label FROM marks m JOIN articles x ON x.id = m.article_id
            WHERE coalesce(x.cluster_id, x.id) = h.story
            ORDER BY m.created DESC, m.id DESC LIMIT 1) AS label,
           h.title, h.snippet, h.url, h.story, h.id AS triage
    FROM hits h WHERE h.rank = 1
"""


@migrations(name="0006_review_views")
def _review_views(db: sqlite_utils.Database) -> None:
    # One row per flagged story and topic, for the web view: its earliest flagged copy,
    # outlets, first report, best score and latest mark. A story is its cluster.
    db.execute(f"CREATE VIEW flagged_stories AS {RANKED_FLAGGED_STORIES}")


@migrations(name="0007_story_and_date_indexes")
def _story_and_date_indexes(db: sqlite_utils.Database) -> None:
    # Review finds the copies of a story by coalesce(cluster_id, id) and dates a story by
    # coalesce(published, fetched). SQLite uses an index on an expression only for that very
    # expression, so without these each story listed read every article (issue 7).
    db.execute(
        "CREATE INDEX idx_articles_story ON articles "
        "(coalesce(cluster_id, id), coalesce(published, fetched), source)"
    )
    db.execute("CREATE INDEX idx_articles_date ON articles (coalesce(published, fetched))")
    # The browser lists the articles table newest fetched first.
    db.table("articles").create_index(["fetched"])


# The representative of each flagged story and topic: its earliest flagged copy and its
# best score. Kept by triggers whenever flags change or an article changes story or date,
# so the web view reads it instead of ranking every flag of the archive on each page.
STORY_HITS = """
    SELECT topic, story, id, date, score FROM (
      SELECT f.topic, coalesce(a.cluster_id, a.id) AS story, a.id,
             coalesce(a.published, a.fetched) AS date,
             row_number() OVER (PARTITION BY f.topic, coalesce(a.cluster_id, a.id)
                                ORDER BY coalesce(a.published, a.fetched), a.id) AS rank,
             max(f.score) OVER (PARTITION BY f.topic, coalesce(a.cluster_id, a.id)) AS score
      FROM articles a CROSS JOIN flags f ON f.article_id = a.id  -- a story's copies first
      WHERE {where}
    ) WHERE rank = 1
"""


def refresh_sql(stories: str, topics: str) -> str:
    """SQL that recomputes the rows of flag_stories for the given stories and topics."""
    return (
        f"DELETE FROM flag_stories WHERE story IN ({stories}) AND topic IN ({topics});\n"
        "INSERT INTO flag_stories (topic, story, article_id, date, score) "
        + STORY_HITS.format(
            where=f"coalesce(a.cluster_id, a.id) IN ({stories}) AND f.topic IN ({topics})"
        )
        + ";"
    )


# The flagged stories as migration 0008 defined them: flag_stories joined to each story's
# article and flag. Kept for that migration, and as the baseline of the tests that hold
# migration 0009's view to the same rows.
JOINED_FLAGGED_STORIES = """
    SELECT a.id, substr(s.date, 1, 10) AS day, s.date, s.topic, a.source, a.language,
           s.score,
           (SELECT count(DISTINCT o.source) FROM articles o
            WHERE coalesce(o.cluster_id, o.id) = +s.story) AS outlets,
           (SELECT m.label FROM marks m JOIN articles x ON x.id = m.article_id
            WHERE coalesce(x.cluster_id, x.id) = +s.story
            ORDER BY m.created DESC, m.id DESC LIMIT 1) AS label,
           a.title, f.snippet, a.url, s.story, a.id AS triage
    FROM flag_stories s
    JOIN articles a ON a.id = s.article_id
    JOIN flags f ON f.article_id = s.article_id AND f.topic = s.topic
"""


@migrations(name="0008_flag_stories")
def _flag_stories(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE flag_stories (topic TEXT NOT NULL, story INTEGER NOT NULL, "
        "article_id INTEGER NOT NULL, date TEXT, score REAL, PRIMARY KEY (topic, story))"
    )
    db.execute("CREATE INDEX idx_flag_stories_date ON flag_stories (date)")
    db.execute("CREATE INDEX idx_flag_stories_article ON flag_stories (article_id)")
    db.execute(
        "INSERT INTO flag_stories (topic, story, article_id, date, score) "
        + STORY_HITS.format(where="1")
    )
    story_of = "SELECT coalesce(cluster_id, id) FROM articles WHERE id = {row}.article_id"
    db.executescript(
        f"""
        CREATE TRIGGER flag_stories_on_flag AFTER INSERT ON flags BEGIN
        {refresh_sql(story_of.format(row="NEW"), "NEW.topic")}
        END;
        CREATE TRIGGER flag_stories_on_unflag AFTER DELETE ON flags BEGIN
        {refresh_sql(story_of.format(row="OLD"), "OLD.topic")}
        END;
        CREATE TRIGGER flag_stories_on_move AFTER UPDATE OF cluster_id, published, fetched
        ON articles WHEN EXISTS (SELECT 1 FROM flags WHERE article_id = NEW.id) BEGIN
        {
            refresh_sql(
                "coalesce(OLD.cluster_id, OLD.id), coalesce(NEW.cluster_id, NEW.id)",
                "SELECT topic FROM flags WHERE article_id = NEW.id",
            )
        }
        END;
        """
    )
    db.execute("DROP VIEW flagged_stories")
    db.execute(f"CREATE VIEW flagged_stories AS {JOINED_FLAGGED_STORIES}")


# The flagged stories as the web view reads them since migration 0009: one row of
# flag_stories each, with its article's source and language, its other columns read by
# subqueries. A query reads only the columns it asks for, so a count, or a facet by topic,
# day, source or language, reads flag_stories alone, where the joins made each of a page's
# seven queries read every story's article (language is stored after the body).
# And flag_stories is always the outer loop: a full-text search (Datasette filters on
# ``id IN (SELECT rowid FROM articles_fts WHERE ...)``) looks each story up among the
# matches, where SQLite had read every matching article (tens of thousands) to find the
# few that stand for a story. flag_stories holds only stories whose article and flag
# exist, so the rows are those of the joins.
FLAGGED_STORIES = """
    SELECT s.article_id AS id, substr(s.date, 1, 10) AS day, s.date, s.topic,
           s.source, s.language,
           s.score,
           (SELECT count(DISTINCT o.source) FROM articles o
            WHERE coalesce(o.cluster_id, o.id) = +s.story) AS outlets,
           (SELECT m.label FROM marks m JOIN articles x ON x.id = m.article_id
            WHERE coalesce(x.cluster_id, x.id) = +s.story
            ORDER BY m.created DESC, m.id DESC LIMIT 1) AS label,
           (SELECT a.title FROM articles a WHERE a.id = s.article_id) AS title,
           (SELECT f.snippet FROM flags f
            WHERE f.article_id = s.article_id AND f.topic = s.topic) AS snippet,
           (SELECT a.url FROM articles a WHERE a.id = s.article_id) AS url,
           s.story, s.article_id AS triage
    FROM flag_stories s
"""


# flag_stories_fts is the full-text index of the articles that stand for a flagged story
# (flag_stories' article_id), with the columns and tokenizer of articles_fts: the web view
# of flagged stories searches there, so a search reads the words of a few thousand
# stories, not of a million articles. An article is in it while a row of flag_stories
# names it. A story's source and language are its article's, copied into flag_stories.
# These triggers keep both.
_STORY_TEXT = "SELECT id, title, body, search FROM articles WHERE id = {article}"
_STORY_OUTLET = (
    "UPDATE flag_stories SET (source, language) = "
    "(SELECT source, language FROM articles WHERE id = flag_stories.article_id) WHERE {rows}"
)
_STORY_TRIGGERS = f"""
    CREATE TRIGGER flag_stories_fts_on_insert AFTER INSERT ON flag_stories
    WHEN (SELECT count(*) FROM flag_stories WHERE article_id = NEW.article_id) = 1 BEGIN
      INSERT INTO flag_stories_fts (rowid, title, body, search)
      {_STORY_TEXT.format(article="NEW.article_id")};
    END;
    CREATE TRIGGER flag_stories_fts_on_delete AFTER DELETE ON flag_stories
    WHEN NOT EXISTS (SELECT 1 FROM flag_stories WHERE article_id = OLD.article_id) BEGIN
      INSERT INTO flag_stories_fts (flag_stories_fts, rowid, title, body, search)
      SELECT 'delete', * FROM ({_STORY_TEXT.format(article="OLD.article_id")});
    END;
    CREATE TRIGGER flag_stories_fts_on_update AFTER UPDATE OF article_id ON flag_stories
    BEGIN
      INSERT INTO flag_stories_fts (flag_stories_fts, rowid, title, body, search)
      SELECT 'delete', * FROM ({_STORY_TEXT.format(article="OLD.article_id")})
      WHERE NOT EXISTS (SELECT 1 FROM flag_stories WHERE article_id = OLD.article_id);
      INSERT INTO flag_stories_fts (rowid, title, body, search)
      {_STORY_TEXT.format(article="NEW.article_id")}
      AND (SELECT count(*) FROM flag_stories WHERE article_id = NEW.article_id) = 1;
    END;
    CREATE TRIGGER flag_stories_outlet_on_insert AFTER INSERT ON flag_stories BEGIN
      {_STORY_OUTLET.format(rows="rowid = NEW.rowid")};
    END;
    CREATE TRIGGER flag_stories_outlet_on_update AFTER UPDATE OF article_id ON flag_stories
    BEGIN
      {_STORY_OUTLET.format(rows="rowid = NEW.rowid")};
    END;
    CREATE TRIGGER flag_stories_outlet_on_edit AFTER UPDATE OF source, language ON articles
    BEGIN
      {_STORY_OUTLET.format(rows="article_id = NEW.id")};
    END;
    CREATE TRIGGER flag_stories_fts_on_edit AFTER UPDATE OF title, body, search ON articles
    WHEN EXISTS (SELECT 1 FROM flag_stories WHERE article_id = NEW.id) BEGIN
      INSERT INTO flag_stories_fts (flag_stories_fts, rowid, title, body, search)
      VALUES ('delete', OLD.id, OLD.title, OLD.body, OLD.search);
      INSERT INTO flag_stories_fts (rowid, title, body, search)
      VALUES (NEW.id, NEW.title, NEW.body, NEW.search);
    END;
"""


@migrations(name="0009_web_pages_at_scale")
def _web_pages_at_scale(db: sqlite_utils.Database) -> None:
    # The articles table's page groups every article by language for its facet; without
    # an index that read the whole table, most of the file, since language is stored
    # after the body (0.8 s on a million articles).
    db.execute("CREATE INDEX IF NOT EXISTS idx_articles_language ON articles (language)")
    db.execute("ALTER TABLE flag_stories ADD COLUMN source TEXT")
    db.execute("ALTER TABLE flag_stories ADD COLUMN language TEXT")
    db.execute(_STORY_OUTLET.format(rows="1"))
    # Its rows are read from articles (external content), so it holds only the index.
    db.execute(
        "CREATE VIRTUAL TABLE flag_stories_fts USING fts5 (title, body, search, "
        "content='articles', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute(
        "INSERT INTO flag_stories_fts (rowid, title, body, search) "
        "SELECT id, title, body, search FROM articles "
        "WHERE id IN (SELECT article_id FROM flag_stories)"
    )
    db.executescript(_STORY_TRIGGERS)
    db.execute("DROP VIEW flagged_stories")
    db.execute(f"CREATE VIEW flagged_stories AS {FLAGGED_STORIES}")


@migrations(name="0010_run_sources_by_source")
def _run_sources_by_source(db: sqlite_utils.Database) -> None:
    # status reads how each source's latest run ended; without this index a source the last
    # runs left out was looked for through every run the archive ever recorded.
    db.execute("CREATE INDEX idx_run_sources_source ON run_sources (source, run_id)")


@migrations(name="0011_health_alerts")
def _health_alerts(db: sqlite_utils.Database) -> None:
    # Alerts about the crawl itself: one row per episode of a condition (every source
    # failing, or one failing too long) and target. An episode stays open (cleared NULL)
    # until its condition ends, so a restarted daemon never raises it again.
    table = db.table("health_alerts")
    table.create(
        {"id": int, "condition": str, "subject": str, "since": str, "target": str,
         "title": str, "body": str, "status": str, "attempts": int, "last_error": str,
         "created": str, "sent": str, "cleared": str},
        pk="id",
        not_null={"condition", "subject", "since", "target", "title", "body", "status",
                  "attempts", "created"},
        defaults={"attempts": 0},
    )  # fmt: skip
    table.create_index(["condition", "subject", "since", "target"], unique=True)


@migrations(name="0012_rechecks")
def _rechecks(db: sqlite_utils.Database) -> None:
    # Each time a flagged story's page is read again (monitor.rechecking): what came back,
    # and whether its text or title changed or the page is gone. The text of a version is
    # kept when it differs from the one before, so the next check compares with it.
    db.execute(
        """
        CREATE TABLE rechecks (
          id INTEGER PRIMARY KEY,
          article_id INTEGER NOT NULL REFERENCES articles(id),
          round INTEGER,
          checked TEXT NOT NULL,
          outcome TEXT NOT NULL,
          http_status INTEGER,
          url TEXT,
          title TEXT,
          previous_title TEXT,
          title_changed INTEGER NOT NULL DEFAULT 0,
          text_changed INTEGER NOT NULL DEFAULT 0,
          content_hash TEXT,
          sha256 TEXT,
          text TEXT,
          diff TEXT,
          error TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_rechecks_article ON rechecks (article_id, checked)")
    db.execute("CREATE INDEX idx_rechecks_checked ON rechecks (checked)")
    # An edit or removal alerted: one row per change and target, sent once.
    table = db.table("change_alerts")
    table.create(
        {"id": int, "recheck_id": int, "change": str, "target": str, "status": str,
         "attempts": int, "last_error": str, "created": str, "sent": str},
        pk="id",
        not_null={"recheck_id", "change", "target", "status", "attempts", "created"},
        defaults={"attempts": 0},
        foreign_keys=[("recheck_id", "rechecks", "id")],
    )  # fmt: skip
    table.create_index(["recheck_id", "change", "target"], unique=True)


@migrations(name="0013_sanctions")
def _sanctions(db: sqlite_utils.Database) -> None:
    # The sanctions lists as last loaded (wirewatch sanctions load): each entry, its names,
    # and where a story names one. sanction_scan remembers the last article matched, so
    # each crawl matches only what it added.
    db.table("sanction_entries").create(
        {"key": str, "list": str, "kind": str, "name": str, "programs": str, "imo": str,
         "file": str, "loaded": str},
        pk="key", not_null={"list", "kind", "name", "loaded"},
    )  # fmt: skip
    db.table("sanction_names").create(
        {"entry": str, "name": str}, pk=("entry", "name"), not_null={"entry", "name"}
    )
    db.table("sanction_hits").create(
        {"article_id": int, "entry": str, "matched": str},
        pk=("article_id", "entry"),
        not_null={"article_id", "entry", "matched"},
    )
    db.execute("CREATE INDEX idx_sanction_hits_entry ON sanction_hits (entry)")
    db.table("sanction_scan").create({"id": int, "last_article_id": int}, pk="id")


@migrations(name="0014_role_coverage")
def _role_coverage(db: sqlite_utils.Database) -> None:
    # The timeline and the roles' coverage read one topic's flagged stories by date.
    db.execute("CREATE INDEX idx_flag_stories_topic_date ON flag_stories (topic, date)")
    # Alerts about a role's coverage of a topic (silent, or a spike): one row per episode
    # and target, as health_alerts. An episode stays open (cleared NULL) while it lasts, so
    # the next crawl, or a restarted daemon, says nothing more; status reads the open ones.
    table = db.table("coverage_alerts")
    table.create(
        {"id": int, "topic": str, "role": str, "condition": str, "since": str,
         "target": str, "title": str, "body": str, "status": str, "attempts": int,
         "last_error": str, "created": str, "sent": str, "cleared": str},
        pk="id",
        not_null={"topic", "role", "condition", "since", "target", "title", "body",
                  "status", "attempts", "created"},
        defaults={"attempts": 0},
    )  # fmt: skip
    table.create_index(["topic", "role", "condition", "since", "target"], unique=True)


@migrations(name="0015_seen_by_source")
def _seen_by_source(db: sqlite_utils.Database) -> None:
    # A cluster job carries the keys its sources already have (monitor.cluster.jobs), read
    # newest first per source: without this index that read scanned every tombstone.
    db.execute("CREATE INDEX idx_seen_source ON seen (source)")
