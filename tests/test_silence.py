"""Silence and spikes per role (issue 15 part 3): a role's daily count of flagged stories of
a topic against its own baseline, decided on a passed-in clock, alerted once per episode,
shown by status and the digest, and never raised on a new archive."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml

from monitor import coverage
from monitor.archive import Archive
from monitor.archive.coverage_alerts import Episode, open_episodes
from monitor.collection.cycle import run_cycle
from monitor.config import load
from monitor.config.coverage import CoverageSettings
from monitor.config.loading import parse
from monitor.errors import ConfigError
from monitor.newswire import Newswire, Reply
from monitor.readout import Roles
from monitor.timeutil import utcnow

from .conftest import rss, run_cli
from .conftest import write_config as feed_config
from .test_roles import ROLES, SOURCES, add_story, write_config

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
TOPIC = "russia-dprk"
DEFAULTS = CoverageSettings()  # 28 days of baseline, silent after 3 quiet days, spike 4x and 5


def daily(days: range, per_day: int, hour: int = 9) -> list[datetime]:
    """Return *per_day* times on each day *days* before NOW's date."""
    midnight = NOW.replace(hour=0, minute=0)
    return [
        midnight - timedelta(days=day) + timedelta(hours=hour, minutes=minute * 7)
        for day in days
        for minute in range(per_day)
    ]


def assess(
    carried: dict[tuple[str, str], list[datetime]],
    *,
    history_days: int = 60,
    now: datetime = NOW,
    open_now: frozenset[Episode] = frozenset(),
    settings: CoverageSettings = DEFAULTS,
) -> coverage.Verdict:
    return coverage.assess(carried, {TOPIC: now - timedelta(days=history_days)}, [TOPIC],
                           list(ROLES), open_now, settings, now)  # fmt: skip


def test_a_role_that_usually_covers_the_topic_and_went_quiet_is_silent() -> None:
    # ru-state: two a day for weeks, nothing in the last four days.
    verdict = assess({(TOPIC, "ru-state"): daily(range(4, 40), 2)})
    assert [alarm.episode.condition for alarm in verdict.raised] == ["silent"]
    alarm = verdict.raised[0]
    assert alarm.episode.role == "ru-state" and alarm.episode.topic == TOPIC
    assert alarm.body.startswith(
        "ru-state has carried no flagged russia-dprk story for 4 d 5 h (since 2026-11-23 09:07 UTC)"
    )
    assert "usually 1.9 a day over the 28 days before" in alarm.body


def test_a_quiet_role_that_rarely_covers_the_topic_is_not_silent() -> None:
    # One story a week is below quiet_min_daily (one a day): four quiet days say nothing.
    verdict = assess({(TOPIC, "independent"): daily(range(4, 40, 7), 1)})
    assert verdict.ongoing == []


def test_a_role_that_carried_a_story_within_the_quiet_days_is_not_silent() -> None:
    verdict = assess({(TOPIC, "ru-state"): daily(range(2, 40), 2)})
    assert verdict.ongoing == []


def test_a_role_far_above_its_baseline_today_spikes() -> None:
    usual = daily(range(1, 40), 1)
    today = daily(range(1), 8, hour=1)
    verdict = assess({(TOPIC, "kp-state"): usual + today})
    assert [(a.episode.role, a.episode.condition) for a in verdict.raised] == [
        ("kp-state", "spike")
    ]
    alarm = verdict.raised[0]
    assert alarm.episode.since == datetime(2026, 11, 27, tzinfo=UTC)
    assert alarm.body.startswith(
        "kp-state carried 8 flagged russia-dprk stories on 2026-11-27 (UTC), against 1.0 a day"
    )


def test_a_busy_day_below_the_factor_or_the_minimum_is_no_spike() -> None:
    usual = daily(range(1, 40), 2)
    assert assess({(TOPIC, "kp-state"): usual + daily(range(1), 7, hour=1)}).ongoing == []
    # From nothing, four stories are below spike_min.
    assert assess({(TOPIC, "wire"): daily(range(1), 4, hour=1)}).ongoing == []


