"""Turn pydantic's validation errors into the config's problem messages.

Each message is built from the error's structured data: its location, its type, the value
and, for wirewatch's own checks, the key and text in its context (see
:func:`monitor.config.values.keyed`). The keys an unknown key could have been are read off
the models, so a new key is offered as soon as it exists.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel

from monitor.config.schema import Config
from monitor.config.sources import SOURCE_KINDS
from monitor.config.values import shown
from monitor.errors import ConfigProblem

Location = tuple[int | str, ...]


def problems_of(errors: list[Any]) -> list[ConfigProblem]:
    """Return the problems that pydantic's *errors* (``ValidationError.errors()``) stand for."""
    found: list[ConfigProblem] = []
    for error in errors:
        found.extend(_problems(error))
    return found


def key_path(location: Location) -> str:
    """Return a location as the config's key path, e.g. ``sources[2].interval``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part) if len(str(part)) <= 40 else str(part)[:37] + "..."
            text += f".{name}" if text else name
    return text


def _joined(location: Location, key: str) -> str:
    """Return the key path of *key*, given below the part at *location*."""
    base = key_path(location)
    if not base or not key:
        return base or key
    return base + key if key.startswith("[") else f"{base}.{key}"


def allowed_keys(location: Location) -> list[str]:
    """Return the keys allowed in the mapping at *location*, read off the config's models."""
    annotation: Any = Config
    for part in location:
        annotation = _below(annotation, part)
        if annotation is None:
            return []
    model = _model_in(annotation)
    if model is None:
        return []
    return [name for name, field in model.model_fields.items() if not field.exclude]


def _below(annotation: Any, part: int | str) -> Any:
    """Return the annotation of what *part* names inside a value of type *annotation*."""
    model = _model_in(annotation)
    if model is not None:
        field = model.model_fields.get(str(part))
        return None if field is None else field.annotation
    for inner in _unwrapped(annotation):
        origin = typing.get_origin(inner)
        arguments = typing.get_args(inner)
        if origin is list and isinstance(part, int):
            return arguments[0]
        if origin is dict and isinstance(part, str):
            return arguments[1]
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """Return the model that *annotation* is, or holds as an optional, or None."""
    for inner in _unwrapped(annotation):
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return None


def _unwrapped(annotation: Any) -> list[Any]:
    """Return the types that *annotation* may be: ``X | None`` gives X; Annotated is unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrapped(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [
            each
            for argument in typing.get_args(annotation)
            if argument is not type(None)
            for each in _unwrapped(argument)
        ]
    return [annotation]


def _problems(error: Any) -> list[ConfigProblem]:
    location: Location = tuple(error["loc"])
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "keyed":
        return [ConfigProblem(_joined(location, context["key"]), context["detail"])]
    if kind == "several":
        return [ConfigProblem(_joined(location, key), text) for key, text in context["problems"]]
    return [_problem(location, kind, error)]


def _problem(location: Location, kind: str, error: Any) -> ConfigProblem:
    value = error.get("input")
    key = key_path(location)
    if kind == "extra_forbidden":
        allowed = allowed_keys(location[:-1])
        close = difflib.get_close_matches(str(location[-1]), allowed, n=1)
        if close:
            return ConfigProblem(key, f"unknown key (did you mean {shown(close[0])}?)")
        return ConfigProblem(key, "unknown key (allowed: " + ", ".join(allowed) + ")")
    if kind == "missing":
        return ConfigProblem(key, "this key is required")
    if kind == "literal_error" and location[-1] == "kind":
        return ConfigProblem(
            key, f"{shown(value)} is not a source kind (use one of: {', '.join(SOURCE_KINDS)})"
        )
    if kind in ("bool_parsing", "bool_type"):
        return ConfigProblem(key, f"{shown(value)} is not true or false")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return ConfigProblem(key, f"{shown(value)} is not a whole number")
    if kind in ("float_parsing", "float_type"):
        return ConfigProblem(key, f"{shown(value)} is not a number")
    if kind == "range":
        return ConfigProblem(key, f"{shown(value)} {error['msg']}")
    if kind in ("greater_than", "greater_than_equal", "less_than_equal"):
        return ConfigProblem(key, f"{shown(value)} is out of range ({error['msg'].lower()})")
    if kind in ("dict_type", "model_type"):
        return ConfigProblem(key, f"expected a mapping of keys to values, got {shown(value)}")
    if kind == "list_type":
        return ConfigProblem(key, f"expected a list, got {shown(value)}")
    if kind == "string_type":
        return ConfigProblem(key, f"expected text, got {shown(value)}")
    if kind == "string_too_short":
        return ConfigProblem(key, "must not be empty")
    return ConfigProblem(key, error["msg"])
