"""``wirewatch serve`` as a real subprocess on 127.0.0.1, port 0, for the web tests."""

from __future__ import annotations

import getpass
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

START_TIMEOUT = 60  # seconds for Datasette to import and listen
STOP_TIMEOUT = 15
OS_USER = getpass.getuser()  # whom serve records a web mark as by, on loopback without --analyst


class Served:
    """A running ``wirewatch serve``; use it as a context manager."""

    def __init__(
        self,
        folder: Path,
        *args: str,
        env: dict[str, str] | None = None,
        config: str = "wirewatch-demo/config.yaml",
        program: Sequence[str] = (sys.executable, "-m", "monitor"),
    ) -> None:
        self.folder = folder
        self.program = program  # another installation's wirewatch script, say
        self.args = args
        self.config = config
        self.env = {key: value for key, value in os.environ.items() if key != "WIREWATCH_CONFIG"}
        self.env.update(env or {})
        self.url = ""
        self.stderr: list[str] = []
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def __enter__(self) -> Served:
        self.process = subprocess.Popen(
            [*self.program, "--config", self.config, "serve", "--port", "0", *self.args],
            cwd=self.folder, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        found = threading.Event()

        def read() -> None:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self.stderr.append(line)
                match = re.search(r"at (http://\S+/) ", line)
                if match:
                    self.url = match.group(1)
                    found.set()
            found.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not found.wait(START_TIMEOUT) or not self.url:
            self.stop()
            raise AssertionError(f"wirewatch serve did not start: {''.join(self.stderr)}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
            raise AssertionError("wirewatch serve did not stop on SIGTERM") from None
        finally:
            self.reader.join(STOP_TIMEOUT)
            if self.process.stderr is not None:
                self.process.stderr.close()

    def get(self, path: str, **params: Any) -> tuple[int, str, dict[str, str]]:
        """GET *path* (with query *params*); return status, body and headers."""
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        return self._open(urllib.request.Request(self.url + path.lstrip("/") + query))

    def post(
        self, path: str, form: dict[str, Any], *, page: str | None = None
    ) -> tuple[int, str, dict[str, str]]:
        """POST *form* to *path*, with the CSRF token Datasette asks for (from the form's
        *page*, by default *path* itself)."""
        token = self.csrftoken(page or path)
        data = urllib.parse.urlencode({**form, "csrftoken": token}).encode()
        request = urllib.request.Request(self.url + path.lstrip("/"), data=data, method="POST")
        return self._open(request)

    def csrftoken(self, path: str) -> str:
        _, page, _ = self.get(path)
        match = re.search(r'name="csrftoken" value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def _open(self, request: urllib.request.Request) -> tuple[int, str, dict[str, str]]:
        try:
            with self.opener.open(request, timeout=30) as response:
                body = response.read().decode("utf-8")
                return response.status, body, _lower(response.headers.items())
        except urllib.error.HTTPError as error:
            body = error.read().decode("utf-8", "replace")
            return error.code, body, _lower(error.headers.items())


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Let tests see a redirect (and where it goes) instead of following it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
