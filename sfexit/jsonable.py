"""Library values as JSON: the one conversion used by the CLI's ``--json`` envelope and by the
files the library writes itself (an offboard run's ``run.json`` and step results)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import pathlib
from collections.abc import Mapping
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Turn dataclasses, dates, Decimals, paths and enums into JSON-ready values.

    Dates go out in ISO format and amounts as decimal strings, as the issues ask.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def dumps(value: Any) -> str:
    """``value`` as indented JSON text (non-ASCII kept as is)."""
    return json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)
