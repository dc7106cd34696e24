"""Helpers for the `sfexit offboard` integration tests: config with contract and users, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from auth_support import invoke, password_env, password_profile, write_config

DOMAIN = "@sfexit-demo.example"
SUCCESSOR = "standard.user" + DOMAIN


def offboard_config(tmp_path: Path, org: Any, *, contract: bool = True,
                    successor: str | None = SUCCESSOR, deactivate: bool = False,
                    extra: str = "") -> Path:
    path = write_config(tmp_path, org, **password_profile(org))
    text = path.read_text(encoding="utf-8")
    if contract:
        text += ('[contract]\nstart = 2026-01-01\nend = 2027-01-01\npaid = "24000.00"\n'
                 'currency = "EUR"\nfee = "10%"\n')
    text += f'[export]\ndest = {json.dumps(str(tmp_path / "runs"))}\n'
    if successor:
        text += f'[users]\nsuccessor = "{successor}"\n'
    text += f"[offboard]\ndeactivate = {'true' if deactivate else 'false'}\n" + extra
    path.write_text(text, encoding="utf-8")
    return path


def offboard(config: Path, org: Any, *args: str) -> Any:
    return invoke(["--config", str(config), "offboard", *args], env=password_env(org))


def no_sleep(monkeypatch: pytest.MonkeyPatch, org: Any) -> None:
    from sfexit.cli import offboard as cli_offboard

    monkeypatch.setattr(cli_offboard, "POLL_SLEEP", org.clock.advance)


def run_json(run_dir: str | Path) -> dict[str, Any]:
    return dict(json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8")))


def writes(org: Any) -> int:
    org.stats()  # stats are counted after the response is written: settle with one more read
    return int(org.stats()["writes"])
