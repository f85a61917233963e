"""Load and validate ``config.yaml``: the archive, the sources, crawl politeness and the topics.

The pydantic models below are the single table of every config key, its type and its default.
Every problem is reported with the file, the key path and the fix, e.g.
``config.yaml: sources[2].interval: 'ten minutes' is not a duration (use e.g. 90s, 10m, 1h, 2d)``.
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import os
import re
import reprlib
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import parsel
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from monitor import __version__
from monitor.errors import ConfigError, ConfigProblem
from monitor.matcher.aliases import AliasError, parse_alias
from monitor.matcher.rules import RuleSyntaxError, entity_names, labels, parse_rule
from monitor.safeyaml import load_yaml
from monitor.timeutil import DURATION_HINT, format_duration, parse_duration

ENV_VAR = "WIREWATCH_CONFIG"
DEFAULT_PATH = Path("config.yaml")
SOURCE_KINDS = ("feed", "sitemap", "page")
DEFAULT_USER_AGENT = f"wirewatch/{__version__} (+https://github.com/wirewatch/wirewatch)"

# What one config file may hold (monitor.safeyaml bounds its YAML). The repository's
# config.yaml is 15 KB, and its aliases stand for 555 spellings.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_SPELLINGS = 100_000  # spellings that all the topics' aliases and quoted terms stand for
MAX_PROBLEMS_SHOWN = 20  # problems printed for one file; the rest are counted
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def _seconds(value: Any) -> Any:
    """Accept a number of seconds or a duration text such as ``90s`` or ``10m``."""
    if isinstance(value, bool):
        raise PydanticCustomError(
            "duration", f"{_shown(value)} is not a duration ({DURATION_HINT})"
        )
    if isinstance(value, int | float):
        if value <= 0:
            raise PydanticCustomError("duration", f"{_shown(value)} must be more than 0 seconds")
        # float() of a huge int overflows; infinity is then refused by the field's range.
        return float(value) if value < 1e18 else math.inf
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as error:
            # parse_duration quotes the whole text: a long one is shortened here.
            short = len(value) <= _SHORT.maxstring
            message = (
                str(error) if short else f"{_shown(value)} is not a duration ({DURATION_HINT})"
            )
            raise PydanticCustomError("duration", message) from None
    raise PydanticCustomError("duration", f"{_shown(value)} is not a duration ({DURATION_HINT})")


def _delay(value: Any) -> Any:
    """Like :func:`_seconds`, but 0 (no delay) is allowed."""
    if value == 0 and not isinstance(value, bool):
        return 0.0
    return _seconds(value)


@dataclass(frozen=True)
class _Range:
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


def _shown(value: Any) -> str:
    """Return *value* as an error message quotes it: its repr, shortened when it is long."""
    return _SHORT.repr(value)


# A value in an error is shortened: a hostile file's value can stand for billions of others.
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 2, 4, 4


Seconds = Annotated[float, BeforeValidator(_seconds)]
Delay = Annotated[float, BeforeValidator(_delay)]
# Every number of the config has a range, so a typo (interval: 0.0000001, memory_mb with
# three zeros too many) is an error that names the key instead of a crawl that misbehaves.
DelaySeconds = Annotated[Delay, AfterValidator(_Range(0, HOUR, seconds=True))]
TimeoutSeconds = Annotated[Seconds, AfterValidator(_Range(1, HOUR, seconds=True))]
CycleSeconds = Annotated[Seconds, AfterValidator(_Range(1, DAY, seconds=True))]
IntervalSeconds = Annotated[Seconds, AfterValidator(_Range(1, 365 * DAY, seconds=True))]
AgeSeconds = Annotated[Seconds, AfterValidator(_Range(MINUTE, 36500 * DAY, seconds=True))]
Concurrency = Annotated[int, AfterValidator(_Range(1, 64))]
Weight = Annotated[float, AfterValidator(_Range(0, 100))]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Politeness(_Model):
    """How wirewatch fetches from one host; ``crawl:`` sets the defaults, a source may override."""

    delay: DelaySeconds = Field(1.0, description="Seconds between two requests to one host.")
    per_host_concurrency: Concurrency = Field(2, description="Requests in flight per host.")
    obey_robots: bool = Field(True, description="Obey robots.txt.")
    timeout: TimeoutSeconds = Field(30.0, description="Seconds before one request is abandoned.")
    user_agent: str = Field(DEFAULT_USER_AGENT, min_length=1, description="User-Agent header.")
    allow_private: bool = Field(
        False, description="Follow links to private and loopback addresses of other hosts."
    )

    @field_validator("user_agent")
    @classmethod
    def _check_user_agent(cls, agent: str) -> str:
        return _user_agent(agent)


def _user_agent(agent: str) -> str:
    """Return *agent* if it can be sent as one header line; raise a pydantic error if not."""
    if len(agent) > 500 or any(ord(char) < 32 or ord(char) == 127 for char in agent):
        raise PydanticCustomError(
            "agent", "must be one line of at most 500 characters, with no control characters"
        )
    return agent


class CrawlSettings(Politeness):
    """The ``crawl:`` section: politeness defaults, plus limits of a whole crawl."""

    cycle_timeout: CycleSeconds = Field(
        900.0, description="Seconds a whole crawl may run before its process is killed."
    )
    max_size_mb: Annotated[int, AfterValidator(_Range(1, 1024))] = Field(
        16, description="Largest response read, in MiB."
    )
    workers: Annotated[int, AfterValidator(_Range(1, 64))] = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        description="Crawl processes run at once, each for a group of hosts.",
    )
    memory_mb: Annotated[int, AfterValidator(_Range(256, 1024 * 1024))] = Field(
        2048, description="Address-space limit of a crawl process, in MiB."
    )


class Source(_Model):
    """One entry of ``sources:``: a place wirewatch collects stories from."""

    name: str
    url: str
    kind: Literal["feed", "sitemap", "page"]
    interval: IntervalSeconds = Field(600.0, description="How often the daemon polls the source.")
    cron: str | None = Field(None, description="A 5-field cron line, instead of interval.")
    timezone: str = Field("UTC", description="The time zone of the cron line.")
    adaptive: bool = Field(False, description="Set the interval from the publishing rate.")
    full_text: bool = Field(True, description="Follow each entry's link and extract the article.")
    language: str | None = Field(None, description="The language the source publishes in.")
    tags: list[str] = Field(default_factory=list)
    max_age: AgeSeconds = Field(
        172800.0, description="Older items are skipped: always in sitemaps, else on a first fetch."
    )
    # kind: page only.
    links: str | None = Field(None, description="CSS or XPath selector of the article links.")
    next: str | None = Field(None, description="Selector of the link to the next listing page.")
    depth: Annotated[int, AfterValidator(_Range(1, 20))] = Field(
        1, description="Listing pages to read, following next."
    )
    # Politeness overrides; None means "use the crawl: default".
    delay: DelaySeconds | None = None
    per_host_concurrency: Concurrency | None = None
    obey_robots: bool | None = None
    timeout: TimeoutSeconds | None = None
    user_agent: str | None = Field(None, min_length=1)
    allow_private: bool | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise PydanticCustomError(
                "name",
                f"{_shown(name)} is not a usable source name "
                "(use letters, digits, '.', '_' and '-', e.g. yonhap-en)",
            )
        return name

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        url = url.strip()
        # An error never shows what may be a password: the line goes to terminals and logs.
        shown = _shown(_without_credentials(url))
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not one
        except ValueError:
            raise PydanticCustomError(
                "url", f"{shown} is not a usable URL (check its host and port)"
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError(
                "url", f"{shown} is not an http(s) URL (use e.g. https://example.com/rss.xml)"
            )
        if parts.username is not None or parts.password is not None:
            raise PydanticCustomError(
                "url",
                f"{shown} has a user name or password in it: wirewatch reads public sources "
                "and sends no credentials (remove them from the URL, and change that password "
                "if the file was shared)",
            )
        return url

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, name: str) -> str:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "timezone", f"{_shown(name)} is not a time zone (use e.g. UTC, Asia/Seoul)"
            ) from None
        return name

    @field_validator("language")
    @classmethod
    def _check_language(cls, language: str | None) -> str | None:
        if language is not None and not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", language):
            raise PydanticCustomError(
                "language", f"{_shown(language)} is not a language code (use e.g. en, ru, ko)"
            )
        return language

    @field_validator("links", "next")
    @classmethod
    def _check_selector(cls, selector: str | None, info: ValidationInfo) -> str | None:
        if selector is not None:
            try:
                compile_selector(selector)
            except ValueError as error:
                name = info.data.get("name")
                where = f" (source {name})" if name else ""
                raise PydanticCustomError("selector", f"{error}{where}") from None
        return selector

    @field_validator("user_agent")
    @classmethod
    def _check_user_agent(cls, agent: str | None) -> str | None:
        return None if agent is None else _user_agent(agent)

    @model_validator(mode="after")
    def _check_cron(self) -> Source:
        if self.cron is not None:
            # Only a config with a cron line pays for importing APScheduler's trigger.
            from monitor.cron import cron_problem

            problem = cron_problem(self.cron, self.timezone)
            if problem:
                raise PydanticCustomError("page", f"cron: {problem}")
        return self

    @model_validator(mode="after")
    def _check_kind(self) -> Source:
        if self.kind == "page" and self.links is None:
            raise PydanticCustomError(
                "page", "links: a page source needs a links selector (e.g. links: 'h2 a')"
            )
        if self.kind != "page":
            for key in ("links", "next"):
                if getattr(self, key) is not None:
                    raise PydanticCustomError(
                        "page", f"{key}: only a page source takes {key} (this one is a {self.kind})"
                    )
        return self

    def politeness(self, defaults: Politeness) -> Politeness:
        """Return the politeness for this source: its own overrides on top of *defaults*."""
        overrides = {
            key: getattr(self, key)
            for key in Politeness.model_fields
            if getattr(self, key) is not None
        }
        return Politeness(**(defaults.model_dump(include=set(Politeness.model_fields)) | overrides))


class Scoring(_Model):
    """How a topic weighs the evidence: by where a hit is, and by entity."""

    title: Weight = Field(2.0, description="Weight of a hit in the headline.")
    lead: Weight = Field(1.5, description="Weight of a hit in the first paragraph.")
    body: Weight = Field(1.0, description="Weight of a hit elsewhere in the text.")
    entities: dict[str, Weight] = Field(
        default_factory=dict,
        description="Entity -> weight; their hits in the paragraphs of the evidence add to it.",
    )


class Topic(_Model):
    """One entry of ``topics:``: named groups of aliases and the rules that flag a story."""

    description: str = ""
    entities: dict[str, dict[str, list[str]]] = Field(
        description="Entity name -> language code (or 'any') -> aliases."
    )
    rule: str | None = Field(None, description="Which entities must occur, and how close.")
    rules: dict[str, str] | None = Field(None, description="Named rules; any one may flag.")
    exclude: str | None = Field(None, description="A rule that, when true, vetoes the flag.")
    scoring: Scoring = Field(default_factory=Scoring)  # type: ignore[arg-type]
    threshold: Annotated[float, AfterValidator(_Range(0, 10_000, above=True))] = Field(
        1.0, description="Minimum score to flag a story."
    )

    def named_rules(self) -> dict[str, str]:
        """Return the topic's rules by name (a single ``rule:`` is named "rule")."""
        return dict(self.rules) if self.rules else {"rule": self.rule or ""}

    @field_validator("entities")
    @classmethod
    def _check_entities(
        cls, entities: dict[str, dict[str, list[str]]], info: ValidationInfo
    ) -> Any:
        budget = _spelling_budget(info)
        if not entities:
            raise PydanticCustomError("entities", "a topic needs at least one entity")
        for name, by_language in entities.items():
            # The error's location already ends in "entities".
            where = name if len(name) <= 40 else name[:37] + "..."
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
                raise PydanticCustomError(
                    "keyed",
                    f"{where}: {_shown(name)} is not a usable entity name "
                    "(use letters, digits, _, -)",
                )
            if not by_language:
                raise PydanticCustomError(
                    "keyed", f"{where}: no aliases (give a list per language, e.g. en: [Moscow])"
                )
            for language, aliases in by_language.items():
                if not aliases:
                    raise PydanticCustomError(
                        "keyed", f"{where}.{language}: the alias list is empty (list a word)"
                    )
                for index, alias in enumerate(aliases):
                    try:
                        forms = parse_alias(str(alias)).forms
                    except AliasError as error:
                        raise PydanticCustomError(
                            "keyed", f"{where}.{language}[{index}]: {error}"
                        ) from None
                    _spend(budget, len(forms), f"{where}.{language}[{index}]")
        return entities

    @model_validator(mode="after")
    def _check_rules(self, info: ValidationInfo) -> Topic:
        if (self.rule is None) == (self.rules is None):
            raise PydanticCustomError(
                "keyed", "rule: give one rule, or rules: with named ones (not both)"
            )
        checks = {
            ("rule" if self.rule is not None else f"rules.{name}"): text
            for name, text in self.named_rules().items()
        }
        if self.exclude is not None:
            checks["exclude"] = self.exclude
        known = ", ".join(sorted(self.entities))
        budget = _spelling_budget(info)
        for key, text in checks.items():
            try:
                tree = parse_rule(text)
                names = entity_names(tree)
                # A quoted term is matched like an alias, so it is checked like one.
                terms = [parse_alias(label.name) for label in labels(tree) if label.quoted]
            except RuleSyntaxError as error:
                raise PydanticCustomError("keyed", f"{key}: {error}") from None
            except AliasError as error:
                raise PydanticCustomError("keyed", f"{key}: the quoted term {error}") from None
            _spend(budget, sum(len(term.forms) for term in terms), key)
            unknown = sorted(names - set(self.entities))
            if unknown:
                raise PydanticCustomError(
                    "keyed",
                    f"{key}: unknown entity {_shown(unknown[0])} (the entities are: {known})",
                )
        for name in self.scoring.entities:
            if name not in self.entities:
                raise PydanticCustomError(
                    "keyed",
                    f"scoring.entities: unknown entity {_shown(name)} (the entities are: {known})",
                )
        return self


