"""One contract plan everywhere: an offboard run's report against `sfexit deadline` and
`sfexit notice` for the same config (issue 20, "one model, stated once")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auth_support import invoke

from sfexit.report.i18n import load_catalogue


def assert_report_agrees_with_deadline_and_notice(run_dir: Path, config: Path,
                                                  letter: Path) -> dict[str, Any]:
    """The report's term, dates, money and checklist are those of `deadline --json`; the
    letter `notice` writes claims the same refund (or none) and the same notice date.
    Returns `deadline --json`'s result."""
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    deadline = invoke(["--config", str(config), "deadline"])
    assert deadline.code == 0, deadline.output
    plan = deadline.body["result"]
    notice = invoke(["--config", str(config), "notice", "--out", str(letter)])
    assert notice.code == 0, notice.output
    sent = notice.body["result"]

    c = report["contract"]
    assert (c["start"], c["end"], c["term_days"], c["on"]) == (
        plan["contract_start"], plan["contract_end"], plan["term_days"], plan["on"])
    assert (c["notice_deadline"], c["renews_on"], c["leave"]) == (
        plan["notice_deadline"], plan["end_of_term"]["renews_on"], plan["leave"])
    assert [(m["key"], m["due"], m["amount"], m["currency"], m["days_late"])
            for m in report["manual_steps"]] == [
        (i["task"], i["due"], i["amount"], i["currency"], i["days_late"])
        for i in plan["checklist"]]

    chosen = plan["early"]["refund"] if plan["leave"] == "early" else None
    assert sent["refund"] == chosen
    assert (sent["leave"], sent["notice_by"]) == (plan["leave"], plan["checklist"][0]["due"])
    refund = c["refund"]
    assert (refund and refund["amount"]) == (chosen and chosen["amount"])

    # And what a person reads says the same: the letter and the report's page.
    text = letter.read_text(encoding="utf-8")
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    cat = load_catalogue(report["lang"])
    if chosen is None:
        assert "no refund is due" in text
        assert cat.t("report.contract_leave_end", end=cat.date(c["end"])) in page
        assert "report.manual_refund" not in page and "refund of" not in page
    else:
        amount = chosen["amount"]
        assert f"{float(amount):,.2f} {chosen['currency']}" in text
        assert cat.money(amount, chosen["currency"]) in page
    assert sent["effective"] in text
    return dict(plan)
