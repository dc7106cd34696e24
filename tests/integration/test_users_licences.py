"""`sfexit users licences`: counts per licence, unused paid licences, savings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from auth_support import invoke, password_env, password_profile, write_config
from users_support import org_rows, users_cli

PAID = ("SFDC", "AUL", "AUL1", "AULL_IGHT")


def test_counts_match_userlicense(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "licences")
    assert run.code == 0, run.output
    got = {r["name"]: r for r in run.body["result"]["licences"]}
    expected = org_rows(emulator, "SELECT Name, TotalLicenses, UsedLicenses FROM UserLicense")
    assert set(got) == {r["Name"] for r in expected}
    for row in expected:
        mine = got[row["Name"]]
        assert (mine["total"], mine["used"]) == (row["TotalLicenses"], row["UsedLicenses"])
        assert mine["free"] == row["TotalLicenses"] - row["UsedLicenses"]
    # UsedLicenses agrees with the active users holding each licence
    active = org_rows(emulator, "SELECT Profile.UserLicense.Name FROM User WHERE IsActive = true")
    for name, row in got.items():
        holders = sum(1 for a in active if a["Profile"]["UserLicense"]["Name"] == name)
        assert row["used"] == holders


def test_unused_paid_licences_are_listed(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "licences", "--days", "90")
    unused = {u["username"] for u in run.body["result"]["unused"]}
    keys = ", ".join(f"'{k}'" for k in PAID)
    expected = org_rows(emulator, "SELECT Username, UserType FROM User WHERE IsActive = true AND "
                        f"Profile.UserLicense.LicenseDefinitionKey IN ({keys}) AND "
                        "((LastLoginDate < LAST_N_DAYS:90 AND LastLoginDate != NULL) OR "
                        "(CreatedDate < LAST_N_DAYS:90 AND LastLoginDate = NULL))")
    humans = {r["Username"] for r in expected if r["UserType"] == "Standard"}
    assert humans and unused == humans
    assert all(u["licence"] for u in run.body["result"]["unused"])
    assert run.body["result"]["savings"] is None


def test_savings_use_the_price_and_the_contract_term(emulator: Any, tmp_path: Path) -> None:
    today = dt.date.today()
    end = today + dt.timedelta(days=364)  # the last day, included: 365 days left with today
    cfg = write_config(tmp_path, emulator, **password_profile(emulator))
    cfg.write_text(cfg.read_text() + f'\n[users]\nprice_per_licence = "150.00"\n'
                   f'[contract]\nstart = {today - dt.timedelta(days=365)}\nend = {end}\n'
                   'currency = "EUR"\npaid = "1000.00"\n', encoding="utf-8")
    run = invoke(["--config", str(cfg), "users", "licences"], env=password_env(emulator))
    assert run.code == 0, run.output
    result = run.body["result"]
    n = len(result["unused"])
    savings = result["savings"]
    assert savings["licences"] == n and Decimal(savings["per_month"]) == Decimal("150.00") * n
    assert savings["term_end"] == end.isoformat() and Decimal(savings["months_left"]) == Decimal(
        "12.00")
    assert Decimal(savings["rest_of_term"]) == Decimal("150.00") * n * 12


def test_savings_keep_the_configured_term_after_the_notice_deadline(
        emulator: Any, tmp_path: Path) -> None:
    # The deadline has passed, so the contract will renew; the savings are still for the
    # configured term (through its last day), not silently for the renewal term.
    today = dt.date.today()
    end = today + dt.timedelta(days=9)
    cfg = write_config(tmp_path, emulator, **password_profile(emulator))
    cfg.write_text(cfg.read_text() + f'\n[users]\nprice_per_licence = "365.00"\n'
                   f'[contract]\nstart = {end - dt.timedelta(days=364)}\nend = {end}\n'
                   'currency = "EUR"\n', encoding="utf-8")
    run = invoke(["--config", str(cfg), "users", "licences"], env=password_env(emulator))
    assert run.code == 0, run.output
    savings = run.body["result"]["savings"]
    assert savings["term_end"] == end.isoformat()
    assert Decimal(savings["months_left"]) == Decimal("0.33")  # 10 days x 12 / 365


def test_bad_price_is_a_usage_error(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "licences", "--price", "abc")
    assert run.code == 2 and "--price" in run.body["message"]
