"""`sfexit notice` names the org when a login works, and never fails when it does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auth_support import invoke, password_env, password_profile, write_config

from sfexit_emulator import testing

CONTRACT = ["--start", "2026-01-01", "--end", "2026-12-31", "--paid", "1200", "--currency",
            "EUR", "--on", "2026-11-01"]


def test_the_letter_carries_the_org_id_and_name(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, **password_profile(emulator))
    out = tmp_path / "notice.md"
    run = invoke(["--config", str(config), "notice", "--out", str(out), *CONTRACT],
                 env=password_env(emulator))
    assert run.code == 0, run.output
    [org] = testing.records(emulator, "SELECT Id, Name FROM Organization")
    assert run.body["result"]["org"] == {"org_id": org["Id"], "name": org["Name"]}
    letter = out.read_text("utf-8")
    assert org["Id"] in letter and org["Name"] in letter


def test_a_failing_login_still_writes_the_letter_with_a_warning(emulator: Any,
                                                               tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, **password_profile(emulator))
    out = tmp_path / "notice.txt"
    env = dict(password_env(emulator), SFEXIT_PASSWORD="wrong-password")
    run = invoke(["--config", str(config), "--yes", "notice", "--out", str(out), *CONTRACT],
                 env=env)
    assert run.code == 0, run.output
    assert run.body["result"]["org"] is None
    assert out.is_file() and "2026-12-31" in out.read_text("utf-8")
    assert any(w.startswith("could not read the org id from emu: login to")
               for w in run.body["warnings"]), run.body["warnings"]


def test_without_an_org_profile_nothing_is_tried(tmp_path: Path) -> None:
    out = tmp_path / "notice.md"
    run = invoke(["notice", "--out", str(out), *CONTRACT])
    assert run.code == 0, run.output
    assert run.body["result"]["org"] is None and run.body["warnings"] == []
