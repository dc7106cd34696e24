"""Readers for each section of the report: run.json's step results, the journal, the manifest.

``run.json`` is read defensively (a field of the wrong type becomes "unknown", never a crash):
the report is what an auditor gets after something went wrong, so it must still render. The
journal's change entries are authoritative for what was changed (people/freeze.py,
people/deactivate.py and people/ownership_transfer.py journal each change with its before-state).
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sfexit.errors import UsageError
from sfexit.journal import Entry, read_journal, verify_journal
from sfexit.offboard.notes import verbatim
from sfexit.report.model import (LIMIT_NAMES, CodedWarning, ContractInfo,
                                 ExportDifference,
                                 ExportInfo, ExportObject, JournalInfo, ManualStep, Milestone,
                                 ObjectNeed, OwnershipInfo, OwnershipMove, OwnershipObject, Reason,
                                 PermissionNeed, PreflightInfo, RefundInfo, StepInfo,
                                 StepPermissionsInfo, UserChange, UsersInfo)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _i(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def pick(raw: dict[str, Any], cls: type) -> dict[str, Any]:
    """The fields of dataclass ``cls`` found in ``raw`` (unknown keys ignored)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: (v if isinstance(v, bool) else None) if k == "is_sandbox" else _s(v)
            for k, v in raw.items() if k in names}


# --- journal ------------------------------------------------------------------------------------

def head_recorded_ok(entries: list[Entry], head: str, recorded: str | None,
                     finished: bool) -> bool:
    """Is run.json's journal head this journal's? Once the run finished it is the head; while
    it runs, steps append after run.json is written, so it is the hash of one of its lines."""
    if not recorded:
        return True
    if finished:
        return recorded == head
    return recorded == head or recorded in {e.prev for e in entries[1:]}


def journal_info(path: Path, recorded_head: Any, *, finished: bool) -> JournalInfo:
    if not path.exists():
        return JournalInfo(str(path), False, True, 0, 0, None, _s(recorded_head))
    check = verify_journal(path)
    entries = journal_entries(path) if check.ok else []
    return JournalInfo(str(path), True, check.ok, check.entries,
                       sum(e.kind == "change" for e in entries), check.head_hash,
                       _s(recorded_head), tuple(check.problems),
                       head_recorded_ok(entries, check.head_hash, _s(recorded_head), finished)
                       if check.ok else True)


def journal_entries(path: Path) -> list[Entry]:
    return read_journal(path) if path.exists() else []


# --- steps and limits ---------------------------------------------------------------------------

def _usage(raw: Any) -> dict[str, float]:
    return {k: v for k, v in ((k, _num(v)) for k, v in _d(raw).items()) if v is not None}


def steps(raw: Any) -> tuple[StepInfo, ...]:
    return tuple(StepInfo(str(s.get("name") or "?"), str(s.get("status") or "planned"),
                          _s(s.get("reason")), _s(s.get("started_at")),
                          _s(s.get("finished_at")), _usage(s.get("forecast")),
                          _usage(s.get("used")), _s(s.get("reason_code")),
                          _d(s.get("reason_params")),
                          verbatim(_s(s.get("reason_code")), _d(s.get("reason_params"))))
                 for s in _l(raw) if isinstance(s, dict))


def warnings(texts: Any, codes: Any) -> list[CodedWarning]:
    """run.json's English ``warnings``, each with its code from ``warning_codes`` (matched by
    the text: a warning without a code, e.g. from an older run, is shown as written)."""
    coded = {str(c.get("text")): c for c in (_d(c) for c in _l(codes)) if c.get("code")}
    out = []
    for text in (str(w) for w in _l(texts)):
        c = coded.get(text, {})
        out.append(CodedWarning(text, _s(c.get("code")), _d(c.get("params")),
                                verbatim(_s(c.get("code")), _d(c.get("params")))))
    return out


def limits(raw: Any) -> dict[str, dict[str, float]]:
    return {str(k): _usage(v) for k, v in _d(raw).items()}


