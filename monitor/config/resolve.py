"""What the config needs from the world: the environment's secrets and apprise's services.

An alert URL may name environment variables (``slack://$SLACK_TOKEN``), so that tokens stay
out of the file. The URL is kept as written, everywhere: in the validated config, in the
archive's ``alerts`` table and in logs. :func:`expand` fills it in only at the moment an
alert is sent, and the filled-in URL is never stored.

:func:`problems` checks, when the file is loaded, that each variable is set and that apprise
knows each service, so a typo is an error at start-up rather than a failed alert at night.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from monitor.errors import ConfigProblem

if TYPE_CHECKING:
    from monitor.config.schema import Config

_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


class MissingSecret(LookupError):
    """An alert URL names an environment variable that is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the environment variable {name} is not set")
        self.name = name


def variables(url: str) -> list[str]:
    """Return the names of the environment variables that *url* refers to, in order."""
    return [found.group(1) or found.group(2) for found in _VARIABLE.finditer(url)]


def expand(url: str, environ: Mapping[str, str]) -> str:
    """Return *url* with each ``$NAME`` and ``${NAME}`` filled from *environ*.

    The values are inserted once, as they are: a secret that itself holds ``$X`` stays so.
    Raise MissingSecret for a variable that is not set.
    """

    def fill(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(2)
        value = environ.get(name)
        if value is None:
            raise MissingSecret(name)
        return value

    return _VARIABLE.sub(fill, url)


def problems(config: Config, environ: Mapping[str, str]) -> list[ConfigProblem]:
    """Return what stops the config's alerts from being sent: unset variables, unknown services."""
    if not config.alerts:
        return []
    if importlib.util.find_spec("apprise") is None:
        return [
            ConfigProblem(
                "alerts",
                "sending alerts needs apprise: pip install 'wirewatch[alerts]' "
                "(or remove the alerts section)",
            )
        ]
    import apprise

    found: list[ConfigProblem] = []
    for topic, urls in config.alerts.items():
        for index, url in enumerate(urls):
            key = f"alerts.{topic}[{index}]"
            try:
                filled = expand(url, environ)
            except MissingSecret as error:
                found.append(ConfigProblem(key, f"{error} (export it before starting wirewatch)"))
                continue
            if apprise.Apprise.instantiate(filled) is None:
                scheme = url.partition("://")[0] or url
                found.append(
                    ConfigProblem(
                        key,
                        f"apprise cannot use {scheme}:// URLs like this one (see "
                        "https://github.com/caronc/apprise/wiki for the URL of each service, "
                        "e.g. json://host:port/path for a webhook)",
                    )
                )
    return found
