"""Read the YAML of a config file safely: no Python objects, and nothing past sane bounds.

A safe loader already refuses Python tags, but not a document that stands for far more than
it holds. Ten anchors of ten aliases each (a "billion laughs") take a few hundred bytes and
stand for ten billion values; a list nested 5,000 deep exhausts PyYAML's recursion. This
loader measures every node as it is composed, before anything is built from it, and refuses
such a file with one line that names the key and the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from monitor.errors import ConfigError, ConfigProblem

try:
    from yaml._yaml import CParser  # libyaml, when PyYAML was built with it
except ImportError:  # pragma: no cover - PyYAML's wheels include it
    CParser = None  # type: ignore[assignment,misc]

# The repository's config.yaml holds 804 values, 8 levels deep.
MAX_VALUES = 100_000  # values of a document once its aliases are expanded
MAX_DEPTH = 32  # levels of nesting once its aliases are expanded
MAX_INT_DIGITS = 30  # int() refuses 4,300 digits with an error that names no line


class _Refused(yaml.YAMLError):
    """Raised by the loader for a document past its bounds: where it is, and what is wrong."""

    def __init__(self, key: str, message: str, mark: yaml.Mark | None) -> None:
        line = f"line {mark.line + 1}" if mark is not None else ""
        self.where = f"{key} ({line})" if key and line else key or line
        self.message = message
        super().__init__(message)


class _Bounds(Composer, SafeConstructor):
    """What makes a safe YAML loader ours: it refuses a key given twice in one mapping, a
    document whose aliases expand past MAX_VALUES values or MAX_DEPTH levels, and an
    over-long integer. Mixed into a loader that gives it the parser's events."""

    if TYPE_CHECKING:  # given by the parser this is mixed with

        def check_event(self, *choices: Any) -> bool: ...
        def peek_event(self) -> Any: ...

    def _start_measuring(self) -> None:
        # The expanded size and depth of each node composed so far, by id: the document
        # holds every node until loading ends, so no id is reused.
        self._measures: dict[int, tuple[int, int]] = {}
        self._keys: list[str | int | None] = []  # where the node being composed sits

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event: Any = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._measures:
                # An alias inside its own anchor stands for an endless value.
                raise _Refused(
                    self._key_path(),
                    f"the alias *{event.anchor} is used inside its own anchor "
                    f"&{event.anchor} (a value cannot contain itself)",
                    event.start_mark,
                )
            return super().compose_node(parent, index)  # measured when its anchor was
        if isinstance(index, yaml.ScalarNode):
            self._keys.append(index.value)  # a mapping's value: its key
        else:
            self._keys.append(index)  # a list item's position, or None for a key or the root
        if len(self._keys) > MAX_DEPTH:
            start: Any = self.peek_event()
            raise _Refused(self._key_path(), self._too_deep(), start.start_mark)
        node = super().compose_node(parent, index)
        if node is None:  # PyYAML composes a node for every event; this keeps mypy sure
            return node
        values, depth = self._measure(node)
        if values > MAX_VALUES:
            raise _Refused(
                self._key_path(),
                f"this stands for more than {MAX_VALUES:,} values once its YAML aliases are "
                "expanded (a config needs far fewer: write the values out, or use fewer aliases)",
                node.start_mark,
            )
        if len(self._keys) - 1 + depth > MAX_DEPTH:
            raise _Refused(self._key_path(), self._too_deep(), node.start_mark)
        self._keys.pop()
        return node

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """Record and return how many values *node* stands for, and how deep it goes."""
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        measures = [self._measures[id(child)] for child in children]
        values = 1 + sum(size for size, _ in measures)
        depth = 1 + max((levels for _, levels in measures), default=0)
        self._measures[id(node)] = (values, depth)
        return values, depth

    def _key_path(self) -> str:
        text = ""
        for key in self._keys:
            if isinstance(key, int):
                text += f"[{key}]"
            elif key is not None:
                shown = key if len(key) <= 40 else key[:37] + "..."
                text += f".{shown}" if text else shown
        return text

    def _too_deep(self) -> str:
        return f"the YAML nests more than {MAX_DEPTH} levels deep (a config needs fewer than 10)"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark
                    )
                seen.add(key)
            except TypeError:
                pass  # a list or mapping as a key: the safe loader says what is wrong
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        if len(str(node.value)) > MAX_INT_DIGITS:
            raise _Refused(
                "",
                f"the number {str(node.value)[:20]}... has more than {MAX_INT_DIGITS} digits",
                node.start_mark,
            )
        return int(super().construct_yaml_int(node))


class _BoundedLoader(_Bounds, yaml.SafeLoader):
    """The bounded loader on PyYAML's own parser, whose errors name what is wrong."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._start_measuring()


class _FastBoundedLoader(_Bounds, CParser, Resolver):
    """The same loader on libyaml's parser, about five times faster on a config file.

    The composing (and so every bound) is the Python one above: libyaml only reads the
    events. Its messages differ from PyYAML's, so a document it refuses is read again by
    _BoundedLoader, which raises what wirewatch always said.
    """

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._start_measuring()


# add_constructor keeps a table per class: the safe loader's entry for ints names its own
# method, so the override above must be registered to be used (both loaders find _Bounds'
# table first).
_Bounds.add_constructor(  # type: ignore[type-var]  # the stub knows only its own loaders
    "tag:yaml.org,2002:int", _Bounds.construct_yaml_int
)


def load_yaml(text: str, path: Path) -> Any:
    """Return the data of the YAML *text* read from *path*; raise ConfigError naming a problem."""
    if CParser is not None:
        try:
            return yaml.load(text, Loader=_FastBoundedLoader)  # type: ignore[arg-type]  # noqa: S506
        except (yaml.YAMLError, RecursionError):
            pass  # read again below, for PyYAML's own message
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except _Refused as error:
        raise ConfigError(path, [ConfigProblem(error.where, error.message)]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        what = error.problem or error.context or "invalid YAML"
        raise ConfigError(
            path, [ConfigProblem(where, f"invalid YAML: {what} (fix the syntax there)")]
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(path, [ConfigProblem("", f"invalid YAML: {error}")]) from None
    except RecursionError:
        # The bounds above keep PyYAML's recursion short; this is the last line of defence.
        raise ConfigError(
            path, [ConfigProblem("", "the YAML nests too deeply (a config needs fewer than 10)")]
        ) from None
