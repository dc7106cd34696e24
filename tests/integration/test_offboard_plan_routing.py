"""The offboard plan forecasts the export as `export bulk` routes it: at the REST page time the
org shows (export.preflight.sample, export.schedule.routing), not a fixed one.

The emulator's server-time model (emulator/README.md, "Server-time model") makes each REST
query page take its profile's time, low 0.3 s or high 2 s. Contact (293 rows in the seed) is
then under the crossing for both of its routes at 0.3 s (2,001 rows with long text), and over
the long-text one at 2 s (201 rows): the export counts it a Bulk job only on the slow org.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from offboard_support import offboard, offboard_config, run_json

from sfexit.export import preflight

SAMPLE = preflight.sample


def _export_forecast(org: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     profile: str) -> dict[str, Any]:
    """The dry run's forecast of the export step, on an org whose REST pages take the
    ``profile``'s time while the preflight samples them (the rest of the run goes at the
    emulator's own speed: every survey query at 2 s would take a minute)."""
    def on_the_profile(*args: Any, **kwargs: Any) -> Any:
        org.faults = {"cost_model": True, "cost_profile": profile}
        try:
            return SAMPLE(*args, **kwargs)
        finally:
            org.faults = {}

    monkeypatch.setattr(preflight, "sample", on_the_profile)
    config = offboard_config(tmp_path, org, contract=False, successor=None)
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[export]\n", '[export]\nobjects = ["Contact"]\n'), encoding="utf-8")
    run = offboard(config, org, "--dry-run", "--run-dir", str(tmp_path / profile))
    assert run.code == 0, run.output
    step = next(s for s in run_json(tmp_path / profile)["steps"] if s["name"] == "preflight")
    return dict(step["result"]["forecast"]["steps"]["export"])


def test_the_dry_run_plan_routes_the_export_at_the_page_time_the_org_shows(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quick = _export_forecast(fresh_emulator, tmp_path, monkeypatch, "low")
    slow = _export_forecast(fresh_emulator, tmp_path, monkeypatch, "high")
    assert quick["bulk_query_jobs"] == 0, quick
    assert slow["bulk_query_jobs"] == 1, slow
    assert slow["rest_calls"] > quick["rest_calls"]
