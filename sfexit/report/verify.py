"""``sfexit report verify RUN_DIR``: is the run's evidence still what was written?

Two proofs, each checked by the code that wrote its format (never re-implemented here):
- the journal's hash chain and head file (``sfexit.journal.verify_journal``): an edited,
  deleted, inserted or reordered line is named;
- the export against its manifest (``sfexit.export.verify.verify_backup``, offline): every
  file's SHA-256, size and CSV row count recomputed.
A finished run's ``run.json`` also recorded the journal head and the manifest's SHA-256; a
journal or manifest rewritten consistently from scratch still differs from those.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfexit.errors import UsageError
from sfexit.journal import JournalCheck, read_journal, unresolved_intents, verify_journal
from sfexit.report.model import EXPORT_DIR, JOURNAL, RUN_JSON
from sfexit.report.sections import head_recorded_ok


@dataclass(frozen=True)
class RunCheck:
    run_dir: Path
    journal: JournalCheck | None          # None: no journal (a dry run writes none)
    export_objects: int | None            # None: no export in this run
    export_files: int | None
    manifest_sha256: str | None
    differences: tuple[str, ...] = field(default=())
    # intents with no outcome (sfexit.journal): intact evidence, but incomplete until a run
    # reads the org (offboard --resume); said, not counted as a difference
    unconfirmed: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences

    def lines(self) -> list[str]:
        """What a person reads: OK with what was checked, or every difference, one a line."""
        if not self.ok:
            return [f"DIFFERS: {d}" for d in self.differences]
        out = []
        if self.journal is None:
            out.append("OK: no journal in this run directory (a plan changes nothing)")
        else:
            out.append(f"OK: journal hash chain intact ({self.journal.entries} entries, head "
                       f"{self.journal.head_hash})")
        if self.unconfirmed:
            out.append(f"NOTE: {self.unconfirmed} change(s) were sent to Salesforce but the "
                       "run stopped before journaling their outcome; `sfexit offboard --resume "
                       f"{self.run_dir}` reads the org and records them")
        if self.export_objects is None:
            out.append("OK: no export in this run directory")
        else:
            out.append(f"OK: export matches its manifest ({self.export_objects} objects, "
                       f"{self.export_files} files re-hashed; manifest {self.manifest_sha256})")
        return out


def _run_json(run_dir: Path) -> dict[str, Any]:
    try:
        raw = json.loads((run_dir / RUN_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{run_dir / RUN_JSON} cannot be read: {exc}") from None
    return raw if isinstance(raw, dict) else {}


def _recorded_manifest_sha(raw: dict[str, Any]) -> str | None:
    for step in raw.get("steps") or []:
        if isinstance(step, dict) and step.get("name") == "export":
            result = step.get("result")
            if isinstance(result, dict) and result.get("manifest_sha256"):
                return str(result["manifest_sha256"])
    return None


def verify_run(run_dir: Path) -> RunCheck:
    """Check the journal chain and the export of ``run_dir``; reads files only.

    Raises UsageError when ``run_dir`` is not a run directory (no run.json, journal or export).
    """
    from sfexit.export.manifest import MANIFEST_NAME
    from sfexit.export.verify import verify_backup

    run_dir = Path(run_dir)
    journal_path, export_dir = run_dir / JOURNAL, run_dir / EXPORT_DIR
    has_manifest = (export_dir / MANIFEST_NAME).exists()
    if not run_dir.is_dir() or not ((run_dir / RUN_JSON).exists() or journal_path.exists()
                                    or has_manifest):
        raise UsageError(f"{run_dir} is not a run directory: no {RUN_JSON}, {JOURNAL} or "
                         f"{EXPORT_DIR}/{MANIFEST_NAME}",
                         hint="give the run directory of `sfexit offboard`")
    raw = _run_json(run_dir)
    finished = bool(raw.get("finished_at"))
    diffs: list[str] = []
    journal = verify_journal(journal_path) if journal_path.exists() else None
    unconfirmed = 0
    if journal is not None:
        diffs += [f"journal {journal_path.name}: {p}" for p in journal.problems]
        recorded = raw.get("journal_head")
        entries = read_journal(journal_path) if journal.ok else []
        unconfirmed = len(unresolved_intents(entries))
        if journal.ok and not head_recorded_ok(entries, journal.head_hash,
                                               str(recorded) if recorded else None, finished):
            diffs.append(f"journal {journal_path.name}: the head {recorded} recorded in "
                         f"{RUN_JSON} is not {'its head' if finished else 'in its chain'} "
                         "(the journal was rewritten or cut short)")
    elif finished and raw.get("mode") == "real" and raw.get("journal_head"):
        diffs.append(f"journal {journal_path.name}: missing ({RUN_JSON} records head "
                     f"{raw['journal_head']})")
    objects = files = None
    manifest_sha = None
    if has_manifest:
        try:
            report = verify_backup(export_dir)
        except UsageError as exc:   # the manifest itself was damaged
            diffs.append(f"export {MANIFEST_NAME}: unreadable: {exc.one_line()}")
            return RunCheck(run_dir, journal, None, None, None, tuple(diffs), unconfirmed)
        objects, files, manifest_sha = report.objects_checked, report.files_checked, \
            report.manifest_sha256
        diffs += [f"export {d.kind} {d.name}: {d.what}: manifest says {d.expected}, "
                  f"disk has {d.actual}" for d in report.differences]
        recorded_sha = _recorded_manifest_sha(raw)
        if recorded_sha and recorded_sha != report.manifest_sha256:
            diffs.append(f"export manifest.json: sha256 is {report.manifest_sha256}, "
                         f"{RUN_JSON} recorded {recorded_sha} (the manifest was rewritten)")
    elif _recorded_manifest_sha(raw):
        diffs.append(f"export: {EXPORT_DIR}/{MANIFEST_NAME} is missing "
                     f"({RUN_JSON} records an export)")
    return RunCheck(run_dir, journal, objects, files, manifest_sha, tuple(diffs), unconfirmed)
