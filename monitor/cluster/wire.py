"""What crosses Redis between the daemon and its crawl workers, as JSON: jobs, and results.

A **job** names the sources a worker should crawl for one run, with a snapshot of what the
archive knows about them (whether each was ever read, its validators, the keys and GUIDs of
its latest stories), since a worker never opens the archive.

A **result** is one archive write that the worker's crawl would have made itself (a feed
read, a 304, a source's error or warning, tombstones, an article with its flags), a progress
event, or the job's end. The daemon applies the writes to the archive in the order they were
made, with the very methods a local crawl calls, so each article is still stored in one
transaction with its flags, and one sent twice (by a worker killed after it sent it) is
archived once.

Nothing here trusts its input: :func:`decode_job` and :func:`apply` check every field, and
a message that fails is refused with :class:`BadMessage`, never half applied.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.records import ArticleRecord, FlagRecord
from monitor.timeutil import from_text, to_text

# The archive writes a crawl makes, each named as on the wire.
WRITES = ("feed", "not_modified", "source_error", "warning", "remember", "article")
# Progress events (monitor.events) ride along as "event"; "done" ends a job.
OPS = (*WRITES, "event", "done")
MAX_MESSAGE = 64 * 1024 * 1024  # bytes: an article with its page stays far below this


class BadMessage(ValueError):
    """A job or a result that is not one this version of wirewatch wrote."""


@dataclass(frozen=True)
class Snapshot:
    """What the archive knows about a job's sources, read by the daemon as it sends the job."""

    first: dict[str, bool] = field(default_factory=dict)  # never read successfully
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)  # taken or skipped before
    guids: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One crawl job: a run's sources for one crawl process on a worker."""

    id: str  # "<run>.<n>", unique across runs
    run_id: int
    sources: list[str]
    snapshot: Snapshot

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)


def decode_job(text: str | bytes) -> Job:
    """Return the job in *text*; raise BadMessage when it is not one."""
    data = _json(text)
    try:
        snapshot = data["snapshot"]
        sources = _strings(data["sources"])
        job = Job(
            id=_string(data["id"]),
            run_id=_integer(data["run_id"]),
            sources=sources,
            snapshot=Snapshot(
                first={_string(k): bool(v) for k, v in _mapping(snapshot["first"]).items()},
                validators={
                    _string(k): (_optional(v[0]), _optional(v[1]))
                    for k, v in _mapping(snapshot["validators"]).items()
                },
                keys={_string(k): _strings(v) for k, v in _mapping(snapshot["keys"]).items()},
                guids={_string(k): _strings(v) for k, v in _mapping(snapshot["guids"]).items()},
            ),
        )
    except (KeyError, IndexError, TypeError) as error:
        raise BadMessage(f"not a crawl job: {error}") from None
    return job


# Results ----------------------------------------------------------------------------------


def result(op: str, **args: Any) -> str:
    """Return one result message as text."""
    if op not in OPS:
        raise ValueError(f"unknown result {op!r}")
    return json.dumps({"op": op, "args": args}, ensure_ascii=False)


def article_args(
    article: ArticleRecord,
    flags: Sequence[FlagRecord],
    *,
    identifiers: Sequence[str],
    html: bytes | None,
    full_text: bool,
) -> dict[str, Any]:
    """Return the arguments of an ``article`` result: those of Archive.add_article."""
    return {
        "article": article.columns(),
        "flags": [dataclasses.asdict(flag) for flag in flags],
        "identifiers": list(identifiers),
        "html": None if html is None else base64.b64encode(html).decode("ascii"),
        "full_text": full_text,
    }


def when(moment: datetime) -> str:
    """Return a time as results carry it."""
    return to_text(moment)


def decode_result(text: str | bytes) -> tuple[str, dict[str, Any]]:
    """Return ``(op, args)`` of one result message; raise BadMessage when it is not one."""
    data = _json(text)
    op, args = data.get("op"), data.get("args")
    if op not in OPS or not isinstance(args, dict):
        raise BadMessage(f"not a crawl result: op {str(op)[:40]!r}")
    return op, args