# --- contract (rules.ContractPlan as JSON: run.json's contract, `sfexit deadline --json`) -----

def _refund(raw: Any) -> RefundInfo | None:
    r = _d(raw)
    if not r:
        return None
    return RefundInfo(str(r.get("cancel_on")), str(r.get("currency")), str(r.get("paid")),
                      str(r.get("amount")), str(r.get("fee")), _i(r.get("days_unused")),
                      _i(r.get("term_days")), bool(r.get("full_refund")))


def contract(raw: Any) -> ContractInfo | None:
    c = _d(raw)
    if not c.get("contract_start") or not c.get("contract_end"):
        return None
    window = _d(c.get("renewal_window"))
    early = _d(c.get("early"))
    eot = _d(c.get("end_of_term"))
    leave = "early" if c.get("leave") == "early" else "end-of-term"
    milestones = tuple(Milestone(str(m.get("kind")), str(m.get("date")))
                       for m in _l(c.get("timeline")) if isinstance(m, dict) and m.get("date"))
    return ContractInfo(str(c["contract_start"]), str(c["contract_end"]), _i(c.get("term_days")),
                        str(c.get("on") or ""), str(c.get("status") or ""),
                        str(c.get("recommended_notice_date") or ""),
                        str(c.get("notice_deadline") or ""), str(window.get("start") or ""),
                        str(window.get("end") or ""), _s(c.get("renewal_term_end")),
                        _refund(early.get("refund")) if leave == "early" else None,
                        milestones, leave=leave,
                        effective=_s(early.get("effective")) if leave == "early" else None,
                        paid_known=c.get("paid_known") is not False,
                        renews_on=_s(eot.get("renews_on")),
                        next_term_notice_deadline=_s(eot.get("next_term_notice_deadline")))


def manual_steps(raw: Any) -> tuple[ManualStep, ...]:
    """What no API can do, each with the day it is due: the plan's checklist (rules.plan), in
    its order. Without a contract (or a plan without a checklist) the steps, undated."""
    checklist = [i for i in _l(_d(raw).get("checklist")) if isinstance(i, dict)]
    if not checklist:
        return tuple(ManualStep(k, None) for k in ("notice", "billing", "confirmation",
                                                   "invoice", "refund"))
    return tuple(ManualStep(str(i.get("task")), _s(i.get("due")), _s(i.get("amount")),
                            _s(i.get("currency")), _i(i.get("days_late")),
                            bool(i.get("next_term")))
                 for i in checklist)


# --- export (manifest + verify, export/manifest.py and export/verify.py) -----------------------

def export(directory: Path, result: Any) -> ExportInfo | None:
    """The backup as its manifest lists it, re-hashed now; None when the run has no export."""
    from sfexit.export.manifest import MANIFEST_NAME, ManifestStore
    from sfexit.export.verify import verify_backup

    if not (directory / MANIFEST_NAME).exists():
        return _planned_export(_d(result))
    r = _d(result)
    try:
        store = ManifestStore.load(directory)
        m = store.snapshot()
        check = verify_backup(directory)
    except UsageError as exc:   # a manifest that no longer parses: the export cannot be proven
        return ExportInfo(str(directory / MANIFEST_NAME), "", _s(r.get("manifest_sha256")), (),
                          0, 0, 0, 0, (), (), False,
                          (ExportDifference("manifest", MANIFEST_NAME, "unreadable", "",
                                            exc.one_line()),), 0, 0)
    failed = tuple(Reason(str(o.get("name")), str(o.get("reason") or o.get("status") or ""))
                   for o in _l(r.get("failed")) if isinstance(o, dict))
    # file bodies that failed (export/files.py FileProblem): "<Object>/<Id> <name>"
    failed += tuple(Reason(f"{f.get('object')}/{f.get('id')} {f.get('name') or ''}".rstrip(),
                           str(f.get("reason") or ""))
                    for f in _l(_d(r.get("files")).get("failed")) if isinstance(f, dict))
    recorded = _s(r.get("manifest_sha256"))
    diffs = tuple(ExportDifference(d.kind, d.name, d.what, d.expected, d.actual)
                  for d in check.differences)
    if recorded and recorded != check.manifest_sha256:
        diffs += (ExportDifference("manifest", "manifest.json", "sha256", recorded,
                                   check.manifest_sha256),)
    objects = tuple(ExportObject(o.name, o.method, o.rows, o.bytes, o.sha256, o.file, o.complete)
                    for o in sorted(m.objects.values(), key=lambda o: o.name))
    return ExportInfo(
        str(store.path), check.manifest_sha256, recorded, objects,
        sum(o.rows for o in objects), sum(o.bytes for o in objects), len(m.files),
        sum(f.size for f in m.files.values()),
        tuple(Reason(s.name, s.reason) for s in m.skipped), failed, not diffs, diffs,
        m.api_calls, m.bulk_jobs)


