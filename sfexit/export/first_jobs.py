"""The export's first Bulk jobs, created while the preflight still reads (issue 23: the run's
longest job is its critical path, so it must start as early as it can; export/backup.py).

Only what the run will certainly read gets a job this early, so a run that then refuses wastes
no daily Bulk job (limits.md: DailyBulkV2QueryJobs). Every refusal that can stop the run
happens before: a bad ``--objects`` (describe global), a DEST holding another org's backup or
a delta of another base (the manifest, opened with the identity's org id), the budget gate
(each object admitted as in the data step, its result MB counted at its widest row until the
row width is sampled: budget_gate.BudgetGate.admit_object). What the preflight still reads
beside them only warns (the permissions: cli/export.py) or informs (the sample's row width and
REST page time, the Organization's name). A run-wide error of those reads (auth, a spent limit,
the connection, a refused permission read) stops the jobs already made, as it would stop the
data step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from sfexit import errors
from sfexit.export import bulk, data_run
from sfexit.export.bulk import _describe_admitted, _NotStarted, _start, _Started
from sfexit.export.data_run import ExportOptions, ExportRun, ObjectResult, ProgressCallback
from sfexit.export.manifest import ManifestStore
from sfexit.export.objects import DescribeCache, plan_fields
from sfexit.export.schedule import Routing
from sfexit.export.schedule import routing as run_routing
from sfexit.org.session import OrgSession


class FirstJobs:
    """The largest objects' Bulk jobs, created while the preflight still reads (backup.py), so
    the run's longest job starts as early as it can. Objects Bulk reads at the model's own
    page time (schedule.MODEL, the central of the range: the page time is measured by the
    sample these jobs run beside), with the long text their describe shows. Each goes through
    the same start as in the data step (resume, the budget gate counting it a Bulk job, the job
    window); :func:`export_data` takes them over, and aborts one the measured page time makes
    slower than REST (bulk._rest_sooner). ``cancel`` when the run stops before it."""

    def __init__(self, session: OrgSession, store: ManifestStore, options: ExportOptions,
                 names: Sequence[str], counts: Mapping[str, int], describes: DescribeCache,
                 *, on_progress: ProgressCallback | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.run = ExportRun(session, store, options, on_progress, sleep)
        prior = run_routing(options.rest_below)
        window = data_run.job_window(options.parallel)
        room = _Room(names, window)
        # A thread per job the window holds: each is a describe and a create, ~0.12 s on the
        # critical path; four threads made the last of nine jobs 0.25 s later than the first
        # at 20k (bench/RESULTS.md "session 7"). Both are short requests, which Salesforce
        # does not limit (schedule.REST_CURSORS).
        self._pool = ThreadPoolExecutor(max(1, min(len(names), window)),
                                        thread_name_prefix="sfexit-export-first")
        self.futures: dict[str, Future[ObjectResult | _Started | _NotStarted]] = {
            name: self._pool.submit(_start_first, self.run, name, describes, counts.get(name),
                                    prior, room) for name in names}

    def cancel(self) -> None:
        """Stop: no job is created from now on, and the ones created unread are aborted."""
        self.run.cancel.set()
        self.close()
        self.run.abort_unread()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def first_candidates(objects: Sequence[str], counts: Mapping[str, int],
                     options: ExportOptions) -> list[str]:
    """The objects :class:`FirstJobs` may start, largest first: over the model's threshold
    even with long text; their describe decides, and no more than one window of jobs is made
    (:class:`_Room`). Twice the window is looked at: at 200k four of the sixteen largest were
    REST by their fields, and the Bulk objects after them, started after the sample, ended the
    run (bench/RESULTS.md "session 7").

    Bulk at the model's page time, not at every page time in the range: the objects Bulk reads
    only from the central page time on were created after the sample at 20k (0.9 s later at
    central, the run's longest jobs: bench/RESULTS.md "session 7"). Where the measured page
    time then sends one to REST and REST ends it sooner, export_data aborts its job (one of
    the org's daily Bulk jobs spent for time; a slower REST read would not gain any). Objects
    the schedule may read in Id ranges are started too, and kept on the same terms."""
    prior = run_routing(options.rest_below)
    over = [n for n in bulk.largest_first(objects, counts)
            if not prior.by_rest(counts.get(n), True)]
    return over[:2 * data_run.job_window(options.parallel)]


class _Room:
    """Places for the first jobs: no more than the run's window, so that none waits for a read
    (export_data waits for every first job before it reads any). The largest candidates hold
    theirs from the start, whichever thread runs first (a later candidate's thread, done with
    an earlier one, must not take a larger object's place: seen in CI under load); a place
    given back (REST by its fields, kept, refused) goes to the next candidate that asks."""

    def __init__(self, names: Sequence[str], places: int) -> None:
        self._reserved = frozenset(names[:places])
        self._spare = 0
        self._lock = threading.Lock()

    def take(self, name: str) -> bool:
        with self._lock:
            if name in self._reserved:
                return True
            if self._spare > 0:
                self._spare -= 1
                return True
            return False

    def give_back(self) -> None:
        with self._lock:
            self._spare += 1


def _start_first(run: ExportRun, name: str, describes: DescribeCache, rows: int | None,
                 prior: Routing, room: _Room) -> ObjectResult | _Started | _NotStarted:
    """One candidate: its place (:class:`_Room`) taken before its describe, given back unless
    a job was made."""
    run.check()
    if not room.take(name):
        return _NotStarted(name)
    started: ObjectResult | _Started | _NotStarted = _NotStarted(name)
    try:
        started = _described_and_started(run, name, describes, rows, prior)
    finally:
        if not (isinstance(started, _Started) and started.job is not None):
            room.give_back()   # no job made (REST, kept, paused, refused): its place is free
    return started


def _described_and_started(run: ExportRun, name: str, describes: DescribeCache,
                           rows: int | None, prior: Routing
                           ) -> ObjectResult | _Started | _NotStarted:
    if not _describe_admitted(run, name):
        return _NotStarted(name)   # the data step pauses it
    try:
        plan = plan_fields(describes.get(run.rest, name))   # kept for _start: one describe
    except errors.SalesforceError:
        return _NotStarted(name)   # the data step describes it again and says why
    if prior.by_rest(rows, plan.long_text):
        return _NotStarted(name)
    return _start(run, name, describes, rows, bulk_job=True)
