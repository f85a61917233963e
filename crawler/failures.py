"""Name the reason a request failed, in the classes wirewatch records for a source."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus

from crawler.middlewares.linkpolicy import LinkRefused
from crawler.middlewares.robots import RobotsTxtUnreachable

# Exception class names, from Scrapy, Twisted and pyOpenSSL, by the error class wirewatch
# records. Names rather than imports: these classes moved between Scrapy and Twisted
# releases. Scrapy wraps the Twisted error that says what happened (a TLS alert, a reset)
# in a general one, so every exception along the chain is looked at; the first class that
# matches wins, in this order.
_CLASSES = {
    "dns": {"CannotResolveHostError", "DNSLookupError", "DNSLookupFailed"},
    "refused": {"DownloadConnectionRefusedError", "ConnectionRefusedError"},
    "timeout": {"DownloadTimeoutError", "TimeoutError", "TCPTimedOutError", "UserTimeoutError"},
    # A body over DOWNLOAD_MAXSIZE as it arrives, or once HttpCompressionMiddleware inflates it.
    "too_large": {"DownloadCancelledError", "_DecompressionMaxSizeExceeded"},
    "tls": {"SSLError", "TLSError", "CertificateError", "OpenSSL.SSL.Error"},
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

# What to say when the exceptions along the chain carry no text of their own.
_SILENT = {
    "too_large": "the body passed the size limit (crawl.max_size_mb) while downloading",
    "connection": "the connection was lost before the response was complete",
}


def classify(error: BaseException | None) -> tuple[str, str]:
    """Return ``(error_class, message)`` for an exception from a failed download, or one
    that reading a response raised (hostile input that broke a library, or a bug)."""
    if error is None:
        return "error", "the download failed for an unknown reason"
    response = getattr(error, "response", None)
    if response is not None and type(error).__name__ == "HttpError":
        return "http", describe_status(response.status)
    if isinstance(error, LinkRefused):
        return "policy", str(error)
    if isinstance(error, MemoryError):
        return "too_large", "reading it needed more memory than crawl.memory_mb allows"
    if isinstance(error, RecursionError):
        return "malformed", "the document nests too deep to read"
    if isinstance(error, RobotsTxtUnreachable) and error.__cause__ is not None:
        error_class, message = classify(error.__cause__)
        return error_class, f"robots.txt unreachable, so the site is not crawled: {message}"
    chain = list(_chain(error))
    names = {name for each in chain for name in _names(each)}
    text = " ".join(str(error).split())
    if "too_large" not in _matching(names):
        if type(error).__name__ == "IgnoreRequest" and "robots.txt" in text:
            return "robots", "robots.txt forbids fetching this URL"
        if type(error).__name__ == "IgnoreRequest" and "redirect" in text:
            return "redirect", "too many redirects (a redirect loop?)"
    for error_class in _matching(names):
        if error_class == "tls":
            return "tls", f"TLS handshake failed: {_tls_reason(chain)}"
        return error_class, _message(chain) or _SILENT.get(error_class, type(error).__name__)
    # Unclassified: the exception's name is the most useful part of the message.
    return "error", f"{type(error).__name__}: {text}" if text else type(error).__name__


def describe_status(status: int) -> str:
    """Return e.g. ``HTTP 404 Not Found``."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _matching(names: set[str]) -> list[str]:
    return [error_class for error_class, known in _CLASSES.items() if names & known]


def _chain(error: BaseException) -> Iterator[BaseException]:
    """Yield *error*, then what caused it: ``__cause__`` and Twisted's ``reasons`` lists."""
    pending, seen = [error], set()
    while pending:
        each = pending.pop(0)
        if id(each) in seen:
            continue
        seen.add(id(each))
        yield each
        if each.__cause__ is not None:
            pending.append(each.__cause__)
        for reason in getattr(each, "reasons", None) or ():
            value = getattr(reason, "value", None)  # a twisted Failure
            if isinstance(value, BaseException):
                pending.append(value)


def _names(error: BaseException) -> Iterator[str]:
    for cls in type(error).__mro__:
        yield cls.__name__
        yield f"{cls.__module__}.{cls.__qualname__}"


def _message(chain: list[BaseException]) -> str:
    """Return the first text along the chain that says something: not a list of Failures."""
    for each in chain:
        if getattr(each, "reasons", None):
            continue  # its text is the repr of its reasons, which come later in the chain
        if each.__cause__ is not None and str(each) == str(each.__cause__):
            continue  # a wrapper that only repeats what it wraps
        text = " ".join(str(each).split())
        if text:
            return text
    return ""


def _tls_reason(chain: list[BaseException]) -> str:
    """Return OpenSSL's reasons (e.g. ``wrong version number``), else the error's text."""
    for each in chain:
        if not any(name in _CLASSES["tls"] for name in _names(each)):
            continue
        details = each.args[0] if each.args else None
        if isinstance(details, list) and details:
            return "; ".join(str(entry[-1]) if isinstance(entry, tuple) else str(entry)
                             for entry in details)  # fmt: skip
        return " ".join(str(each).split()) or type(each).__name__
    return _message(chain)
