"""The ``cluster:`` part of the config: crawl workers on other machines, through Redis."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from monitor.config.values import HOUR, Model, Range, Seconds, without_credentials

SCHEMES = ("redis", "rediss", "unix")
Visibility = Annotated[Seconds, AfterValidator(Range(1, HOUR, seconds=True))]


def check_redis_url(url: str) -> str:
    """Return *url* if redis-py can connect with it; raise a pydantic error naming the fix."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise PydanticCustomError(
            "redis_url",
            "{url} is not a Redis URL: write redis://HOST:6379/0 (rediss:// for TLS, "
            "unix:///path/to/redis.sock for a socket)",
            {"url": without_credentials(url)[:200]},
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise PydanticCustomError(
            "redis_url", "{url} names no host: write redis://HOST:6379/0",
            {"url": without_credentials(url)[:200]},
        )  # fmt: skip
    return url


class ClusterSettings(Model):
    """The ``cluster:`` section. Without it wirewatch is one machine and needs no Redis."""

    redis: Annotated[str, AfterValidator(check_redis_url)] = Field(
        description="The Redis server that the daemon and its crawl workers share, such as "
        "redis://10.0.0.5:6379/0; a password in it is never shown in status or logs.",
    )
    batch: int = Field(
        100,
        ge=1,
        le=1000,
        description="How many due sources one crawl job carries; a worker crawls a job in one "
        "crawl process, so a bigger batch starts fewer processes.",
    )
    visibility_timeout: Visibility = Field(
        60,
        description="How long a job taken by a worker that stopped beating (killed, cut off) "
        "waits before another worker takes it over.",
    )
    prefix: str = Field(
        "wirewatch",
        pattern=r"^[A-Za-z0-9_.-]{1,40}$",
        description="The start of every Redis key wirewatch uses, so several teams can share "
        "one Redis server.",
    )

    @field_validator("redis")
    @classmethod
    def _no_spaces(cls, url: str) -> str:
        if any(char.isspace() for char in url):
            raise PydanticCustomError("redis_url", "a Redis URL has no spaces")
        return url
