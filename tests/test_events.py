"""The crawl child's progress events: typed records on the way out and on the way in."""

from __future__ import annotations

import io

import pytest

from monitor import events


@pytest.mark.parametrize(
    "event",
    [
        events.FeedRead("wire", entries=3, new=2),
        events.FeedRead("wire", entries=0, new=0, not_modified=True),
        events.SourceFailed("wire", "http", "HTTP 503"),
        events.ArticleArchived("wire", 7, ["russia-dprk"]),
        events.LinksSkipped("wire", "1 link(s) not http(s) not followed", {"scheme": 1}),
        events.Fatal("the archive is damaged"),
        events.Finished(123.4),
    ],
)
def test_an_event_reads_back_as_it_was_written(event: events.Event) -> None:
    stream = io.StringIO()
    events.emit(stream, event)
    line = stream.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    assert events.read(line) == event


@pytest.mark.parametrize(
    "line",
    [
        "Scrapy printed this\n",
        "[1, 2]\n",
        '{"source": "wire"}\n',
        '{"event": "unheard_of", "source": "wire"}\n',
        '{"event": "feed", "source": "wire"}\n',
        '{"event": "fatal", "error": "x", "extra": 1}\n',
    ],
)
def test_a_line_that_is_not_an_event_of_this_version_is_none(line: str) -> None:
    assert events.read(line) is None
