"""The weekly Data Export Service, driven the way a browser drives it (issue 12).

Policy only; the wire is :mod:`sfexit.org.uisession`, the HTML is :mod:`weekly_page`.
Facts behind each rule are in research/export-protocol.md:

- A new export deletes the files still listed (xappex): with ``trigger`` those are downloaded
  first (to ``weekly/previous/``), or the run is refused unless ``discard_old``.
- Too soon (the Export Now button is disabled with its alert): one clear error with the next
  allowed date, before anything else is done.
- The Export Now form's field names are not public: the form is replayed as served (hidden
  inputs kept), options are set by their visible labels, it is posted to its own action.
- Files are "available on this page for 48 hours"; the page only gives dates, so the expiry
  warning assumes the earliest moment the date allows.
- Each part is downloaded and checked by :mod:`weekly_download` (HEAD ``Content-Length``,
  ``.part`` + SHA-256 in the same pass, ``Range`` resume, ``zipfile`` integrity, extraction).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from sfexit import errors
from sfexit.export.weekly_download import (DownloadedPart, ExtractLimits, download_parts,
                                           extract_parts)
from sfexit.export.weekly_forms import HtmlForm, export_form, page_errors
from sfexit.export.weekly_page import (PAGE_PATH, START_EXPORT, ExportFileLink, ExportPageState,
                                       PageFormatError, alert_facts, parse_export_page)
from sfexit.org.uisession import UiSession

if TYPE_CHECKING:
    from sfexit.export.manifest import ManifestStore

STATUS_URL = PAGE_PATH + "?setupid=DataManagementExport"
FORM_URL = "/ui/setup/export/DataExportPage/e?retURL=%2Fui%2Fsetup%2Fexport%2FDataExportPage%2Fd"
POLL_FIRST, POLL_FACTOR, POLL_MAX = 30.0, 1.5, 600.0   # seconds; exports take minutes to days
EXPIRY_MARGIN = dt.timedelta(hours=12)
MAX_TZ_AHEAD = dt.timedelta(hours=14)   # the page's date is in the user's zone (up to UTC+14)

# Option labels (old Help copy, Zendesk Sell help; research "Export Now"). "…" = prefix match.
LABEL_ATTACHMENTS = ("Include images, documents, and attachments",)
LABEL_FILES = ("Include Salesforce Files and Salesforce CRM Content document versions",
               "Include Salesforce Files…", "Include Chatter files…")
LABEL_REPLACE_CR = ("Replace carriage returns with spaces",)
LABEL_ENCODING = ("Export File Encoding", "Encoding…")

Now = Callable[[], dt.datetime]


class WeeklyTooSoon(errors.SfexitError):
    name = "WeeklyTooSoon"


class WeeklyTimeout(errors.SfexitError):
    name = "WeeklyTimeout"


@dataclass(frozen=True)
class WeeklyOptions:
    """The Export Now form's options, by meaning; set on the form by their labels."""

    include_files: bool = True
    include_attachments: bool = True
    replace_carriage_returns: bool = False
    encoding: str = "UTF-8"        # matched against the option labels: "Unicode (UTF-8)"


@dataclass(frozen=True)
class WeeklyResult:
    state: str                     # ready | in_progress | none
    triggered: bool
    files: tuple[ExportFileLink, ...]
    parts: tuple[DownloadedPart, ...]
    previous_parts: tuple[DownloadedPart, ...]
    last_export: dt.date | None
    next_allowed: dt.date | None
    expires_no_earlier_than: dt.datetime | None
    extracted_to: Path | None
    warnings: tuple[str, ...] = field(default_factory=tuple)


# --- reading the page ------------------------------------------------------------------------
def read_status(ui: UiSession) -> ExportPageState:
    """The Data Export page (always the Classic URL). Raises AuthError, SalesforceError."""
    page = ui.get(STATUS_URL)
    try:
        return parse_export_page(page.text)
    except PageFormatError as exc:
        raise errors.SalesforceError(f"the Data Export page could not be read: {exc}",
                                     hint="does this user have the \"Weekly Data Export\" "
                                          "permission?") from None


def earliest_expiry(page: ExportPageState, now: dt.datetime | None = None
                    ) -> dt.datetime | None:
    """The earliest moment the listed files may be deleted, in UTC. Conservative: the page gives
    the export's date only, in the user's zone, and files live ``expiry_hours`` after completion
    (which is after the request): so the start of that day, in the user's zone when the page's
    clock and ``now`` (UTC) give it, else in the zone furthest ahead (UTC+14)."""
    # The alert's "most recent export" first: "Schedule Date" may be a schedule's start date.
    day = page.last_export or page.schedule_date
    if day is None or not page.files:
        return None
    ahead = MAX_TZ_AHEAD
    if page.user_now is not None and now is not None:
        offset = page.user_now - now.astimezone(dt.UTC).replace(tzinfo=None)
        quarter = dt.timedelta(minutes=15)
        offset = quarter * round(offset / quarter)
        if -dt.timedelta(hours=12) <= offset <= MAX_TZ_AHEAD:
            ahead = offset
    start = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC) - ahead
    return start + dt.timedelta(hours=page.expiry_hours)