def _planned_export(r: dict[str, Any]) -> ExportInfo | None:
    """A dry run's export plan (offboard/survey.py ``planned_result``): counts, no files yet."""
    if not r or "manifest_sha256" in r:
        return None
    objects = tuple(ExportObject(str(o.get("name")), "", _i(o.get("rows")), 0, "", "", True)
                    for o in _l(r.get("objects")) if isinstance(o, dict))
    skipped = tuple(Reason(str(o.get("name")), str(o.get("reason") or ""))
                    for o in _l(r.get("skipped")) if isinstance(o, dict))
    # files_bytes: SUM() of the bodies' sizes in the org (offboard/survey.py ``_file_bytes``)
    return ExportInfo("", "", None, objects, _i(r.get("rows")) or sum(o.rows for o in objects),
                      _i(r.get("estimated_bytes")), _i(r.get("files")), _i(r.get("files_bytes")),
                      skipped, (), True, (), 0, 0, planned=True)


# --- people ------------------------------------------------------------------------------------

def _items(result: Any) -> list[UserChange]:
    out = []
    for i in _l(_d(result).get("items")):
        if not isinstance(i, dict):
            continue
        before, after = i.get("before"), i.get("after")
        code = _s(i.get("status_code"))
        message = _s(i.get("message"))
        out.append(UserChange(
            str(i.get("username") or ""), str(i.get("user_id") or ""), str(i.get("status") or ""),
            before if isinstance(before, dict) else
            (None if before is None else {"IsFrozen": before}),
            after if isinstance(after, dict) else (None if after is None else {"IsFrozen": after}),
            f"{code}: {message}" if code and message else message,
            tuple(str(b) for b in _l(i.get("blockers")))))
    return out


def _overlay(items: list[UserChange], entries: Iterable[Entry], action: str, obj: str,
             status: str) -> tuple[UserChange, ...]:
    """Put the journal's changes over run.json's items: the journal is the proof."""
    by_id = {u.user_id[:15]: u for u in items}
    order = [u.user_id[:15] for u in items]
    for e in entries:
        if e.kind != "change" or e.action != action or e.target.get("object") != obj:
            continue
        uid = str(e.target.get("user_id") or e.target.get("id") or "")[:15]
        old = by_id.get(uid)
        by_id[uid] = UserChange(str(e.target.get("username") or (old.username if old else "")),
                                old.user_id if old else uid, status, e.before, e.after,
                                None, old.blockers if old else (), journaled=True)
        if uid not in order:
            order.append(uid)
    return tuple(by_id[k] for k in order)


