"""The audit report's model: typed, frozen, versioned (docs/report.md), built from a run directory.

A run directory (issue 14, the contract between the orchestration and the report) holds
``run.json`` (what ran, step by step, with each library result), ``journal.jsonl`` (every org
change, hash-chained) and ``export/manifest.json`` (the backup and its hashes). The report
trusts the proofs over the summary: the journal's chain and the export's hashes are checked
again here (``verify_journal``, ``verify_backup``), and the changes the journal records are
what the report says was changed (``sections.py``); ``run.json`` adds what a journal does not
hold (users left alone, refusals, forecasts, a dry run's plan).

Every field is plain JSON data (dates as ISO strings, amounts as decimal strings), so
``report.json`` is ``dataclasses.asdict`` of :class:`Report`; rendering formats for the locale.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sfexit import __version__
from sfexit.errors import UsageError
from sfexit.journal import unresolved_intents

SCHEMA_VERSION = 1
RUN_JSON = "run.json"
JOURNAL = "journal.jsonl"
EXPORT_DIR = "export"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
STEP_NAMES = ("preflight", "dates", "export", "verify", "freeze", "reassign", "deactivate",
              "report")
LIMIT_NAMES = ("rest_calls", "bulk_query_jobs", "bulk_result_mb", "ingest_records")


@dataclass(frozen=True)
class OrgInfo:
    id: str | None = None
    name: str | None = None
    instance_url: str | None = None
    edition: str | None = None
    is_sandbox: bool | None = None
    api_version: str | None = None


@dataclass(frozen=True)
class OperatorInfo:
    username: str | None = None
    user_id: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class RefundInfo:
    cancel_on: str
    currency: str
    paid: str
    amount: str
    fee: str
    days_unused: int
    term_days: int
    full_refund: bool


@dataclass(frozen=True)
class Milestone:
    kind: str            # start | full-refund-end | recommended-notice | notice-deadline | ...
    date: str


@dataclass(frozen=True)
class ContractInfo:
    start: str
    end: str
    term_days: int
    on: str              # the day the dates and refund were computed for
    status: str          # safe | recommended-date-passed | deadline-passed
    recommended_notice_date: str
    notice_deadline: str
    renewal_window_start: str
    renewal_window_end: str
    renewal_term_end: str | None
    refund: RefundInfo | None   # the chosen way's: None for end-of-term or an unknown amount
    milestones: tuple[Milestone, ...]
    leave: str = "end-of-term"   # end-of-term | early (rules.Leave)
    effective: str | None = None   # an early termination's effective day
    paid_known: bool = True
    renews_on: str | None = None   # the day after the last day
    next_term_notice_deadline: str | None = None   # once the deadline has passed


@dataclass(frozen=True)
class ManualStep:
    """A step no API can do (rules.ChecklistItem); ``due`` is None when no contract is
    configured. ``days_late`` > 0: overdue on the day the plan was made."""

    key: str             # notice | billing | confirmation | invoice | refund
    due: str | None
    amount: str | None = None
    currency: str | None = None
    days_late: int = 0
    next_term: bool = False


@dataclass(frozen=True)
class ExportObject:
    name: str
    method: str
    rows: int
    bytes: int
    sha256: str
    file: str
    complete: bool


@dataclass(frozen=True)
class Reason:
    name: str
    reason: str


@dataclass(frozen=True)
class ExportDifference:
    kind: str
    name: str
    what: str
    expected: str
    actual: str


@dataclass(frozen=True)
class ExportInfo:
    manifest_path: str
    manifest_sha256: str
    recorded_manifest_sha256: str | None   # what run.json's export step recorded
    objects: tuple[ExportObject, ...]
    rows: int
    bytes: int
    files: int
    files_bytes: int
    skipped: tuple[Reason, ...]
    failed: tuple[Reason, ...]
    verified: bool
    differences: tuple[ExportDifference, ...]
    api_calls: int
    bulk_jobs: int
    planned: bool = False    # a dry run's plan: counts from the org, nothing on disk yet


@dataclass(frozen=True)
class UserChange:
    username: str
    user_id: str
    status: str          # frozen | leave: already frozen | would freeze | deactivated | ...
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    message: str | None = None
    blockers: tuple[str, ...] = ()
    journaled: bool = False   # the journal records this change (a real change, not a plan)

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "blocked")


@dataclass(frozen=True)
class UsersInfo:
    frozen: tuple[UserChange, ...] = ()       # every user the freeze step looked at
    deactivated: tuple[UserChange, ...] = ()
    refused: tuple[Reason, ...] = ()

    def count(self, group: str, *statuses: str) -> int:
        return sum(u.status in statuses for u in getattr(self, group))


@dataclass(frozen=True)
class OwnershipObject:
    object: str
    rows: int
    moved: int
    failed: int
    transport: str | None
    failure_file: str | None = None


@dataclass(frozen=True)
class OwnershipMove:
    object: str
    from_id: str
    from_name: str
    to_id: str
    to_name: str
    count: int


@dataclass(frozen=True)
class OwnershipInfo:
    objects: tuple[OwnershipObject, ...] = ()
    moves: tuple[OwnershipMove, ...] = ()

    @property
    def moved(self) -> int:
        return sum(o.moved for o in self.objects)

    @property
    def failed(self) -> int:
        return sum(o.failed for o in self.objects)


@dataclass(frozen=True)
class StepInfo:
    name: str
    status: str
    reason: str | None
    started_at: str | None
    finished_at: str | None
    forecast: dict[str, float]
    used: dict[str, float]
    # run.json's stable code for ``reason`` (sfexit/offboard/notes.py): the report renders it
    # from the catalogue (report.reason_<code>); ``reason`` stays the English sentence.
    reason_code: str | None = None
    reason_params: dict[str, Any] = field(default_factory=dict)
    # the English-only part of the reason (notes.VERBATIM: Salesforce's message), quoted as is
    original_message: str | None = None


@dataclass(frozen=True)
class CodedWarning:
    """One of ``Report.warnings`` (``text``, English) with its code when it has one."""

    text: str
    code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    original_message: str | None = None   # as StepInfo.original_message


@dataclass(frozen=True)
class JournalInfo:
    path: str
    present: bool
    ok: bool
    entries: int
    changes: int
    head_hash: str | None
    recorded_head: str | None       # run.json's journal_head
    problems: tuple[str, ...] = ()
    # run.json's head is in the chain (the final head once the run finished): a journal
    # rewritten from scratch, or cut short, no longer holds it.
    head_matches: bool = True
    # intents with no outcome (sfexit.journal): sent, or about to be, when the run stopped
    unconfirmed: int = 0


@dataclass(frozen=True)
class ObjectNeed:
    """One object with records to move, and whether the running user may move them."""

    object: str
    status: str               # granted | missing | unknown
    lacks: str | None         # edit | transfer | unreadable: report.perm_object_<lacks>
    records: int


@dataclass(frozen=True)
class PermissionNeed:
    code: str                 # people.permissions.STEP_NEEDS: report.perm_missed_<code>
    needs: tuple[str, ...]    # Salesforce's permission names, any one suffices
    status: str               # granted | missing | unknown | not checked
    consequence: str | None   # English: what is missed without it
    objects: tuple[ObjectNeed, ...] = ()   # reassign_object_edit: per object with records


@dataclass(frozen=True)
class StepPermissionsInfo:
    step: str
    refused: bool             # the step cannot work: a real run refuses to start
    refusal: str | None
    requirements: tuple[PermissionNeed, ...]


@dataclass(frozen=True)
class PreflightInfo:
    permissions: tuple[StepPermissionsInfo, ...] = ()


@dataclass(frozen=True)
class Report:
    schema_version: int
    run_id: str
    mode: str            # "dry-run" (a plan: nothing changed) | "real"
    lang: str
    tool_version: str     # of the run (run.json)
    report_tool_version: str
    generated_at: str
    started_at: str | None
    finished_at: str | None
    run_dir: str
    org: OrgInfo
    operator: OperatorInfo
    contract: ContractInfo | None
    manual_steps: tuple[ManualStep, ...]
    export: ExportInfo | None
    users: UsersInfo
    ownership: OwnershipInfo
    blockers: tuple[UserChange, ...]
    steps: tuple[StepInfo, ...]
    limits_before: dict[str, dict[str, float]]
    warnings: tuple[str, ...]
    journal: JournalInfo
    verification_ok: bool = field(default=True)
    warning_codes: tuple[CodedWarning, ...] = ()   # ``warnings`` in order, with their codes
    preflight: PreflightInfo | None = None   # None: a run whose preflight did not finish

    @property
    def is_plan(self) -> bool:
        return self.mode != "real"

    @property
    def failures(self) -> int:
        users = sum(u.failed for u in self.users.frozen + self.users.deactivated)
        export = len(self.export.failed) if self.export else 0
        steps = sum(s.status == "failed" for s in self.steps)
        return users + self.ownership.failed + export + steps


def read_run_json(run_dir: Path) -> dict[str, Any]:
    """``run.json`` as a dict. Raises UsageError when it is missing or not a run file."""
    path = Path(run_dir) / RUN_JSON
    if not Path(run_dir).is_dir():
        raise UsageError(f"{run_dir} is not a directory",
                         hint="give the run directory of `sfexit offboard`")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{run_dir} is not a run directory: it has no {RUN_JSON}",
                         hint="give the run directory of `sfexit offboard`") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path} cannot be read: {exc}") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path} is not a run file (expected a JSON object)")
    version = raw.get("schema_version", 1)
    if version != 1:
        raise UsageError(f"{path} has schema_version {version!r}; this sfexit reads 1",
                         hint="render it with the sfexit version that wrote it")
    return raw


def relative_to_run(path: str, run_dir: Path) -> str:
    """``path`` as the report shows it: relative to the run directory when inside it (the
    report is read beside its files, and rendered from any working directory)."""
    try:
        return Path(path).resolve().relative_to(Path(run_dir).resolve()).as_posix()
    except (ValueError, OSError):
        return path


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_model(run_dir: Path, *, lang: str, now: str | None = None,
                own_step: bool = False) -> Report:
    """The report of the run in ``run_dir``; reads files only (no org access).

    ``own_step``: the report is written BY the run's report step, which is ``running`` in
    run.json while it writes; it shows that step's final state (done, now) instead, so the
    report is evidence of the whole run. Paths in the report are relative to ``run_dir``
    (the directory's name for the directory itself), wherever the command was run from.

    Raises UsageError when ``run_dir`` holds no readable run.json.
    """
    from sfexit.report import sections  # the per-section readers

    run_dir = Path(run_dir)
    raw = read_run_json(run_dir)
    journal = sections.journal_info(run_dir / JOURNAL, raw.get("journal_head"),
                                    finished=bool(raw.get("finished_at")))
    journal = replace(journal, path=JOURNAL)
    entries = sections.journal_entries(run_dir / JOURNAL) if journal.ok else []
    generated = now or utc_now()
    steps = sections.steps(raw.get("steps"))
    if own_step:
        steps = tuple(replace(s, status="done", finished_at=generated, reason=None,
                              reason_code=None, reason_params={}, original_message=None)
                      if s.name == "report" else s for s in steps)
    results = {s.get("name"): s.get("result") for s in raw.get("steps") or []
               if isinstance(s, dict)}
    contract = sections.contract(raw.get("contract"))
    export = sections.export(run_dir / EXPORT_DIR, results.get("export"))
    if export is not None:
        export = replace(export, manifest_path=relative_to_run(export.manifest_path, run_dir))
    pending = unresolved_intents(entries)
    users = sections.with_unconfirmed(sections.users(results.get("freeze"), results.get("deactivate"),
                                             entries), pending)
    journal = replace(journal, unconfirmed=len(pending))
    names = sections.names(users, results.get("reassign"))
    ownership = sections.ownership(results.get("reassign"), entries, names)
    ownership = replace(ownership, objects=tuple(
        replace(o, failure_file=relative_to_run(o.failure_file, run_dir)) if o.failure_file
        else o for o in ownership.objects))
    warnings = sections.warnings(raw.get("warnings"), raw.get("warning_codes"))
    if journal.present and not journal.ok:
        warnings.append(CodedWarning("the journal does not verify: it was changed after it "
                                     "was written", "journal_bad"))
    if pending:
        warnings.append(CodedWarning(sections.UNCONFIRMED_WARNING.format(count=len(pending)),
                                     "journal_unconfirmed", {"count": len(pending)}))
    if export is not None and not export.verified:
        warnings.append(CodedWarning("the export on disk differs from its manifest",
                                     "export_differs"))
    unique = tuple({w.text: w for w in warnings}.values())
    org = raw["org"] if isinstance(raw.get("org"), dict) else {}
    operator = raw["operator"] if isinstance(raw.get("operator"), dict) else {}
    return Report(
        schema_version=SCHEMA_VERSION, run_id=str(raw.get("run_id") or run_dir.name),
        mode="real" if raw.get("mode") == "real" else "dry-run", lang=lang,
        tool_version=str(raw.get("tool_version") or ""), report_tool_version=__version__,
        generated_at=generated, started_at=raw.get("started_at"),
        finished_at=raw.get("finished_at"), run_dir=run_dir.resolve().name,
        org=OrgInfo(**sections.pick(org, OrgInfo)),
        operator=OperatorInfo(**sections.pick(operator, OperatorInfo)),
        contract=contract, manual_steps=sections.manual_steps(raw.get("contract")), export=export,
        users=users, ownership=ownership,
        blockers=tuple(u for u in users.deactivated if u.blockers or u.failed),
        steps=steps, limits_before=sections.limits(raw.get("limits_before")),
        warnings=tuple(w.text for w in unique), journal=journal,
        verification_ok=(journal.ok and journal.head_matches
                          and (export is None or export.verified)),
        warning_codes=unique, preflight=sections.preflight(results.get("preflight")))