def too_soon(page: ExportPageState) -> WeeklyTooSoon:
    allowed = page.next_allowed
    when = f"on or after {allowed.isoformat()}" if allowed else "later"
    last = f" (the most recent export was on {page.last_export.isoformat()}" \
           f"{f', one every {page.interval_days} days' if page.interval_days else ''})" \
        if page.last_export else ""
    return WeeklyTooSoon(f"Salesforce does not allow another export yet: next export allowed "
                         f"{when}{last}; nothing was done",
                         hint="files still listed can be downloaded with `sfexit export weekly`")


# --- Export Now --------------------------------------------------------------------------------
def fill_export_form(form: HtmlForm, options: WeeklyOptions
                     ) -> tuple[dict[str, bool], dict[str, str]]:
    """(checks, choices) by control id for the options, found by label. An option that is asked
    for but has no label on the form is an error; one left off may be missing."""
    checks: dict[str, bool] = {}
    wanted = ((LABEL_ATTACHMENTS, options.include_attachments, "attachments"),
              (LABEL_FILES, options.include_files, "files"),
              (LABEL_REPLACE_CR, options.replace_carriage_returns, "replace carriage returns"))
    for labels, on, what in wanted:
        control = form.control_for(labels)
        if control is None:
            if on:
                raise _form_changed(form, f"no option labelled {labels[0]!r} ({what})")
            continue
        checks[control.id] = on
    select = form.control_for(LABEL_ENCODING)
    if select is None or not select.options:
        raise _form_changed(form, f"no {LABEL_ENCODING[0]!r} choice")
    wanted_enc = options.encoding.strip().lower()
    exact = [o for o in select.options if wanted_enc in (o.label.lower(), o.value.lower())]
    loose = [o for o in select.options if wanted_enc in o.label.lower()]
    found = exact or (loose if len(loose) == 1 else [])
    if not found:
        offered = "; ".join(o.label for o in select.options)
        raise errors.UsageError(f"the org offers no export encoding {options.encoding!r} "
                                f"(it offers: {offered})")
    return checks, {select.id: found[0].value}


def _form_changed(form: HtmlForm, what: str) -> errors.SalesforceError:
    return errors.SalesforceError(
        f"the Export Now form has {what}; labels found: {', '.join(form.label_texts()) or 'none'}",
        hint="Salesforce may have changed the page; start the export in Setup > Data Export")


def request_export(ui: UiSession, page: ExportPageState, options: WeeklyOptions) -> None:
    """Open the Export Now form, fill it by label, post it. Raises WeeklyTooSoon (before any
    write), SalesforceError (form changed or refused), AuthError, ReadOnlyViolation."""
    if not page.export_now_enabled:
        raise too_soon(page)
    form_page = ui.get(page.export_now_url or FORM_URL)
    try:
        form = export_form(form_page.text)
        checks, choices = fill_export_form(form, options)
        fields = form.payload(START_EXPORT, checks, choices)
    except PageFormatError as exc:
        raise errors.SalesforceError(f"the Export Now page could not be read: {exc}") from None
    if form.method != "POST":
        raise _form_changed(form, f"method {form.method} instead of POST")
    action = urljoin(form_page.url, form.action or form_page.url)
    answer = ui.post_form(action, fields, referer=form_page.url)
    try:
        after = parse_export_page(answer.text)
    except PageFormatError:
        after = None
    if after is not None and (after.in_progress or after.files):
        return
    problems = page_errors(answer.text)
    message = "; ".join(problems) or "the org did not start the export"
    last, days = alert_facts(message, page.date_format)
    if last is not None or days is not None:   # the org refused: too soon after all (a race)
        raise too_soon(replace(page, alert=message, last_export=last or page.last_export,
                               interval_days=days or page.interval_days))
    raise errors.SalesforceError(f"Export Now was refused: {message}",
                                 hint="start the export in Setup > Data Export to see why")


def wait_until_ready(ui: UiSession, *, timeout: float, sleep: Callable[[float], None],
                     clock: Callable[[], float], just_triggered: bool = False,
                     on_poll: Callable[[ExportPageState, float], None] | None = None
                     ) -> ExportPageState:
    """Poll the page with backoff until files are listed. ``just_triggered``: a disabled Export
    Now button also means "running" (the in-progress markup is UNCONFIRMED in the research).
    Raises WeeklyTimeout, SalesforceError (nothing is running)."""
    started = clock()
    delay = POLL_FIRST
    while True:
        page = read_status(ui)
        elapsed = clock() - started
        if on_poll is not None:
            on_poll(page, elapsed)
        if page.files:
            return page
        if not (page.in_progress or (just_triggered and not page.export_now_enabled)):
            raise errors.SalesforceError(
                "the export is neither in progress nor listing files (it may have been "
                "replaced or expired)", hint="check Setup > Data Export")
        left = timeout - elapsed
        if left <= 0:
            raise WeeklyTimeout(
                f"the export is still in progress after {elapsed / 60:.0f} minutes",
                hint="Salesforce keeps working on it; run `sfexit export weekly --wait` later "
                     "(a sandbox export may never complete)")
        sleep(min(delay, left))
        delay = min(delay * POLL_FACTOR, POLL_MAX)