def test_a_new_archive_raises_nothing() -> None:
    # Ten days of history, a quiet role and a loud day: the baseline is not yet known.
    carried = {
        (TOPIC, "ru-state"): daily(range(4, 10), 5),
        (TOPIC, "kp-state"): daily(range(1), 30, hour=1),
    }
    assert assess(carried, history_days=10).ongoing == []
    assert assess({}, history_days=0).ongoing == []
    # No flagged story at all: no history, nothing said.
    assert coverage.assess({}, {}, [TOPIC], list(ROLES), frozenset(), DEFAULTS, NOW).ongoing == []


def test_an_episode_is_raised_once_and_cleared_when_the_role_speaks_again() -> None:
    carried = {(TOPIC, "ru-state"): daily(range(4, 40), 2)}
    first = assess(carried)
    episode = first.raised[0].episode
    # The next cycle, an hour later: the same episode holds, nothing new to raise.
    again = assess(carried, now=NOW + timedelta(hours=1), open_now=frozenset({episode}))
    assert again.raised == [] and again.cleared == []
    assert [alarm.episode for alarm in again.ongoing] == [episode]
    # ru-state carries a story: the episode ends, and nothing is raised.
    spoke = carried[(TOPIC, "ru-state")] + [NOW + timedelta(hours=1)]
    back = assess({(TOPIC, "ru-state"): spoke}, now=NOW + timedelta(hours=2),
                  open_now=frozenset({episode}))  # fmt: skip
    assert back.raised == [] and back.cleared == [episode]


