"""``sfexit export verify``: prove a backup (a directory or a bucket) against its manifest,
and with ``--against-org`` against the org.

Kept light at import: the export modules load inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sfexit import errors
from sfexit.cli.context import (AppContext, endpoint_option, json_option, org_option,
                                pass_app)
from sfexit.cli.export import connect_read_only
from sfexit.cli.output import table
from sfexit.jsonable import to_jsonable
from sfexit.units import plural, size


def _changed_advice(report: Any) -> str | None:
    """What records changed since the export mean for the backup (issue 20)."""
    if not report.changed:
        return None
    counts = "counts match" if report.ok else "counts differ"
    return (f"{counts}; {plural(report.changed, 'record')} changed since the export: run "
            "the export again or take a delta before the end (the export started "
            f"{report.started_at})")


@click.command("verify")
@click.argument("directory", metavar="DIRECTORY|URL")
@click.option("--against-org", is_flag=True,
              help="Also compare row counts and file totals with the org.")
@endpoint_option
@json_option
@org_option
@pass_app
def verify(app: AppContext, directory: str, against_org: bool,
           endpoint_url: str | None) -> int:
    """Prove a backup: recompute every hash and row count and compare with manifest.json.

    DIRECTORY may be the s3:// URL of `export bulk --dest`: each file is downloaded,
    checked and deleted in turn.

    Exit 0 when everything matches, 1 when anything differs (a table of differences).
    """
    from sfexit.export.cloud import open_cloud_dest, verify_cloud
    from sfexit.export.verify import verify_backup

    cloud = open_cloud_dest(directory, endpoint_url, app.reach())   # before the org is asked
    if cloud is None and Path(directory).is_file():
        raise errors.UsageError(f"{directory} is a file",
                                hint="give the directory of a backup, or its s3:// URL")
    session = connect_read_only(app) if against_org else None
    report = (verify_backup(Path(directory), session=session) if cloud is None
              else verify_cloud(cloud, session=session))
    result = to_jsonable(report)
    result["ok"] = report.ok

    result["changed_since_export"] = report.changed if report.against_org else None
    advice = _changed_advice(report)
    if advice:
        app.out.warn(advice)

    def human() -> str:
        lines = [f"Checked {plural(report.objects_checked, 'object')} "
                 f"({plural(report.rows, 'row')}), {plural(report.files_checked, 'file')} "
                 f"({size(report.files_bytes)}), "
                 f"{plural(report.weekly_checked, 'weekly part')} against manifest.json."]
        if report.against_org:
            lines.append(f"Compared with the org: the row count of each of the "
                         f"{plural(report.objects_checked, 'object')}, and the number and "
                         f"bytes of file bodies per object.")
        if report.skipped:
            lines.append("Skipped objects (not in the backup):")
            lines += [f"  {s.name}: {s.reason}" for s in report.skipped]
        lines += [f"Note: {n}" for n in report.notes]
        if report.differences:
            lines.append(table(["Kind", "Name", "What", "Expected", "Actual"],
                               [[d.kind, d.name, d.what, d.expected, d.actual]
                                for d in report.differences]))
        elif report.against_org:
            lines.append(advice or "Counts match; no record changed in the org since the "
                                   f"export started ({report.started_at}).")
        else:
            lines.append("Everything matches the manifest.")
        if report.changed:
            lines.append(table(["Object", "Changed since the export"],
                               [[k, f"{v:,}"] for k, v in (report.changed_since or {}).items()
                                if v]))
        return "\n".join(lines)

    if not report.ok:
        return app.out.partial(
            result, human, name="VerificationFailed",
            message=f"verification failed: {plural(len(report.differences), 'difference')}",
            exit_code=errors.EXIT_FAILURE)
    app.out.result(result, human)
    return 0
