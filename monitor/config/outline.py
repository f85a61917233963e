"""What the reading commands use of a config file, read without validating the rest of it.

flagged, show, search, status, export and mark need the archive's path, the sources' names
and kinds, the topics' names and whether alerts are set. Validating the whole file (the
pydantic models, every topic's aliases and rules, apprise for the alerts) takes longer
than these commands' queries, so they read those keys alone. The YAML is read as safely as
for a full load (monitor.safeyaml), and the keys they use must be plainly valid: when one is
not, or the file has a top-level key the config does not know (a misspelt ``archive:``),
the whole file is validated and its problems are raised, just as ``wirewatch check`` names
them. A problem elsewhere (a topic's rule, a source's interval, an alert's service) does not
stop an analyst reading the archive; ``check``, ``crawl`` and ``run`` report it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config.files import read_text, resolve_archive
from monitor.config.names import DEFAULT_ARCHIVE, NAME
from monitor.safeyaml import load_yaml
from monitor.timeutil import zone_named

if TYPE_CHECKING:
    from monitor.config.cluster import ClusterSettings
    from monitor.config.schema import Config

# The top-level keys of Config and the kinds of Source (tests/test_config.py holds both to
# the models).
KEYS = ("archive", "store_html", "sanctions", "crawl", "sources", "topics", "alerts", "health",
        "recheck", "roles", "coverage", "timezone", "cluster")  # fmt: skip
KINDS = ("feed", "sitemap", "page")


@dataclass(frozen=True)
class Outline:
    """The part of a config file that commands reading the archive use."""

    path: Path
    archive: Path
    sources: dict[str, str]  # name -> kind, in the file's order
    topics: tuple[str, ...]
    alerts: bool
    timezone: str = "UTC"
    roles: dict[str, str] = field(default_factory=dict)  # role -> description, in order
    source_roles: dict[str, str] = field(default_factory=dict)  # source -> its role
    cluster: ClusterSettings | None = None

    @classmethod
    def of(cls, config: Config) -> Outline:
        """Return the outline of a config that was validated whole."""
        return cls(
            path=config.path,
            archive=config.archive,
            sources={source.name: source.kind for source in config.sources},
            topics=tuple(config.topics),
            alerts=bool(config.alerts),
            timezone=config.timezone,
            roles=dict(config.roles),
            source_roles=config.source_roles(),
            cluster=config.cluster,
        )


def read_outline(path: Path) -> Outline:
    """Return the outline of the config file at *path*; raise ConfigError as a full load
    would when a key it uses is wrong (see the module's docstring)."""
    data = load_yaml(read_text(path), path)
    found = _outline(path, {} if data is None else data)
    if found is not None:
        return found
    from monitor.config.loading import load  # names every problem, as check does

    return Outline.of(load(path))


def _outline(path: Path, data: Any) -> Outline | None:
    """Return the outline of *data*, or None when a key it uses is not plainly valid."""
    if not isinstance(data, dict) or not set(data) <= set(KEYS):
        return None
    if data.get("cluster") is not None:
        return None  # rare, and checked in full: a full load reads it
    archive = data.get("archive", str(DEFAULT_ARCHIVE))
    sources = data.get("sources", [])
    topics = data.get("topics", {})
    alerts = data.get("alerts", {})
    timezone = data.get("timezone", "UTC")
    roles = data.get("roles", {})
    if not (
        isinstance(roles, dict)
        and all(isinstance(k, str) and NAME.fullmatch(k) and isinstance(v, str)
                for k, v in roles.items())
    ):  # fmt: skip
        return None
    if not (isinstance(archive, str) and archive.strip()):
        return None
    if not isinstance(timezone, str):
        return None
    try:
        zone_named(timezone)
    except ValueError:
        return None
    if not (isinstance(sources, list) and isinstance(topics, dict) and isinstance(alerts, dict)):
        return None
    kinds: dict[str, str] = {}
    source_roles: dict[str, str] = {}
    for source in sources:
        if not isinstance(source, dict):
            return None
        name, kind = source.get("name"), source.get("kind")
        if not (isinstance(name, str) and NAME.fullmatch(name)) or kind not in KINDS:
            return None
        if name in kinds:  # not unique
            return None
        kinds[name] = kind
        role = source.get("role")
        if role is not None:
            if role not in roles:  # a full load names the source and the key
                return None
            source_roles[name] = role
    if not all(isinstance(name, str) and NAME.fullmatch(name) for name in topics):
        return None
    return Outline(
        path=path,
        archive=resolve_archive(Path(archive), path),
        sources=kinds,
        topics=tuple(topics),
        alerts=bool(alerts),
        timezone=timezone,
        roles=dict(roles),
        source_roles=source_roles,
    )
