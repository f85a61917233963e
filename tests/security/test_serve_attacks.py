"""``wirewatch serve`` against hostile web sites and hostile queries (issue 10 items 3, 7
and 19).

Each test runs ``wirewatch serve`` as a real process on a copy of the demo archive and
plays the attacker: plain HTTP requests with forged headers, hostile pages served from
another origin by a local newswire and opened in headless Chromium (the analyst's browser,
holding serve's cookies), a name that Chromium resolves to 127.0.0.1 (DNS rebinding), and
queries that ask for hundreds of megabytes. The archive is then read with sqlite3.
"""

from __future__ import annotations

import json
import re
import sqlite3
import string
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.newswire import Reply
from tests.browsing import WAIT, headless_chromium
from tests.conftest import copy_demo, run_cli
from tests.serving import OS_USER, Served

HOSTILE_NOTE = "marked by a hostile page"
REBIND = "rebind.test"  # Chromium resolves it to 127.0.0.1, as after a DNS rebinding
PROXIED = "wire.example.org"  # a name serve is told to answer to, as behind a proxy
MIB = 1024 * 1024
RSS_SLACK = 100 * MIB  # one randomblob(100000000) query alone grew serve by 380 MB

# The hostile pages: served from another port of 127.0.0.1, so they can read serve's cookies
# (cookies are per host, not per port) and post the CSRF token with the form.
STEAL = "var m = document.cookie.match(/ds_csrftoken=([^;]+)/); var t = m ? m[1] : '';"
FORM_PAGE = string.Template("""<!doctype html><title>win a prize</title>
<form id="f" method="post" action="$action">
  <input name="article_id" value="$story"><input name="label" value="irrelevant">
  <input name="note" value="$note"><input name="csrftoken" id="t">
</form>
<script>$steal document.getElementById('t').value = t; document.getElementById('f').submit();
</script>""")
FETCH_PAGE = string.Template("""<!doctype html><title>loading</title>
<script>$steal
var body = new URLSearchParams({article_id: '$story', label: 'irrelevant', note: '$note',
                                csrftoken: t});
fetch('$action', {method: 'POST', mode: 'no-cors', credentials: 'include', body: body})
  .then(function () { document.title = 'sent' + (t ? ' with token' : ''); },
        function (e) { document.title = 'failed ' + e; });
</script>""")


# One worker runs this module, so its module fixture is built once (pytest-xdist).
pytestmark = pytest.mark.xdist_group("serve-attacks")


