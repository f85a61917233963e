"""The ``crawl:`` and ``sources:`` parts of the config: where stories come from, and how
politely they are fetched."""

from __future__ import annotations

import os
import re
import zoneinfo
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from monitor.config.names import NAME
from monitor.config.values import (
    DEFAULT_USER_AGENT,
    AgeSeconds,
    Concurrency,
    CycleSeconds,
    DelaySeconds,
    IntervalSeconds,
    Model,
    Range,
    TimeoutSeconds,
    check_user_agent,
    compile_selector,
    several,
    shown,
    without_credentials,
)

SourceKind = Literal["feed", "sitemap", "page"]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)


class Politeness(Model):
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
        return check_user_agent(agent)


class CrawlSettings(Politeness):
    """The ``crawl:`` section: politeness defaults, plus limits of a whole crawl."""

    cycle_timeout: CycleSeconds = Field(
        900.0, description="Seconds a whole crawl may run before its process is killed."
    )
    max_size_mb: Annotated[int, AfterValidator(Range(1, 1024))] = Field(
        16, description="Largest response read, in MiB."
    )
    workers: Annotated[int, AfterValidator(Range(1, 64))] = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        description="Crawl processes run at once, each for a group of hosts.",
    )
    memory_mb: Annotated[int, AfterValidator(Range(256, 1024 * 1024))] = Field(
        2048, description="Address-space limit of a crawl process, in MiB."
    )


class Source(Model):
    """One entry of ``sources:``: a place wirewatch collects stories from."""

    name: str
    url: str
    kind: SourceKind
    interval: IntervalSeconds = Field(600.0, description="How often the daemon polls the source.")
    cron: str | None = Field(None, description="A 5-field cron line, instead of interval.")
    timezone: str = Field("UTC", description="The time zone of the cron line.")
    adaptive: bool = Field(False, description="Set the interval from the publishing rate.")
    full_text: bool = Field(True, description="Follow each entry's link and extract the article.")
    language: str | None = Field(None, description="The language the source publishes in.")
    tags: list[str] = Field(default_factory=list)
    role: str | None = Field(
        None, description="What kind of outlet the source is: a name from roles:."
    )
    max_age: AgeSeconds = Field(
        172800.0, description="Older items are skipped: always in sitemaps, else on a first fetch."
    )
    # kind: page only.
    links: str | None = Field(None, description="CSS or XPath selector of the article links.")
    next: str | None = Field(None, description="Selector of the link to the next listing page.")
    depth: Annotated[int, AfterValidator(Range(1, 20))] = Field(
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
        if not NAME.fullmatch(name):
            raise PydanticCustomError(
                "name",
                f"{shown(name)} is not a usable source name "
                "(use letters, digits, '.', '_' and '-', e.g. yonhap-en)",
            )
        return name

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        url = url.strip()
        # An error never shows what may be a password: the line goes to terminals and logs.
        quoted = shown(without_credentials(url))
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not one
        except ValueError:
            raise PydanticCustomError(
                "url", f"{quoted} is not a usable URL (check its host and port)"
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError(
                "url", f"{quoted} is not an http(s) URL (use e.g. https://example.com/rss.xml)"
            )
        if parts.username is not None or parts.password is not None:
            raise PydanticCustomError(
                "url",
                f"{quoted} has a user name or password in it: wirewatch reads public sources "
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
                "timezone", f"{shown(name)} is not a time zone (use e.g. UTC, Asia/Seoul)"
            ) from None
        return name

    @field_validator("language")
    @classmethod
    def _check_language(cls, language: str | None) -> str | None:
        if language is not None and not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", language):
            raise PydanticCustomError(
                "language", f"{shown(language)} is not a language code (use e.g. en, ru, ko)"
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
        return None if agent is None else check_user_agent(agent)

    @model_validator(mode="after")
    def _check_whole(self) -> Source:
        """Check what depends on several keys, and report every such problem at once."""
        problems: list[tuple[str, str]] = []
        if self.cron is not None:
            # Only a config with a cron line pays for importing APScheduler's trigger.
            from monitor.cron import cron_problem

            problem = cron_problem(self.cron, self.timezone)
            if problem:
                problems.append(("cron", problem))
        if self.kind == "page" and self.links is None:
            problems.append(("links", "a page source needs a links selector (e.g. links: 'h2 a')"))
        if self.kind != "page":
            problems.extend(
                (key, f"only a page source takes {key} (this one is a {self.kind})")
                for key in ("links", "next")
                if getattr(self, key) is not None
            )
        if problems:
            raise several(problems)
        return self

    def politeness(self, defaults: Politeness) -> Politeness:
        """Return the politeness for this source: its own overrides on top of *defaults*."""
        overrides = {
            key: getattr(self, key)
            for key in Politeness.model_fields
            if getattr(self, key) is not None
        }
        return Politeness(**(defaults.model_dump(include=set(Politeness.model_fields)) | overrides))