# --- the whole run -----------------------------------------------------------------------------
@dataclass
class WeeklyRun:
    """What :func:`run_weekly` needs besides the UI session; defaults for the real world."""

    dest: Path
    trigger: bool = False
    discard_old: bool = False
    wait: bool | None = None               # default: wait when triggering
    status_only: bool = False
    timeout: float = 6 * 3600
    parallel: int = 4
    extract: bool = False
    extract_limits: ExtractLimits = ExtractLimits()
    options: WeeklyOptions = field(default_factory=WeeklyOptions)
    open_manifest: Callable[[], ManifestStore] | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Now = field(default=lambda: dt.datetime.now(dt.UTC))
    on_event: Callable[[str], None] = lambda _m: None
    on_poll: Callable[[ExportPageState, float], None] | None = None


def run_weekly(ui: UiSession, run: WeeklyRun) -> WeeklyResult:
    """Status, then (as asked) trigger, wait, download, extract. Raises WeeklyTooSoon (nothing
    done), UsageError (old files listed without discard_old), AuthError, WeeklyFilesExpired,
    WeeklyTimeout, UnsafeArchive, SalesforceError."""
    warnings: list[str] = []
    page = read_status(ui)
    first = page
    previous: list[DownloadedPart] = []
    triggered = False
    weekly_dir = run.dest / "weekly"
    manifest: list[ManifestStore] = []

    def record(prefix: str, listed: ExportPageState) -> Callable[[DownloadedPart], None]:
        ids = {link.name: link.file_id for link in listed.files}
        day = listed.last_export or listed.schedule_date   # the page's date for these files

        def put(part: DownloadedPart) -> None:
            from sfexit.export.manifest import WeeklyPart

            if run.open_manifest is None:
                return
            if not manifest:
                manifest.append(run.open_manifest())
            manifest[0].put_weekly(WeeklyPart(
                name=prefix + part.name, size=part.size, sha256=part.sha256,
                path=part.path.relative_to(run.dest).as_posix(), file_id=ids.get(part.name),
                export_date=day.isoformat() if day else None))
        return put

    if run.trigger and not run.status_only:
        if page.in_progress:
            warnings.append("an export is already in progress; waiting for it instead of "
                            "requesting another")
        elif not page.export_now_enabled:
            raise too_soon(page)
        else:
            if page.files and not run.discard_old:
                run.on_event(f"downloading the {len(page.files)} files still listed before a "
                             "new export deletes them")
                try:
                    previous = download_parts(ui, page.files, weekly_dir / "previous",
                                              parallel=run.parallel,
                                              on_part=record("previous/", page))
                except errors.SfexitError as exc:
                    exc.message = (f"no new export was requested: the files still listed could "
                                   f"not be saved first, and a new export deletes them "
                                   f"(--discard-old to go ahead anyway): {exc.message}")
                    raise
            elif page.files:
                warnings.append(f"{len(page.files)} files still listed were discarded "
                                "(--discard-old): the new export deletes them")
            request_export(ui, read_status(ui), run.options)
            triggered = True
            run.on_event("export requested")
            page = read_status(ui)
    wait_now = run.trigger if run.wait is None else run.wait
    if not run.status_only and not page.files and (page.in_progress or triggered) and wait_now:
        page = wait_until_ready(ui, timeout=run.timeout, sleep=run.sleep, clock=run.clock,
                                just_triggered=triggered, on_poll=run.on_poll)
    now = run.now()
    expiry = earliest_expiry(page, now)
    if expiry is not None and now + EXPIRY_MARGIN >= expiry:
        when = ("at any moment now" if expiry <= now
                else f"as soon as {expiry.strftime('%Y-%m-%d %H:%M')} UTC")
        warnings.append(f"the export files may be deleted {when} (they are kept "
                        f"{page.expiry_hours:g} hours after the export, whose time the page does "
                        "not give): download them now")
    if not page.files and not page.in_progress and not run.status_only:
        day = page.last_export or first.last_export
        warnings.append("no export files are listed" + (
            f": those of the most recent export ({day.isoformat()}) were deleted (files are "
            f"kept {page.expiry_hours:g} hours)" if day else ""))
    parts: list[DownloadedPart] = []
    extracted = None
    if page.files and not run.status_only:
        parts = download_parts(ui, page.files, weekly_dir, parallel=run.parallel,
                               on_part=record("", page))
        if run.extract:
            extracted = extract_parts(parts, weekly_dir / "extracted", run.extract_limits)
    return WeeklyResult(
        state=page.state, triggered=triggered, files=page.files, parts=tuple(parts),
        previous_parts=tuple(previous), last_export=page.last_export or first.last_export,
        next_allowed=page.next_allowed or first.next_allowed,
        expires_no_earlier_than=expiry, extracted_to=extracted, warnings=tuple(warnings))
