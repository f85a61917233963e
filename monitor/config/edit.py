"""Add sources to a config file and leave every byte already in it as it was.

``wirewatch add`` and ``wirewatch sources import`` write here. A config is a file people
edit by hand, with comments beside the keys, so it is never re-dumped from data: ruamel.yaml
composes the file to find where ``sources:`` ends, and emits the new entries, which go in
after the last source with its indentation. (A full round trip through ruamel.yaml would
reflow the topics' multi-line lists.) Before anything is written, the new text must load
with the config's own loader, and hold the same data as before plus the new sources; then
it replaces the file in one rename, so a failure never leaves half a config behind.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from monitor.config.files import read_text
from monitor.config.loading import parse
from monitor.config.names import NAME
from monitor.config.schema import Config
from monitor.errors import ConfigError, ConfigProblem, WirewatchError
from monitor.safeyaml import load_yaml

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def name_for(url: str, taken: Iterable[str]) -> str:
    """Return a source name made from *url*'s host (``www.`` dropped), unique among *taken*."""
    host = (urlsplit(url).hostname or "source").lower().rstrip(".")
    host = host.removeprefix("www.")
    base = _NOT_IN_NAME.sub("-", host).strip("-._") or "source"
    if not NAME.fullmatch(base):
        base = f"source-{base}"
    used = set(taken)
    name, number = base, 1
    while name in used:
        number += 1
        name = f"{base}-{number}"
    return name


def source_entry(
    name: str, url: str, kind: str, *, language: str | None = None, comment: str | None = None
) -> CommentedMap:
    """Return a new entry of ``sources:``, with its keys in the order config.yaml uses."""
    entry = CommentedMap(name=name, url=url, kind=kind)
    if language:
        entry["language"] = language
    # A comment may come from a site or an OPML file: one line of printable text, shortened.
    comment = "".join(c for c in " ".join((comment or "").split()) if c.isprintable())[:120]
    if comment:
        entry.yaml_add_eol_comment(comment, "name")
    return entry


def add_sources(path: Path, entries: Sequence[Mapping[str, Any]]) -> Config:
    """Append *entries* to the ``sources:`` of the config file at *path*, and return the new
    config; raise ConfigError, and leave the file as it was, when the result is not valid."""
    text = read_text(path)
    new_text = with_sources(text, entries, path)
    config = parse(new_text, path)
    _check_only_added(text, new_text, len(entries), path)
    write_atomically(path, new_text)
    return config


def with_sources(text: str, entries: Sequence[Mapping[str, Any]], path: Path) -> str:
    """Return config *text* with *entries* after its last source (*path* names it in errors)."""
    try:
        root = _yaml().compose(text)
    except YAMLError as error:
        raise ConfigError(path, [ConfigProblem("", f"not readable YAML: {error}")]) from None
    sources = _value_of(root, "sources")
    if isinstance(sources, SequenceNode) and sources.value and not sources.flow_style:
        return _inserted(text, sources, entries)
    return _round_trip(text, entries, path)


def _inserted(text: str, sources: SequenceNode, entries: Sequence[Mapping[str, Any]]) -> str:
    """Insert *entries* after the last item of the block sequence *sources*."""
    lines = text.splitlines(keepends=True)
    last = sources.value[-1]
    end = _last_leaf(last).end_mark
    at = end.line if end.column == 0 else end.line + 1
    key_column = last.start_mark.column
    item_line = lines[last.start_mark.line] if last.start_mark.line < len(lines) else ""
    dash = item_line.rfind("-", 0, key_column + 1)
    dash = dash if dash >= 0 else max(0, key_column - 2)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if at > 0 and at <= len(lines) and not lines[at - 1].endswith(("\n", "\r")):
        lines[at - 1] += newline  # the last source was on the file's unterminated last line
    block = []
    for entry in entries:
        rendered = _dump(_commented(entry)).splitlines()
        block.append(" " * dash + "-" + " " * (key_column - dash - 1) + rendered[0] + newline)
        block.extend(" " * key_column + line + newline for line in rendered[1:])
    return "".join(lines[:at] + block + lines[at:])


def _round_trip(text: str, entries: Sequence[Mapping[str, Any]], path: Path) -> str:
    """Add *entries* by a whole round trip, for a file with no block list of sources yet."""
    loader = _yaml()
    data = loader.load(text)
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise ConfigError(path, [ConfigProblem("", "the file must be a YAML mapping")])
    listed = data.get("sources")
    if listed is None:
        listed = data["sources"] = CommentedSeq()
    if not isinstance(listed, list):
        raise ConfigError(path, [ConfigProblem("sources", "must be a list of sources")])
    if isinstance(listed, CommentedSeq):
        listed.fa.set_block_style()
    listed.extend(_commented(entry) for entry in entries)
    out = io.StringIO()
    loader.dump(data, out)
    return out.getvalue()


def _check_only_added(before: str, after: str, count: int, path: Path) -> None:
    """Refuse a change that altered anything but the end of ``sources:``."""
    old, new = load_yaml(before, path) or {}, load_yaml(after, path)
    kept = new.get("sources", [])[: len(new.get("sources", [])) - count]
    if {**new, "sources": kept} != {**old, "sources": old.get("sources") or []}:
        raise ConfigError(
            path,
            [ConfigProblem("sources", "adding a source here would change other keys "
                           "(add it by hand, and please report the file's layout)")],
        )  # fmt: skip


def write_atomically(path: Path, text: str) -> None:
    """Replace the file at *path* with *text* in one rename, keeping its mode, owner and
    group (a service may read it by its group); raise WirewatchError when it cannot."""
    target = path.resolve()  # a symlinked config stays a symlink to the new file
    try:
        kept = target.stat()
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as error:
        raise _unwritable(path, error) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
            made = os.fstat(file.fileno())
            if (made.st_uid, made.st_gid) != (kept.st_uid, kept.st_gid):
                os.fchown(file.fileno(), kept.st_uid, kept.st_gid)
        Path(temporary).chmod(kept.st_mode & 0o7777)
        Path(temporary).replace(target)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _unwritable(path, error) from None
        raise


def _unwritable(path: Path, error: OSError) -> WirewatchError:
    return WirewatchError(
        f"{path}: cannot write the config ({error.strerror or error}), so it was left as it "
        "was: run the command as the user who owns the file (it keeps its owner, group and "
        "mode), or add the source by hand"
    )


def _yaml() -> YAML:
    loader = YAML(typ="rt")
    loader.preserve_quotes = True
    loader.width = 4096  # never fold a long URL or comment
    loader.indent(mapping=2, sequence=4, offset=2)
    return loader


def _dump(entry: CommentedMap) -> str:
    for key, value in entry.items():
        if isinstance(value, list) and not isinstance(value, CommentedSeq):
            entry[key] = seq = CommentedSeq(value)
            seq.fa.set_flow_style()  # tags: [wire, korea], as config.yaml writes them
    out = io.StringIO()
    _yaml().dump(entry, out)
    return out.getvalue()


def _commented(entry: Mapping[str, Any]) -> CommentedMap:
    return entry if isinstance(entry, CommentedMap) else CommentedMap(entry)


def _value_of(root: Node | None, key: str) -> Node | None:
    if not isinstance(root, MappingNode):
        return None
    return next((value for name, value in root.value if name.value == key), None)


def _last_leaf(node: Node) -> Node:
    """Return the node where *node*'s text ends: its last scalar or flow collection."""
    while isinstance(node, MappingNode | SequenceNode) and node.value and not node.flow_style:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    assert isinstance(node, ScalarNode | MappingNode | SequenceNode)
    return node