def _spelling_budget(info: ValidationInfo) -> dict[str, int]:
    """Return the count of spellings spent so far: the whole file's, or one topic's alone."""
    context = info.context
    if isinstance(context, dict) and isinstance(context.get("spellings"), int):
        return context
    return {"spellings": 0}


def _spend(budget: dict[str, int], spellings: int, key: str) -> None:
    """Count the *spellings* of the alias at *key*; refuse it once the config has too many."""
    budget["spellings"] += spellings
    if budget["spellings"] > MAX_SPELLINGS:
        raise PydanticCustomError(
            "keyed",
            f"{key}: the topics' aliases and quoted terms stand for more than "
            f"{MAX_SPELLINGS:,} spellings in all (use fewer aliases, or fewer endings in each)",
        )


def _without_credentials(url: str) -> str:
    """Return *url* with what may be a user name and password, up to an ``@``, as ``***``."""
    scheme, slashes, rest = url.partition("//")
    if not slashes:
        scheme, rest = "", url
    authority = re.split(r"[?#]", rest, maxsplit=1)[0]
    if "@" not in authority:
        return url
    return scheme + slashes + "***" + rest[authority.rindex("@") :]


class Config(_Model):
    """The whole validated config file."""

    archive: Path = Path("wirewatch.db")
    store_html: bool = Field(True, description="Keep each article's fetched HTML, compressed.")
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)  # type: ignore[arg-type]
    sources: list[Source] = Field(default_factory=list)
    topics: dict[str, Topic] = Field(default_factory=dict)
    alerts: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Apprise URLs to notify, per topic, when the topic flags a new story.",
    )
    # Where the file was read from; set by load(), never by the file itself.
    path: Path = Field(Path("config.yaml"), exclude=True)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[Source]) -> list[Source]:
        seen: dict[str, int] = {}
        for index, source in enumerate(sources):
            if source.name in seen:
                raise PydanticCustomError(
                    "duplicate",
                    f"[{index}].name: {_shown(source.name)} is already the name of "
                    f"sources[{seen[source.name]}] (source names must be unique)",
                )
            seen[source.name] = index
        return sources

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, topics: dict[str, Topic]) -> dict[str, Topic]:
        for name in topics:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
                raise PydanticCustomError(
                    "name", f"{_shown(name)} is not a usable topic name (use e.g. russia-dprk)"
                )
        return topics

    @field_validator("alerts", mode="before")
    @classmethod
    def _alert_urls(cls, alerts: Any) -> Any:
        if not isinstance(alerts, dict):
            return alerts  # pydantic says what is wrong with the shape
        expanded: dict[Any, Any] = {}
        for topic, urls in alerts.items():
            if isinstance(urls, str):
                urls = [urls]
            if not isinstance(urls, list):
                return alerts
            expanded[topic] = [_expand_alert_url(topic, i, url) for i, url in enumerate(urls)]
        return expanded

    @model_validator(mode="after")
    def _alerts_usable(self) -> Config:
        if not self.alerts:
            return self
        for topic in self.alerts:
            if topic not in self.topics:
                known = ", ".join(sorted(self.topics)) or "none"
                raise PydanticCustomError(
                    "keyed",
                    f"alerts.{topic}: there is no topic {_shown(topic)} (topics: {known})",
                )
        if importlib.util.find_spec("apprise") is None:
            raise PydanticCustomError(
                "keyed",
                "alerts: sending alerts needs apprise: pip install 'wirewatch[alerts]' "
                "(or remove the alerts section)",
            )
        import apprise

        for topic, urls in self.alerts.items():
            for index, url in enumerate(urls):
                if apprise.Apprise.instantiate(url) is None:
                    scheme = url.partition("://")[0] or url
                    raise PydanticCustomError(
                        "keyed",
                        f"alerts.{topic}[{index}]: apprise cannot use {scheme}:// URLs like "
                        "this one (see https://github.com/caronc/apprise/wiki for the URL "
                        "of each service, e.g. json://host:port/path for a webhook)",
                    )
        return self

    def source(self, name: str) -> Source | None:
        """Return the source called *name*, or None."""
        return next((source for source in self.sources if source.name == name), None)


