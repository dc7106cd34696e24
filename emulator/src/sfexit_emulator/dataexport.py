"""The Data Export Service ("weekly export") of the emulated org: state machine, limits, zip parts.

Everything runs on the emulator clock (``app.clock``); nothing sleeps:

- **requested → in progress → files ready → expired.** ``Export Now`` records an :class:`ExportRun`
  at ``requested_at``; it is *in progress* until ``requested_at + generation_seconds``, then its
  files are listed for ``expiry_hours`` (48 h, page text "available on this page for 48 hours,
  after which time they are deleted"), then they are deleted (*expired*).
- **Frequency limit.** Export Now is refused until ``interval_days`` (7 weekly, 29 monthly —
  research: xappex/Practifi; the 2020 capture says 28) after the most recent export's request.
- **A new export deletes the previous files** (xappex): starting a run drops the previous run's
  parts at once, whatever their age.
- **Snapshot at request time** (emulator choice, documented): the zip parts are built from the
  store while ``Export Now`` is being handled, so the export is exactly the org as it was when the
  button was pressed; later writes never leak into it, and the same store state always gives the
  same bytes (fixed zip timestamps, sorted objects, rows in the store's order).
- **Zip parts** ``WE_<18-char org id>_<n>.ZIP`` (n from 1, also for the monthly export), each with
  its own 15-char id with key prefix ``092``; each part is a complete zip on its own. Entries:
  ``<ApiName>.csv`` per exported object at the root, then with "Include images, documents, and
  attachments" ``Attachments/<Id>`` and ``Documents/<Id>`` bodies, and with "Include Salesforce
  Files…" ``ContentVersion/<Id>`` bodies (extension-less: research, a user script runs TrID on
  them). The folder names ``Documents/`` and ``ContentVersion/`` are UNCONFIRMED.
- **Parts** are cut by ``part_size_bytes`` (≈512 MB real; tiny in tests): a new part starts when
  the next entry's uncompressed size would push the current part past the limit (the compressed
  size is never larger for CSV; for random bodies deflate adds a few bytes). An entry is never
  split across parts, so one entry larger than the limit makes one oversized part (UNCONFIRMED:
  how Salesforce cuts a single huge CSV is not documented).

CSV details (each an emulator choice where the research is silent, flagged UNCONF):
- every value quoted (UNCONF), header = field API names (UNCONF), line ending ``line_ending``
  knob, default LF (UNCONF); booleans ``true``/``false``, datetimes as the store keeps them
  (``2024-05-01T12:34:56.000Z``), null as an empty field;
- encoding per the form's choice; characters the encoding lacks become ``?`` (UNCONF);
- "Replace carriage returns with spaces": CRLF, CR and LF inside values each become one space;
- formula and roll-up summary fields are never exported (old Help copy): fields the schema marks
  ``calculated`` are left out (the emulator's schema currently marks none); base64 fields and
  compound address/geolocation fields are left out (their components are exported);
- deleted (recycle bin) rows are not exported (UNCONF).

Which objects: every stored object that is queryable and replicateable. ``Attachment.csv`` and
``Document.csv`` only come with the attachments option and ``ContentVersion.csv`` only with the
files option (UNCONF: the real page lists these objects among the others). Objects the store
cannot query are skipped and listed in ``ExportRun.skipped``.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import hashlib
import hmac
import io
import os
import secrets
import shutil
import tempfile
import threading
import weakref
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfexit_emulator.bulk_csv import text_value
from sfexit_emulator.ids import make_id, normalize_id

if TYPE_CHECKING:
    from sfexit_emulator.store import OrgStore

# The encodings the Export Now form offers: (value, visible label, Python codec).
# The ISO-8859-1 label is captured (2020 page); "Unicode (UTF-8)" is from Help copy; the
# Shift_JIS entry and all option *values* are the emulator's own (UNCONF).
ENCODINGS: tuple[tuple[str, str, str], ...] = (
    ("ISO-8859-1", "ISO-8859-1 (General US & Western European, ISO-LATIN-1)", "iso-8859-1"),
    ("UTF-8", "Unicode (UTF-8)", "utf-8"),
    ("Shift_JIS", "Japanese (Shift_JIS)", "shift_jis"),
)
DEFAULT_ENCODING = "ISO-8859-1"
REAL_PART_SIZE = 512 * 1024 * 1024
# Blob objects: (object, body field, zip folder). Folder names other than Attachments/ UNCONF.
ATTACHMENT_BLOBS = (("Attachment", "Body", "Attachments"), ("Document", "Body", "Documents"))
FILE_BLOBS = (("ContentVersion", "VersionData", "ContentVersion"),)
FILE_ID_PREFIX = "092"
MAX_TOKENS = 10_000          # confirmation tokens remembered (oldest forgotten first)


@dataclasses.dataclass
class DataExportSettings:
    """Knobs of the service; set from tests (``service.update({...})``) or over HTTP
    (``POST /__emulator__/dataexport {"settings": {...}}``)."""

    interval_days: float = 7            # weekly 7; monthly 29 (older texts: 6 / 28)
    expiry_hours: float = 48            # "available on this page for 48 hours"
    generation_seconds: float = 600     # how long an export stays "in progress" (emulator time)
    part_size_bytes: int = REAL_PART_SIZE
    monthly: bool = False               # "Monthly Export Service" page title
    edition: str = ""                   # title suffix; default by `monthly`
    # Links on /d as Lightning renders them: javascript:srcUp('<url-encoded /servlet/…>').
    lightning: bool = False
    # frontdoor.jsp answer: "redirect" (302), "replace" (script location.replace interstitial)
    # or "top" (script top.window.location='…' interstitial).
    frontdoor_mode: str = "redirect"
    # Date format of the user's locale; the capture (en_GB user) shows dd/mm/yyyy.
    date_format: str = "%d/%m/%Y"
    line_ending: str = "\n"
    # Faults of this service (the generic ones live in app.faults):
    truncate_downloads: int = 0         # cut the next N zip downloads in the middle of the body
    redirect_loop: bool = False         # UI pages bounce to the login page, which bounces back
    never_completes: bool = False       # sandboxes: queued, never completes (Practifi)
    # "API Only User" gets no UI (Help). Off by default: the seed currently gives the System
    # Administrator profile PermissionsApiUserOnly = true, which would lock the admin out.
    api_only_blocks_ui: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SETTING_TYPES = {f.name: f.type for f in dataclasses.fields(DataExportSettings)}


@dataclasses.dataclass(frozen=True)
class ExportOptions:
    """What the Export Now form asked for."""

    encoding: str = DEFAULT_ENCODING
    include_attachments: bool = False   # "Include images, documents, and attachments"
    include_files: bool = False         # "Include Salesforce Files and … document versions"
    replace_cr: bool = False            # "Replace carriage returns with spaces"
    objects: tuple[str, ...] | None = None   # None = "Include all data"

    def codec(self) -> str:
        for value, _label, codec in ENCODINGS:
            if value == self.encoding:
                return codec
        raise ValueError(f"unknown export encoding {self.encoding!r}")

    def encoding_label(self) -> str:
        for value, label, _codec in ENCODINGS:
            if value == self.encoding:
                return label
        return self.encoding


@dataclasses.dataclass
class ExportFile:
    number: int
    name: str          # WE_<org18>_<n>.ZIP
    file_id: str       # 15-char id, prefix 092
    path: Path
    size: int
    entries: tuple[str, ...]

    @property
    def url(self) -> str:
        """The relative download URL (raw ``&``; HTML pages escape it as ``&amp;``)."""
        return f"/servlet/servlet.OrgExport?fileName={self.name}&id={self.file_id}"


@dataclasses.dataclass
class ExportRun:
    requested_at: dt.datetime
    requested_by: str
    options: ExportOptions
    generation_seconds: float
    files: list[ExportFile] = dataclasses.field(default_factory=list)
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    deleted: bool = False               # replaced by a newer export, or expired and removed
    never_completes: bool = False       # started while the never_completes knob was on

    @property
    def completes_at(self) -> dt.datetime:
        return self.requested_at + dt.timedelta(seconds=self.generation_seconds)


class ExportRefused(Exception):
    """Export Now is not allowed now; ``message`` is the page's alert text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def size_label(size: int) -> str:
    """Salesforce's file-size style on the export page: ``81.7K``, ``1.2M`` (capture: 81.7K).

    Bytes below 1 KB as ``<n>B`` and the rounding are UNCONF (only the ``K`` form is captured)."""
    if size < 1024:
        return f"{size}B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f}K"
    if size < 1024 ** 3:
        return f"{size / 1024 ** 2:.1f}M"
    return f"{size / 1024 ** 3:.1f}G"


