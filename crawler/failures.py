"""Name the reason a request failed, in the classes wirewatch records for a source."""

from __future__ import annotations

from http import HTTPStatus

# Exception class names, from Scrapy and Twisted, by the error class wirewatch records.
# Names rather than imports: these classes moved between Scrapy and Twisted releases.
_CLASSES = {
    "dns": {"CannotResolveHostError", "DNSLookupError", "DNSLookupFailed"},
    "refused": {"DownloadConnectionRefusedError", "ConnectionRefusedError"},
    "timeout": {"DownloadTimeoutError", "TimeoutError", "TCPTimedOutError", "UserTimeoutError"},
    "too_large": {"DownloadCancelledError"},
    "tls": {"SSLError", "TLSError", "CertificateError"},
    "connection": {
        "ResponseDataLossError",
        "DownloadFailedError",
        "ConnectionLost",
        "ConnectionDone",
        "ConnectionAborted",
        "ResponseNeverReceived",
        "ResponseFailed",
        "ConnectError",
    },
}


def classify(error: BaseException | None) -> tuple[str, str]:
    """Return ``(error_class, message)`` for an exception from a failed download."""
    if error is None:
        return "error", "the download failed for an unknown reason"
    response = getattr(error, "response", None)
    if response is not None and type(error).__name__ == "HttpError":
        return "http", describe_status(response.status)
    text = " ".join(str(error).split())
    if type(error).__name__ == "IgnoreRequest" and "robots.txt" in text:
        return "robots", "robots.txt forbids fetching this URL"
    if type(error).__name__ == "IgnoreRequest" and "redirect" in text:
        return "redirect", "too many redirects (a redirect loop?)"
    names = {cls.__name__ for cls in type(error).__mro__}
    for error_class, known in _CLASSES.items():
        if names & known:
            return error_class, text or type(error).__name__
    # Unclassified: the exception's name is the most useful part of the message.
    return "error", f"{type(error).__name__}: {text}" if text else type(error).__name__


def describe_status(status: int) -> str:
    """Return e.g. ``HTTP 404 Not Found``."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"
