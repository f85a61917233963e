"""The whole config file as one model, and the narrow part of it that a crawl child needs.

``Config`` is the single table of every key: the README's key list is tested against it.
Validating it touches nothing outside the text: what the alert URLs need from the
environment and from apprise is checked by :mod:`monitor.config.resolve`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from monitor.config.cluster import ClusterSettings
from monitor.config.coverage import CoverageSettings
from monitor.config.health import HealthSettings
from monitor.config.names import DEFAULT_ARCHIVE, NAME
from monitor.config.recheck import RecheckSettings
from monitor.config.sanctions import SanctionsSettings
from monitor.config.sources import CrawlSettings, Source
from monitor.config.topics import Topic
from monitor.config.values import Model, several, shown


class Config(Model):
    """The whole validated config file."""

    archive: Path = DEFAULT_ARCHIVE
    store_html: bool = Field(True, description="Keep each article's fetched HTML, compressed.")
    sanctions: SanctionsSettings = Field(default_factory=SanctionsSettings)
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)  # type: ignore[arg-type]
    sources: list[Source] = Field(default_factory=list)
    topics: dict[str, Topic] = Field(default_factory=dict)
    alerts: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Apprise URLs to notify, per topic, when the topic flags a new story; "
        "$NAME in one is filled from the environment when an alert is sent.",
    )
    health: HealthSettings = Field(default_factory=HealthSettings)  # type: ignore[arg-type]
    recheck: RecheckSettings = Field(default_factory=RecheckSettings)
    roles: dict[str, str] = Field(
        default_factory=dict,
        description="The kinds of outlet (Russian state media, wires): each name and what it "
        "stands for; a source's role: names one.",
    )
    coverage: CoverageSettings = Field(default_factory=CoverageSettings)  # type: ignore[arg-type]
    cluster: ClusterSettings | None = Field(
        None,
        description="Crawl on workers that share a Redis server (wirewatch worker); "
        "without it the daemon crawls on this machine alone.",
    )
    timezone: str = Field(
        "UTC",
        description="The time zone the command line and the digest show times in "
        "(Asia/Seoul, Europe/Moscow); the archive, JSON and CSV stay in UTC.",
    )
    # Where the file was read from; set by load(), never by the file itself.
    path: Path = Field(Path("config.yaml"), exclude=True)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        from monitor.timeutil import zone_named

        try:
            zone_named(name)
        except ValueError as error:
            raise PydanticCustomError("zone", "{detail}", {"detail": str(error)}) from None
        return name

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[Source]) -> list[Source]:
        seen: dict[str, int] = {}
        problems: list[tuple[str, str]] = []
        for index, source in enumerate(sources):
            if source.name in seen:
                problems.append(
                    (
                        f"[{index}].name",
                        f"{shown(source.name)} is already the name of sources[{seen[source.name]}] "
                        "(source names must be unique)",
                    )
                )
            else:
                seen[source.name] = index
        if problems:
            raise several(problems)
        return sources

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, topics: dict[str, Topic]) -> dict[str, Topic]:
        problems = [
            (name, f"{shown(name)} is not a usable topic name (use e.g. russia-dprk)")
            for name in topics
            if not NAME.fullmatch(name)
        ]
        if problems:
            raise several(problems)
        return topics

    @field_validator("roles")
    @classmethod
    def _role_names(cls, roles: dict[str, str]) -> dict[str, str]:
        problems = [
            (name, f"{shown(name)} is not a usable role name (use e.g. ru-state)")
            for name in roles
            if not NAME.fullmatch(name)
        ]
        if problems:
            raise several(problems)
        return roles

    @model_validator(mode="after")
    def _sources_name_roles(self) -> Config:
        known = ", ".join(self.roles) or "none: add a roles: map"
        problems = [
            (
                f"sources[{index}].role",
                f"source {source.name}: there is no role {shown(source.role)} "
                f"in roles: (roles: {known})",
            )
            for index, source in enumerate(self.sources)
            if source.role is not None and source.role not in self.roles
        ]
        if problems:
            raise several(problems)
        return self

    def source_roles(self) -> dict[str, str]:
        """Return each source that has a role, by name, with its role."""
        return {source.name: source.role for source in self.sources if source.role}

    @field_validator("alerts", mode="before")
    @classmethod
    def _one_url_is_a_list(cls, alerts: Any) -> Any:
        if not isinstance(alerts, dict):
            return alerts  # pydantic says what is wrong with the shape
        return {topic: [urls] if isinstance(urls, str) else urls for topic, urls in alerts.items()}

    @model_validator(mode="after")
    def _alerts_name_topics(self) -> Config:
        known = ", ".join(sorted(self.topics)) or "none"
        problems = [
            (f"alerts.{topic}", f"there is no topic {shown(topic)} (topics: {known})")
            for topic in self.alerts
            if topic not in self.topics
        ]
        if problems:
            raise several(problems)
        return self

    def source(self, name: str) -> Source | None:
        """Return the source called *name*, or None."""
        return next((source for source in self.sources if source.name == name), None)

    def plan(self, sources: list[Source]) -> CrawlPlan:
        """Return what a crawl child needs to crawl *sources*, and nothing more."""
        return CrawlPlan(
            path=self.path,
            archive=self.archive,
            store_html=self.store_html,
            crawl=self.crawl,
            sources=sources,
            topics=self.topics,
        )


class CrawlPlan(Model):
    """One crawl child's share of the config: its sources, and what it needs to read them.

    The parent hands this over as JSON on stdin; the alerts and their secrets stay behind.
    """

    path: Path = Field(description="The config file the plan was made from, for messages.")
    archive: Path
    store_html: bool
    crawl: CrawlSettings
    sources: list[Source]
    topics: dict[str, Topic]

    def to_json(self) -> str:
        """Return the plan as the child reads it."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> CrawlPlan:
        """Read a plan that a parent made; the topics are checked again as they are compiled."""
        return cls.model_validate_json(text, context={"spellings": 0})