def _expand_alert_url(topic: Any, index: int, url: Any) -> Any:
    """Fill ``$NAME`` and ``${NAME}`` in an alert URL from the environment, so tokens and
    passwords can stay out of the file; an unset variable is an error."""
    if not isinstance(url, str):
        return url

    def fill(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(2)
        value = os.environ.get(name)
        if value is None:
            raise PydanticCustomError(
                "suffixed",
                f".{topic}[{index}]: the environment variable {name} is not set "
                "(export it before starting wirewatch)",
            )
        return value

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", fill, url)


def find_path(given: str | os.PathLike[str] | None) -> Path:
    """Return the config path: *given*, else ``$WIREWATCH_CONFIG``, else ``./config.yaml``."""
    if given:
        return Path(given)
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env)
    return DEFAULT_PATH


def load(path: Path) -> Config:
    """Read and validate the config file at *path*; raise ConfigError naming every problem."""
    try:
        with path.open("rb") as file:
            # Read one byte past the bound, to know whether the file is larger.
            raw = file.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path,
            [
                ConfigProblem(
                    "",
                    f"no such file (create it, pass --config PATH, or set {ENV_VAR}; "
                    "the README has an example)",
                )
            ],
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, [ConfigProblem("", f"cannot read the file: {error}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            path,
            [
                ConfigProblem(
                    "",
                    f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB; a config is far "
                    "smaller (is this the right file?)",
                )
            ],
        )
    return parse(text, path)


def parse(text: str, path: Path) -> Config:
    """Validate config *text* that was read from *path*; raise ConfigError naming every problem."""
    data = load_yaml(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            path,
            [
                ConfigProblem(
                    "", "the file must be a YAML mapping with archive, crawl, sources, topics"
                )
            ],
        )
    try:
        # The context carries what the topics' aliases have spent of MAX_SPELLINGS.
        config = Config.model_validate(data, context={"spellings": 0})
    except ValidationError as error:
        found = error.errors()
        problems = [_problem(item, data) for item in found[:MAX_PROBLEMS_SHOWN]]
        if len(found) > MAX_PROBLEMS_SHOWN:
            more = len(found) - MAX_PROBLEMS_SHOWN
            problems.append(ConfigProblem("", f"and {more:,} more problems (fix these first)"))
        raise ConfigError(path, problems) from None
    archive = config.archive.expanduser()
    if not archive.is_absolute():
        archive = path.resolve().parent / archive
    return config.model_copy(update={"archive": archive, "path": path})


def _key_path(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part) if len(str(part)) <= 40 else str(part)[:37] + "..."
            text += f".{name}" if text else name
    return text


def _allowed_keys(location: tuple[int | str, ...], data: Any) -> list[str]:
    """Return the keys allowed in the mapping at *location* (the parent of an unknown key)."""
    model: Any = Config
    for part in location:
        if isinstance(part, int):
            continue
        if model is Config and part == "sources":
            model = Source
        elif model is Config and part == "crawl":
            model = CrawlSettings
        elif model is Config and part == "topics":
            model = "topics"
        elif model == "topics":
            model = Topic
        else:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [name for name in model.model_fields if name != "path"]
    return []


def _problem(error: Any, data: Any) -> ConfigProblem:
    location: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    if kind in ("duplicate", "suffixed"):
        # The message carries its own suffix of the key path, e.g. "[i].name" to name the
        # later of two duplicates.
        suffix, _, message = error["msg"].partition(": ")
        return ConfigProblem(_key_path(location) + suffix, message)
    key = _key_path(location)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(location[:-1], data)
        close = difflib.get_close_matches(str(location[-1]), allowed, n=1)
        hint = f"did you mean {_shown(close[0])}?" if close else "allowed: " + ", ".join(allowed)
        return ConfigProblem(key, f"unknown key ({hint})")
    if kind == "missing":
        return ConfigProblem(key, "this key is required")
    if kind == "literal_error" and location[-1] == "kind":
        return ConfigProblem(
            key, f"{_shown(value)} is not a source kind (use one of: {', '.join(SOURCE_KINDS)})"
        )
    if kind == "bool_parsing" or kind == "bool_type":
        return ConfigProblem(key, f"{_shown(value)} is not true or false")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return ConfigProblem(key, f"{_shown(value)} is not a whole number")
    if kind in ("float_parsing", "float_type"):
        return ConfigProblem(key, f"{_shown(value)} is not a number")
    if kind == "range":
        return ConfigProblem(key, f"{_shown(value)} {error['msg']}")
    if kind in ("greater_than", "greater_than_equal", "less_than_equal"):
        return ConfigProblem(key, f"{_shown(value)} is out of range ({error['msg'].lower()})")
    if kind in ("dict_type", "model_type"):
        return ConfigProblem(key, f"expected a mapping of keys to values, got {_shown(value)}")
    if kind == "list_type":
        return ConfigProblem(key, f"expected a list, got {_shown(value)}")
    if kind == "string_type":
        return ConfigProblem(key, f"expected text, got {_shown(value)}")
    if kind == "string_too_short":
        return ConfigProblem(key, "must not be empty")
    if kind in ("keyed", "page"):
        # The message starts with the key path below the model that raised it.
        field, _, message = error["msg"].partition(": ")
        return ConfigProblem(f"{key}.{field}" if key else field, message)
    return ConfigProblem(key, error["msg"])


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
            f"{_shown(selector)} uses re: (EXSLT regular expressions), which wirewatch "
            "refuses: a pattern such as ^(a+)+$ can take exponential time on a hostile page "
            "(use contains(), starts-with() or a CSS selector)"
        )
    probe = parsel.Selector(text="<html><body></body></html>")
    try:
        probe.xpath(selector) if kind == "xpath" else probe.css(selector)
    except Exception as error:  # parsel raises several types for a bad expression
        raise ValueError(
            f"{_shown(selector)} is not a valid {kind.upper()} selector ({error})"
        ) from None
    return kind, selector


_STRING_LITERAL = re.compile(r"\"[^\"]*\"|'[^']*'")
# The re: prefix, not the end of another prefix such as pre:.
_REGEX_PREFIX = re.compile(r"(?<![\w.-])re:")
