"""Shared fixtures: a local newswire, config files, and the CLI, run in this process or as a
real subprocess."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from monitor.collection import forks
from monitor.newswire import Newswire

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO.parent / "shared" / "corpora"
CLI_TIMEOUT = 120  # seconds; a crawl of the local newswire takes a few
# What run_cli changes in a command's environment unless the test gives more.
DEFAULT_ENV: dict[str, str | None] = {"WIREWATCH_CONFIG": None, "COLUMNS": "200"}


@pytest.fixture
def newswire() -> Iterator[Newswire]:
    """A started local HTTP server on 127.0.0.1 with no routes yet."""
    with Newswire() as wire:
        yield wire


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """A folder where ``wirewatch demo`` has run once with the repository's config.yaml, and
    what that run printed: the one demo of a test process (about 5 s of crawling)."""
    folder = tmp_path_factory.mktemp("demo-archive")
    shutil.copy(REPO / "config.yaml", folder / "config.yaml")
    result = run_cli("demo", cwd=folder)
    assert result.code == 0, result.err
    return folder, result


@pytest.fixture(scope="session")
def demo_folder(demo_run: tuple[Path, Result]) -> Path:
    """The folder of ``demo_run``, with its config.yaml and demo archive.

    Read it only; a test that writes (marks, alerts) works on ``copy_demo`` of it.
    """
    return demo_run[0]


def copy_demo(demo_folder: Path, destination: Path) -> Path:
    """Copy the demo's config and archive into *destination*, for a test that writes."""
    shutil.copytree(demo_folder / "wirewatch-demo", destination / "wirewatch-demo")
    return destination


@dataclass
class Result:
    """What one run of the CLI did: its exit status, stdout and stderr."""

    code: int
    out: str
    err: str


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = CLI_TIMEOUT,
    stdin: str | None = None,
    process: bool = False,
) -> Result:
    """Run ``wirewatch ARGS`` and return what it did, failing the test if it hangs.

    By default the command runs in this process, through the same entry point and error
    boundary as the installed script (``monitor.cli.main``), with its own stdin, stdout,
    stderr, environment and working folder: what a test of output and exit status needs,
    without paying Python's and the libraries' start-up for every command. With
    ``process=True`` it is a real ``python -m monitor`` subprocess: for start-up, imports,
    signals, a process that dies, and anything else that is a property of the process. It is
    one too whenever *env* sets TZ (which the C library reads once per process) and when
    called off the main thread (a command in this process owns sys.stdout and the working
    folder while it runs, so only one can run at a time).
    """
    environment = {**DEFAULT_ENV, **(env or {})}
    if process or "TZ" in environment or threading.current_thread() is not threading.main_thread():
        return _run_process(args, cwd, environment, timeout, stdin)
    return _run_in_process(args, cwd, environment, timeout, stdin)


def _run_process(
    args: Sequence[str],
    cwd: Path | None,
    environment: dict[str, str | None],
    timeout: float,
    stdin: str | None,
) -> Result:
    full_env = dict(os.environ)
    for key, value in environment.items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    try:
        done = subprocess.run(
            [sys.executable, "-m", "monitor", *args],
            cwd=cwd,
            env=full_env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"wirewatch {' '.join(args)} did not finish within {timeout}s: {error}")
    return Result(done.returncode, done.stdout, done.stderr)


class _Hung(BaseException):
    """Raised by the alarm when an in-process command runs past its timeout."""


def _run_in_process(
    args: Sequence[str],
    cwd: Path | None,
    environment: dict[str, str | None],
    timeout: float,
    stdin: str | None,
) -> Result:
    from monitor.cli import main

    folder = os.getcwd()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    sigterm = signal.getsignal(signal.SIGTERM)
    code = 0
    with CliRunner().isolation(input=stdin, env=environment) as (out, err, _):
        # A process of its own has no log handler: Python's last resort prints warnings
        # on stderr, as here once pytest's capturing handlers are out of the way.
        root.handlers[:] = []
        root.setLevel(logging.WARNING)
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            if cwd is not None:
                os.chdir(cwd)
            main(list(args))
        except SystemExit as done:
            code = _exit_status(done.code, sys.stderr)
        except _Hung:
            pytest.fail(f"wirewatch {' '.join(args)} did not finish within {timeout}s")
        except BaseException:  # what Python itself does with an uncaught exception
            traceback.print_exc(file=sys.stderr)
            code = 1
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            os.chdir(folder)
            root.handlers[:] = handlers
            root.setLevel(level)
            signal.signal(signal.SIGTERM, sigterm)
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(ValueError):  # a command may have closed it
                    stream.flush()
        result = Result(code, out.getvalue().decode("utf-8", "replace"),
                        err.getvalue().decode("utf-8", "replace"))  # fmt: skip
    # The crawl fork server of the usual environment of a command is kept for the next
    # command, as a daemon keeps it for its next cycle; one started for an environment a
    # test gave (a mark, a cache folder) ends as it would when that command's process exits.
    usual = {**os.environ, **DEFAULT_ENV}
    forks.close_all(keep={key: value for key, value in usual.items() if value is not None})
    return result


def _on_alarm(signum: int, frame: object) -> None:
    raise _Hung


def _exit_status(code: object, stderr: Any) -> int:
    """Return the status a process would exit with for ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    with contextlib.suppress(ValueError):
        print(code, file=stderr)
    return 1


def write_config(
    directory: Path,
    sources: list[dict[str, Any]],
    *,
    topics: dict[str, Any] | None = None,
    crawl: dict[str, Any] | None = None,
    name: str = "config.yaml",
) -> Path:
    """Write a config file for a test, with the default topic unless *topics* is given."""
    data = {
        "archive": "archive.db",
        "crawl": {"delay": 0, "timeout": 5, "obey_robots": True, **(crawl or {})},
        # Fixtures carry real dates from past years: only tests of max_age keep the default.
        "sources": [{"kind": "feed", "max_age": "36500d", **source} for source in sources],
        "topics": topics if topics is not None else default_topics(),
    }
    path = directory / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def default_topics() -> dict[str, Any]:
    """The topics of the repository's config.yaml."""
    data = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    return data["topics"]


def rss(items: list[dict[str, str]], title: str = "Test feed") -> str:
    """Return an RSS 2.0 document with the given items (title, link, guid, description, pubDate)."""
    parts = []
    for item in items:
        fields = "".join(f"<{key}>{value}</{key}>" for key, value in item.items())
        parts.append(f"<item>{fields}</item>")
    return textwrap.dedent(
        f"""\
        <?xml version="1.0" encoding="utf-8"?>
        <rss version="2.0"><channel><title>{title}</title><link>http://127.0.0.1/</link>
        <description>test</description>{"".join(parts)}</channel></rss>
        """
    )


def article_page(
    title: str,
    paragraphs: Sequence[str],
    *,
    comments: Sequence[str] = (),
    canonical: str | None = None,
) -> str:
    """Return an article page with navigation, the story, and a reader comments section."""
    body = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    remarks = "".join(f'<div class="comment"><p>{text}</p></div>' for text in comments)
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{link}'
        "</head><body><header><nav><a href='/'>Home</a> <a href='/world'>World</a></nav></header>"
        f"<main><article><h1>{title}</h1>{body}</article>"
        f'<section id="comments" class="comments"><h2>Comments</h2>{remarks}</section></main>'
        "<footer>Copyright</footer></body></html>"
    )
