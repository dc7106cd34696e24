"""``sfexit deadline`` and ``sfexit notice`` through the real CLI boundary (CliRunner)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sfexit.cli import cli

CONTRACT = ["--start", "2025-01-01", "--end", "2025-12-31", "--paid", "36500",
            "--currency", "USD"]


def run(*args: str) -> Result:
    # NO_COLOR: compare stderr text exactly, without ANSI colour codes.
    return CliRunner(env={"NO_COLOR": "1"}).invoke(cli, list(args))


def run_json(*args: str) -> dict[str, Any]:
    result = run("--json", *args)
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    assert body["status"] == 0
    return body


def write_config(path: Path, contract: str) -> Path:
    path.write_text(f"[contract]\n{contract}\n", encoding="utf-8")
    return path


# --- human output ------------------------------------------------------------------------------

def test_deadline_human_summary() -> None:
    result = run("deadline", *CONTRACT, "--fee", "500", "--on", "2025-11-20")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert ("Contract          term 2025-01-01 – 2025-12-31, 365 days (renews on 2026-01-01 "
            "(Thursday) without notice)") in out
    assert ("Status: the recommended date has passed. Send written notice now: it must reach "
            "Salesforce by 2025-12-01 (Monday), in 11 days.") in out
    assert "Notice deadline   2025-12-01 (Monday), in 11 days" in out
    assert "Renewal window    2025-12-01 (Monday) to 2025-12-31 (Wednesday)" in out
    assert "  Pro rata        4,100.00 USD (41/365 of the amount paid)" in out
    assert "  Fee             -500.00 USD" in out
    assert "  Refund          3,600.00 USD" in out
    assert "  2025-11-20 Thu  Today" in out
    assert result.stderr == ""


def test_deadline_human_safe_and_full_refund() -> None:
    out = run("deadline", *CONTRACT, "--on", "2025-01-30").stdout
    assert out.count("Status: safe.") == 1
    assert "Refund if terminated early on 2025-01-30: 36,500.00 USD, a full refund" in out


def test_deadline_human_after_the_deadline_states_the_renewal() -> None:
    out = run("deadline", *CONTRACT, "--on", "2025-12-02").stdout
    assert ("Status: the notice deadline passed yesterday. Unless Salesforce agrees otherwise, "
            "the contract renews on 2026-01-01 (Thursday) for another term, until 2026-12-31 "
            "(Thursday); to leave then, notice must reach Salesforce by 2026-12-01 (Tuesday)."
            ) in out


def test_deadline_without_amount_warns_that_refund_is_not_computed() -> None:
    result = run("deadline", "--start", "2025-01-01", "--end", "2025-12-31", "--on",
                 "2025-06-01")
    assert result.exit_code == 0
    assert "Refund            not computed" in result.stdout
    assert result.stderr == ("Warning: no amount paid (--paid or contract.paid): the refund "
                             "is not computed\n")


def test_on_defaults_to_today() -> None:
    result = run_json("deadline", "--start", "2020-01-01", "--end", "2099-01-01", *CONTRACT[4:])
    assert result["result"]["on"] == dt.date.today().isoformat()


# --- --json ------------------------------------------------------------------------------------

def test_deadline_json_fields() -> None:
    body = run_json("deadline", *CONTRACT, "--fee", "10%", "--on", "2025-01-31")
    result = body["result"]
    assert {k: result[k] for k in ("contract_start", "contract_end", "notice_deadline",
                                   "recommended_notice_date", "renewal_window", "status",
                                   "days_until_deadline", "renews_on")} == {
        "contract_start": "2025-01-01", "contract_end": "2025-12-31",
        "notice_deadline": "2025-12-01", "recommended_notice_date": "2025-11-01",
        "renewal_window": {"start": "2025-12-01", "end": "2025-12-31"},
        "status": "safe", "days_until_deadline": 304, "renews_on": None,
    }
    assert result["refund"] == {
        "cancel_on": "2025-01-31", "currency": "USD", "paid": "36500.00", "term_days": 365,
        "days_used": 31, "days_unused": 334, "pro_rata": "33400.00", "fee": "3340.00",
        "amount": "30060.00", "full_refund": False,
    }
    assert body["warnings"] == []


def test_deadline_json_after_the_deadline() -> None:
    result = run_json("deadline", *CONTRACT, "--on", "2025-12-02")["result"]
    assert result["status"] == "deadline-passed"
    assert result["days_until_deadline"] == -1
    assert (result["renews_on"], result["renewal_term_end"]) == ("2026-01-01", "2026-12-31")
    assert result["timeline"][-1] == {"date": "2026-12-31", "kind": "renewal-term-end",
                                      "label": "Renewed term ends"}


def test_json_flag_after_the_command_works_too() -> None:
    result = run("deadline", *CONTRACT, "--on", "2025-06-01", "--json")
    assert json.loads(result.stdout)["result"]["status"] == "safe"


def test_past_end_date_warns_in_the_envelope() -> None:
    body = run_json("deadline", *CONTRACT, "--on", "2026-02-01")
    assert body["warnings"] == ["the contract end 2025-12-31 is before 2026-02-01; if the "
                                "contract renewed, give the current term's --start and --end"]


# --- --ics -------------------------------------------------------------------------------------

def test_ics_file_is_written_and_named(tmp_path: Path) -> None:
    target = tmp_path / "deadlines.ics"
    result = run("deadline", *CONTRACT, "--on", "2025-06-01", "--ics", str(target))
    assert result.exit_code == 0, result.output
    assert f"Calendar written to {target}" in result.stdout
    data = target.read_bytes()
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    assert data.count(b"BEGIN:VEVENT") == 3 and data.count(b"BEGIN:VALARM") == 4
    assert b"DTSTART;VALUE=DATE:20251201\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_ics_path_in_json(tmp_path: Path) -> None:
    target = tmp_path / "d.ics"
    result = run_json("deadline", *CONTRACT, "--on", "2025-06-01", "--ics", str(target))
    assert result["result"]["ics"] == str(target)
    assert target.is_file()


def test_ics_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "d.ics"
    result = run("deadline", *CONTRACT, "--on", "2025-06-01", "--ics", str(target))
    assert result.exit_code == 1
    assert result.stderr == (f"Error: could not write {target}: No such file or directory "
                             "(check that the folder exists and is writable)\n")


# --- config defaults ---------------------------------------------------------------------------

CONFIG = """start = 2025-01-01
end = "2025-12-31"
paid = "36500.00"
currency = "eur"
fee = "10%"
notice_days = 45
recommended_notice_days = 90"""


def test_values_come_from_the_config(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", CONFIG)
    result = run_json("--config", str(config), "deadline", "--on", "2025-01-31")["result"]
    assert (result["contract_start"], result["contract_end"]) == ("2025-01-01", "2025-12-31")
    assert result["notice_deadline"] == "2025-11-16"
    assert result["recommended_notice_date"] == "2025-10-02"
    assert (result["refund"]["currency"], result["refund"]["amount"]) == ("EUR", "30060.00")


def test_flags_override_the_config(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", CONFIG)
    result = run_json("--config", str(config), "deadline", "--end", "2025-06-30", "--fee", "0",
                      "--currency", "USD", "--on", "2025-01-31")["result"]
    assert result["contract_end"] == "2025-06-30"
    assert result["notice_deadline"] == "2025-05-16"  # notice_days 45 still from the config
    assert (result["refund"]["currency"], result["refund"]["fee"]) == ("USD", "0.00")


def test_config_in_the_default_location_is_read() -> None:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "sfexit"
    folder.mkdir(parents=True)
    write_config(folder / "config.toml", 'start = 2025-01-01\nend = 2025-12-31')
    result = run_json("deadline", "--on", "2025-06-01")["result"]
    assert result["contract_end"] == "2025-12-31"


def test_config_fee_error_names_the_config_key(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", CONFIG.replace('fee = "10%"', 'fee = "150%"'))
    result = run("--config", str(config), "deadline", "--on", "2025-06-01")
    assert result.exit_code == 2
    assert result.stderr == "Error: contract.fee: 150% is not between 0% and 100%\n"


def test_config_zero_day_count_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", CONFIG.replace("notice_days = 45",
                                                               "notice_days = 0"))
    result = run("--config", str(config), "deadline")
    assert result.exit_code == 2
    assert result.stderr == ("Error: notice_days must be a whole number of days, 1 or more, "
                             "not 0\n")


# --- bad input: one line, exit code 2 ------------------------------------------------------------

BASE = ["--start", "2025-01-01", "--end", "2025-12-31"]


@pytest.mark.parametrize(("args", "message"), [
    (["--end", "2026-01-01"],
     "no contract start date: pass --start YYYY-MM-DD or set contract.start in the config"),
    (["--start", "2025-01-01"],
     "no contract end date: pass --end YYYY-MM-DD or set contract.end in the config"),
    (["--start", "2025-13-01", "--end", "2026-01-01"],
     "--start: '2025-13-01' is not a date; use YYYY-MM-DD, e.g. 2025-01-31"),
    (["--start", "2025-01-01", "--end", "01/01/2026"],
     "--end: '01/01/2026' is not a date; use YYYY-MM-DD, e.g. 2025-01-31"),
    ([*BASE, "--on", "next week"],
     "--on: 'next week' is not a date; use YYYY-MM-DD, e.g. 2025-01-31"),
    (["--start", "2026-01-01", "--end", "2025-01-01"],
     "contract end 2025-01-01 must not be before its start 2026-01-01"),
    (["--start", "2025-01-02", "--end", "2025-01-01"],
     "contract end 2025-01-01 must not be before its start 2025-01-02"),
    ([*BASE, "--leave", "soon"],
     "--leave: 'soon' is not a way of leaving; use \"end-of-term\" (notice by the deadline, "
     "no refund) or \"early\" (with an effective date, pro-rata refund)"),
    ([*BASE, "--leave", "early"],
     "an early termination needs its effective date: pass --effective YYYY-MM-DD or set "
     "contract.effective in the config"),
    ([*BASE, "--leave", "end-of-term", "--effective", "2025-06-01"],
     "--effective is for an early termination; with --leave end-of-term the contract ends on "
     "its end date"),
    ([*BASE, "--effective", "2026-01-01"],
     "effective date 2026-01-01 is outside the term 2025-01-01 to 2025-12-31; an early "
     "termination ends the current term"),
    ([*BASE, "--paid", "-5", "--currency", "USD"],
     "--paid: -5 is negative; an amount must be 0 or more"),
    ([*BASE, "--paid", "lots", "--currency", "USD"],
     "--paid: 'lots' is not an amount; use digits and an optional decimal point, e.g. 12000.00"),
    ([*BASE, "--paid", "10.005", "--currency", "USD"],
     "amount paid 10.005 has more decimals than USD allows (2)"),
    ([*BASE, "--paid", "100"],
     "an amount paid needs its currency: pass --currency CODE or set contract.currency in the "
     "config"),
    ([*BASE, "--paid", "100", "--currency", "US$"],
     "--currency: 'US$' is not a currency code; use three letters, e.g. USD or EUR"),
    ([*BASE, "--paid", "100", "--currency", "USD", "--fee", "abc"],
     "--fee: 'abc' is not a fee; use an amount like 500.00 or a percentage like 10%"),
    ([*BASE, "--paid", "100", "--currency", "USD", "--fee", "150%"],
     "--fee: 150% is not between 0% and 100%"),
    ([*BASE, "--fee", "abc"],
     "--fee: 'abc' is not a fee; use an amount like 500.00 or a percentage like 10%"),
    ([*BASE, "--paid", "100", "--currency", "USD", "--fee", "-1"],
     "--fee: -1 is negative; an amount must be 0 or more"),
])
def test_bad_input_is_one_line_with_exit_code_2(args: list[str], message: str) -> None:
    result = run("deadline", *args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""


def test_bad_input_in_json_mode_is_an_error_envelope() -> None:
    result = run("--json", "deadline", "--start", "2025-02-30", "--end", "2026-01-01")
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "status": 2, "name": "UsageError", "exitCode": 2, "warnings": [],
        "message": "--start: '2025-02-30' is not a date; use YYYY-MM-DD, e.g. 2025-01-31"}


# --- sfexit notice -----------------------------------------------------------------------------

def test_notice_writes_a_markdown_letter(tmp_path: Path) -> None:
    target = tmp_path / "notice.md"
    result = run("notice", "--out", str(target), *CONTRACT, "--on", "2025-10-01",
                 "--company", "Acme Ltd", "--signer", "Jane Doe")
    assert result.exit_code == 0, result.output
    assert (f"Wrote the cancellation notice to {target} (term 2025-01-01 – 2025-12-31, 365 "
            "days).") in result.stdout
    assert "it must reach Salesforce by 2025-12-01 (Monday)." in result.stdout
    assert "The letter has no org id: add it by hand" in result.stderr
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Notice of cancellation of Salesforce subscription")
    assert "Acme Ltd hereby gives written notice" in text
    assert "take effect at the end of the current term, on 2025-12-31" in text
    assert "Please confirm in writing" in text and "Jane Doe" in text


def test_notice_plain_text_with_effective_date_and_refund(tmp_path: Path) -> None:
    target = tmp_path / "notice.txt"
    result = run("notice", "--out", str(target), *CONTRACT, "--fee", "500", "--on",
                 "2025-10-01", "--effective", "2025-12-01")
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert not text.startswith("#")
    assert "We request that the cancellation take effect on 2025-12-01." in text
    assert "We expect a refund of 2,500.00 USD" in text  # 30/365 x 36500 = 3000, - 500


def test_notice_json_result(tmp_path: Path) -> None:
    target = tmp_path / "n.md"
    body = run_json("notice", "--out", str(target), *CONTRACT, "--on", "2025-12-10")
    result = body["result"]
    assert (result["path"], result["format"], result["effective"], result["status"],
            result["org"]) == (str(target), "markdown", "2025-12-31", "deadline-passed", None)
    assert (result["leave"], result["refund"], result["notice_by"]) == (
        "end-of-term", None, "2025-12-01")
    assert body["warnings"] == ["the notice deadline 2025-12-01 has passed: unless Salesforce "
                                "agrees, the contract renews on 2026-01-01"]


def test_notice_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "n.md"
    target.write_text("my edited letter", encoding="utf-8")
    result = run("notice", "--out", str(target), *CONTRACT)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {target} already exists; pass --force to overwrite it\n"
    assert target.read_text(encoding="utf-8") == "my edited letter"
    assert run("notice", "--out", str(target), *CONTRACT, "--force").exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("# Notice")


@pytest.mark.parametrize(("args", "message"), [
    (["--out", "letter.pdf", *CONTRACT],
     "--out letter.pdf: use a file name ending in .md (Markdown) or .txt (plain text)"),
    (["--out", "x.md", *CONTRACT, "--effective", "2026-02-01"],
     "effective date 2026-02-01 is outside the term 2025-01-01 to 2025-12-31; an early "
     "termination ends the current term"),
    (["--out", "x.md", *CONTRACT, "--effective", "soon"],
     "--effective: 'soon' is not a date; use YYYY-MM-DD, e.g. 2025-01-31"),
    (["--out", "x.md", "--end", "2025-12-31"],
     "no contract start date: pass --start YYYY-MM-DD or set contract.start in the config"),
    (CONTRACT, "Missing option '--out'."),
])
def test_notice_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                          message: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("notice", *args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert not (tmp_path / "x.md").exists()


def test_notice_without_amount_asks_for_the_unused_part(tmp_path: Path) -> None:
    target = tmp_path / "n.txt"
    result = run("notice", "--out", str(target), "--start", "2025-01-01", "--end",
                 "2025-12-31", "--effective", "2025-10-01")
    assert result.exit_code == 0, result.output
    assert "Please refund any amount paid for the unused part" in target.read_text("utf-8")


def test_help_lists_both_commands() -> None:
    out = run("--help").stdout
    assert "deadline" in out and "notice" in out


def test_notice_after_the_deadline_says_to_send_it_now(tmp_path: Path) -> None:
    result = run("notice", "--out", str(tmp_path / "n.md"), *CONTRACT, "--on", "2025-12-10")
    assert result.exit_code == 0, result.output
    assert "the deadline has passed, so send it now and ask Salesforce to agree." in result.stdout
    assert ("Warning: the notice deadline 2025-12-01 has passed: unless Salesforce agrees, the "
            "contract renews on 2026-01-01") in result.stderr


# --- two ways of leaving, one plan -----------------------------------------------------------

LEAP = ["--start", "2024-01-01", "--end", "2024-12-31", "--paid", "36600", "--currency", "EUR"]


def test_deadline_shows_both_ways_side_by_side_and_the_chosen_checklist() -> None:
    out = run("deadline", *LEAP, "--on", "2024-06-03").stdout
    assert "term 2024-01-01 – 2024-12-31, 366 days (renews on 2025-01-01" in out
    lines = out[out.index("Two ways of leaving"):].splitlines()
    assert lines[1].split() == "At the end of the term (chosen) Early termination".split()
    assert lines[2].split()[-2:] == ["2024-12-01", "2024-06-03"]
    assert lines[4].split()[-2:] == ["21,100.00", "EUR"]   # early on --on: 211 of 366 unused
    checklist = out[out.index("Checklist (at the end of the term)"):].splitlines()[1:5]
    assert [line.split()[2] for line in checklist] == [
        "2024-11-01", "2024-12-01", "2024-12-31", "2025-01-30"]
    assert "refund" not in " ".join(checklist)


def test_deadline_json_keeps_refund_for_on_and_adds_the_plans(tmp_path: Path) -> None:
    result = run_json("deadline", *LEAP, "--effective", "2024-07-01", "--on",
                      "2024-06-03")["result"]
    assert result["leave"] == "early" and result["term_days"] == 366
    assert result["refund"]["cancel_on"] == "2024-06-03"   # as before: the figure for --on
    assert result["early"]["effective"] == "2024-07-01"
    assert (result["early"]["refund"]["days_unused"], result["early"]["refund"]["amount"]) == (
        183, "18300.00")
    assert result["end_of_term"]["notice_deadline"] == "2024-12-01"
    assert result["end_of_term"]["renews_on"] == "2025-01-01"
    assert [(i["task"], i["due"], i["amount"]) for i in result["checklist"]] == [
        ("notice", "2024-07-01", None), ("billing", "2024-07-01", None),
        ("confirmation", "2024-07-01", None), ("invoice", "2024-07-31", None),
        ("refund", "2024-07-31", "18300.00")]


def test_overdue_items_are_red_with_the_days_late() -> None:
    result = CliRunner().invoke(cli, ["deadline", *CONTRACT, "--on", "2025-12-13"], color=True)
    assert result.exit_code == 0, result.output
    late = next(line for line in result.stdout.splitlines() if "days late" in line)
    assert late.startswith("\x1b[31m") and late.endswith("12 days late\x1b[0m")
    assert "2025-12-01 Mon  Send the written notice" in late


def test_the_config_chooses_an_early_termination(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", 'start = 2024-01-01\nend = 2024-12-31\n'
                          'paid = "36600"\ncurrency = "EUR"\nleave = "early"\n'
                          'effective = 2024-07-01')
    result = run_json("--config", str(config), "deadline", "--on", "2024-06-03")["result"]
    assert (result["leave"], result["early"]["refund"]["amount"]) == ("early", "18300.00")
    # A flag can still choose the other way, never mixed with the configured effective day.
    other = run_json("--config", str(config), "deadline", "--leave", "end-of-term", "--on",
                     "2024-06-03")["result"]
    assert other["leave"] == "end-of-term"
    assert "refund" not in {i["task"] for i in other["checklist"]}


def test_notice_takes_the_sender_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[notice]\ncompany = "Acme Ltd"\nsigner = "Jane Doe"\n'
                      'title = "Chief Operating Officer"\n', encoding="utf-8")
    target = tmp_path / "n.txt"
    result = run("--config", str(config), "notice", "--out", str(target), *CONTRACT,
                 "--on", "2025-10-01")
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert "From: Acme Ltd" in text and "Jane Doe" in text
    assert "Title: Chief Operating Officer" in text and "[" not in text
    assert "placeholder" not in result.stderr
    # A flag still wins over the config.
    run("--config", str(config), "notice", "--out", str(target), *CONTRACT, "--force",
        "--signer", "John Roe")
    assert "John Roe" in target.read_text(encoding="utf-8")


def test_notice_without_a_sender_says_where_to_set_it(tmp_path: Path) -> None:
    result = run("notice", "--out", str(tmp_path / "n.md"), *CONTRACT, "--on", "2025-10-01")
    assert ("The letter has a placeholder for the company and the signer: pass --company and "
            "--signer or set them in [notice] in the config.") in result.stderr


def test_an_early_notice_states_the_refund_the_deadline_shows(tmp_path: Path) -> None:
    target = tmp_path / "n.txt"
    notice = run_json("notice", "--out", str(target), *LEAP, "--effective", "2024-07-01",
                      "--on", "2024-06-03")["result"]
    plan = run_json("deadline", *LEAP, "--effective", "2024-07-01", "--on",
                    "2024-06-03")["result"]
    assert notice["refund"] == plan["early"]["refund"]
    assert notice["notice_by"] == plan["checklist"][0]["due"] == "2024-07-01"
    assert "We expect a refund of 18,300.00 EUR" in target.read_text(encoding="utf-8")


def test_offboard_states_the_plan_in_one_line() -> None:
    from sfexit import rules
    from sfexit.cli.deadline import plan_line

    c = rules.Contract(dt.date(2025, 3, 1), dt.date(2026, 2, 28), rules.parse_money("1", "x"),
                       "EUR")
    assert plan_line(rules.plan(c, dt.date(2025, 6, 1))) == (
        "Contract: term 2025-03-01 – 2026-02-28, 365 days; leaving at the end of the term; "
        "written notice by 2025-12-30 (sfexit deadline shows the checklist)")
    assert plan_line(rules.plan(c, dt.date(2026, 2, 1))) == (
        "Contract: term 2025-03-01 – 2026-02-28, 365 days; the notice deadline 2026-01-29 has "
        "passed: it renews on 2026-03-01 until 2027-02-28; written notice by 2026-01-29, 3 days "
        "late (sfexit deadline shows the checklist)")
    early = rules.plan(c, dt.date(2025, 6, 1), leave=rules.Leave.EARLY,
                       effective=dt.date(2025, 7, 1))
    assert plan_line(early).startswith("Contract: term 2025-03-01 – 2026-02-28, 365 days; early "
                                       "termination effective 2025-07-01; written notice by "
                                       "2025-07-01 (")
