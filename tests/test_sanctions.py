"""Sanctions lists (issue 15 part 5): the three published formats read from bytes, names and
IMO numbers found in stories, the lists in the archive, and what ``show``, ``flagged
--sanctioned``, ``sanctions load`` and the story page say, on the demo archive."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.archive import Archive
from monitor.archive import sanctions as stored
from monitor.sanctions import Entry, Finder, SanctionsFileError, read

from .conftest import REPO, copy_demo, run_cli

SAMPLES = REPO / "monitor" / "demo" / "sanctions"
NOW = datetime(2026, 12, 3, tzinfo=UTC)


def entries_of(name: str, programs: tuple[str, ...] = ("DPRK", "RUSSIA")) -> list[Entry]:
    return read((SAMPLES / name).read_bytes(), programs)


def test_the_un_list_keeps_the_1718_committee_s_entries_with_aliases_and_original_script() -> None:
    entries = {entry.key: entry for entry in entries_of("un-consolidated.xml", ())}
    assert set(entries) == {"un:SAMPLE-KPi.901", "un:KPe.001", "un:SAMPLE-KPe.901"}
    komid = entries["un:KPe.001"]
    assert komid.kind == "entity" and komid.programs == ("DPRK",)
    assert komid.aliases == ("KOMID", "조선광업개발무역회사")
    vessel = entries["un:SAMPLE-KPe.901"]
    assert vessel.kind == "vessel" and vessel.imo == ("9900001",)
    assert entries["un:SAMPLE-KPi.901"].name == "PAK CHOL NAM"


@pytest.mark.parametrize("name", ["sdn.xml", "sdn.csv"])
def test_the_sdn_list_reads_the_same_from_xml_and_csv(name: str) -> None:
    entries = {entry.key: entry for entry in entries_of(name)}
    assert set(entries) == {"sdn:900101", "sdn:900103"}  # SDGT is no program of ours
    angara = entries["sdn:900101"]
    assert (angara.kind, angara.name, angara.imo) == ("vessel", "ANGARA", ("9179842",))
    firm = entries["sdn:900103"]
    assert firm.programs == ("DPRK3", "RUSSIA-EO14024")
    assert firm.aliases == ("SAMTRACO", "ОБРАЗЕЦ ТОРГ")
    assert len(read((SAMPLES / name).read_bytes(), ())) == 3  # [] keeps every program


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><sdnList>&a;</sdnList>', "DTD"),
        (b"<sdnList><sdnEntry>", "not well-formed"),
        (b"<rss version='2.0'></rss>", "root is <rss>"),
        (b"name,type\nKIM,individual\n", "line 1 is not a row"),
    ],
)
def test_a_file_that_is_no_list_is_refused_with_the_reason(data: bytes, says: str) -> None:
    with pytest.raises(SanctionsFileError, match=says):
        read(data)


def finder() -> Finder:
    return Finder(entries_of("sdn.xml") + entries_of("un-consolidated.xml"))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Satellite images showed the cargo ship Angara loading at Rajin.", {"sdn:900101"}),
        ("The Angara river freezes in winter.", set()),  # a vessel's name needs a ship near
        ("A vessel registered as IMO 9179842 left Rajin.", {"sdn:900101"}),
        ("Сухогруз ИМО 9179842 вышел из порта.", {"sdn:900101"}),
        ("The number 9179842 alone is no IMO number.", set()),
        ("Experts named KOMID, the arms exporter.", {"un:KPe.001"}),
        ("조선광업개발무역회사는 무기를 수출했다.", {"un:KPe.001"}),  # with a particle
        ("KOMIDS is not KOMID's name.", {"un:KPe.001"}),  # "KOMID's": the word, then 's
        ("Pak Chol-nam met the delegation.", {"un:SAMPLE-KPi.901"}),
        ("Samtracon Ltd is another firm.", set()),  # whole words only
    ],
)
def test_names_and_imo_numbers_are_found_as_whole_words(text: str, found: set[str]) -> None:
    assert {hit.key for hit in finder().find(text)} == found


@pytest.fixture
def demo(demo_folder: Path, tmp_path: Path) -> Path:
    folder = copy_demo(demo_folder, tmp_path)
    config = folder / "wirewatch-demo" / "config.yaml"
    text = config.read_text(encoding="utf-8")
    assert "sanctions:" in text  # the demo names its sample lists
    return folder


def cli(folder: Path, *args: str):
    return run_cli("--config", "wirewatch-demo/config.yaml", *args, cwd=folder)


def munitions_story(folder: Path) -> int:
    result = cli(folder, "flagged", "--format", "json")
    return next(r["id"] for r in json.loads(result.out) if r["title"].startswith("Seoul says"))


def test_the_demo_s_story_of_munitions_names_the_sanctioned_ship(demo: Path) -> None:
    story = munitions_story(demo)
    listed = json.loads(cli(demo, "flagged", "--sanctioned", "--format", "json").out)
    assert [row["id"] for row in listed] == [story]
    shown = cli(demo, "show", str(story))
    assert "Named on a sanctions list:" in shown.out
    assert "OFAC SDN: ANGARA (vessel; RUSSIA-EO14024)" in shown.out
    record = json.loads(cli(demo, "show", str(story), "--format", "json").out)
    assert [(e["key"], e["kind"]) for e in record["sanctions"]] == [("sdn:900101", "vessel")]


def test_sanctions_load_replaces_the_lists_and_matches_again(demo: Path) -> None:
    result = cli(demo, "sanctions", "load", "--format", "json")
    assert result.code == 0, result.err
    done = json.loads(result.out)
    assert done["entries"] == 5 and done["hits"] == 1
    with sqlite3.connect(demo / "wirewatch-demo" / "demo.db") as db:
        assert db.execute("SELECT count(*) FROM sanction_hits").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM sanction_entries").fetchone() == (5,)
    listed = json.loads(cli(demo, "sanctions", "list", "--format", "json").out)
    assert {row["name"]: row["articles"] for row in listed}["ANGARA"] == 1


def test_a_crawl_matches_only_the_articles_it_added(demo: Path) -> None:
    path = demo / "wirewatch-demo" / "demo.db"
    with Archive.open(path, create=False) as archive:
        assert stored.match_new(archive) == (0, 0)  # every article was matched at load
        story = munitions_story(demo)
        with archive.writing() as db:
            # As if the crawl had just added the article that names the ship.
            db.execute("DELETE FROM sanction_hits WHERE article_id = ?", [story])
            db.execute("UPDATE sanction_scan SET last_article_id = ?", [story - 1])
        (after,) = archive.conn.execute(
            "SELECT count(*) FROM articles WHERE id >= ?", [story]
        ).fetchone()
        assert stored.match_new(archive) == (after, 1)
        hits = archive.conn.execute("SELECT article_id, entry FROM sanction_hits").fetchall()
        assert hits == [(story, "sdn:900101")]
        loaded = stored.load(archive, [(e, "t") for e in entries_of("sdn.csv")], NOW)
        (total,) = archive.conn.execute("SELECT count(*) FROM articles").fetchone()
        assert (loaded.entries, loaded.articles, loaded.hits) == (2, total, 1)


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ("[]", "sanctions.files: names no file"),
        ("[missing.xml]", "sanctions.files: cannot read"),
        ("[hostile.xml]", "not a sanctions list wirewatch reads: it declares a DTD"),
    ],
)
def test_a_bad_sanctions_file_is_one_line_and_the_archive_keeps_its_lists(
    demo: Path, files: str, says: str
) -> None:
    folder = demo / "wirewatch-demo"
    (folder / "hostile.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY x "x">]><sdnList>&x;</sdnList>'
    )
    config = folder / "config.yaml"
    text = config.read_text(encoding="utf-8")
    start = text.index("sanctions:")
    end = text.index("\n", text.index("files:", start))
    while text[end + 1 : end + 5] == "  - " or text[end + 1 : end + 7] == "    - ":
        end = text.index("\n", end + 1)
    config.write_text(text[:start] + f"sanctions:\n  files: {files}" + text[end:], "utf-8")
    result = cli(demo, "sanctions", "load")
    assert result.code == 2
    assert says in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
    with sqlite3.connect(folder / "demo.db") as db:
        assert db.execute("SELECT count(*) FROM sanction_entries").fetchone() == (5,)


def test_the_sample_files_say_they_are_samples() -> None:
    for path in SAMPLES.glob("*.xml"):
        assert "It is not the list" in path.read_text(encoding="utf-8")
