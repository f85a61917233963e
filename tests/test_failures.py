"""Naming why a download failed, in the classes a source's health records."""

from __future__ import annotations

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as twisted_errors

from crawler.failures import classify


@pytest.mark.parametrize(
    ("error", "error_class"),
    [
        (twisted_errors.DNSLookupError("no such host: feeds.example.invalid"), "dns"),
        (twisted_errors.ConnectionRefusedError("111: Connection refused"), "refused"),
        (twisted_errors.TimeoutError("took longer than 30 seconds"), "timeout"),
        (twisted_errors.TCPTimedOutError(), "timeout"),
        (twisted_errors.ConnectionLost(), "connection"),
        (IgnoreRequest("Forbidden by robots.txt"), "robots"),
        (ValueError("something odd"), "error"),
    ],
)
def test_each_failure_gets_its_class(error: Exception, error_class: str) -> None:
    assert classify(error)[0] == error_class


def test_an_http_error_names_its_status() -> None:
    response = Response(
        "http://127.0.0.1/feed.xml", status=403, request=Request("http://127.0.0.1/")
    )
    assert classify(HttpError(response, "Ignoring non-200 response")) == (
        "http",
        "HTTP 403 Forbidden",
    )


def test_an_unknown_failure_keeps_the_exception_name() -> None:
    assert classify(ValueError("something odd")) == ("error", "ValueError: something odd")
    assert classify(None)[0] == "error"
