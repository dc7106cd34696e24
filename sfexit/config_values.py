"""Typed readers for config values: each failure is one ConfigError naming the key and the file.

Used by :mod:`sfexit.config` for the TOML file and the SFEXIT_* values alike.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sfexit.errors import ConfigError, did_you_mean

# Secret kind -> environment variable. The kinds are also the keyring key suffixes.
SECRET_ENV: dict[str, str] = {
    "password": "SFEXIT_PASSWORD",
    "security_token": "SFEXIT_SECURITY_TOKEN",
    "client_secret": "SFEXIT_CLIENT_SECRET",
    "refresh_token": "SFEXIT_REFRESH_TOKEN",
    "key_passphrase": "SFEXIT_KEY_PASSPHRASE",
    "access_token": "SFEXIT_ACCESS_TOKEN",
}
# Keys that must never be written in a config file (secrets live in the keyring).
SECRET_KEYS = frozenset(SECRET_ENV) | {"token", "secret", "session_id", "private_key",
                                       "passphrase", "consumer_secret"}


class Validator:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, expected: str, value: Any) -> ConfigError:
        return ConfigError(f"{self.where}: {key}: expected {expected}, got {_show(value)}")

    def secret_error(self, key: str, kind: str) -> ConfigError:
        var = SECRET_ENV.get(kind)
        where = f"run `sfexit login` to store it in the keyring{f' or set {var}' if var else ''}"
        return ConfigError(f"{self.where}: {key}: secrets do not belong in the config file "
                           f"({where})")

    def check_keys(self, raw: Mapping[str, Any], section: str, allowed: set[str]) -> None:
        for key in raw:
            full = f"{section}.{key}" if section else key
            if key in SECRET_KEYS:
                raise self.secret_error(full, key)
            if key not in allowed:
                raise ConfigError(f"{self.where}: {full}: unknown key{did_you_mean(key, allowed)}"
                                  f" (allowed: {', '.join(sorted(allowed))})")

    def table(self, raw: Mapping[str, Any], key: str) -> dict[str, Any]:
        value = raw.get(key, {})
        self.require_table(value, key)
        return dict(value)

    def require_table(self, value: Any, key: str) -> None:
        if not isinstance(value, dict):
            raise self.fail(key, "a table", value)

    def opt_str(self, raw: Mapping[str, Any], key: str, full: str) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(full, "a non-empty string", value)
        return value.strip()

    def opt_str_or_number(self, raw: Mapping[str, Any], key: str, full: str) -> str | None:
        value = raw.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return self.opt_str(raw, key, full)

    def opt_bool(self, raw: Mapping[str, Any], key: str, full: str) -> bool | None:
        value = raw.get(key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            return value.lower() in ("1", "true", "yes")  # from an environment variable
        raise self.fail(full, "true or false", value)

    def opt_int(self, raw: Mapping[str, Any], key: str, full: str) -> int | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(full, "a whole number ≥ 0", value)
        return value

    def opt_decimal(self, raw: Mapping[str, Any], key: str, full: str) -> Decimal | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.fail(full, "an amount like \"12000.00\"", value)
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(full, "an amount like \"12000.00\"", value) from None
        if not amount.is_finite() or amount < 0:
            raise self.fail(full, "an amount like \"12000.00\"", value)
        return amount

    def opt_date(self, raw: Mapping[str, Any], key: str, full: str) -> dt.date | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            raise self.fail(full, "a date like 2025-01-31", value)
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(full, "a date like 2025-01-31", value)

    def opt_path(self, raw: Mapping[str, Any], key: str, full: str) -> Path | None:
        value = self.opt_str(raw, key, full)
        return Path(value).expanduser() if value is not None else None

    def opt_str_list(self, raw: Mapping[str, Any], key: str,
                     full: str) -> tuple[str, ...] | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
            raise self.fail(full, "a list of strings", value)
        return tuple(value)

    def https_url(self, raw: Mapping[str, Any], key: str, full: str) -> str | None:
        value = self.opt_str(raw, key, full)
        if value is None:
            return None
        if not re.match(r"^https://[^/\s]+", value, re.IGNORECASE):
            if value.lower().startswith("http://"):
                raise ConfigError(f"{self.where}: {full}: {value} is not HTTPS; sfexit only "
                                  "connects over https://")
            raise self.fail(full, "an https:// URL", value)
        return value.rstrip("/")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)
