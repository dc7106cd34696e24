"""Which objects and which fields a full backup reads, from describe global and each describe.

Rules (export-pitfalls.md B, D; Bulk API 2.0 Developer Guide, "Create a Query Job"):
- every object describe global marks ``queryable``; the others are skipped with that reason;
- compound address/geolocation fields (type ``address``/``location``) are refused by Bulk:
  their components (``BillingStreet``, ``BillingLatitude``…) are in the describe on their own
  and are exported instead;
- base64 fields (Attachment.Body, Document.Body, ContentVersion.VersionData) are not served by
  Bulk: the files step downloads each body (``files/<Object>/``).
The describe of every exported object is saved to ``schema/<Object>.json`` beside the data.
One export describes each object once: the preflight's describes (its permission and row-width
reads) are kept in a :class:`DescribeCache` and handed to the data step.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfexit.errors import UsageError, did_you_mean
from sfexit.export.finished import SCHEMA_DIR
from sfexit.export.manifest import SkippedField, SkippedObject
from sfexit.ondisk import atomic_write
from sfexit.org.rest import RestClient

COMPOUND_TYPES = frozenset({"address", "location"})
BASE64_REASON = "base64 body: not served by the Bulk API; downloaded by the files step"
COMPOUND_REASON = "compound field: refused by the Bulk API; its component fields are exported"


@dataclass(frozen=True)
class ObjectPlan:
    """What to read for one object."""

    name: str
    fields: tuple[str, ...]
    skipped_fields: tuple[SkippedField, ...]
    kinds: tuple[str, ...] = ()     # describe type of each field, in order (csvsink.csv_field)
    long_text: bool = False         # a long-text/rich-text field is selected: REST pages of 200
    max_row_bytes: int = 0          # the widest CSV row the fields allow (row_bytes_bound)


@dataclass(frozen=True)
class Selection:
    objects: tuple[str, ...]
    skipped: tuple[SkippedObject, ...]


def select_objects(rest: RestClient, only: Iterable[str] | None = None) -> Selection:
    """The queryable objects of the org (all, or those named in ``only``), sorted by name.

    Raises UsageError for a name in ``only`` that the org does not have.
    """
    described = {str(o["name"]): o for o in rest.describe_global()}
    by_lower = {name.lower(): name for name in described}
    if only:
        names = []
        for wanted in only:
            found = by_lower.get(wanted.strip().lower())
            if found is None:
                raise UsageError(f"--objects: the org has no object named {wanted.strip()!r}"
                                 + did_you_mean(wanted.strip(), described),
                                 hint="names are API names, e.g. Account,Invoice__c")
            if found not in names:
                names.append(found)
    else:
        names = list(described)
    chosen, skipped = [], []
    for name in sorted(names):
        if described[name].get("queryable"):
            chosen.append(name)
        else:
            skipped.append(SkippedObject(name, "not queryable (describe global: queryable "
                                               "false)"))
    return Selection(tuple(chosen), tuple(skipped))


def plan_fields(describe: dict[str, Any]) -> ObjectPlan:
    """Every field Bulk can return, in describe order; the rest with their reasons."""
    fields: list[str] = []
    kinds: list[str] = []
    skipped: list[SkippedField] = []
    long_text = False
    for f in describe.get("fields", []):
        name, kind = str(f["name"]), str(f.get("type", ""))
        if kind in COMPOUND_TYPES:
            skipped.append(SkippedField(name, COMPOUND_REASON))
        elif kind == "base64":
            skipped.append(SkippedField(name, BASE64_REASON))
        else:
            fields.append(name)
            kinds.append(kind)
            long_text = long_text or is_long_text(f)
    chosen = set(fields)
    widest = 1 + sum(field_bytes_bound(f) for f in describe.get("fields", [])
                     if str(f["name"]) in chosen)
    return ObjectPlan(str(describe["name"]), tuple(fields), tuple(skipped), tuple(kinds),
                      long_text, widest)


# A field's value with no byteLength in its describe (numbers, dates, booleans, anyType history
# values): at most 255 characters (the longest of these is a history value, 255).
UNSIZED_CHARS = 255


def field_bytes_bound(field: dict[str, Any]) -> int:
    """The most bytes one field takes in a CSV row: its describe ``byteLength`` (the UTF-8 bytes
    of its ``length`` characters, 3 each), every byte a doubled quote at worst, its two quotes
    and comma. The budget gate admits the first objects with this bound before the row width
    is sampled (budget_gate.BudgetGate.admit_object), so it errs high."""
    size = int(field.get("byteLength") or 0) or 3 * int(field.get("length") or 0) \
        or 3 * UNSIZED_CHARS
    return 2 * size + 3


def is_long_text(field: dict[str, Any]) -> bool:
    """A Long Text Area or Rich Text Area: a ``textarea`` longer than 255 characters (a query
    selecting one is paged by 200 rows: schedule.REST_PAGE_ROWS_LONG_TEXT)."""
    return field.get("type") == "textarea" and int(field.get("length") or 0) > 255


class DescribeCache:
    """Describes made early in one export run (the preflight's), kept for the data step.

    :meth:`get` describes an object at most once, also when two threads ask at the same time;
    :meth:`take` hands a kept describe over and drops it, so the cache holds only the few the
    preflight made, never every object of a 900-object org. A describe that failed is not kept
    (the next caller asks again and handles the error its own way). The dicts are shared:
    callers must not change them (the data step saves them as they came).
    """

    def __init__(self, *, held: bool = False) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, Future[dict[str, Any]]] = {}
        # While held, a describe taken stays kept (until :meth:`release`): the export's first
        # jobs take describes that the preflight's sample, beside them, may still ask for.
        self._held = held
        self._taken: set[str] = set()

    def release(self) -> None:
        """Stop holding: the describes taken so far are no longer kept."""
        with self._lock:
            self._held = False
            for name in self._taken:
                self._kept.pop(name, None)
            self._taken.clear()

    def get(self, rest: RestClient, name: str) -> dict[str, Any]:
        """The describe of ``name``, read once and kept. Raises what ``rest.describe`` raises."""
        with self._lock:
            kept = self._kept.get(name)
            mine = kept is None
            if kept is None:
                kept = self._kept[name] = Future()
        if mine:
            try:
                kept.set_result(rest.describe(name))
            except BaseException as exc:
                with self._lock:
                    self._kept.pop(name, None)
                kept.set_exception(exc)
                raise
        return kept.result()

    def take(self, rest: RestClient, name: str) -> dict[str, Any]:
        """The kept describe of ``name`` (no longer kept, unless held), else a new one, not
        kept."""
        with self._lock:
            if self._held:
                kept = self._kept.get(name)
                self._taken.add(name)
            else:
                kept = self._kept.pop(name, None)
        if kept is None or kept.exception() is not None:
            return rest.describe(name)
        return kept.result()


def describe_and_save(rest: RestClient, name: str, dest: Path,
                      describes: DescribeCache | None = None) -> ObjectPlan:
    """Describe ``name`` (or take the preflight's describe from ``describes``), save it to
    ``schema/<name>.json``, and plan its fields."""
    describe = describes.take(rest, name) if describes is not None else rest.describe(name)
    schema_dir = dest / SCHEMA_DIR
    schema_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(schema_dir / f"{name}.json",
                 json.dumps(describe, indent=1, sort_keys=True, ensure_ascii=False)
                 .encode("utf-8"))
    return plan_fields(describe)
