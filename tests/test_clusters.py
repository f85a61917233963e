"""Story clusters: wire copies (truncated, or with boilerplate) are one story; distinct
stories that share a quote are not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import clusters
from monitor.archive import Archive, SourceRef
from monitor.archive import clusters as book
from monitor.clusters import cluster_new, containment, fingerprint, shingles
from monitor.demo.stories import load_stories
from monitor.records import ArticleRecord
from monitor.timeutil import to_text

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
_, STORIES = load_stories()
BRIDGE = next(s for s in STORIES if s.slug == "tumen-road-bridge-construction")
TRAIN = next(s for s in STORIES if s.slug == "moscow-pyongyang-train-resumes")
BOILERPLATE = (
    "Sign up for our morning briefing and get the day's top stories in your inbox. "
    "Most read: Markets slide as oil prices jump; City council approves new tram line; "
    "Heatwave expected to last until the weekend. Share this article on social media."
)


def add(archive: Archive, key: str, title: str, body: str, *, fetched: datetime = NOW) -> int:
    record = {
        "source": key.split("/")[0],
        "key": f"http://127.0.0.1/{key}",
        "url": f"http://127.0.0.1/{key}",
        "guid": key,
        "title": title,
        "summary": None,
        "body": body,
        "published": to_text(fetched),
        "published_raw": None,
        "fetched": to_text(fetched),
        "language": "en",
        "extract_error": None,
    }
    article_id = archive.add_article(ArticleRecord(**record), [])
    assert article_id is not None
    return article_id


def cluster_of(archive: Archive, article_id: int) -> int:
    (cluster,) = archive.db.execute(
        "SELECT cluster_id FROM articles WHERE id = ?", [article_id]
    ).fetchone()
    return cluster


@pytest.fixture
def archive(tmp_path: Path):
    with Archive.open(tmp_path / "archive.db") as opened:
        names = ("wire", "paper", "daily", "a", "b")
        opened.start_run([SourceRef(name, "feed", f"http://127.0.0.1/{name}") for name in names],
                         NOW, 1)  # fmt: skip
        yield opened


def full(story) -> str:
    return "\n".join(story.paragraphs)


def test_the_lsh_bands_are_the_ones_datasketch_chooses() -> None:
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=0.3, num_perm=clusters.NUM_PERM)
    assert (lsh.b, lsh.r) == (clusters.BANDS, clusters.ROWS)


def test_containment_measures_the_smaller_text_inside_the_larger() -> None:
    whole = fingerprint(full(BRIDGE))
    lead = fingerprint("\n".join(BRIDGE.paragraphs[:2]))
    assert containment(lead, whole) == 1.0
    assert containment(whole, lead) == 1.0  # symmetric: the smaller set decides
    assert containment(whole, fingerprint(full(TRAIN))) < 0.1
    assert containment(fingerprint(""), whole) == 0.0


def test_a_truncated_lead_and_a_copy_with_boilerplate_join_the_original(archive) -> None:
    original = add(archive, "wire/bridge", BRIDGE.title, full(BRIDGE))
    truncated = add(
        archive,
        "paper/bridge",
        BRIDGE.title,
        "\n".join(BRIDGE.paragraphs[:2]) + "\nThis story first appeared on Harbour Wire.",
    )
    padded = add(
        archive,
        "daily/bridge",
        BRIDGE.title.upper(),  # a different headline style
        f"{BOILERPLATE}\n{full(BRIDGE)}\nReporting by Harbour Wire.\n{BOILERPLATE}",
    )
    assert cluster_new(archive, NOW) == 3
    assert cluster_of(archive, original) == original
    assert cluster_of(archive, truncated) == original
    assert cluster_of(archive, padded) == original


def test_distinct_stories_that_share_one_quote_stay_apart(archive) -> None:
    quote = BRIDGE.paragraphs[0].split(". ")[0] + "."
    bridge = add(archive, "wire/bridge", BRIDGE.title, full(BRIDGE))
    train = add(
        archive,
        "wire/train",
        TRAIN.title,
        f"{TRAIN.paragraphs[0]}\nAs another report put it: {quote}\n"
        + "\n".join(TRAIN.paragraphs[1:]),
    )
    cluster_new(archive, NOW)
    assert cluster_of(archive, bridge) == bridge
    assert cluster_of(archive, train) == train


def test_a_copy_arriving_in_a_later_crawl_joins_the_story(archive) -> None:
    original = add(archive, "wire/bridge", BRIDGE.title, full(BRIDGE))
    assert cluster_new(archive, NOW) == 1
    assert cluster_new(archive, NOW) == 0  # nothing new: nothing to do
    later = add(archive, "paper/bridge", BRIDGE.title, full(BRIDGE) + "\nEdited by the desk.")
    assert cluster_new(archive, NOW + timedelta(hours=3)) == 1
    assert cluster_of(archive, later) == original


def test_short_texts_are_their_own_story(archive) -> None:
    notice = "Subscribe to read the full story."
    first = add(archive, "a/1", "Paywalled", notice)
    second = add(archive, "b/1", "Paywalled", notice)
    cluster_new(archive, NOW)
    assert cluster_of(archive, first) == first
    assert cluster_of(archive, second) == second


def test_bands_of_old_articles_are_dropped(archive) -> None:
    old = add(archive, "wire/bridge", BRIDGE.title, full(BRIDGE), fetched=NOW - timedelta(days=30))
    cluster_new(archive, NOW - timedelta(days=30))
    assert (
        archive.db.execute("SELECT count(*) FROM lsh WHERE article_id = ?", [old]).fetchone()[0]
        == clusters.BANDS
    )
    add(archive, "wire/train", TRAIN.title, full(TRAIN))
    cluster_new(archive, NOW)
    (left,) = archive.db.execute("SELECT count(*) FROM lsh WHERE article_id = ?", [old]).fetchone()
    assert left == 0
    # A copy of the old story now starts a story of its own: copies come within days.
    late = add(archive, "paper/bridge", BRIDGE.title, full(BRIDGE) + "\nArchive copy.")
    cluster_new(archive, NOW)
    assert cluster_of(archive, late) == late


def test_bands_are_those_of_a_fresh_minhash_so_stored_bands_stay_comparable() -> None:
    # band_keys draws MinHash's permutations once per process; the bands already in an
    # archive were made with a MinHash drawn for each article, and must still match.
    import hashlib

    from datasketch import MinHash

    found = shingles(full(BRIDGE))
    fresh = MinHash(num_perm=clusters.NUM_PERM, seed=1)
    fresh.update_batch([shingle.encode("utf-8") for shingle in found])
    rows = clusters.ROWS
    expected = [
        (band, int.from_bytes(hashlib.blake2b(
            fresh.hashvalues[band * rows : (band + 1) * rows].tobytes(), digest_size=8
        ).digest(), "big", signed=True))
        for band in range(clusters.BANDS)
    ]  # fmt: skip
    assert clusters.band_keys(found) == expected
    assert clusters.band_keys(found) == expected  # and again, with the permutations kept


def test_a_copy_is_found_among_more_candidates_than_are_read(archive) -> None:
    # Many earlier articles carry most of the story's lead beside a story of their own: they
    # share LSH bands with it without being copies. The copy shares the most bands with the
    # original, which is read first however many of the others came before it.
    words = full(BRIDGE).split()
    part = " ".join(words[: len(words) * 3 // 5])
    pool = " ".join(full(s) for s in STORIES if s.slug != BRIDGE.slug).split()
    size = len(words) * 3 // 5
    copy_text = full(BRIDGE) + "\nEdited by the desk."
    for number in range(clusters.MAX_CANDIDATES * 3):
        own = " ".join(pool[number * 40 : number * 40 + size])
        text = f"{part}\n{own}"
        assert containment(fingerprint(text), fingerprint(copy_text)) < clusters.CONTAINMENT
        add(archive, f"a/{number}", BRIDGE.title, text)
    original = add(archive, "wire/bridge", BRIDGE.title, full(BRIDGE))
    cluster_new(archive, NOW)
    found = shingles(f"{BRIDGE.title}\n{copy_text}")
    read = book.candidates(archive, 0, clusters.band_keys(found), 1000)
    assert len(read) > clusters.MAX_CANDIDATES  # more candidates than are read
    copy = add(archive, "paper/bridge", BRIDGE.title, copy_text)
    cluster_new(archive, NOW)
    assert cluster_of(archive, copy) == original
