"""Issue 13 item 2, by keyboard, in headless Chromium: from the unreviewed list an analyst
opens a story, presses ``r``, and lands on the list's next story with the mark recorded;
a key typed in the note field is only a letter."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from .browsing import WAIT, headless_chromium
from .conftest import copy_demo
from .serving import OS_USER, Served

selenium = pytest.importorskip("selenium", reason="the browser test needs selenium (dev extra)")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# One worker runs this module, so its module fixture is built once (pytest-xdist).
pytestmark = pytest.mark.xdist_group("keyboard")


@pytest.fixture(scope="module")
def browser():
    with headless_chromium("--window-size=1400,1000") as driver:
        yield driver


@pytest.fixture
def served(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory):
    with Served(copy_demo(demo_folder, tmp_path_factory.mktemp("keyboard"))) as server:
        yield server


def marks(served: Served) -> list[tuple[int, str, str]]:
    with sqlite3.connect(served.folder / "wirewatch-demo" / "demo.db") as db:
        return db.execute("SELECT article_id, label, marked_by FROM marks").fetchall()


def listed_ids(browser) -> list[int]:
    links = browser.find_elements(By.CSS_SELECTOR, "table.rows-and-columns td.col-title a")
    return list(dict.fromkeys(int(a.get_attribute("href").rsplit("/", 1)[1]) for a in links))


def press(browser, keys: str) -> None:
    browser.find_element(By.TAG_NAME, "body").send_keys(keys)


def test_r_marks_the_story_and_goes_on_to_the_next_of_the_list(browser, served) -> None:
    wait = WebDriverWait(browser, WAIT)
    browser.get(served.url + "archive/unreviewed")
    ids = listed_ids(browser)
    assert len(ids) >= 3
    browser.find_element(By.CSS_SELECTOR, "td.col-title a").click()
    wait.until(expected_conditions.url_contains(f"/story/{ids[0]}"))

    assert not browser.find_element(By.ID, "keys-help").is_displayed()
    press(browser, "?")
    assert browser.find_element(By.ID, "keys-help").is_displayed()
    press(browser, "j")
    wait.until(expected_conditions.url_contains(f"/story/{ids[1]}"))
    press(browser, "k")
    wait.until(expected_conditions.url_contains(f"/story/{ids[0]}?"))

    press(browser, "r")
    wait.until(expected_conditions.url_contains(f"/story/{ids[1]}?"))
    assert f"Marked #{ids[0]} relevant." in browser.page_source
    assert marks(served) == [(ids[0], "relevant", OS_USER)]
    # The next story is the list's next unmarked one; after it, k finds no marked story.
    press(browser, "f")
    wait.until(expected_conditions.url_contains(f"/story/{ids[2]}?"))
    assert marks(served) == [(ids[0], "relevant", OS_USER), (ids[1], "follow-up", OS_USER)]
    assert not browser.find_elements(By.ID, "previous-story")


def test_the_last_story_of_the_list_returns_to_the_list(browser, served) -> None:
    wait = WebDriverWait(browser, WAIT)
    browser.get(served.url + "archive/unreviewed")
    last = listed_ids(browser)[-1]
    browser.get(f"{served.url}story/{last}?next=/archive/unreviewed")
    assert not browser.find_elements(By.ID, "next-story")
    press(browser, "i")
    wait.until(expected_conditions.url_contains("/archive/unreviewed"))
    assert marks(served) == [(last, "irrelevant", OS_USER)]


def test_keys_typed_in_the_note_or_with_ctrl_mark_nothing(browser, served) -> None:
    from selenium.webdriver.common.keys import Keys

    browser.get(served.url + "archive/unreviewed")
    first = listed_ids(browser)[0]
    browser.find_element(By.CSS_SELECTOR, "td.col-title a").click()
    WebDriverWait(browser, WAIT).until(expected_conditions.url_contains(f"/story/{first}"))
    page = browser.current_url
    note = browser.find_element(By.NAME, "note")
    note.send_keys("rifjk?")
    assert note.get_attribute("value") == "rifjk?"
    press(browser, Keys.CONTROL + "r")
    press(browser, Keys.ALT + "j")
    assert browser.current_url == page
    assert not browser.find_element(By.ID, "keys-help").is_displayed()
    assert marks(served) == []
