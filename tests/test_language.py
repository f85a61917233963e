"""Language identification, and the unpacked language model kept between crawl processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from py3langid.langid import LanguageIdentifier

from crawler import language

RUSSIAN = "Министр иностранных дел России Сергей Лавров прибыл в Пхеньян с официальным визитом."
KOREAN = "합동참모본부는 북한이 이날 오전 평안남도 일대에서 동해상으로 단거리 탄도미사일을 발사했다고 밝혔다."
ENGLISH = "Russia's security chief arrived in Pyongyang on Wednesday and met Kim Jong Un for talks."


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh cache folder, and a model loaded anew for each step of the test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    language._identifier.cache_clear()
    yield tmp_path / "cache"
    language._identifier.cache_clear()


def fresh_identifier() -> LanguageIdentifier:
    language._identifier.cache_clear()
    return language._identifier()


def languages(identifier: LanguageIdentifier) -> list[str]:
    return [identifier.classify(text)[0] for text in (RUSSIAN, KOREAN, ENGLISH)]


def test_the_unpacked_model_is_kept_and_gives_the_same_answers(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = fresh_identifier()
    assert len(list((cache_home / "wirewatch").glob("langid-*.npz"))) == 1

    def unpack_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the packaged model was unpacked again")

    monkeypatch.setattr(LanguageIdentifier, "from_model_file", unpack_again)
    second = fresh_identifier()
    assert languages(first) == languages(second) == ["ru", "ko", "en"]
    assert first.classify(ENGLISH) == second.classify(ENGLISH)
    assert not list((cache_home / "wirewatch").glob("*.part"))


@pytest.mark.parametrize("damage", ["garbage", "arrays that do not fit"])
def test_a_damaged_or_foreign_cache_file_is_replaced_not_trusted(
    cache_home: Path, damage: str
) -> None:
    fresh_identifier()
    (kept,) = (cache_home / "wirewatch").glob("langid-*.npz")
    if damage == "garbage":
        kept.write_bytes(b"not an npz file")
    else:
        with np.load(kept) as data:
            arrays = dict(data)
        arrays["row"] = np.full_like(arrays["row"], np.iinfo(arrays["row"].dtype).max)
        with kept.open("wb") as out:
            np.savez(out, **arrays)
    assert languages(fresh_identifier()) == ["ru", "ko", "en"]
    with np.load(kept) as data:  # written again, whole
        assert int(data["row"].max()) < data["nextmove"].size // 256


def test_a_cache_folder_that_cannot_be_written_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    try:
        assert languages(fresh_identifier()) == ["ru", "ko", "en"]
    finally:
        language._identifier.cache_clear()
    assert blocked.read_text() == "a file where the cache folder would be"


def test_a_clear_text_is_identified_and_a_short_one_keeps_the_declared_language() -> None:
    assert language.choose(RUSSIAN, "en") == "ru"
    assert language.choose("Лавров", "en") == "en"  # too short to tell
    assert language.identify("short")[0] is None
