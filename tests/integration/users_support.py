"""Helpers shared by the `sfexit users` integration tests (config, env, store queries)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auth_support import invoke, password_env, password_profile, write_config

from sfexit_emulator import testing


def org_rows(org: Any, soql: str) -> list[dict[str, Any]]:
    """Rows straight from the emulator's store (the ground truth), not over HTTP."""
    return testing.records(org, soql)


def users_cli(org: Any, tmp_path: Path, *args: str, yes: bool = True) -> Any:
    cfg = write_config(tmp_path, org, **password_profile(org))
    pre = ["--config", str(cfg)] + (["--yes"] if yes else [])
    return invoke([*pre, "users", *args], env=password_env(org))


def username_of(org: Any, key: str) -> str:
    """Seeded usernames by their local part (seed_users: "<local>@<domain>")."""
    rows = org_rows(org, "SELECT Username FROM User")
    return next(r["Username"] for r in rows if r["Username"].split("@")[0] == key)


def active(org: Any, username: str) -> bool:
    return bool(org_rows(org, f"SELECT IsActive FROM User WHERE Username = '{username}'")[0][
        "IsActive"])