def test_silence_and_spikes_can_each_be_turned_off() -> None:
    quiet = {(TOPIC, "ru-state"): daily(range(4, 40), 2)}
    loud = {(TOPIC, "kp-state"): daily(range(1), 30, hour=1)}
    off = CoverageSettings(quiet_days=None, spike_factor=None)
    assert assess({**quiet, **loud}, settings=off).ongoing == []
    assert len(assess({**quiet, **loud}).ongoing) == 2


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [("baseline_days", 3, "coverage.baseline_days"), ("quiet_days", 0, "coverage.quiet_days"),
     ("spike_factor", 1, "coverage.spike_factor"), ("speed", 2, "coverage.speed")],
)  # fmt: skip
def test_a_bad_coverage_key_is_named(key: str, value: object, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(yaml.safe_dump({"coverage": {key: value}}), Path("config.yaml"))
    assert said in str(caught.value)


# The same decisions read from an archive, recorded and sent once (coverage.check).


def quiet_desk(folder: Path) -> None:
    """An archive where tass (ru-state) carried two stories a day for five weeks, then
    stopped four days before NOW, while yonhap (kr-media) kept on."""
    with Archive.open(folder / "archive.db") as archive:
        for when in daily(range(4, 40), 2):
            add_story(archive, f"t{when:%m%d%H%M}", [("tass", 0), ("yonhap", 30)], when)
        for when in daily(range(4), 2):
            add_story(archive, f"y{when:%m%d%H%M}", [("yonhap", 0)], when)


def test_check_records_an_episode_and_alerts_each_target_once(tmp_path: Path) -> None:
    quiet_desk(tmp_path)
    sent: list[tuple[str, str, str]] = []

    def notify(target: str, title: str, body: str) -> str | None:
        sent.append((target, title, body))
        return None

    roles = Roles(ROLES, SOURCES)
    with Archive.open(tmp_path / "archive.db") as archive:
        for hours in (0, 1, 5):  # three crawls; a restarted daemon is one more
            coverage.check(archive, [TOPIC], roles, DEFAULTS, ["json://127.0.0.1:9/x"],
                           NOW + timedelta(hours=hours), notify)  # fmt: skip
        assert [title for _, title, _ in sent] == [
            "[wirewatch] ru-state silent on russia-dprk for 4 d 5 h"
        ]
        assert [(e.role, e.condition) for e in open_episodes(archive)] == [("ru-state", "silent")]
    # status says so, in text and JSON, with no alert configured in the config.
    write_config(tmp_path, topics={TOPIC: {"entities": {"a": {"en": ["x"]}}, "rule": "a"}})
    status = run_cli("status", cwd=tmp_path)
    assert status.code == 0, status.err
    assert "Coverage: ru-state has carried no flagged russia-dprk story" in " ".join(
        status.out.split()
    )
    data = json.loads(run_cli("status", "--format", "json", cwd=tmp_path).out)
    assert [item["alert"][:25] for item in data["coverage"]] == ["ru-state has carried no f"]


def test_a_failed_send_is_tried_again_at_the_next_check(tmp_path: Path) -> None:
    quiet_desk(tmp_path)
    answers = ["service down", None]
    tries: list[str] = []

    def notify(target: str, title: str, body: str) -> str | None:
        tries.append(title)
        return answers.pop(0)

    with Archive.open(tmp_path / "archive.db") as archive:
        first = coverage.check(archive, [TOPIC], Roles(ROLES, SOURCES), DEFAULTS, ["json://x"],
                               NOW, notify)  # fmt: skip
        second = coverage.check(archive, [TOPIC], Roles(ROLES, SOURCES), DEFAULTS, ["json://x"],
                                NOW + timedelta(hours=1), notify)  # fmt: skip
        third = coverage.check(archive, [TOPIC], Roles(ROLES, SOURCES), DEFAULTS, ["json://x"],
                               NOW + timedelta(hours=2), notify)  # fmt: skip
    assert (first, second, third) == ((0, 1), (1, 0), (0, 0))
    assert len(tries) == 2


def test_a_new_archive_checked_end_to_end_raises_nothing(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "archive.db") as archive:
        for when in daily(range(6), 9):  # six loud days, then silence: too new to judge
            add_story(archive, f"n{when:%m%d%H%M}", [("kcna", 0)], when)
        sent: list[str] = []

        def notify(target: str, title: str, body: str) -> str | None:
            sent.append(title)
            return None

        for days in (0, 2, 5):
            result = coverage.check(archive, [TOPIC], Roles(ROLES, SOURCES), DEFAULTS,
                                    ["json://x"], NOW + timedelta(days=days), notify)  # fmt: skip
            assert result == (0, 0)
        assert sent == [] and open_episodes(archive) == set()


def test_the_digest_says_which_roles_are_silent(tmp_path: Path) -> None:
    quiet_desk(tmp_path)
    write_config(tmp_path, topics={TOPIC: {"entities": {"a": {"en": ["x"]}}, "rule": "a"}})
    # The digest decides at its own now; the archive's clock is moved to end at NOW.
    with Archive.open(tmp_path / "archive.db") as archive:
        shift = datetime.now(UTC) - NOW
        archive.db.execute(
            "UPDATE articles SET published = strftime('%Y-%m-%dT%H:%M:%SZ', published, ?), "
            "fetched = strftime('%Y-%m-%dT%H:%M:%SZ', fetched, ?)",
            [f"+{int(shift.total_seconds())} seconds"] * 2,
        )
        archive.db.conn.commit()
    result = run_cli("digest", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "## Coverage by role" in result.out
    assert "ru-state has carried no flagged russia-dprk story" in result.out


# End to end: real crawls of the local newswire, a real apprise json:// receiver.

HOOK = "/hooks/coverage"
THINGS = ["railway", "fisheries", "tourism", "satellites", "labour", "bridges"]
WORDS = [f"{first}{rest}" for first in "bcdfg" for rest in ("ale", "ine", "orn", "usk", "ent")]


def before(now: datetime, days: range, per_day: int) -> list[datetime]:
    """Return *per_day* times a day, *days* days before *now*."""
    return [
        now - timedelta(days=day, minutes=minute * 7) for day in days for minute in range(per_day)
    ]


def within_one_day(now: datetime) -> datetime:
    """Move *now* to between 00:01 and 23:00 of its UTC date, keeping the date."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return min(max(now, midnight + timedelta(minutes=1)), midnight + timedelta(hours=23))


def kcna_feed(now: datetime) -> str:
    """Six unrelated flagged stories, dated within the last minute."""
    items = []
    for number, thing in enumerate(THINGS):
        tail = " ".join(WORDS[(number * 7 + step * 5) % len(WORDS)] for step in range(40))
        items.append({
            "title": f"Moscow and Pyongyang sign a {thing} agreement",
            "link": f"http://127.0.0.1/kcna/{thing}",
            "guid": f"kcna-{thing}",
            "description": f"Russia and North Korea signed an agreement on {thing} in Pyongyang, "
                           f"the Kremlin said. Report {number}: {tail}.",
            "pubDate": format_datetime(now - timedelta(seconds=5 * number)),
        })  # fmt: skip
    return rss(items)


def test_crawls_of_the_local_newswire_alert_a_silent_role_and_a_spike_once(
    tmp_path: Path, newswire: Newswire
) -> None:
    pytest.importorskip("apprise", reason="alerts need the optional apprise extra")
    # The six new stories are dated up to 25 seconds before the first crawl, the third crawl
    # runs 20 minutes after it, and `status` reads the real clock: all must fall on one UTC
    # date, so near midnight the crawls are dated earlier (or later) in the day.
    now = within_one_day(utcnow())
    with Archive.open(tmp_path / "archive.db") as archive:
        for when in before(now, range(4, 40), 2):  # tass, twice a day, quiet for four days
            add_story(archive, f"t{when:%m%d%H%M}", [("tass", 0)], when)
        for when in before(now, range(1, 40), 1):  # kcna, once a day
            add_story(archive, f"k{when:%m%d%H%M}", [("kcna", 0)], when)
    newswire.route("/kcna.xml", Reply.xml(kcna_feed(now)))
    newswire.route("/tass.xml", Reply.xml(rss([])))
    newswire.route(HOOK, Reply(b"{}", headers={"Content-Type": "application/json"}))
    sources = [
        {"name": name, "url": newswire.url(f"/{name}.xml"), "role": role, "full_text": False}
        for name, role in (("kcna", "kp-state"), ("tass", "ru-state"))
    ]
    config = feed_config(tmp_path, sources, crawl={"timeout": 5})
    target = newswire.url(HOOK).replace("http://", "json://")
    roles = yaml.safe_dump({"roles": ROLES}, sort_keys=False)
    text = config.read_text(encoding="utf-8")
    config.write_text(f"{text}alerts:\n  russia-dprk: [{target}]\n{roles}", encoding="utf-8")
    for minutes in (0, 10, 20):  # three crawls: each episode is sent once
        result = run_cycle(load(config), clock=lambda m=minutes: now + timedelta(minutes=m),
                           timeout=60)  # fmt: skip
        assert result.status == "ok"
        assert result.flagged == (6 if minutes == 0 else 0)
    titles = [json.loads(hit.body)["title"] for hit in newswire.hits_for(HOOK)]
    assert sorted(title for title in titles if "spike" in title or "silent" in title) == [
        "[wirewatch] kp-state spike on russia-dprk: 6 stories today",
        "[wirewatch] ru-state silent on russia-dprk for 4 d",
    ]
    status = run_cli("--config", str(config), "status")
    said = " ".join(status.out.split())
    assert "Coverage: ru-state has carried no flagged russia-dprk story for 4 d" in said
    assert "Coverage: kp-state carried 6 flagged russia-dprk stories on" in said
