"""Load and validate ``config.yaml``: the archive, the sources, crawl politeness and the topics.

The pydantic models below are the single table of every config key, its type and its default.
Every problem is reported with the file, the key path and the fix, e.g.
``config.yaml: sources[2].interval: 'ten minutes' is not a duration (use e.g. 90s, 10m, 1h, 2d)``.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import parsel
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from monitor import __version__
from monitor.errors import ConfigError, ConfigProblem
from monitor.matcher.aliases import AliasError, parse_alias
from monitor.matcher.rules import RuleSyntaxError, entity_names, parse_rule
from monitor.timeutil import DURATION_HINT, parse_duration

ENV_VAR = "WIREWATCH_CONFIG"
DEFAULT_PATH = Path("config.yaml")
SOURCE_KINDS = ("feed", "sitemap", "page")
DEFAULT_USER_AGENT = f"wirewatch/{__version__} (+https://github.com/wirewatch/wirewatch)"


def _seconds(value: Any) -> Any:
    """Accept a number of seconds or a duration text such as ``90s`` or ``10m``."""
    if isinstance(value, bool):
        raise PydanticCustomError("duration", f"{value!r} is not a duration ({DURATION_HINT})")
    if isinstance(value, int | float):
        if value <= 0:
            raise PydanticCustomError("duration", f"{value!r} must be more than 0 seconds")
        return float(value)
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as error:
            raise PydanticCustomError("duration", str(error)) from None
    raise PydanticCustomError("duration", f"{value!r} is not a duration ({DURATION_HINT})")


def _delay(value: Any) -> Any:
    """Like :func:`_seconds`, but 0 (no delay) is allowed."""
    if value == 0 and not isinstance(value, bool):
        return 0.0
    return _seconds(value)


Seconds = Annotated[float, BeforeValidator(_seconds)]
Delay = Annotated[float, BeforeValidator(_delay)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Politeness(_Model):
    """How wirewatch fetches from one host; ``crawl:`` sets the defaults, a source may override."""

    delay: Delay = Field(1.0, description="Seconds between two requests to one host.")
    per_host_concurrency: int = Field(2, ge=1, le=64, description="Requests in flight per host.")
    obey_robots: bool = Field(True, description="Obey robots.txt.")
    timeout: Seconds = Field(30.0, description="Seconds before one request is abandoned.")
    user_agent: str = Field(DEFAULT_USER_AGENT, min_length=1, description="User-Agent header.")
    allow_private: bool = Field(
        False, description="Follow links to private and loopback addresses of other hosts."
    )


class CrawlSettings(Politeness):
    """The ``crawl:`` section: politeness defaults, plus limits of a whole crawl."""

    cycle_timeout: Seconds = Field(
        900.0, description="Seconds a whole crawl may run before its process is killed."
    )
    max_size_mb: int = Field(16, ge=1, le=1024, description="Largest response read, in MiB.")
    workers: int = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        ge=1,
        le=64,
        description="Crawl processes run at once, each for a group of hosts.",
    )
    memory_mb: int = Field(
        2048, ge=256, description="Address-space limit of a crawl process, in MiB."
    )


class Source(_Model):
    """One entry of ``sources:``: a place wirewatch collects stories from."""

    name: str
    url: str
    kind: Literal["feed", "sitemap", "page"]
    interval: Seconds = Field(600.0, description="How often the daemon polls the source.")
    cron: str | None = Field(None, description="A 5-field cron line, instead of interval.")
    timezone: str = Field("UTC", description="The time zone of the cron line.")
    adaptive: bool = Field(False, description="Set the interval from the publishing rate.")
    full_text: bool = Field(True, description="Follow each entry's link and extract the article.")
    language: str | None = Field(None, description="The language the source publishes in.")
    tags: list[str] = Field(default_factory=list)
    max_age: Seconds = Field(
        172800.0, description="Older items are skipped: always in sitemaps, else on a first fetch."
    )
    # kind: page only.
    links: str | None = Field(None, description="CSS or XPath selector of the article links.")
    next: str | None = Field(None, description="Selector of the link to the next listing page.")
    depth: int = Field(1, ge=1, le=20, description="Listing pages to read, following next.")
    # Politeness overrides; None means "use the crawl: default".
    delay: Delay | None = None
    per_host_concurrency: int | None = Field(None, ge=1, le=64)
    obey_robots: bool | None = None
    timeout: Seconds | None = None
    user_agent: str | None = Field(None, min_length=1)
    allow_private: bool | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise PydanticCustomError(
                "name",
                f"{name!r} is not a usable source name "
                "(use letters, digits, '.', '_' and '-', e.g. yonhap-en)",
            )
        return name

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError(
                "url", f"{url!r} is not an http(s) URL (use e.g. https://example.com/rss.xml)"
            )
        return url.strip()

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, name: str) -> str:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "timezone", f"{name!r} is not a time zone (use e.g. UTC, Asia/Seoul)"
            ) from None
        return name

    @field_validator("language")
    @classmethod
    def _check_language(cls, language: str | None) -> str | None:
        if language is not None and not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", language):
            raise PydanticCustomError(
                "language", f"{language!r} is not a language code (use e.g. en, ru, ko)"
            )
        return language

    @field_validator("links", "next")
    @classmethod
    def _check_selector(cls, selector: str | None) -> str | None:
        if selector is not None:
            try:
                compile_selector(selector)
            except ValueError as error:
                raise PydanticCustomError("selector", str(error)) from None
        return selector

    @model_validator(mode="after")
    def _check_cron(self) -> Source:
        if self.cron is not None:
            from monitor.scheduler import cron_problem  # the one home of APScheduler

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

    title: float = Field(2.0, ge=0, description="Weight of a hit in the headline.")
    lead: float = Field(1.5, ge=0, description="Weight of a hit in the first paragraph.")
    body: float = Field(1.0, ge=0, description="Weight of a hit elsewhere in the text.")
    entities: dict[str, float] = Field(
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
    threshold: float = Field(1.0, gt=0, description="Minimum score to flag a story.")

    def named_rules(self) -> dict[str, str]:
        """Return the topic's rules by name (a single ``rule:`` is named "rule")."""
        return dict(self.rules) if self.rules else {"rule": self.rule or ""}

    @field_validator("entities")
    @classmethod
    def _check_entities(cls, entities: dict[str, dict[str, list[str]]]) -> Any:
        if not entities:
            raise PydanticCustomError("entities", "a topic needs at least one entity")
        for name, by_language in entities.items():
            where = name  # the error's location already ends in "entities"
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
                raise PydanticCustomError(
                    "keyed",
                    f"{where}: {name!r} is not a usable entity name (use letters, digits, _, -)",
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
                        parse_alias(str(alias))
                    except AliasError as error:
                        raise PydanticCustomError(
                            "keyed", f"{where}.{language}[{index}]: {error}"
                        ) from None
        return entities

    @model_validator(mode="after")
    def _check_rules(self) -> Topic:
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
        for key, text in checks.items():
            try:
                names = entity_names(parse_rule(text))
            except RuleSyntaxError as error:
                raise PydanticCustomError("keyed", f"{key}: {error}") from None
            unknown = sorted(names - set(self.entities))
            if unknown:
                raise PydanticCustomError(
                    "keyed", f"{key}: unknown entity {unknown[0]!r} (the entities are: {known})"
                )
        for name in self.scoring.entities:
            if name not in self.entities:
                raise PydanticCustomError(
                    "keyed",
                    f"scoring.entities: unknown entity {name!r} (the entities are: {known})",
                )
        return self


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
                    f"[{index}].name: {source.name!r} is already the name of "
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
                    "name", f"{name!r} is not a usable topic name (use e.g. russia-dprk)"
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
                    f"alerts.{topic}: there is no topic {topic!r} (topics: {known})",
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
        text = path.read_text(encoding="utf-8")
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
    return parse(text, path)


def parse(text: str, path: Path) -> Config:
    """Validate config *text* that was read from *path*; raise ConfigError naming every problem."""
    data = _load_yaml(text, path)
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
        config = Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(path, [_problem(item, data) for item in error.errors()]) from None
    archive = config.archive.expanduser()
    if not archive.is_absolute():
        archive = path.resolve().parent / archive
    return config.model_copy(update={"archive": archive, "path": path})


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str, path: Path) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        what = error.problem or error.context or "invalid YAML"
        raise ConfigError(
            path, [ConfigProblem(where, f"invalid YAML: {what} (fix the syntax there)")]
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(path, [ConfigProblem("", f"invalid YAML: {error}")]) from None


def _key_path(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
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
        hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
        return ConfigProblem(key, f"unknown key ({hint})")
    if kind == "missing":
        return ConfigProblem(key, "this key is required")
    if kind == "literal_error" and location[-1] == "kind":
        return ConfigProblem(
            key, f"{value!r} is not a source kind (use one of: {', '.join(SOURCE_KINDS)})"
        )
    if kind == "bool_parsing" or kind == "bool_type":
        return ConfigProblem(key, f"{value!r} is not true or false")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return ConfigProblem(key, f"{value!r} is not a whole number")
    if kind in ("float_parsing", "float_type"):
        return ConfigProblem(key, f"{value!r} is not a number")
    if kind in ("greater_than", "greater_than_equal", "less_than_equal"):
        return ConfigProblem(key, f"{value!r} is out of range ({error['msg'].lower()})")
    if kind in ("dict_type", "model_type"):
        return ConfigProblem(key, f"expected a mapping of keys to values, got {value!r}")
    if kind == "list_type":
        return ConfigProblem(key, f"expected a list, got {value!r}")
    if kind == "string_type":
        return ConfigProblem(key, f"expected text, got {value!r}")
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
    probe = parsel.Selector(text="<html><body></body></html>")
    try:
        probe.xpath(selector) if kind == "xpath" else probe.css(selector)
    except Exception as error:  # parsel raises several types for a bad expression
        raise ValueError(f"{selector!r} is not a valid {kind.upper()} selector ({error})") from None
    return kind, selector