def users(freeze: Any, deactivate: Any, entries: list[Entry]) -> UsersInfo:
    refused = [Reason(str(r[0]), str(r[1])) for part in (freeze, deactivate)
               for r in _l(_d(part).get("refused")) if isinstance(r, list) and len(r) == 2]
    deact = _items(deactivate)
    for b in _l(_d(deactivate).get("blockers")):   # BlockerReport list, when the step adds it
        if isinstance(b, dict):
            checks = [c for c in _l(b.get("checks")) if isinstance(c, dict)]
            found = [f"{c.get('source')}: {c.get('detail') or ''}".rstrip(": ")
                     for c in checks if c.get("status") == "found" and c.get("blocks", True)]
            if found and not any(u.user_id == b.get("user_id") for u in deact):
                deact.append(UserChange(str(b.get("username")), str(b.get("user_id")), "blocked",
                                        blockers=tuple(found)))
    return UsersInfo(_overlay(_items(freeze), entries, "freeze", "UserLogin", "frozen"),
                     _overlay(deact, entries, "deactivate", "User", "deactivated"),
                     tuple(dict.fromkeys(refused)))


def names(u: UsersInfo, reassign: Any) -> dict[str, str]:
    """Id (15 characters) → username or queue name, from whatever the run knows."""
    out = {x.user_id[:15]: x.username for x in u.frozen + u.deactivated if x.user_id}
    r = _d(reassign)
    for plan in (r, _d(r.get("plan"))):   # the plan itself, or kept beside the transfer
        for a in _l(plan.get("assignments")):
            for p in (_d(_d(a).get("source")), _d(_d(a).get("target"))):
                if p.get("id"):
                    out[str(p["id"])[:15]] = str(p.get("name") or p["id"])
        for step in _l(plan.get("steps")):
            # ownership.Move (source/target) or offboard's summary of it (from/to), each
            # with the id beside the name
            for m in (_d(m) for m in _l(_d(step).get("moves"))):
                for id_key, keys in (("source_id", ("source", "from")),
                                     ("target_id", ("target", "to"))):
                    name = next((m[k] for k in keys if m.get(k)), None)
                    if m.get(id_key) and name:
                        out.setdefault(str(m[id_key])[:15], str(name))
    return out


def ownership(result: Any, entries: list[Entry], who: dict[str, str]) -> OwnershipInfo:
    """Per object and per user: a transfer's result, or a dry run's plan, or the journal's."""
    r = _d(result)
    def name(i: str) -> str:
        return who.get(i[:15], i)

    objects: dict[str, OwnershipObject] = {}
    moves: list[OwnershipMove] = []
    for o in _l(r.get("objects")):            # ownership_transfer.TransferResult
        o = _d(o)
        sobject = str(o.get("object"))
        objects[sobject] = OwnershipObject(sobject, _i(o.get("rows")), _i(o.get("moved")),
                                           _i(o.get("failed")), _s(o.get("transport")),
                                           _s(o.get("failure_file")))
        for pair, n in _d(o.get("moved_by_pair")).items():
            src, _, dst = str(pair).partition("->")
            moves.append(OwnershipMove(sobject, src, name(src), dst, name(dst), _i(n)))
    if not objects:
        for step in _l(r.get("steps")):       # ownership.OwnershipPlan (a dry run)
            step = _d(step)
            sobject = str(step.get("object"))
            planned = [_d(m) for m in _l(step.get("moves"))]
            total = sum(_i(m.get("count")) for m in planned)
            objects[sobject] = OwnershipObject(sobject, total, total, 0, None)
            # ownership.Move (source/target) or offboard's summary of it (from/to: names)
            moves += [OwnershipMove(sobject, str(m.get("source_id") or ""),
                                    str(m.get("source") or m.get("from") or ""),
                                    str(m.get("target_id") or ""),
                                    str(m.get("target") or m.get("to") or ""),
                                    _i(m.get("count"))) for m in planned]
    if not objects:
        objects, moves = _ownership_from_journal(entries, name)
    return OwnershipInfo(tuple(objects.values()), tuple(moves))