@pytest.fixture(scope="module")
def served(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = copy_demo(demo_folder, tmp_path_factory.mktemp("serve-attacks"))
    with Served(folder, "--allow-host", PROXIED) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium as in tests/test_browser.py, resolving rebind.test to 127.0.0.1."""
    with headless_chromium(f"--host-resolver-rules=MAP {REBIND} 127.0.0.1") as driver:
        yield driver


def marks(served: Served) -> list[tuple[Any, ...]]:
    with sqlite3.connect(served.folder / "wirewatch-demo" / "demo.db") as db:
        return db.execute("SELECT article_id, label, note, marked_by FROM marks").fetchall()


def a_story(served: Served) -> int:
    status, body, _ = served.get("/archive/flagged_stories.json", _shape="array", _size=1)
    assert status == 200, body
    return int(json.loads(body)[0]["id"])


def send(
    served: Served,
    path: str,
    *,
    form: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Send a request as curl would: no cookie, the given headers (Host too), no redirects."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(served.url + path.lstrip("/"), data=data,
                                     headers=headers or {})  # fmt: skip
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def vm_rss(served: Served) -> int:
    """Return the resident memory of the serve process, in bytes."""
    status = Path(f"/proc/{served.process.pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) * 1024


def test_a_post_from_another_origin_or_without_the_token_writes_no_mark(served) -> None:
    """issue 10 item 3: the curl of the issue (a POST with ``Origin: http://evil.example``
    and no cookie) is refused, so is a POST with no Origin and no cookie, and so is one from
    another origin that carries a valid cookie and token; the archive gains no mark."""
    story = a_story(served)
    form = {"article_id": story, "label": "irrelevant", "note": HOSTILE_NOTE}
    before = marks(served)

    status, body = send(served, "/archive/mark_story", form=form,
                        headers={"Origin": "http://evil.example"})  # fmt: skip
    assert status == 403 and "another web site" in body
    status, body = send(served, "/archive/mark_story", form=form)
    assert status == 403 and "CSRF token" in body
    for origin in ("null", "http://127.0.0.1:1", f"http://{REBIND}", "file://"):
        status, _ = send(served, "/archive/mark_story", form=form, headers={"Origin": origin})
        assert status == 403, origin
    # A valid cookie and token do not make another origin's request ours.
    token = served.csrftoken(f"/archive/mark_story?article_id={story}&label=irrelevant")
    cookie = "; ".join(f"{c.name}={c.value}" for c in served.cookies)
    status, _ = send(served, "/archive/mark_story", form={**form, "csrftoken": token},
                     headers={"Cookie": cookie, "Origin": "http://evil.example"})  # fmt: skip
    assert status == 403
    status, _ = send(served, "/archive/mark_story", form={**form, "csrftoken": token},
                     headers={"Cookie": cookie, "Referer": "http://evil.example/x"})  # fmt: skip
    assert status == 403
    assert marks(served) == before

    # serve's own form, with its token and same-origin headers, still marks.
    status, _, headers = served.post("/archive/mark_story", {**form, "note": "the analyst"})
    assert status == 302 and headers["location"].endswith("/archive/unreviewed")
    assert marks(served) == [*before, (story, "irrelevant", "the analyst", OS_USER)]


def test_the_story_page_s_buttons_take_a_mark_only_from_serve_s_own_page(served) -> None:
    """issue 13 item 2: the story page posts its mark to /story/ID/mark, behind the same
    gate: from another origin, or without the cookie and token, no mark lands, even with
    the analyst's valid cookie and token."""
    story = a_story(served)
    action = f"/story/{story}/mark"
    form = {"label": "irrelevant", "note": HOSTILE_NOTE, "next": "/"}
    before = marks(served)
    status, body = send(served, action, form=form, headers={"Origin": "http://evil.example"})
    assert status == 403 and "another web site" in body
    status, body = send(served, action, form=form)
    assert status == 403 and "CSRF token" in body
    token = served.csrftoken(f"/story/{story}")
    cookie = "; ".join(f"{c.name}={c.value}" for c in served.cookies)
    for header in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/x"},
                   {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):  # fmt: skip
        status, _ = send(served, action, form={**form, "csrftoken": token},
                         headers={"Cookie": cookie, **header})  # fmt: skip
        assert status == 403, header
    assert marks(served) == before


def test_a_hostile_page_in_chromium_cannot_mark_a_story(served, browser, newswire) -> None:
    """issue 10 item 3: in Chromium holding serve's CSRF cookie, a page on another origin
    (another port of 127.0.0.1, so it can read that cookie) auto-submits a form to
    mark_story and sends a ``no-cors`` fetch, both with the token; no mark lands. The
    analyst's own triage form in the same browser still works."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    story = a_story(served)
    action = served.url + "archive/mark_story"
    for path, page in (("/form", FORM_PAGE), ("/fetch", FETCH_PAGE)):
        html = page.substitute(action=action, story=story, note=HOSTILE_NOTE, steal=STEAL)
        newswire.route(path, Reply.html(html))
    wait = WebDriverWait(browser, WAIT)
    before = marks(served)

    # The analyst opened a triage link earlier: the browser holds serve's CSRF cookie.
    browser.get(f"{served.url}archive/mark_story?article_id={story}&label=relevant")
    wait.until(expected_conditions.presence_of_element_located((By.NAME, "note")))
    assert browser.get_cookie("ds_csrftoken")

    browser.get(newswire.url("/form"))
    wait.until(lambda driver: driver.current_url.startswith(served.url))  # form submitted
    assert marks(served) == before
    assert "another web site" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(newswire.url("/fetch"))
    wait.until(lambda driver: driver.title.startswith(("sent", "failed")))
    assert browser.title == "sent with token"  # the request left, token and all
    assert newswire.requests_for("/form") == newswire.requests_for("/fetch") == 1
    assert marks(served) == before

    # The same browser on serve's own page marks the story.
    browser.get(f"{served.url}archive/mark_story?article_id={story}&label=follow-up")
    wait.until(expected_conditions.presence_of_element_located((By.NAME, "note")))
    browser.find_element(By.NAME, "note").send_keys("from serve's own form")
    browser.find_element(By.CSS_SELECTOR, "form.sql input[type=submit]").click()
    wait.until(expected_conditions.url_contains("/archive/unreviewed"))
    assert "Marked." in browser.page_source
    assert marks(served) == [*before, (story, "follow-up", "from serve's own form", OS_USER)]


def test_serve_answers_only_to_the_host_names_it_was_started_for(served) -> None:
    """issue 10 item 7: a request whose Host is another name (a DNS-rebinding page's) gets
    421 and none of the archive; 127.0.0.1, localhost and --allow-host names are served."""
    port = served.url.rsplit(":", 1)[1].strip("/")
    for host in ("evil.example", f"{REBIND}:{port}", f"127.0.0.1.{REBIND}:{port}",
                 f"localhost.{REBIND}", "", f"evil.example:{port}@127.0.0.1"):  # fmt: skip
        for path in ("/archive/flagged_stories.json", "/archive.db", "/"):
            status, body = send(served, path, headers={"Host": host})
            assert status in (400, 421), (host, path, status)
            assert "Lavrov" not in body and "SQLite" not in body, (host, path)
    status, body = send(served, "/archive/mark_story",
                        form={"article_id": 1, "label": "irrelevant", "note": HOSTILE_NOTE},
                        headers={"Host": REBIND, "Origin": f"http://{REBIND}"})  # fmt: skip
    assert status == 421 and "--allow-host" in body
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"{PROXIED}:443",
                 PROXIED.upper()):  # fmt: skip
        status, body = send(served, "/archive/flagged_stories.json", headers={"Host": host})
        assert status == 200, (host, body)


def test_a_rebinding_page_in_chromium_cannot_read_the_archive(served, browser) -> None:
    """issue 10 item 7: Chromium resolving rebind.test to 127.0.0.1 (what a rebinding DNS
    server does) and opening serve under that name gets the refusal, not the archive; under
    127.0.0.1 and localhost the same browser reads it."""
    from selenium.webdriver.common.by import By

    port = served.url.rsplit(":", 1)[1].strip("/")
    for path in ("archive/flagged_stories.json", "archive/flagged_stories", ""):
        browser.get(f"http://{REBIND}:{port}/{path}")
        text = browser.find_element(By.TAG_NAME, "body").text
        assert text.startswith("Misdirected request"), text[:200]
        assert "Lavrov" not in browser.page_source
    for host in ("127.0.0.1", "localhost"):
        browser.get(f"http://{host}:{port}/archive/flagged_stories.json?_shape=array")
        rows = json.loads(browser.find_element(By.TAG_NAME, "body").text)
        assert len(rows) >= 10


def test_a_bad_allow_host_is_a_clear_error(tmp_path: Path, demo_folder: Path) -> None:
    """issue 10 item 7: --allow-host takes a host name only, and serve --help documents it."""
    result = run_cli("--config", "wirewatch-demo/config.yaml", "serve", "--port", "0",
                     "--allow-host", "http://wire.example.org/", cwd=demo_folder,
                     timeout=60)  # fmt: skip
    assert result.code == 2 and "--allow-host 'http://wire.example.org/'" in result.err
    assert "Traceback" not in result.err
    shown = run_cli("serve", "--help", cwd=tmp_path).out
    assert "--allow-host NAME" in shown and "421" in shown


def test_a_query_that_asks_for_hundreds_of_megabytes_fails_and_serve_stays_small(
    served,
) -> None:
    """issue 10 item 19: ``select hex(randomblob(100000000))`` fails with "string or blob
    too big", as do a thousand rows of 2 MB and one row of sixty-four 2 MB columns; serve's
    resident memory stays within RSS_SLACK of where it was, and it goes on answering."""
    served.get("/archive/flagged_stories.json")  # every thread and cache warmed up once
    start = vm_rss(served)
    long_value = "printf('%.*c', 2000000, 'x')"
    many_rows = (
        "with recursive n(i) as (select 1 union all select i + 1 from n limit 1000) "
        f"select {long_value} from n"
    )
    attacks = {
        "select hex(randomblob(100000000))": "string or blob too big",
        "select zeroblob(500000000)": "string or blob too big",
        many_rows: "the result is over",
        "select " + ", ".join([long_value] * 64): "more than SQLite may hold in memory",
    }
    for sql, error in attacks.items():
        for page in ("/archive.json", "/archive"):
            status, body, _ = served.get(page, sql=sql)
            assert status == 400 and error in body, (sql[:60], page, status, body[:300])
            grown = vm_rss(served) - start
            assert grown < RSS_SLACK, f"{sql[:60]}: serve grew by {grown // MIB} MiB"
    status, body, _ = served.get("/archive.json", sql="select count(*) as n from articles")
    assert status == 200 and json.loads(body)["rows"][0][0] > 0
    # Datasette's in-memory database, outside these caps, is not served.
    assert served.get("/_memory.json", sql="select 1")[0] == 404
