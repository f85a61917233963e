"""Headless Chromium for the browser tests: Debian's chromium and chromium-driver, driven by
Selenium, installed with apt-get when missing (as root), and never allowed to reach the
network on its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.debian import installed

WAIT = 30  # seconds for a page to load
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses many at a time.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update",
         "--disable-default-apps", "--disable-sync", "--no-first-run")  # fmt: skip


def chromium() -> tuple[str, str]:
    """Return the paths of chromium and chromedriver, installing Debian's when missing."""
    browser, driver = installed(["chromium", "chromium-driver"], ["chromium", "chromedriver"])
    return browser, driver


@contextmanager
def headless_chromium(*flags: str) -> Iterator[Any]:
    """Yield a Selenium driver of a fresh headless Chromium, with *flags* added to ours."""
    pytest.importorskip("selenium", reason="the browser tests need selenium (dev extra)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, *flags):
        options.add_argument(flag)
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a driver
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
