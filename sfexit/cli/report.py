"""``sfexit report verify RUN_DIR`` and ``sfexit report render RUN_DIR [--lang]`` (issue 14).

Both read files only: no login, no org access. ``verify`` exits 1 when anything differs.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from sfexit import errors
from sfexit.cli.context import (AppContext, json_option, pass_app,
                                require_writable_dir)
from sfexit.jsonable import to_jsonable

LANG_HELP = "Language of the report: en, da, de, fr, it or nl [config: report.lang; default en]."


@click.group("report")
def report() -> None:
    """The audit report of an offboarding run: check it, render it again."""


@report.command("verify")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(path_type=Path, file_okay=False))
@json_option
@pass_app
def verify_cmd(app: AppContext, run_dir: Path) -> int:
    """Check the journal's hash chain and the export against its manifest.

    Prints OK, or exactly what differs (exit 1).
    """
    from sfexit.report.verify import verify_run

    check = verify_run(run_dir)
    result = {"ok": check.ok, "run_dir": check.run_dir,
              "journal": to_jsonable(check.journal) if check.journal else None,
              "export": None if check.export_objects is None else {
                  "objects": check.export_objects, "files": check.export_files,
                  "manifest_sha256": check.manifest_sha256},
              "differences": list(check.differences), "unconfirmed": check.unconfirmed}
    human = "\n".join(check.lines())
    if check.ok:
        app.out.result(result, human)
        return errors.EXIT_OK
    n = len(check.differences)
    return app.out.partial(result, human, name="VerificationFailed",
                           message=f"{run_dir}: {n} difference{'s' if n != 1 else ''} found; "
                                   "the run's evidence was changed after it was written",
                           exit_code=errors.EXIT_FAILURE)


@report.command("render")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(path_type=Path, file_okay=False))
@click.option("--lang", metavar="LANG", help=LANG_HELP)
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              metavar="DIR", help="Where to write report.LANG.json and report.LANG.html "
                                  "(default: the run directory).")
@json_option
@pass_app
def render_cmd(app: AppContext, run_dir: Path, lang: str | None, out_dir: Path | None) -> None:
    """Render the report again from run.json, the journal and the export, as
    report.LANG.json and report.LANG.html (e.g. report.de.html) in --out DIR or beside the
    run's report. The report the run wrote (report.html) is never overwritten."""
    from sfexit.report import build_report
    from sfexit.report.i18n import check_lang

    chosen = check_lang(lang) if lang is not None else app.settings().report.lang
    if out_dir is not None:
        require_writable_dir(out_dir, "--out")
    elif run_dir.is_dir():   # a missing one is build_report's "not a run directory"
        require_writable_dir(run_dir, "RUN_DIR")
    json_path, html_path = build_report(run_dir, lang=chosen,
                                        out_dir=run_dir if out_dir is None else out_dir)
    written = json.loads(json_path.read_text(encoding="utf-8"))
    if not written["verification_ok"]:
        app.out.warn("the journal or the export does not verify: run `sfexit report verify "
                     f"{run_dir}` to see what differs")
    result = {"json": json_path, "html": html_path, "lang": chosen, "mode": written["mode"],
              "verified": written["verification_ok"]}
    app.out.result(result, f"Wrote {json_path}\nWrote {html_path}")
