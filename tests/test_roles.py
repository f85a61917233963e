"""Source roles and each flagged story's readout (issue 15 part 1): which roles carried a
story and when, in the config, in show, in the digest and on the story page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from monitor.archive import Archive
from monitor.archive.readout import flagged_copies, story_copies
from monitor.config.loading import parse
from monitor.config.outline import read_outline
from monitor.errors import ConfigError
from monitor.readout import Roles, after, readout_line, readout_of
from monitor.records import ArticleRecord, FlagRecord

from .conftest import REPO, run_cli

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
ROLES = {
    "kp-state": "North Korean state media",
    "ru-state": "Russian state media",
    "kr-media": "South Korean media",
    "independent": "Independent outlets",
    "wire": "News agencies",
}
SOURCES = {"kcna": "kp-state", "tass": "ru-state", "yonhap": "kr-media", "meduza": "independent"}
# kcna first at 08:00, tass 40 minutes later, yonhap 3 hours later; never independent or wire.
COPIES = [("kcna", 0), ("tass", 40), ("yonhap", 180)]
EXPECTED = (
    "kcna first (kp-state) 2026-11-27 08:00 UTC; ru-state +40 min; kr-media +3 h; "
    "never: independent, wire"
)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def record(source: str, slug: str, when: datetime, title: str) -> ArticleRecord:
    url = f"http://127.0.0.1/{source}/{slug}"
    body = f"{title}. Pyongyang and Moscow signed it. " * 3
    return ArticleRecord(source=source, key=url, url=url, guid=url, title=title,
                         summary=body[:40], body=body, published=stamp(when),
                         published_raw=None, fetched=stamp(when), language="en",
                         extract_error=None)  # fmt: skip


def flag(topic: str = "russia-dprk") -> FlagRecord:
    return FlagRecord(topic, score=9.0, threshold=4.0, rule="rule", rules=("rule",), terms=(),
                      snippet="Pyongyang and Moscow signed it.")  # fmt: skip


def add_story(
    archive: Archive,
    slug: str,
    copies: list[tuple[str, float]],
    start: datetime,
    *,
    title: str = "Treaty signed",
    topic: str = "russia-dprk",
) -> int:
    """Add a story whose copies are (source, minutes after *start*), the first flagged."""
    first = None
    for number, (source, minutes) in enumerate(copies):
        archive.db.execute(
            "INSERT OR IGNORE INTO sources (name, kind, url) VALUES (?, 'feed', ?)",
            [source, f"http://127.0.0.1/{source}.xml"],
        )
        when = start + timedelta(minutes=minutes)
        added = archive.add_article(
            record(source, f"{slug}-{number}", when, title), [flag(topic)] if number == 0 else []
        )
        assert added is not None
        first = first or added
        archive.db.execute("UPDATE articles SET cluster_id = ? WHERE id = ?", [first, added])
    archive.db.conn.commit()
    assert first is not None
    return first


def write_config(folder: Path, **extra: object) -> Path:
    data = {
        "archive": "archive.db",
        "roles": ROLES,
        "sources": [
            {"name": name, "url": f"http://127.0.0.1:9/{name}.xml", "kind": "feed", "role": role}
            for name, role in SOURCES.items()
        ],
        **extra,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def desk(tmp_path: Path) -> tuple[Path, int]:
    """A config with roles, and an archive holding one story carried by three roles."""
    write_config(tmp_path)
    with Archive.open(tmp_path / "archive.db") as archive:
        story = add_story(archive, "treaty", [(s, float(m)) for s, m in COPIES], START)
    return tmp_path, story


def test_a_source_naming_an_unknown_role_is_an_error_naming_file_source_and_key(
    tmp_path: Path,
) -> None:
    text = yaml.safe_dump(
        {
            "roles": {"wire": "News agencies"},
            "sources": [
                {"name": "tass", "url": "https://tass.com/rss", "kind": "feed", "role": "wire"},
                {"name": "kcna", "url": "https://kcna.example/rss", "kind": "feed",
                 "role": "kp-stat"},
            ],
        }
    )  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path / "config.yaml")
    message = str(caught.value)
    assert "config.yaml" in message
    assert "sources[1].role" in message
    assert "source kcna" in message and "'kp-stat'" in message and "wire" in message
    # The reading commands refuse it too, by the same message, and never with a traceback.
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        read_outline(path)
    result = run_cli("flagged", cwd=tmp_path)
    assert result.code != 0
    assert "sources[1].role" in result.err and "Traceback" not in result.err


def test_a_role_name_must_be_a_usable_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(yaml.safe_dump({"roles": {"state media": "x"}}), tmp_path / "config.yaml")
    assert "roles.state media" in str(caught.value)


def test_the_default_config_gives_every_source_a_role() -> None:
    path = REPO / "config.yaml"
    config = parse(path.read_text(encoding="utf-8"), path)
    assert {"ru-state", "kp-state", "kr-media", "wire", "independent", "official"} <= set(
        config.roles
    )
    assert [s.name for s in config.sources if s.role is None] == []
    assert config.source("kcna-watch").role == "kp-state"  # type: ignore[union-attr]
    assert config.source("tass-en").role == "ru-state"  # type: ignore[union-attr]
    assert read_outline(path).source_roles == config.source_roles()


def test_the_readout_says_who_was_first_how_long_each_role_followed_and_who_never_did(
    desk: tuple[Path, int],
) -> None:
    folder, story = desk
    with Archive.open(folder / "archive.db") as archive:
        copies = story_copies(archive, story)
    readout = readout_of(copies, Roles(ROLES, SOURCES))
    assert readout is not None
    assert readout.first_source == "kcna" and readout.first_role == "kp-state"
    assert list(readout.roles) == ["kp-state", "ru-state", "kr-media"]
    assert readout.never == ["independent", "wire"]
    assert readout_line(readout.as_json(), "2026-11-27 08:00 UTC") == EXPECTED


def test_a_source_without_a_role_can_be_first_but_carries_no_role() -> None:
    roles = Roles({"wire": "News agencies"}, {"tass": "wire"})
    readout = readout_of([("tass", "2026-11-27T09:00:00Z"), ("blog", "2026-11-27T08:00:00Z")],
                         roles)  # fmt: skip
    assert readout is not None
    assert (readout.first_source, readout.first_role) == ("blog", None)
    assert readout.roles == {"wire": datetime(2026, 11, 27, 9, tzinfo=UTC)}
    assert readout_line(readout.as_json(), "08:00").startswith("blog first (no role) 08:00")
    assert readout_of([("tass", None)], roles) is None


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(20, "same minute"), (40 * 60, "+40 min"), (3 * 3600, "+3 h"), (3 * 3600 + 600, "+3 h 10 min"),
     (2 * 86400 + 4 * 3600, "+2 d 4 h"), (86400, "+1 d")],
)  # fmt: skip
def test_how_long_after_is_said_as_a_person_says_it(seconds: float, said: str) -> None:
    assert after(seconds) == said


def test_show_prints_the_readout_and_gives_it_in_json(desk: tuple[Path, int]) -> None:
    folder, story = desk
    text = run_cli("show", str(story), cwd=folder)
    assert text.code == 0, text.err
    assert f"Readout: {EXPECTED}" in " ".join(text.out.split())
    data = run_cli("show", str(story), "--format", "json", cwd=folder)
    assert data.code == 0, data.err
    readout = json.loads(data.out)["readout"]
    assert readout == {
        "first_seen": "2026-11-27T08:00:00Z",
        "first_source": "kcna",
        "first_role": "kp-state",
        "roles": {"kp-state": "2026-11-27T08:00:00Z", "ru-state": "2026-11-27T08:40:00Z",
                  "kr-media": "2026-11-27T11:00:00Z"},
        "never": ["independent", "wire"],
    }  # fmt: skip


def test_show_without_roles_in_the_config_has_no_readout(desk: tuple[Path, int]) -> None:
    folder, story = desk
    data = run_cli("--archive", str(folder / "archive.db"), "show", str(story), "--format",
                   "json", cwd=folder.parent)  # fmt: skip
    assert data.code == 0, data.err
    assert json.loads(data.out)["readout"] is None


def test_the_digest_gives_each_story_its_readout(desk: tuple[Path, int]) -> None:
    folder, _ = desk
    markdown = run_cli("digest", "--since", "2026-11-01", cwd=folder)
    assert markdown.code == 0, markdown.err
    assert f"- Readout: {EXPECTED}" in markdown.out
    html = run_cli("digest", "--since", "2026-11-01", "--format", "html", cwd=folder)
    assert html.code == 0, html.err
    assert f"Readout: {EXPECTED}" in html.out


def test_a_hostile_source_name_is_escaped_in_the_html_digest(tmp_path: Path) -> None:
    write_config(tmp_path)
    with Archive.open(tmp_path / "archive.db") as archive:
        add_story(archive, "x", [("<script>alert(1)</script>", 0), ("tass", 5)], START,
                  title="<b>Treaty</b>")  # fmt: skip
    html = run_cli("digest", "--since", "2026-11-01", "--format", "html", cwd=tmp_path)
    assert html.code == 0, html.err
    assert "<script>alert(1)</script>" not in html.out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; first (no role)" in html.out


def test_the_copies_of_stories_are_read_oldest_first_with_each_sources_first_copy(
    desk: tuple[Path, int],
) -> None:
    folder, story = desk
    with Archive.open(folder / "archive.db") as archive:
        add_story(archive, "later", [("tass", 0), ("tass", 30)], START + timedelta(days=1))
        found = flagged_copies(archive)
    assert found[0].story == story
    assert sorted(found[1].copies) == [("tass", "2026-11-28T08:00:00Z")]