def _fmt_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class DataExportService:
    """All Data Export state of one emulated org; thread-safe (one lock)."""

    def __init__(self, store: OrgStore, settings: DataExportSettings | None = None) -> None:
        self.store = store
        self.settings = settings or DataExportSettings()
        self.lock = threading.RLock()
        self._dir = Path(tempfile.mkdtemp(prefix="sfexit-dataexport-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self._dir), True)
        self._file_counter = 0
        self._run_counter = 0
        self.current: ExportRun | None = None
        # The most recent export's request time (the frequency limit counts from it). Kept apart
        # from `current` so tests can pretend an export happened without any files.
        self.last_export_at: dt.datetime | None = None
        self._secret = secrets.token_bytes(32)
        self._tokens: dict[str, str] = {}     # confirmation token -> session token

    # --- settings ------------------------------------------------------------------------
    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply knob changes (validated); ``monthly: true`` alone also sets ``interval_days`` 29."""
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in _SETTING_TYPES:
                raise ValueError(f"unknown data export setting {key!r}; known: "
                                 + ", ".join(sorted(_SETTING_TYPES)))
            clean[key] = _coerce(key, value)
        with self.lock:
            if clean.get("monthly") is True and "interval_days" not in clean:
                clean["interval_days"] = 29
            if clean.get("monthly") is False and "interval_days" not in clean:
                clean["interval_days"] = 7
            for key, value in clean.items():
                setattr(self.settings, key, value)
            return self.settings.to_dict()

    def title(self) -> str:
        return "Monthly Export Service" if self.settings.monthly else "Weekly Export Service"

    def edition(self) -> str:
        if self.settings.edition:
            return self.settings.edition
        return "Developer Edition" if self.settings.monthly else "Enterprise Edition"

    # --- state ---------------------------------------------------------------------------
    def state(self, now: dt.datetime) -> str:
        """``none`` | ``in_progress`` | ``ready`` | ``expired`` (expired files are deleted here)."""
        with self.lock:
            run = self.current
            if run is None:
                return "none"
            if run.deleted:
                return "expired"
            if run.never_completes or now < run.completes_at:
                return "in_progress"
            if now < self.expires_at(run):
                return "ready"
            self._delete_files(run)
            return "expired"

    def expires_at(self, run: ExportRun) -> dt.datetime:
        return run.completes_at + dt.timedelta(hours=self.settings.expiry_hours)

    def listed_files(self, now: dt.datetime) -> list[ExportFile]:
        with self.lock:
            if self.state(now) != "ready" or self.current is None:
                return []
            return list(self.current.files)

    def find_file(self, file_id: str, now: dt.datetime) -> ExportFile | None:
        """A downloadable part by its id (15 or 18 chars; fileName is not checked: UNCONF)."""
        wanted = (file_id or "")[:15]
        for part in self.listed_files(now):
            if part.file_id == wanted:
                return part
        return None

    def next_allowed(self) -> dt.datetime | None:
        with self.lock:
            if self.last_export_at is None:
                return None
            return self.last_export_at + dt.timedelta(days=self.settings.interval_days)

    def refusal(self, now: dt.datetime) -> str | None:
        """The alert text when Export Now is not allowed at ``now``, else None."""
        with self.lock:
            allowed = self.next_allowed()
            in_progress = self.state(now) == "in_progress"
            if (allowed is None or now >= allowed) and not in_progress:
                return None
            assert self.last_export_at is not None
            # Captured text (2020 page), with this org's date, expiry and interval.
            return (f"The most recent export was performed on "
                    f"{self.last_export_at.strftime(self.settings.date_format)}. Export files are "
                    f"available for {_fmt_number(self.settings.expiry_hours)} hours after they "
                    f"are completed. You must wait {_fmt_number(self.settings.interval_days)} days "
                    f"from the time of the last export before you can use the service again.")

    # --- Export Now ----------------------------------------------------------------------
    def start(self, options: ExportOptions, user_id: str, now: dt.datetime,
              check_interval: bool = True) -> ExportRun:
        """Start an export at ``now``: refuse inside the interval (:class:`ExportRefused`), delete
        the previous files, snapshot the org into zip parts, and return the new run."""
        with self.lock:
            if check_interval:
                refused = self.refusal(now)
                if refused is not None:
                    raise ExportRefused(refused)
            if self.current is not None:
                self._delete_files(self.current)
            self._run_counter += 1
            run = ExportRun(now, user_id, options, self.settings.generation_seconds,
                            never_completes=self.settings.never_completes)
            run_dir = self._dir / f"run{self._run_counter}"
            run_dir.mkdir()
            try:
                run.files, run.skipped = build_parts(
                    self.store, options, run_dir, now, self.settings, self._next_file_id)
            except BaseException:
                shutil.rmtree(run_dir, ignore_errors=True)
                raise
            self.current = run
            self.last_export_at = now
            return run

    def _next_file_id(self) -> str:
        self._file_counter += 1
        return make_id(FILE_ID_PREFIX, self._file_counter)[:15]

    def _delete_files(self, run: ExportRun) -> None:
        if run.deleted:
            return
        run.deleted = True
        for part in run.files:
            try:
                part.path.unlink()
            except FileNotFoundError:
                pass

    # --- test hooks ----------------------------------------------------------------------
    def seed_export(self, requested_at: dt.datetime, options: ExportOptions | None = None,
                    user_id: str | None = None) -> ExportRun:
        """Pretend an export was requested at ``requested_at`` (built from today's store)."""
        return self.start(options or ExportOptions(), user_id or self.store.admin_user_id,
                          requested_at, check_interval=False)

    def set_last_export(self, when: dt.datetime | None) -> None:
        """Pretend the most recent export ran at ``when`` (its files long gone); None = never."""
        with self.lock:
            self.last_export_at = when

    def reset(self) -> None:
        with self.lock:
            if self.current is not None:
                self._delete_files(self.current)
            self.current = None
            self.last_export_at = None
            self.settings = DataExportSettings()

    def close(self) -> None:
        self._finalizer()

    # --- confirmation tokens (CSRF) -------------------------------------------------------
    def confirmation_token(self, session_token: str, now: dt.datetime) -> str:
        """A ``_CONFIRMATIONTOKEN``-like value bound to the UI session. Shape imitates the
        captured page's csrfToken: base64 of ``VjE9,<b64 time>,<random>,<b64 mac>`` (UNCONF)."""
        stamp = base64.b64encode(now.strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()).decode()
        nonce = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")[:22]
        mac = hmac.new(self._secret, (session_token + nonce).encode(), hashlib.sha256).hexdigest()
        raw = f"VjE9,{stamp},{nonce},{base64.b64encode(mac[:6].encode()).decode()}"
        token = base64.b64encode(raw.encode()).decode()
        with self.lock:
            if len(self._tokens) >= MAX_TOKENS:     # forget the oldest half
                for stale in list(self._tokens)[: MAX_TOKENS // 2]:
                    del self._tokens[stale]
            self._tokens[token] = session_token
        return token

    def check_token(self, token: str | None, session_token: str) -> bool:
        if not token:
            return False
        with self.lock:
            return hmac.compare_digest(self._tokens.get(token, ""), session_token)

    # --- admin view ----------------------------------------------------------------------
    def snapshot(self, now: dt.datetime) -> dict[str, Any]:
        with self.lock:
            state = self.state(now)
            run = self.current
            allowed = self.next_allowed()
            out: dict[str, Any] = {
                "state": state,
                "settings": self.settings.to_dict(),
                "last_export_at": self.last_export_at.isoformat() if self.last_export_at else None,
                "next_allowed_at": allowed.isoformat() if allowed else None,
                "refusal": self.refusal(now),
                "run": None,
            }
            if run is not None:
                out["run"] = {
                    "requested_at": run.requested_at.isoformat(),
                    "completes_at": run.completes_at.isoformat(),
                    "expires_at": self.expires_at(run).isoformat(),
                    "requested_by": run.requested_by,
                    "options": dataclasses.asdict(run.options),
                    "deleted": run.deleted,
                    "skipped": dict(run.skipped),
                    "files": [{"name": f.name, "id": f.file_id, "size": f.size, "url": f.url,
                               "entries": list(f.entries)} for f in run.files],
                }
            return out


def _coerce(key: str, value: Any) -> Any:
    kind = _SETTING_TYPES[key]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false")
        return value
    if kind == "int":
        number = int(value)
        if number < 0 or (key == "part_size_bytes" and number < 1):
            raise ValueError(f"{key} must be positive")
        return number
    if kind == "float":
        amount = float(value)
        if amount < 0:
            raise ValueError(f"{key} must be >= 0")
        return amount
    text = str(value)
    if key == "frontdoor_mode" and text not in ("redirect", "replace", "top"):
        raise ValueError("frontdoor_mode must be redirect, replace or top")
    if key == "line_ending" and text not in ("\n", "\r\n"):
        raise ValueError("line_ending must be LF or CRLF")
    return text


# --- building the parts ------------------------------------------------------------------------
def exportable_objects(store: OrgStore) -> list[str]:
    """API names of the objects the service exports (queryable + replicateable), sorted."""
    names = [o.name for o in store.schema.stored_objects()
             if o.queryable and o.flags.get("replicateable", False)]
    return sorted(names)


def selected_objects(store: OrgStore, options: ExportOptions) -> list[str]:
    names = exportable_objects(store)
    if options.objects is not None:
        wanted = {n.lower() for n in options.objects}
        names = [n for n in names if n.lower() in wanted]
    blob_objects = {"Attachment": options.include_attachments,
                    "Document": options.include_attachments,
                    "ContentVersion": options.include_files}
    return [n for n in names if blob_objects.get(n, True)]


def export_fields(store: OrgStore, sobject: str) -> list[str]:
    obj = store.schema.get(sobject)
    assert obj is not None
    return [f.name for f in obj.fields
            if not f.is_compound and f.type != "base64" and not getattr(f, "calculated", False)]


def _csv_value(value: Any, replace_cr: bool) -> str:
    text = text_value(value)  # the same value text as the Bulk API's CSV
    if replace_cr:
        text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return text


def write_csv(store: OrgStore, sobject: str, options: ExportOptions, target: Path,
              now: dt.datetime, line_ending: str) -> int:
    """Write ``<sobject>.csv`` to ``target``; the number of data rows. Raises the store's fault."""
    fields = export_fields(store, sobject)
    soql = f"SELECT {', '.join(fields)} FROM {sobject}"
    cursor = store.query(soql, now=now)
    count = 0
    with open(target, "w", encoding=options.codec(), errors="replace", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator=line_ending)
        writer.writerow(fields)
        for row in cursor.rows():
            writer.writerow([_csv_value(v, options.replace_cr) for v in row])
            count += 1
    return count


def _blob_entries(store: OrgStore, options: ExportOptions, now: dt.datetime
                  ) -> Iterator[tuple[str, int, Any]]:
    """(arcname, size, Blob) for every body the options ask for, in a stable order."""
    groups: list[tuple[str, str, str]] = []
    if options.include_attachments:
        groups.extend(ATTACHMENT_BLOBS)
    if options.include_files:
        groups.extend(FILE_BLOBS)
    for sobject, field, folder in groups:
        if store.schema.get(sobject) is None:
            continue
        ids = [str(r[0]) for r in store.query(f"SELECT Id FROM {sobject} ORDER BY Id",
                                              now=now).rows()]
        for record_id in ids:
            try:
                blob = store.blob(sobject, record_id, field)
            except Exception as exc:  # a row without a body: nothing to export
                if type(exc).__name__ == "SalesforceFault":
                    continue
                raise
            yield f"{folder}/{normalize_id(record_id) or record_id}", blob.size, blob


class _PartWriter:
    """Writes entries into ``WE_<org>_<n>.ZIP`` parts no larger than ``limit`` where possible."""

    # Zip overhead per entry (local header + central directory + data descriptor), roughly.
    ENTRY_OVERHEAD = 200

    def __init__(self, directory: Path, org_id: str, limit: int, stamp: dt.datetime,
                 next_id: Any) -> None:
        self.directory, self.org_id, self.limit = directory, org_id, limit
        utc = stamp.astimezone(dt.timezone.utc)
        self.stamp = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
        self.next_id = next_id
        self.parts: list[ExportFile] = []
        self._zip: zipfile.ZipFile | None = None
        self._fh: io.BufferedRandom | None = None
        self._entries: list[str] = []

    def _open(self) -> None:
        number = len(self.parts) + 1
        name = f"WE_{self.org_id}_{number}.ZIP"
        path = self.directory / name
        self._fh = open(path, "w+b")
        self._zip = zipfile.ZipFile(self._fh, "w", compression=zipfile.ZIP_DEFLATED,
                                    allowZip64=True)
        self._entries = []
        self.parts.append(ExportFile(number, name, self.next_id(), path, 0, ()))

    def _close(self) -> None:
        if self._zip is None or self._fh is None:
            return
        self._zip.close()
        self._fh.close()
        part = self.parts[-1]
        part.size = part.path.stat().st_size
        part.entries = tuple(self._entries)
        self._zip, self._fh = None, None

    def add(self, arcname: str, size: int, chunks: Iterable[bytes], level: int) -> None:
        if self._zip is not None and self._fh is not None and self._entries:
            if self._fh.tell() + size + self.ENTRY_OVERHEAD > self.limit:
                self._close()
        if self._zip is None:
            self._open()
        assert self._zip is not None
        info = zipfile.ZipInfo(arcname, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = level  # type: ignore[attr-defined]
        info.external_attr = 0o644 << 16
        info.file_size = size
        with self._zip.open(info, "w", force_zip64=size >= 0x7FFFFFFF) as out:
            for chunk in chunks:
                out.write(chunk)
        self._entries.append(arcname)

    def finish(self) -> list[ExportFile]:
        self._close()
        return self.parts


def _file_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(size)
            if not chunk:
                return
            yield chunk


def build_parts(store: OrgStore, options: ExportOptions, directory: Path, now: dt.datetime,
                settings: DataExportSettings, next_id: Any
                ) -> tuple[list[ExportFile], dict[str, str]]:
    """Snapshot the org into zip parts under ``directory``: (parts, skipped objects → reason)."""
    org18 = normalize_id(str(store.org_id)) or str(store.org_id)
    writer = _PartWriter(directory, org18, settings.part_size_bytes, now, next_id)
    skipped: dict[str, str] = {}
    scratch = directory / "csv.tmp"
    try:
        for sobject in selected_objects(store, options):
            try:
                write_csv(store, sobject, options, scratch, now, settings.line_ending)
            except Exception as exc:
                if type(exc).__name__ != "SalesforceFault":
                    raise
                skipped[sobject] = f"{getattr(exc, 'error_code', 'ERROR')}: " \
                                   f"{str(getattr(exc, 'message', exc)).strip().splitlines()[0]}"
                continue
            writer.add(f"{sobject}.csv", scratch.stat().st_size, _file_chunks(scratch), 6)
        for arcname, size, blob in _blob_entries(store, options, now):
            writer.add(arcname, size, blob.chunks(), 1)
        parts = writer.finish()
    finally:
        if scratch.exists():
            os.unlink(scratch)
    if not parts:  # nothing selected at all: Salesforce still delivers a (near-empty) zip: UNCONF
        writer._open()
        parts = writer.finish()
    return parts, skipped
