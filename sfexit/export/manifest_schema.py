"""Reading ``manifest.json`` entries with their types checked, field by field.

``json.loads`` gives whatever the file holds; a dataclass takes any value. A manifest edited by
hand or by another tool (``"rows": "ten"``) must be refused naming the field
(``objects.Account.rows: expected an integer, got a string``), never crash ``export verify``
later. The checks come from the dataclasses' own annotations, so a field added to an entry is
checked without touching this module.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def build(kind: type[T], raw: Any, where: str,
          nested: dict[str, type[Any]] | None = None) -> T:
    """``kind(**raw)`` after checking every field of ``raw`` against ``kind``'s annotations.
    ``nested`` names list fields whose items are themselves dataclasses. Raises ValueError
    naming ``where`` and the field."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object, got {_json_type(raw)}")
    hints = typing.get_type_hints(kind)
    fields = {f.name: f for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise ValueError(f"{where}: unknown field {key!r}")
        inner = (nested or {}).get(key)
        if inner is not None:
            if not isinstance(value, list):
                raise ValueError(f"{where}.{key}: expected a list, got {_json_type(value)}")
            value = [build(inner, item, f"{where}.{key}[{i}]") for i, item in enumerate(value)]
        elif not _matches(value, hints[key]):
            raise ValueError(f"{where}.{key}: expected {_describe(hints[key])}, got "
                             f"{_json_type(value)}")
        values[key] = value
    for name, f in fields.items():
        if (name not in values and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING):
            raise ValueError(f"{where}: missing field {name!r}")
    return kind(**values)


def check(value: Any, hint: Any, where: str) -> Any:
    """``value`` when it matches ``hint``; raises ValueError naming ``where``."""
    if not _matches(value, hint):
        raise ValueError(f"{where}: expected {_describe(hint)}, got {_json_type(value)}")
    return value


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict:
        key, item = typing.get_args(hint) or (Any, Any)
        return isinstance(value, dict) and all(
            _matches(k, key) and _matches(v, item) for k, v in value.items())
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin is list:
        return "a list"
    if origin is dict:
        return "an object"
    return {int: "an integer", str: "a string", bool: "true or false", float: "a number",
            type(None): "null"}.get(hint, getattr(hint, "__name__", str(hint)))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)
