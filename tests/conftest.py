"""Shared fixtures: a local newswire, config files, and the CLI run as a real subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.newswire import Newswire

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO.parent / "shared" / "corpora"
CLI_TIMEOUT = 120  # seconds; a crawl of the local newswire takes a few


@pytest.fixture
def newswire() -> Iterator[Newswire]:
    """A started local HTTP server on 127.0.0.1 with no routes yet."""
    with Newswire() as wire:
        yield wire


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where ``wirewatch demo`` has run once with the repository's config.yaml.

    Read it only; a test that writes (marks, alerts) works on ``copy_demo`` of it.
    """
    folder = tmp_path_factory.mktemp("demo-archive")
    shutil.copy(REPO / "config.yaml", folder / "config.yaml")
    result = run_cli("demo", cwd=folder)
    assert result.code == 0, result.err
    return folder


def copy_demo(demo_folder: Path, destination: Path) -> Path:
    """Copy the demo's config and archive into *destination*, for a test that writes."""
    shutil.copytree(demo_folder / "wirewatch-demo", destination / "wirewatch-demo")
    return destination


@dataclass
class Result:
    """What a CLI subprocess did."""

    code: int
    out: str
    err: str


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = CLI_TIMEOUT,
    stdin: str | None = None,
) -> Result:
    """Run ``python -m monitor ARGS`` as a subprocess, failing the test if it hangs."""
    full_env = {key: value for key, value in os.environ.items() if key != "WIREWATCH_CONFIG"}
    full_env.update({"COLUMNS": "200", **(env or {})})
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
