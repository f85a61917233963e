"""What crosses Redis between the daemon and its workers: jobs and results, checked field by
field, and the worker's stand-in for the archive (crawler.ledger). No Redis needed here."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.ledger import RemoteLedger
from monitor import events
from monitor.archive import Archive, SourceRef
from monitor.cluster import wire
from monitor.collection.remote import batches, snapshot_of
from monitor.config import parse
from monitor.records import ArticleRecord, FlagRecord

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def article(n: int, source: str = "one") -> ArticleRecord:
    return ArticleRecord(
        source=source, key=f"http://a.test/{n}", url=f"http://a.test/{n}", guid=f"g{n}",
        title=f"Title {n}", summary="", body=f"Body of story {n}.", published=None,
        published_raw=None, fetched="2026-12-03T12:00:00Z", language="en", extract_error=None,
    )  # fmt: skip


FLAG = FlagRecord(
    topic="russia-dprk", score=5.0, threshold=4.0, rule="pair", rules=("pair",),
    terms=({"entity": "russia", "alias": "Moscow"},), snippet="Moscow and Pyongyang.",
)  # fmt: skip


def results_of(snapshot: wire.Snapshot) -> tuple[RemoteLedger, list[events.Result]]:
    sent: list[events.Result] = []
    return RemoteLedger(snapshot, sent.append), sent


def test_a_job_comes_back_as_it_was_sent() -> None:
    snapshot = wire.Snapshot(
        first={"one": True}, validators={"one": ('"e1"', None)}, keys={"one": ["k"]},
        guids={"one": ["g"]},
    )  # fmt: skip
    job = wire.Job("7.0", 7, ["one"], snapshot)
    again = wire.decode_job(job.to_json())
    assert again == job


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"id": 1}',
        json.dumps(
            {
                "id": "1",
                "run_id": "7",
                "sources": [],
                "snapshot": {"first": {}, "validators": {}, "keys": {}, "guids": {}},
            }
        ),
    ],
)
def test_a_job_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(wire.BadMessage):
        wire.decode_job(text)


def test_the_ledger_answers_from_the_snapshot_and_sends_each_write() -> None:
    snapshot = wire.Snapshot(
        first={"one": False}, validators={"one": ('"e1"', "Tue")},
        keys={"one": ["http://a.test/1"]}, guids={"one": ["g9"]},
    )  # fmt: skip
    ledger, sent = results_of(snapshot)
    assert ledger.is_first_fetch("one") is False
    assert ledger.is_first_fetch("unknown") is True
    assert ledger.validators("one") == ('"e1"', "Tue")
    assert ledger.is_known("one", None, "http://a.test/1")
    assert ledger.is_known("one", "g9")
    assert not ledger.is_known("other", "g9")  # a GUID counts for its own source only
    assert ledger.add_article(article(1), [FLAG]) is None  # known: nothing sent
    assert ledger.add_article(article(2), [FLAG], html=b"<p>x</p>") == RemoteLedger.SENT
    assert ledger.add_article(article(2), [FLAG]) is None  # taken once by this crawl
    ledger.record_feed(3, "one", 2, etag='"e2"')
    ledger.remember(["http://a.test/old"], "one", "too_old", NOW)
    assert ledger.is_known("one", None, "http://a.test/old")
    assert [result.op for result in sent] == ["article", "feed", "remember"]


def archive_with_run(tmp_path: Path) -> tuple[Archive, int]:
    archive = Archive.open(tmp_path / "archive.db")
    run = archive.start_run([SourceRef("one", "feed", "http://a.test/rss")], NOW, 1)
    return archive, run


def test_results_applied_twice_archive_an_article_once(tmp_path: Path) -> None:
    archive, run = archive_with_run(tmp_path)
    ledger, sent = results_of(wire.Snapshot())
    ledger.add_article(article(1), [FLAG], html=b"<html>page</html>")
    ledger.record_feed(run, "one", 1, etag='"e2"')
    ids = []
    for _ in range(2):  # a worker killed after sending, and its job crawled again
        for result in sent:
            text = wire.result(result.op, **result.args)
            op, args = wire.decode_result(text)
            ids.append(wire.apply(archive, run, op, args))
    assert ids[0] is not None and ids[2] is None
    rows = archive.conn.execute("SELECT url, run_id FROM articles").fetchall()
    assert rows == [("http://a.test/1", run)]
    assert archive.conn.execute("SELECT count(*) FROM flags").fetchone()[0] == 1
    assert archive.page_html(ids[0]) == b"<html>page</html>"
    archive.close()


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("article", {"source": "one", "article": {"source": "one", "evil": 1}}),
        ("article", {"source": "two", "article": {**article(1).columns()}, "flags": []}),
        ("article", {"source": "one", "article": {**article(1).columns(), "title": 5}}),
        ("article", {"source": "one", "article": article(1).columns(), "html": "%%%"}),
        ("feed", {"source": "one", "entries": "many"}),
        ("remember", {"source": "one", "keys": "k", "reason": "x", "now": "2026"}),
        ("done", {"source": "one"}),
        ("feed", {}),
    ],
)
def test_a_hostile_result_is_refused_and_writes_nothing(
    tmp_path: Path, op: str, args: dict[str, object]
) -> None:
    archive, run = archive_with_run(tmp_path)
    with pytest.raises(wire.BadMessage):
        wire.apply(archive, run, op, args)
    assert archive.conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    archive.close()


def test_a_result_names_its_run_only_through_the_daemon(tmp_path: Path) -> None:
    archive, run = archive_with_run(tmp_path)
    columns = {**article(1).columns(), "run_id": 999}
    found = wire.apply(archive, run, "article", {"source": "one", "article": columns})
    assert found is not None
    assert archive.conn.execute("SELECT run_id FROM articles").fetchone()[0] == run
    archive.close()


def test_jobs_keep_a_hosts_sources_together_in_batches() -> None:
    config = parse(
        "sources:\n"
        + "".join(
            f"  - {{name: s{n}, kind: feed, url: 'http://{host}.test/{n}.xml'}}\n"
            for n, host in enumerate(["b", "a", "b", "a", "c"])
        ),
        Path("config.yaml"),
    )
    jobs = batches(list(config.sources), 2)
    assert [[source.name for source in job] for job in jobs] == [["s1", "s3"], ["s0", "s2"], ["s4"]]


def test_the_snapshot_carries_validators_and_the_latest_keys(tmp_path: Path) -> None:
    archive, _run = archive_with_run(tmp_path)
    archive.add_article(article(1), [])
    archive.remember(["http://a.test/old"], "one", "too_old", NOW)
    config = parse(
        "sources:\n  - {name: one, kind: feed, url: 'http://a.test/rss'}\n", Path("c.yaml")
    )
    snapshot = snapshot_of(archive, list(config.sources))
    assert snapshot.first == {"one": True}
    assert set(snapshot.keys["one"]) >= {"http://a.test/1", "http://a.test/old"}
    assert snapshot.guids["one"] == ["g1"]
    archive.close()
