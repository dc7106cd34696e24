"""The audit report of an offboarding run: ``report.json`` and ``report.html`` (issue 14).

``build_report(run_dir, lang=...)`` is the one entry point, called by the orchestration's
``report`` step and by ``sfexit report render``. ``verify_run`` is ``sfexit report verify``.
"""

from __future__ import annotations

from pathlib import Path

from sfexit.report.model import REPORT_HTML, REPORT_JSON, Report, build_model


def load_report(run_dir: Path, *, lang: str | None = None) -> Report:
    """The report model of ``run_dir`` without writing anything.

    Raises UsageError (no run.json, a language sfexit does not have).
    """
    from sfexit.report.i18n import check_lang

    return build_model(Path(run_dir), lang=check_lang(lang))


def build_report(run_dir: Path, *, lang: str | None = None, out_dir: Path | None = None,
                 own_step: bool = False) -> tuple[Path, Path]:
    """Write the report; return the paths of its JSON and HTML.

    Without ``out_dir``: the run's own ``report.json`` and ``report.html`` in ``run_dir`` (the
    report step; ``own_step`` shows that step done, see ``build_model``). With ``out_dir``
    (``sfexit report render``): ``report.<lang>.json`` and ``report.<lang>.html`` there, so
    the report the run wrote is never overwritten.

    ``lang`` None means run.json's ``lang``, else English. Raises UsageError (not a run
    directory, unsupported language), SfexitError when the files cannot be written.
    """
    from sfexit.errors import SfexitError
    from sfexit.report.i18n import load_catalogue
    from sfexit.report.model import read_run_json
    from sfexit.report.render import write_outputs

    run_dir = Path(run_dir)
    chosen = lang if lang is not None else (read_run_json(run_dir).get("lang") or None)
    catalogue = load_catalogue(str(chosen) if chosen is not None else None)
    report = build_model(run_dir, lang=catalogue.lang, own_step=own_step)
    if out_dir is None:
        target, json_path, html_path = run_dir, run_dir / REPORT_JSON, run_dir / REPORT_HTML
    else:
        target = Path(out_dir)
        json_path, html_path = (target / f"report.{catalogue.lang}.json",
                                target / f"report.{catalogue.lang}.html")
    try:
        target.mkdir(parents=True, exist_ok=True)
        write_outputs(report, catalogue, json_path, html_path)
    except OSError as exc:
        raise SfexitError(f"cannot write the report into {target}: {exc.strerror or exc}",
                          hint="check that the directory is writable") from None
    return json_path, html_path


__all__ = ["build_report", "load_report"]
