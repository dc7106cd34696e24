"""``sfexit export bulk --since BASE``: a delta export, what changed in the org since BASE.

The window (docs/manifest.md, ``base``):
- start = the base export's ``started_at`` minus :data:`OVERLAP`. A record is in the delta
  when ``SystemModstamp >= start``. The margin covers the two ways a change can carry a stamp
  earlier than the base's start yet be missing from the base: the clock of the machine that
  wrote ``started_at`` running ahead of Salesforce's, and a transaction stamped before the base
  read its object but committed after (SystemModstamp is set when the row is written, not when
  the transaction becomes visible). Five minutes is far above both (NTP keeps clocks within
  a second; Apex governor limits end a transaction's CPU work within seconds to a minute);
  a record changed inside the margin is read twice, harmless since deltas are applied by Id;
- end = the delta's own start; rows changed while the delta runs may be in it too, and are in
  the next delta again (its start is this one's, minus the margin).
- Deletions: every query of a delta is a queryAll (``include_deleted``), so a record deleted
  in the window comes back with ``IsDeleted = true`` and its deletion's SystemModstamp (SOAP API
  "queryAll()": deleted records stay queryable in the Recycle Bin for 15 days). A record
  purged from the Recycle Bin (emptied, or older than 15 days) is gone from queryAll and from
  the replication API's getDeleted alike: take the last delta within 15 days of its base.
- An object without SystemModstamp cannot be filtered: it is read whole, recorded as such
  (its manifest entry has no ``since``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sfexit.errors import UsageError
from sfexit.export.finished import load_finished
from sfexit.export.manifest import MANIFEST_NAME, BaseExport, utc_now
from sfexit.org import soql

OVERLAP = dt.timedelta(minutes=5)
MODSTAMP = "SystemModstamp"


@dataclass(frozen=True)
class DeltaBase:
    """A base export checked for ``--since``: its org and the window it opens."""

    org_id: str
    ref: BaseExport

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.ref.start)


def open_base(directory: Path) -> DeltaBase:
    """The base export in ``directory``, refused unless it is a finished, complete export
    (the checks of ``archive build``). Reads only the disk: called before the org is asked.

    Raises UsageError (exit 2) with one line.
    """
    directory = Path(directory)
    try:
        manifest = load_finished(directory)
    except UsageError as exc:
        raise UsageError(f"--since: {exc.message}",
                         hint="give the directory of a finished `sfexit export bulk`") from None
    started = _parse(manifest.started_at)
    if started is None:
        raise UsageError(f"--since: {directory}/{MANIFEST_NAME} has no readable started_at",
                         hint="give the directory of a finished `sfexit export bulk`")
    sha = hashlib.sha256((directory / MANIFEST_NAME).read_bytes()).hexdigest()
    start = (started - OVERLAP).replace(microsecond=0)
    return DeltaBase(manifest.org_id, BaseExport(
        path=str(directory), manifest_sha256=sha, start=start.isoformat(), end=utc_now(),
        overlap_seconds=int(OVERLAP.total_seconds())))


def check_org(base: DeltaBase, org_id: str, dest: Path) -> None:
    """Raises UsageError when the base is of another org, or ``dest`` is the base itself."""
    if base.org_id[:15] != org_id[:15]:
        raise UsageError(f"--since: {base.ref.path} is a backup of org {base.org_id}, "
                         f"not of {org_id}", hint="give a backup of the org you export")
    if Path(dest).resolve() == Path(base.ref.path).resolve():
        raise UsageError(f"--since: the delta cannot be written into its base {dest}",
                         hint="give a new --dest for the delta")


def object_query(name: str, fields: tuple[str, ...], base: DeltaBase | None) -> str:
    """The SOQL reading ``name``: every row, or in a delta the rows of the window."""
    return soql.select(name, fields, where=window(fields, base))


def window(fields: tuple[str, ...], base: DeltaBase | None) -> list[str]:
    """The WHERE clauses of an object's query: none, or in a delta its window's start."""
    if base is None or since(fields, base) is None:
        return []
    return [soql.condition(MODSTAMP, ">=", base.start)]


def since(fields: tuple[str, ...], base: DeltaBase | None) -> str | None:
    """The SystemModstamp bound of the object's query (None: every row is read)."""
    return base.ref.start if base is not None and MODSTAMP in fields else None


def _parse(value: str | None) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
