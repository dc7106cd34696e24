"""An offboard plan with an early termination: its report, `sfexit deadline` and `sfexit
notice` state the same effective day, refund and checklist (the demo covers end-of-term)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from contract_support import assert_report_agrees_with_deadline_and_notice
from offboard_support import offboard, offboard_config


def test_an_early_termination_reads_the_same_in_report_deadline_and_notice(
        emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    today = dt.date.today()
    start = today - dt.timedelta(days=100)
    contract = (f'[contract]\nstart = {start}\nend = {start + dt.timedelta(days=364)}\n'
                f'paid = "36500.00"\ncurrency = "EUR"\nfee = "10%"\nleave = "early"\n'
                f'effective = {today + dt.timedelta(days=20)}\n')
    config = offboard_config(tmp_path, emulator, contract=False, extra=contract)
    dry = offboard(config, emulator, "--dry-run", "--run-dir", str(tmp_path / "dry"))
    assert dry.code == 0, dry.output   # a dry run: the shared org is not changed
    plan = assert_report_agrees_with_deadline_and_notice(tmp_path / "dry", config,
                                                         tmp_path / "notice.txt")
    assert plan["leave"] == "early"
    refund = plan["early"]["refund"]
    assert (refund["days_unused"], refund["amount"]) == (244, "21960.00")  # 24400 - 10 %
    assert plan["checklist"][-1] == {
        "task": "refund", "due": str(today + dt.timedelta(days=50)), "days_late": 0,
        "next_term": False, "amount": "21960.00", "currency": "EUR"}


def test_offboard_takes_the_way_of_leaving_as_a_flag_like_deadline(
        emulator: Any, tmp_path: Path) -> None:
    today = dt.date.today()
    start = today - dt.timedelta(days=100)
    effective = today + dt.timedelta(days=20)
    contract = (f'[contract]\nstart = {start}\nend = {start + dt.timedelta(days=364)}\n'
                f'paid = "36500.00"\ncurrency = "EUR"\nfee = "10%"\n')   # no leave: end-of-term
    config = offboard_config(tmp_path, emulator, contract=False, extra=contract)
    dry = offboard(config, emulator, "--dry-run", "--run-dir", str(tmp_path / "dry"),
                   "--effective", str(effective))
    assert dry.code == 0, dry.output
    report = json.loads((tmp_path / "dry" / "report.json").read_text(encoding="utf-8"))
    assert report["contract"]["leave"] == "early"
    assert report["contract"]["refund"]["amount"] == "21960.00"   # as deadline --effective says
    bad = offboard(config, emulator, "--dry-run", "--run-dir", str(tmp_path / "bad"),
                   "--leave", "someday")
    assert bad.code == 2 and not (tmp_path / "bad").exists()
