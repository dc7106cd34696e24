"""The offboard plan, PURE: which steps run (and why not), and the limits forecast per step.

Counts and config in, plan out; no I/O here (``steps.survey`` reads the counts, through the
read-only session in a dry run). The arithmetic is documented in docs/offboard.md.

Limits (research/limits.md; dev.sf ``bulk_api_2_limits``, ``salesforce_app_limits_cheatsheet``):
- REST calls against ``DailyApiRequests`` (every call, Bulk ones included);
- Bulk 2.0 query jobs against ``DailyBulkV2QueryJobs`` (one per exported object);
- Bulk 2.0 query result storage against ``DailyBulkV2QueryFileStorageMB``;
- Bulk 2.0 ingest records: one internal batch per 10,000 records, against
  ``DailyBulkApiBatches`` (15,000 per 24 h, shared with Bulk 1.0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sfexit.export import schedule
from sfexit.offboard.notes import Note, note

STEPS = ("preflight", "dates", "export", "verify", "freeze", "reassign", "deactivate", "report")
MB = 1024 * 1024
# The export (sfexit.export.bulk): per object one describe, one job create, its status polls
# and one call per result page; REST reads 2,000-row pages (schedule.REST_PAGE_ROWS).
EXPORT_CALLS_PER_OBJECT = 2
POLLS_PER_JOB = 1.2            # measured against the emulator: 45 polls for 40 jobs (jobs are
                               # created ahead of the reads: most are done at their first poll)
DEFAULT_MAX_RECORDS = 50_000   # Bulk result page (``maxRecords``)
# People writes: sObject Collections take 200 rows per call (users-protocol.md §2).
COLLECTION_ROWS = 200
# Reassignment by Bulk above this many rows per object (people.ownership_transfer.BULK_THRESHOLD):
# a query job (create + polls + 1 page) and an ingest job (create + PUT + PATCH + polls + 1).
BULK_THRESHOLD = 2000
BULK_REASSIGN_CALLS = 12
TEAM_OBJECTS = ("Account", "Opportunity")   # a team snapshot + a check after the move
INGEST_BATCH_RECORDS = 10_000
# export.verify against the org: a COUNT() and a SUM() of the body sizes for each file object
# (ContentVersion, Attachment, Document).
VERIFY_FILE_CALLS = 6
LIMIT_NAMES = {"rest_calls": "DailyApiRequests", "bulk_query_jobs": "DailyBulkV2QueryJobs",
               "bulk_result_mb": "DailyBulkV2QueryFileStorageMB",
               "ingest_records": "DailyBulkApiBatches"}


@dataclass(frozen=True)
class Switches:
    """What the config and the command line say about the steps."""

    has_contract: bool = False
    successor: str | None = None
    deactivate: bool = False
    config_skip: tuple[str, ...] = ()
    cli_skip: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepDecision:
    name: str
    run: bool
    why: Note | None = None     # why the step is skipped (a stable code, notes.py)

    @property
    def reason(self) -> str | None:
        return self.why.text if self.why is not None else None


def unknown_steps(names: Sequence[str]) -> list[str]:
    return [n for n in names if n not in STEPS]


def decide_steps(switches: Switches) -> tuple[StepDecision, ...]:
    """Every step in order, each run or skipped with the reason a person reads."""
    out = []
    for name in STEPS:
        why = None
        if name in switches.cli_skip:
            why = note("skip_cli", step=name)
        elif name in switches.config_skip:
            why = note("skip_config")
        elif name == "dates" and not switches.has_contract:
            why = note("skip_no_contract")
        elif name == "reassign" and not switches.successor:
            why = note("skip_no_successor")
        elif name == "deactivate" and not switches.deactivate:
            why = note("skip_deactivate_off")
        elif name == "verify" and "export" in (*switches.cli_skip, *switches.config_skip):
            why = note("skip_no_export")
        out.append(StepDecision(name, why is None, why))
    return tuple(out)


@dataclass(frozen=True)
class Counts:
    """What the survey found in the org. ``reads[step]`` is the REST calls the step's own
    planning reads cost (measured while surveying; the real step reads them again)."""

    rows: Mapping[str, int] = field(default_factory=dict)     # exported object → rows
    row_bytes: int = 400
    files: int = 0
    file_bytes: int = 0       # SUM() of the file bodies' sizes (what the files step downloads)
    max_records: int = DEFAULT_MAX_RECORDS
    freeze_users: int = 0
    moves: Mapping[str, int] = field(default_factory=dict)    # object → records to move
    deactivate_users: int = 0
    reads: Mapping[str, int] = field(default_factory=dict)
    remaining: Mapping[str, int] = field(default_factory=dict)  # /limits name → remaining
    rest_below: int | None = None   # [export] rest_below (export.schedule.Routing)
    # The REST page time the survey measured (export.preflight.sample; None: not measured, the
    # model's central figure) and [export] parallel: the export's routing (schedule.routing).
    rest_page_s: float | None = None
    parallel: int = 4


@dataclass(frozen=True)
class Usage:
    rest_calls: int = 0
    bulk_query_jobs: int = 0
    bulk_result_mb: int = 0
    ingest_records: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.rest_calls + other.rest_calls,
                     self.bulk_query_jobs + other.bulk_query_jobs,
                     self.bulk_result_mb + other.bulk_result_mb,
                     self.ingest_records + other.ingest_records)


@dataclass(frozen=True)
class Shortfall:
    """One limit the forecast does not fit: its /limits name, what the run needs of it (in
    its unit: batches for DailyBulkApiBatches) and what the org has left."""

    limit: str
    forecast: int
    remaining: int


@dataclass(frozen=True)
class Forecast:
    steps: dict[str, Usage]
    total: Usage
    remaining: dict[str, int]
    fits: bool
    lines: tuple[str, ...]     # one line per limit: need vs remaining, and why it (not) fits
    shortfall: tuple[Shortfall, ...] = ()   # the limits that do not fit, as numbers

    @property
    def short_lines(self) -> str:
        """The English lines of the limits that do not fit, joined (the notes' ``limits``)."""
        return "; ".join(line for line in self.lines if "NOT" in line)


def export_usage(counts: Counts) -> Usage:
    """Small objects are read over REST (their pages), the others by Bulk, routed as the
    export routes them: at the measured page time, with its overflow (schedule.routing)."""
    rows = counts.rows
    read = schedule.usage(rows, schedule.routing(counts.rest_below, counts.rest_page_s, rows,
                                                 counts.parallel),
                          job_calls=EXPORT_CALLS_PER_OBJECT - 1 + POLLS_PER_JOB,
                          bulk_page_rows=max(1, counts.max_records))
    calls = counts.reads.get("export", 0) + len(rows) + read.calls + counts.files
    mb = math.ceil(read.bulk_rows * counts.row_bytes / MB)
    return Usage(calls, read.bulk_jobs, mb, 0)


def reassign_usage(counts: Counts) -> Usage:
    calls, ingest, jobs = counts.reads.get("reassign", 0), 0, 0
    for name, n in counts.moves.items():
        if name in TEAM_OBJECTS:
            calls += 2
        if n > BULK_THRESHOLD:
            calls += BULK_REASSIGN_CALLS
            ingest += n
            jobs += 1
        else:
            calls += math.ceil(n / schedule.REST_PAGE_ROWS) + math.ceil(n / COLLECTION_ROWS)
    return Usage(calls, jobs, 0, ingest)


def step_usage(name: str, counts: Counts) -> Usage:
    reads = counts.reads.get(name, 0)
    if name == "export":
        return export_usage(counts)
    if name == "verify":   # one COUNT() per object + the file totals (export.verify)
        return Usage(reads + len(counts.rows) + VERIFY_FILE_CALLS)
    if name == "freeze":
        return Usage(reads + math.ceil(counts.freeze_users / COLLECTION_ROWS))
    if name == "reassign":
        return reassign_usage(counts)
    if name == "deactivate":   # one call per user (people.deactivate.set_active)
        return Usage(reads + counts.deactivate_users)
    return Usage(reads)


def _need(usage: Usage, key: str) -> int:
    value = int(getattr(usage, key))
    if key == "ingest_records":   # the limit counts batches of 10,000 records
        return math.ceil(value / INGEST_BATCH_RECORDS)
    return value


def forecast(decisions: Sequence[StepDecision], counts: Counts) -> Forecast:
    """Per-step usage for the steps that run, their total, and whether it fits."""
    steps = {d.name: step_usage(d.name, counts) for d in decisions if d.run}
    total = sum(steps.values(), Usage())
    lines: list[str] = []
    short: list[Shortfall] = []
    fits = True
    for key, limit in LIMIT_NAMES.items():
        need = _need(total, key)
        unit = " batches" if key == "ingest_records" else ""
        if limit not in counts.remaining:
            lines.append(f"{limit}: needs about {need:,}{unit}; the org does not report it")
            continue
        left = counts.remaining[limit]
        ok = need <= left
        fits = fits and ok
        lines.append(f"{limit}: needs about {need:,}{unit}, {left:,} remaining"
                     + ("" if ok else " — does NOT fit"))
        if not ok:
            short.append(Shortfall(limit, need, left))
    return Forecast(steps, total, dict(counts.remaining), fits, tuple(lines), tuple(short))