def _ownership_from_journal(entries: list[Entry], name: Callable[[str], str]
                            ) -> tuple[dict[str, OwnershipObject], list[OwnershipMove]]:
    ends = {e.action: e.info for e in entries if e.kind == "step_end"}
    objects: dict[str, OwnershipObject] = {}
    moves: list[OwnershipMove] = []
    for e in entries:
        if e.kind != "change" or e.action != "reassign_owner":
            continue
        sobject = str(e.target.get("object"))
        end = ends.get(f"reassign_owner {sobject}", {})
        rows = _i(e.target.get("rows"))
        objects[sobject] = OwnershipObject(sobject, rows, _i(end.get("moved", rows)),
                                           _i(end.get("failed")), _s(e.info.get("transport")),
                                           _s(end.get("failure_file")))
        before = _d(_d(e.before).get("owners"))
        after = _d(_d(e.after).get("owners"))
        if len(before) == 1 and len(after) == 1:   # one giver, one taker: the pair is known
            (src, _), (dst, _) = next(iter(before.items())), next(iter(after.items()))
            moves.append(OwnershipMove(sobject, src, name(src), dst, name(dst),
                                       objects[sobject].moved))
    return objects, moves


# --- intents without an outcome (sfexit.journal) ---------------------------------------------

UNCONFIRMED_WARNING = ("{count} changes were sent to Salesforce but the run stopped before "
                       "journaling whether they were applied: they are listed as unconfirmed; "
                       "`sfexit offboard --resume` reads the org and records them")
UNCONFIRMED = ("the journal records the intent, not whether Salesforce applied it (the run "
               "stopped during the call)")
# (object, action) of an intent → the UsersInfo group it belongs to
_GROUPS = {("UserLogin", "freeze"): "frozen", ("User", "deactivate"): "deactivated"}


def with_unconfirmed(users: UsersInfo, pending: list[Entry]) -> UsersInfo:
    """Users whose change the journal intended but never confirmed: status ``unconfirmed``,
    neither counted as changed nor dropped (only the org can say; the next run reads it)."""
    groups = {g: {u.user_id[:15]: u for u in getattr(users, g)} for g in _GROUPS.values()}
    for e in pending:
        group = groups.get(_GROUPS.get((str(e.target.get("object")), e.action), ""))
        if group is None:
            continue   # an undo's intent: counted in the warning only
        uid = str(e.target.get("user_id") or e.target.get("id") or "")
        old = group.get(uid[:15])
        group[uid[:15]] = UserChange(str(e.target.get("username") or ""), old.user_id if old
                                     else uid, "unconfirmed", e.before, e.after, UNCONFIRMED,
                                     old.blockers if old else ())
    return replace(users, **{g: tuple(v.values()) for g, v in groups.items()})


# --- preflight: what each step needs of the running user ------------------------------------

def preflight(result: Any) -> PreflightInfo | None:
    """The preflight step's ``permission_checks`` (offboard/survey.py); None for a run that
    has none (older run.json, a preflight that did not finish)."""
    checks = _d(result).get("permission_checks")
    if not isinstance(checks, list):
        return None
    steps = []
    for c in (_d(c) for c in checks):
        needs = tuple(PermissionNeed(str(r.get("code") or ""),
                                     tuple(str(n) for n in _l(r.get("needs"))),
                                     str(r.get("status") or "unknown"), _s(r.get("consequence")),
                                     _object_needs(r.get("objects")))
                      for r in (_d(r) for r in _l(c.get("requirements"))))
        steps.append(StepPermissionsInfo(str(c.get("step") or "?"), c.get("refused") is True,
                                         _s(c.get("refusal")), needs))
    return PreflightInfo(tuple(steps))


def _object_needs(raw: Any) -> tuple[ObjectNeed, ...]:
    return tuple(ObjectNeed(str(o.get("object") or "?"), str(o.get("status") or "unknown"),
                            _s(o.get("lacks")), int(_num(o.get("records")) or 0))
                 for o in (_d(o) for o in _l(raw)))


__all__ = ["LIMIT_NAMES", "contract", "export", "journal_info", "manual_steps", "ownership",
           "preflight", "steps", "users"]
