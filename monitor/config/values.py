"""The building blocks of the config's schema: durations, ranges, quoting, selectors.

Nothing here reads a file, the environment or the network: these are pure checks of one
value, each raising pydantic's error with a message that says what to write instead.
"""

from __future__ import annotations

import math
import re
import reprlib
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from monitor import __version__
from monitor.timeutil import DURATION_HINT, format_duration, parse_duration

DEFAULT_USER_AGENT = f"wirewatch/{__version__} (+https://github.com/wirewatch/wirewatch)"
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def keyed(key: str, message: str) -> PydanticCustomError:
    """Return the error of *key*, a key path below the part being validated.

    *key* is joined to the part's own path: ``links`` after a dot, ``[2].name`` directly.
    The problem messages (monitor.config.problems) read it from the error's context.
    """
    return PydanticCustomError("keyed", "{key}: {detail}", {"key": key, "detail": message})


def several(problems: list[tuple[str, str]]) -> PydanticCustomError:
    """Return one error that carries every ``(key, message)`` found in one part at once."""
    if len(problems) == 1:
        return keyed(*problems[0])
    return PydanticCustomError(
        "several", "{count} problems", {"count": len(problems), "problems": problems}
    )


def _seconds(value: Any) -> Any:
    """Accept a number of seconds or a duration text such as ``90s`` or ``10m``."""
    if isinstance(value, bool):
        raise PydanticCustomError("duration", f"{shown(value)} is not a duration ({DURATION_HINT})")
    if isinstance(value, int | float):
        if value <= 0:
            raise PydanticCustomError("duration", f"{shown(value)} must be more than 0 seconds")
        # float() of a huge int overflows; infinity is then refused by the field's range.
        return float(value) if value < 1e18 else math.inf
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as error:
            # parse_duration quotes the whole text: a long one is shortened here.
            short = len(value) <= SHORT.maxstring
            message = str(error) if short else f"{shown(value)} is not a duration ({DURATION_HINT})"
            raise PydanticCustomError("duration", message) from None
    raise PydanticCustomError("duration", f"{shown(value)} is not a duration ({DURATION_HINT})")


def _delay(value: Any) -> Any:
    """Like :func:`_seconds`, but 0 (no delay) is allowed."""
    if value == 0 and not isinstance(value, bool):
        return 0.0
    return _seconds(value)


@dataclass(frozen=True)
class Range:
    """Validate that a number lies from *low* to *high*; the error shows both ends."""

    low: float
    high: float
    seconds: bool = False  # show the ends as durations: 1s, 365d
    above: bool = False  # *low* itself is not allowed (a threshold is more than 0)

    def __call__(self, value: float) -> float:
        low_ok = value > self.low if self.above else value >= self.low
        if not (low_ok and value <= self.high):  # NaN fails both
            raise PydanticCustomError(
                "range", "is out of range (use {allowed})", {"allowed": self.text()}
            )
        return value

    def text(self) -> str:
        """Return the allowed range as the error shows it, e.g. ``1s to 365d``."""
        show = format_duration if self.seconds else _number
        if self.above:
            return f"more than {show(self.low)}, up to {show(self.high)}"
        return f"{show(self.low)} to {show(self.high)}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def shown(value: Any) -> str:
    """Return *value* as an error message quotes it: its repr, shortened when it is long."""
    return SHORT.repr(value)


# A value in an error is shortened: a hostile file's value can stand for billions of others.
SHORT = reprlib.Repr()
SHORT.maxstring = SHORT.maxother = 80
SHORT.maxlevel, SHORT.maxlist, SHORT.maxdict = 2, 4, 4


Seconds = Annotated[float, BeforeValidator(_seconds)]
Delay = Annotated[float, BeforeValidator(_delay)]
# Every number of the config has a range, so a typo (interval: 0.0000001, memory_mb with
# three zeros too many) is an error that names the key instead of a crawl that misbehaves.
DelaySeconds = Annotated[Delay, AfterValidator(Range(0, HOUR, seconds=True))]
TimeoutSeconds = Annotated[Seconds, AfterValidator(Range(1, HOUR, seconds=True))]
CycleSeconds = Annotated[Seconds, AfterValidator(Range(1, DAY, seconds=True))]
IntervalSeconds = Annotated[Seconds, AfterValidator(Range(1, 365 * DAY, seconds=True))]
AgeSeconds = Annotated[Seconds, AfterValidator(Range(MINUTE, 36500 * DAY, seconds=True))]
Concurrency = Annotated[int, AfterValidator(Range(1, 64))]
Weight = Annotated[float, AfterValidator(Range(0, 100))]


class Model(BaseModel):
    """A part of the config: unknown keys are errors, and a validated part never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def check_user_agent(agent: str) -> str:
    """Return *agent* if it can be sent as one header line; raise a pydantic error if not."""
    if len(agent) > 500 or any(ord(char) < 32 or ord(char) == 127 for char in agent):
        raise PydanticCustomError(
            "agent", "must be one line of at most 500 characters, with no control characters"
        )
    return agent


def without_credentials(url: str) -> str:
    """Return *url* with what may be a user name and password, up to an ``@``, as ``***``."""
    scheme, slashes, rest = url.partition("//")
    if not slashes:
        scheme, rest = "", url
    authority = re.split(r"[?#]", rest, maxsplit=1)[0]
    if "@" not in authority:
        return url
    return scheme + slashes + "***" + rest[authority.rindex("@") :]


def compile_selector(selector: str) -> tuple[str, str]:
    """Return ``("xpath", expr)`` or ``("css", expr)``; raise ValueError if it is invalid.

    A selector starting with ``/``, ``./`` or ``(`` is XPath; anything else is CSS.
    """
    kind = "xpath" if selector.lstrip().startswith(("/", "./", "(")) else "css"
    # parsel (and lxml) offer EXSLT regular expressions under re:, run by Python's
    # backtracking re module: re:test(@href, "^(a+)+$") takes exponential time on a hostile
    # page. Outside its string literals, an XPath names them only by that prefix.
    if kind == "xpath" and _REGEX_PREFIX.search(_STRING_LITERAL.sub("''", selector)):
        raise ValueError(
            f"{shown(selector)} uses re: (EXSLT regular expressions), which wirewatch "
            "refuses: a pattern such as ^(a+)+$ can take exponential time on a hostile page "
            "(use contains(), starts-with() or a CSS selector)"
        )
    import parsel  # loaded only by a config whose page sources have selectors

    probe = parsel.Selector(text="<html><body></body></html>")
    try:
        probe.xpath(selector) if kind == "xpath" else probe.css(selector)
    except Exception as error:  # parsel raises several types for a bad expression
        raise ValueError(
            f"{shown(selector)} is not a valid {kind.upper()} selector ({error})"
        ) from None
    return kind, selector


_STRING_LITERAL = re.compile(r"\"[^\"]*\"|'[^']*'")
# The re: prefix, not the end of another prefix such as pre:.
_REGEX_PREFIX = re.compile(r"(?<![\w.-])re:")
