"""The orgs bench/peers.py measures (issue 23's sizes) and the ideal schedule it compares with.

Sizes: the seeded org has 39 exportable objects and about one row per ``--records``; custom
objects (emulator ``--schema``, rows created over sObject Collections before anything is timed)
bring it to the issue's 40+ / 50+ objects, the way real orgs hold many small custom objects.

The ideal schedule (issue 23, "The limit line") under the emulator's model (its own costs.py,
the profile being measured, the run's latency): each object's cheapest read, REST pages one
after the other or one Bulk job (create, fixed cost, bytes processed, one status read, result
pages downloaded side by side as ``resultPages`` allows), and

    ideal = max(the largest object's cheapest time, total work / allowed concurrency)

with the allowed concurrency Salesforce's 25 long-running requests (limits.md "concurrency").
It leaves out what every client pays before reading (process start, login, describes): a
floor no tool reaches, which is the point of it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from sfexit_emulator import testing

CONCURRENCY = 25          # long-running requests at once (limits.md "concurrency")
REST_PAGE = 2000          # rows per REST page; 200 with a long-text field (routes/query.py)
REST_PAGE_LONG_TEXT = 200
RESULT_PAGE_ROWS = 50_000  # sfexit's maxRecords (bulk2.DEFAULT_MAX_RECORDS)


@dataclass(frozen=True)
class Size:
    records: int           # sfexit-emulator --records (about one row each)
    custom_objects: int    # extra custom objects ...
    custom_rows: int       # ... with this many rows each


# The table: 20k rows / 40+ objects, 200k / 40+, 1M / 50+ (all fields: sfexit and
# every peer read every field sfexit selects).
SIZES = {"20k": Size(20_000, 4, 150), "200k": Size(200_000, 4, 1_500),
         "1m": Size(1_000_000, 14, 3_000)}
TARGETS = {"20k": {"sf_seq": 5, "sf_x4": 2, "jsforce": 3, "ssf_bulk2": 5, "query_all": 1.5},
           "200k": {"sf_seq": 5, "sf_x4": 2, "jsforce": 4, "ssf_bulk2": 4, "query_all": 4},
           "1m": {"sf_seq": 5, "sf_x4": 2, "jsforce": 4, "ssf_bulk2": 4, "query_all": 10}}
IDEAL_TARGET = 1.10


def schema(size: Size) -> dict[str, Any]:
    """Custom objects of a few field types, one with a long-text field (REST pages of 200)."""
    fields = [{"name": "Amount__c", "type": "currency"}, {"name": "Due__c", "type": "date"},
              {"name": "Status__c", "type": "picklist", "values": ["Open", "Closed"]},
              {"name": "Code__c", "type": "string", "length": 40}]
    notes = {"name": "Notes__c", "type": "textarea", "length": 4000}
    return {"objects": {f"Bench{n:02d}__c": {
        "label": f"Bench {n}", "fields": fields + ([notes] if n % 2 else [])}
        for n in range(size.custom_objects)}}


def fill(url: str, token: str, ca: Path, size: Size) -> None:
    """Create the custom objects' rows, 200 a call (before the cost model is switched on)."""
    http = requests.Session()
    http.verify = str(ca)
    http.trust_env = False   # REQUESTS_CA_BUNDLE would replace the emulator's CA
    http.headers["Authorization"] = f"Bearer {token}"
    version = http.get(f"{url}/services/data", timeout=30).json()[-1]["url"]
    for name, spec in schema(size)["objects"].items():
        long_text = any(f["name"] == "Notes__c" for f in spec["fields"])
        for first in range(0, size.custom_rows, 200):
            records = [{"attributes": {"type": name}, "Name": f"{name} {i}",
                        "Amount__c": round(i * 1.25, 2), "Due__c": f"2026-{1 + i % 12:02d}-15",
                        "Status__c": "Open" if i % 3 else "Closed", "Code__c": f"C-{i:06d}",
                        **({"Notes__c": f"note {i} ✓ " * 20} if long_text else {})}
                       for i in range(first, min(first + 200, size.custom_rows))]
            answer = http.post(f"{url}{version}/composite/sobjects", timeout=120,
                               json={"allOrNone": True, "records": records})
            answer.raise_for_status()
            if not all(r.get("success") for r in answer.json()):
                raise SystemExit(f"creating {name} rows failed: {answer.text[:500]}")


