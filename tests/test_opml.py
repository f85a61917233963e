"""``wirewatch sources import`` and ``export``: OPML in and out, hostile files refused (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.config import load
from monitor.opml import MAX_BYTES

from .conftest import run_cli, write_config

NESTED = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="Korea" title="Korea">
      <outline type="rss" text="Yonhap" xmlUrl="https://en.yna.co.kr/RSS/northkorea.xml"/>
      <outline text="Specialists">
        <outline type="rss" text="38 North" title="38 North" xmlUrl="https://www.38north.org/feed/"/>
      </outline>
    </outline>
    <outline text="Russia">
      <outline type="rss" text="TASS &amp; co" xmlUrl="https://tass.com/rss/v2.xml?lang=en&amp;x=1"/>
      <outline type="rss" text="Yonhap again" xmlUrl="https://en.yna.co.kr/RSS/northkorea.xml"/>
    </outline>
    <outline text="A folder with no feed"/>
  </body>
</opml>
"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<opml version="2.0"><body><outline text="&d;" xmlUrl="https://example.org/feed"/></body></opml>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://example.org/feed"/></body></opml>
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_config(tmp_path, [{"name": "38north", "url": "https://www.38north.org/feed/"}])
    text = path.read_text(encoding="utf-8")
    path.write_text("# Hand-written notes stay.\n" + text.replace(
        "sources:\n", "sources:\n# the one source so far\n"), encoding="utf-8")  # fmt: skip
    return path


def test_import_adds_nested_feeds_and_skips_the_ones_already_there(
    tmp_path: Path, config: Path
) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_text(NESTED, encoding="utf-8")
    before = config.read_text(encoding="utf-8")

    result = run_cli("--config", str(config), "sources", "import", str(opml))

    assert result.code == 0, result.err
    assert "added    en.yna.co.kr  https://en.yna.co.kr/RSS/northkorea.xml" in result.out
    assert "added    tass.com  https://tass.com/rss/v2.xml?lang=en&x=1" in result.out
    assert "skipped  https://www.38north.org/feed/  (already source 38north)" in result.out
    assert "Added 2 sources to" in result.out
    assert "skipped 1." in result.out
    after = config.read_text(encoding="utf-8")
    assert after.startswith(before.split("topics:")[0].rstrip("\n"))
    assert after.count("topics:") == 1
    assert "# Hand-written notes stay.\n" in after
    assert "# the one source so far\n" in after
    sources = load(config).sources
    assert [(s.name, s.url, s.kind) for s in sources] == [
        ("38north", "https://www.38north.org/feed/", "feed"),
        ("en.yna.co.kr", "https://en.yna.co.kr/RSS/northkorea.xml", "feed"),
        ("tass.com", "https://tass.com/rss/v2.xml?lang=en&x=1", "feed"),
    ]

    again = run_cli("--config", str(config), "sources", "import", str(opml), "--format", "json")

    assert again.code == 0, again.err
    report = json.loads(again.out)
    assert report["added"] == []
    assert report["written"] is False
    assert len(report["skipped"]) == 3
    assert config.read_text(encoding="utf-8") == after


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_an_opml_file_with_entities_is_refused_clearly(
    tmp_path: Path, config: Path, hostile: str
) -> None:
    opml = tmp_path / "hostile.opml"
    opml.write_text(hostile, encoding="utf-8")
    before = config.read_bytes()

    result = run_cli("--config", str(config), "sources", "import", str(opml))

    assert result.code == 2
    assert result.err.startswith(f"wirewatch: {opml}: it declares a DOCTYPE or entities")
    assert len(result.err.strip().splitlines()) == 1
    assert "root:" not in result.err + result.out  # nothing of /etc/passwd
    assert config.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"<html><body>hello</body></html>", "not an OPML file (the root is <html>"),
        (b"<opml><body><outline", "not readable XML"),
        (b" " * (MAX_BYTES + 1), "larger than 8 MiB"),
    ],
    ids=["html", "broken", "huge"],
)
def test_a_file_that_is_no_opml_is_one_line(
    tmp_path: Path, config: Path, content: bytes, problem: str
) -> None:
    opml = tmp_path / "not.opml"
    opml.write_bytes(content)

    result = run_cli("--config", str(config), "sources", "import", str(opml))

    assert result.code == 2
    assert problem in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_export_round_trips_through_import(tmp_path: Path) -> None:
    feeds = [
        {"name": "quoted", "url": 'https://example.org/rss?a=1&b="2"<3>'},
        {"name": "plain", "url": "https://example.net/feed/"},
    ]
    sitemap = {"name": "map", "url": "https://example.com/news.xml", "kind": "sitemap"}
    source = write_config(tmp_path, [*feeds, sitemap], name="from.yaml")
    empty = write_config(tmp_path, [], name="to.yaml")
    exported = tmp_path / "out.opml"

    result = run_cli("--config", str(source), "sources", "export", "--output", str(exported))

    assert result.code == 0, result.err
    assert "Wrote 2 feeds" in result.err
    text = exported.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert "&amp;b=&quot;2&quot;&lt;3&gt;" in text
    assert "news.xml" not in text  # a sitemap is no feed a reader could follow

    imported = run_cli("--config", str(empty), "sources", "import", str(exported))

    assert imported.code == 0, imported.err
    assert [s.url for s in load(empty).sources] == [feed["url"] for feed in feeds]


def test_export_writes_to_stdout_by_default(tmp_path: Path) -> None:
    path = write_config(tmp_path, [{"name": "one", "url": "https://example.org/feed"}])

    result = run_cli("--config", str(path), "sources", "export")

    assert result.code == 0, result.err
    assert 'xmlUrl="https://example.org/feed"' in result.out
    assert result.out.rstrip().endswith("</opml>")


def test_a_dry_run_import_lists_the_feeds_and_writes_nothing(tmp_path: Path, config: Path) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_text(NESTED, encoding="utf-8")
    before = config.read_bytes()

    result = run_cli("--config", str(config), "sources", "import", str(opml), "--dry-run")

    assert result.code == 0, result.err
    assert "would add    tass.com  https://tass.com/rss/v2.xml?lang=en&x=1" in result.out
    assert "Would add 2 sources" in result.out
    assert config.read_bytes() == before
