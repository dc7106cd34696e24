"""Saving an org profile to the config file, as ``sf org login`` keeps its logins.

``sfexit login`` with flags calls :func:`save_profile` after a successful login, so the next
command finds the same profile without the flags. Only the ``[orgs.NAME]`` table is touched:
its keys given here are set (replaced in place, or added at the end of the table), everything
else in the file (comments, other tables) stays as written. The result is parsed again before
it replaces the file (atomically); secrets never get here (config_values.SECRET_KEYS).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from sfexit.config_values import SECRET_KEYS
from sfexit.errors import ConfigError

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _literal(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)   # a TOML basic string: JSON's escapes are TOML's (ASCII out)


def _header(name: str) -> str:
    return f"[orgs.{name if BARE_KEY.fullmatch(name) else json.dumps(name)}]"


def _table_span(lines: list[str], name: str) -> tuple[int, int] | None:
    """(header index, end index) of ``[orgs.NAME]``, or None when the file has no such table."""
    wanted = {f"[orgs.{name}]", f'[orgs."{name}"]', f"[orgs.'{name}']"}
    start = next((i for i, line in enumerate(lines)
                  if line.split("#", 1)[0].strip().replace(" ", "") in wanted), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
               len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end


def profile_text(text: str, name: str, values: Mapping[str, str | bool]) -> str:
    """``text`` with ``[orgs.NAME]`` holding ``values`` (pure; the tests' unit)."""
    lines = text.splitlines()
    span = _table_span(lines, name)
    if span is None:
        block = [_header(name), *(f"{k} = {_literal(v)}" for k, v in values.items())]
        return "\n".join([*lines, *([""] if lines and lines[-1].strip() else []), *block]) + "\n"
    start, end = span
    body = lines[start + 1:end]
    for key, value in values.items():
        line = f"{key} = {_literal(value)}"
        at = next((i for i, old in enumerate(body)
                   if re.match(rf"\s*{re.escape(key)}\s*=", old)), None)
        if at is None:
            body.append(line)
        else:
            body[at] = line
    return "\n".join([*lines[:start + 1], *body, *lines[end:]]) + "\n"


def save_profile(path: Path, name: str, values: Mapping[str, str | bool]) -> bool:
    """Write ``values`` into ``[orgs.NAME]`` of ``path`` (created with its directory when
    missing). Returns False when the file already says exactly that. Raises ConfigError when
    the file cannot be written, or would not parse afterwards (it is then left unchanged)."""
    bad = sorted(set(values) & SECRET_KEYS)
    if bad:
        raise ConfigError(f"refusing to write the secret {bad[0]!r} to {path}")
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read to save the profile: {exc}") from None
    new = profile_text(old, name, values)
    if new == old:
        return False
    try:
        saved = tomllib.loads(new)["orgs"][name]
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: the profile [orgs.{name}] could not be saved into it "
                          f"without breaking it ({exc}); the file is unchanged",
                          hint="add the profile by hand (see config.example.toml)") from None
    if any(saved.get(k) != v for k, v in values.items()):
        raise ConfigError(f"{path}: [orgs.{name}] is written in a form sfexit cannot edit; "
                          "the file is unchanged", hint="add the values by hand")
    from sfexit.ondisk import atomic_write   # the one durable file write

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, new.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return True
