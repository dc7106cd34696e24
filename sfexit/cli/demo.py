"""``sfexit demo``: the whole exit against the bundled org emulator, in one command.

Starts the emulator in this process (imported inside the command: ``sfexit --help`` never pays
for it) with a seeded org on a free loopback port and its own throwaway CA, writes a config
into DIR (the org profile with the CA bundle, password auth, a [contract], a [users] successor
and keep-list), runs ``offboard --dry-run`` and then a real ``offboard --yes``, prints where
the HTML report is, and stops the emulator. The secrets never touch a file or the keyring:
they go to the runs as in-process settings (the environment values a CI would set).
Exit 0 only when both runs succeed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfexit import errors
from sfexit.cli.context import AppContext, json_option, pass_app

if TYPE_CHECKING:
    from sfexit.offboard.run import RunOutcome

SUCCESSOR = "standard.user@sfexit-demo.example"
KEEP = ("integration@sfexit-demo.example",)


def write_demo_config(workdir: Path, org: Any) -> Path:
    creds = org.credentials
    today = dt.date.today()
    start = today.replace(year=today.year - 1) + dt.timedelta(days=1) \
        if not (today.month == 2 and today.day == 29) else today - dt.timedelta(days=364)
    # `end` is the order form's End Date, the term's last day: a two-year term.
    end = (start.replace(year=start.year + 2) if not (start.month == 2 and start.day == 29)
           else start + dt.timedelta(days=730)) - dt.timedelta(days=1)
    path = workdir / "config.toml"
    path.write_text(f"""# Written by `sfexit demo`: one org profile pointing at the bundled emulator.
# The password, security token and client secret are not here: the demo passes them in memory.
default_org = "demo"

[orgs.demo]
login_url = {json.dumps(org.url)}
ca_bundle = {json.dumps(str(org.ca_file))}
auth = "password"
username = {json.dumps(creds.username)}
consumer_key = {json.dumps(creds.consumer_key)}

[contract]
start = {start.isoformat()}
end = {end.isoformat()}
paid = "24000.00"
currency = "EUR"
fee = "10%"

[export]
dest = {json.dumps(str(workdir / "runs"))}

[users]
successor = {json.dumps(SUCCESSOR)}
keep = {json.dumps(list(KEEP))}
""", encoding="utf-8")
    return path


def _secrets(org: Any) -> dict[str, str]:
    creds = org.credentials
    return {"SFEXIT_PASSWORD": creds.password, "SFEXIT_SECURITY_TOKEN": creds.security_token,
            "SFEXIT_CLIENT_SECRET": creds.consumer_secret}


@click.command("demo")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False),
              default=Path("sfexit-demo"), show_default=True,
              help="Where the config, the runs and the reports go (a new subdirectory per "
                   "demo).")
@click.option("--records", type=click.IntRange(min=50, max=1_000_000), default=2000,
              show_default=True, help="Size of the emulated org.")
@json_option
@pass_app
def demo(app: AppContext, directory: Path, records: int) -> int:
    """Run the whole exit against a bundled emulated org: a dry run, then a real run."""
    from sfexit.cli.offboard import execute
    from sfexit.cli.emulator import emulator_or_refuse
    from sfexit.config import load_settings
    from sfexit.offboard.rundir import RunDir

    Emulator = emulator_or_refuse().Emulator  # exit 2 naming the extra, before any file is made

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = (directory / f"demo-{stamp}").resolve()
    try:
        workdir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise errors.UsageError(f"cannot create {workdir}: {exc.strerror}") from None
    app.out.info(f"Starting the emulated org ({records} records)…")
    with Emulator(records=records, seed=1, ca_file=workdir / "emulator-ca.pem") as org:
        def advance(seconds: float) -> None:
            # The demo owns this org: Bulk polls move its clock instead of sleeping.
            org.clock.advance(seconds)

        config = write_demo_config(workdir, org)
        settings = load_settings(config, environ=_secrets(org))
        child = dataclasses.replace(app, config_path=config, yes=True, _settings=settings,
                                    sleep=advance)
        app.out.info(f"Emulated org at {org.url}; config {config}")
        app.out.info("1/3 offboard --dry-run (a plan, nothing changes)")
        dry = execute(child, dry_run=True, run_dir=workdir / "dry-run")
        app.out.info("2/3 offboard --yes (the real run)")
        real = execute(child, run_dir=workdir / "real-run")
    html = (real.report or {}).get("html")
    result = {"dir": str(workdir), "config": str(config), "report_html": html,
              "dry_run": _summary(dry), "real_run": _summary(real), "archive": None}
    if not real.exit_code:
        app.out.info("3/3 archive build (the real run's export as a BagIt bag with a database)")
        result["archive"] = str(_archive(RunDir(real.run_dir).export_dir,
                                         workdir / "archive", settings))
    code = max(int(dry.exit_code), int(real.exit_code))
    if code:
        return int(app.out.partial(result, lambda: _text(result), name="DemoIncomplete",
                                   message=f"a demo run did not finish; see {workdir}",
                                   exit_code=code))
    app.out.result(result, lambda: _text(result) + (f"\nOpen the report: {html}" if html
                                                     else ""))
    return 0


def _archive(export_dir: Path, out: Path, settings: Any) -> Path:
    from sfexit.archive import build_archive

    return Path(build_archive(export_dir, out, lang=settings.report.lang,
                              contract_start=settings.contract.start,
                              contract_end=settings.contract.end).archive)


def _summary(outcome: RunOutcome) -> dict[str, Any]:
    return {"run_dir": str(outcome.run_dir), "mode": outcome.mode, "report": outcome.report,
            "journal": str(outcome.journal) if outcome.journal else None,
            "steps": {s["name"]: s["status"] for s in outcome.steps},
            "exit_code": outcome.exit_code}


def _text(result: dict[str, Any]) -> str:
    lines = [f"Demo finished: everything is in {result['dir']}"]
    for key in ("dry_run", "real_run"):
        r = result[key]
        steps = ", ".join(f"{n} {s}" for n, s in r["steps"].items())
        lines.append(f"  {key.replace('_', ' ')}: {r['run_dir']} ({steps})")
    if result["archive"]:
        lines.append(f"  archive: {result['archive']} (open its index.html)")
    return "\n".join(lines)