@dataclass(frozen=True)
class Ideal:
    seconds: float
    largest: str
    largest_seconds: float
    work: float


def ideal(backup: Path, bulk_objects: set[str], profile: str, latency_ms: float,
          split: bool = False) -> Ideal:
    """The ideal schedule for the objects of sfexit's ``backup`` (its manifest's rows and
    bytes, its schema/ describes for long text); ``bulk_objects`` are those Bulk accepts.

    ``split``: a SECOND figure, ``ideal_split``, not the issue's (which treats an object as
    indivisible): an object may also be read over REST in Id ranges (sfexit/export/
    rest_ranges.py), one page each, CONCURRENCY at once, after one page's time for its first
    and last Id: time (1 + ceil(pages / 25)) pages, work (pages + 2) pages (each range and
    both bounds are a request). Splitting shortens an object but adds work, so each object's
    option is chosen for the whole schedule (:func:`_best_split`), not for itself."""
    model = testing.cost_profile(profile)
    trip = latency_ms / 1000 + model.call_seconds()
    manifest = json.loads((backup / "manifest.json").read_text())
    options_of: dict[str, list[tuple[float, float]]] = {}
    for name, entry in manifest["objects"].items():
        rows, size = int(entry["rows"]), int(entry["bytes"])
        page = REST_PAGE_LONG_TEXT if _long_text(backup, name, entry["query"]) else REST_PAGE
        page_s = trip + model.query_page_seconds(0, 0)
        pages = max(1, math.ceil(rows / page))
        options = [(pages * page_s, pages * page_s)]        # (time, work)
        if split and pages > 1:
            options.append(((1 + math.ceil(pages / CONCURRENCY)) * page_s,
                            (pages + 2) * page_s))
        if name in bulk_objects:
            result_pages = max(1, math.ceil(rows / RESULT_PAGE_ROWS))
            bulk = (3 * trip + model.bulk_queue_seconds() + model.bulk_run_seconds(size)
                    + model.download_seconds(math.ceil(size / result_pages)))
            options.append((bulk, bulk))
        options_of[name] = options
    if split:
        return _best_split(options_of)
    cheapest = {name: min(options)[0] for name, options in options_of.items()}
    largest = max(cheapest, key=lambda n: cheapest[n])
    work = sum(cheapest.values())
    return Ideal(max(cheapest[largest], work / CONCURRENCY), largest, cheapest[largest], work)


def _best_split(options_of: dict[str, list[tuple[float, float]]]) -> Ideal:
    """For each bound on an object's time (each option's time), every object takes its
    least-work option within it; the best of max(the longest taken, work / CONCURRENCY)."""
    best: Ideal | None = None
    floor = max(min(t for t, _ in options) for options in options_of.values())
    for bound in sorted({t for options in options_of.values() for t, _ in options
                         if t >= floor}):
        taken = {name: min((w, t) for t, w in options if t <= bound)
                 for name, options in options_of.items()}
        longest = max(taken, key=lambda n: taken[n][1])
        work = sum(w for w, _ in taken.values())
        found = Ideal(max(taken[longest][1], work / CONCURRENCY), longest, taken[longest][1],
                      work)
        if best is None or found.seconds < best.seconds:
            best = found
    assert best is not None
    return best


def _long_text(backup: Path, name: str, query: str) -> bool:
    selected = set(query[len("SELECT "):query.index(" FROM ")].split(", "))
    describe = json.loads((backup / "schema" / f"{name}.json").read_text())
    return any(f["name"] in selected and f["type"] == "textarea" and int(f.get("length") or 0)
               > 255 for f in describe["fields"])
