"""Take the README's screenshots: the flagged stories and a story page, in headless Chromium.

It builds the demo archive (``wirewatch demo``, offline) in a temporary folder, starts
``wirewatch serve`` on 127.0.0.1, and saves what a 1400×1000 browser window shows:

- ``flagged.png``: the flagged stories at /flagged;
- ``story.png``: the page of the newest flagged story, opened from that list.

    .venv/bin/python docs/screenshots.py [--out docs/img]

It needs the dev extra (selenium) and Debian's chromium and chromium-driver
(``apt-get install chromium chromium-driver``), and a font with Korean glyphs for the
Korean stories (``apt-get install fonts-noto-cjk``); nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1400, 1000
TIMEOUT = 120  # seconds for the demo to build, serve to start, or a page to load
# Chromium would otherwise dial Google's hosts at start; nothing may leave this machine.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update",
         "--disable-default-apps", "--disable-sync", "--no-first-run",
         f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars")  # fmt: skip
SHOTS = ("flagged.png", "story.png")


def capture(driver: Any, base_url: str, out: Path) -> list[Path]:
    """Save the screenshots of the server at *base_url* into *out*, with *driver* (a
    Selenium driver of a window WIDTH×HEIGHT); return their paths."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    out.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(driver, TIMEOUT)
    driver.get(base_url.rstrip("/") + "/flagged")
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "table.inbox")))
    driver.save_screenshot(str(out / SHOTS[0]))
    driver.find_element(By.CSS_SELECTOR, "table.inbox td.title a").click()
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "article.story")))
    driver.save_screenshot(str(out / SHOTS[1]))
    return [out / name for name in SHOTS]


@contextmanager
def chromium() -> Iterator[Any]:
    """Yield a Selenium driver of a fresh headless Chromium, WIDTH×HEIGHT."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        sys.exit("screenshots: selenium is missing: install the dev extra (make venv)")
    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver_path:
        sys.exit("screenshots: install Debian's chromium and chromium-driver first")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a driver
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(TIMEOUT)
    try:
        # The page itself is WIDTH x HEIGHT, as an analyst's window shows it.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1,
                                "mobile": False})  # fmt: skip
        yield driver
    finally:
        driver.quit()


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """Build the demo archive in *folder*, serve it on 127.0.0.1, and yield its address."""
    wirewatch = [sys.executable, "-m", "monitor"]
    env = {key: value for key, value in os.environ.items() if key != "WIREWATCH_CONFIG"}
    demo = folder / "wirewatch-demo"
    subprocess.run([*wirewatch, "--config", str(REPO / "config.yaml"), "demo", "--dir", str(demo)],
                   cwd=REPO, env=env, check=True, timeout=TIMEOUT,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    process = subprocess.Popen(
        [*wirewatch, "--config", str(demo / "config.yaml"), "serve", "--port", "0",
         "--analyst", "analyst"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    address: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            found = re.search(r"at (http://127\.0\.0\.1:[0-9]+/) ", line)
            if found and not address:
                address.append(found.group(1))
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(TIMEOUT):
            sys.exit("screenshots: wirewatch serve did not start")
        yield address[0]
    finally:
        process.terminate()
        process.wait(TIMEOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img",
                        help="where to save the PNG files (default: docs/img)")  # fmt: skip
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="wirewatch-shots-") as folder,
        served(Path(folder)) as url,
        chromium() as driver,
    ):
        for path in capture(driver, url, args.out):
            print(path)


if __name__ == "__main__":
    main()