def apply(archive: Any, run_id: int, op: str, args: Mapping[str, Any]) -> int | None:
    """Make the archive write *op* on *archive* for run *run_id*; return an article's ID.

    The run is the daemon's, never the message's: a worker cannot write into another run.
    Raise BadMessage, having written nothing, when the arguments are not what the write
    takes.
    """
    try:
        source = _string(args["source"])
        if op == "feed":
            archive.record_feed(
                run_id,
                source,
                _integer(args["entries"]),
                _optional(args.get("warning")),
                http_status=_integer(args.get("http_status", 200)),
                hint=_number(args.get("hint")),
                etag=_optional(args.get("etag")),
                last_modified=_optional(args.get("last_modified")),
            )
        elif op == "not_modified":
            archive.record_not_modified(run_id, source, _number(args.get("hint")))
        elif op == "source_error":
            status = args.get("http_status")
            archive.record_source_error(
                run_id,
                source,
                _string(args["error_class"]),
                _string(args["message"]),
                from_text(_string(args["now"])),
                http_status=None if status is None else _integer(status),
                hint=_number(args.get("hint")),
            )
        elif op == "warning":
            archive.add_warning(run_id, source, _string(args["warning"]))
        elif op == "remember":
            keys = _strings(args["keys"])
            archive.remember(keys, source, _string(args["reason"]), from_text(args["now"]))
        elif op == "article":
            article, flags = _article(args, run_id)
            if article.source != source:
                raise BadMessage("an article's source differs from its message's")
            html = args.get("html")
            found: int | None = archive.add_article(
                article,
                flags,
                identifiers=_strings(args.get("identifiers", [])),
                html=None if html is None else base64.b64decode(_string(html), validate=True),
                full_text=bool(args.get("full_text", False)),
            )
            return found
        else:
            raise BadMessage(f"{op!r} is not an archive write")
    except (KeyError, IndexError, TypeError, ValueError, binascii.Error) as error:
        if isinstance(error, BadMessage):
            raise
        raise BadMessage(f"a {op} result that cannot be applied: {error}") from None
    return None


def _article(args: Mapping[str, Any], run_id: int) -> tuple[ArticleRecord, list[FlagRecord]]:
    columns = dict(_mapping(args["article"]))
    columns["run_id"] = run_id
    names = {each.name for each in dataclasses.fields(ArticleRecord)}
    if not set(columns) <= names:
        raise BadMessage(f"unknown article fields: {sorted(set(columns) - names)[:3]}")
    for name, value in columns.items():
        if name != "run_id" and value is not None and not isinstance(value, str):
            raise BadMessage(f"article field {name} is not text")
    article = ArticleRecord(**columns)
    flags = []
    for each in args.get("flags", []):
        flag = _mapping(each)
        flags.append(
            FlagRecord(
                topic=_string(flag["topic"]),
                score=float(flag["score"]),
                threshold=float(flag["threshold"]),
                rule=_string(flag["rule"]),
                rules=tuple(_strings(flag["rules"])),
                terms=tuple(_mapping(term) for term in flag["terms"]),
                snippet=_string(flag["snippet"]),
            )
        )
    return article, flags


def _json(text: str | bytes) -> dict[str, Any]:
    if len(text) > MAX_MESSAGE:
        raise BadMessage(f"a message of {len(text)} bytes, above the {MAX_MESSAGE} allowed")
    try:
        data = json.loads(text)
    except ValueError:
        raise BadMessage("a message that is not JSON") from None
    if not isinstance(data, dict):
        raise BadMessage("a message that is not a JSON object")
    return data


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _optional(value: Any) -> str | None:
    return None if value is None else _string(value)


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return [_string(each) for each in value]


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {type(value).__name__}")
    return value


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)
