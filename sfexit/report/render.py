"""``report.json`` and ``report.html`` from the :class:`~sfexit.report.model.Report`.

report.html is ONE self-contained file for people: inline CSS, an inline SVG timeline, no
script, no external asset (it is mailed, archived and printed). Every value from the org or
the run directory is escaped with ``html.escape`` (org data is hostile text: a record name
can hold ``<script>``); the catalogue's words are escaped too (``html_parts``). Print: each
section starts on a new page, table headers repeat and rows never split (CSS Paged Media,
``break-inside``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from sfexit.ondisk import atomic_write
from sfexit.report.html_parts import (coded_html, e, english_cell, object_problem, para, prose,
                                      refusal_cell,
                                      section, state_text, status_text, step_name, step_reason,
                                      table, user_status)
from sfexit.report.i18n import Catalogue
from sfexit.report.model import LIMIT_NAMES, ContractInfo, PreflightInfo, Report, UserChange
from sfexit.report.timeline import timeline_svg


def report_json(report: Report) -> str:
    """The versioned JSON document (schema in docs/report.md)."""
    body = dataclasses.asdict(report)
    for step in (body.get("preflight") or {}).get("permissions", []):
        for need in step["requirements"]:
            if not need["objects"]:   # as in run.json: only the per-object check has them
                del need["objects"]
    body["is_plan"] = report.is_plan
    body["failures"] = report.failures
    return json.dumps(body, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write_outputs(report: Report, cat: Catalogue, json_path: Path, html_path: Path) -> None:
    """Both files, each written atomically (a reader never sees half a report)."""
    atomic_write(json_path, report_json(report).encode("utf-8"))
    atomic_write(html_path, render_html(report, cat).encode("utf-8"))


# --- sections ------------------------------------------------------------------------------------

def _header(r: Report, cat: Catalogue) -> str:
    mode = cat.t("report.mode_plan" if r.is_plan else "report.mode_real")
    org = r.org.name or r.org.id or cat.t("report.unknown")
    facts = [
        (cat.t("report.facts_org"),
         " ".join(x for x in (r.org.name, r.org.id, r.org.instance_url) if x)),
        (cat.t("report.facts_edition"), r.org.edition or cat.t("report.unknown")),
        (cat.t("report.facts_sandbox"), cat.t("report.unknown") if r.org.is_sandbox is None
         else cat.t("report.yes" if r.org.is_sandbox else "report.no")),
        (cat.t("report.facts_operator"), " ".join(x for x in (r.operator.username,
                                                              r.operator.profile) if x)),
        (cat.t("report.facts_started"), cat.datetime(r.started_at)),
        (cat.t("report.facts_finished"), cat.datetime(r.finished_at)),
        (cat.t("report.facts_tool"), r.tool_version or r.report_tool_version),
    ]
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    banners = ""
    if r.is_plan:
        banners += f'<div class="banner plan" role="note">{e(cat.t("report.plan_banner"))}</div>'
    if not r.verification_ok:
        banners += (f'<div class="banner bad" role="alert">'
                    f'{e(cat.t("report.verification_failed_banner"))}</div>')
    subtitle = cat.t("report.subtitle", org=org, mode=mode, generated=cat.date(r.generated_at))
    return (f"<header><h1>{e(cat.t('report.title'))}</h1><p class='sub'>{e(subtitle)}</p>"
            f"{banners}<table class='facts'>{rows}</table></header>")


def _summary(r: Report, cat: Catalogue) -> str:
    plan = "_plan" if r.is_plan else ""
    done: list[str] = []
    if r.export is not None:
        done.append(cat.t("report.sum_export_plan" if r.is_plan else "report.sum_export",
                          objects=cat.number(len(r.export.objects)),
                          rows=cat.number(r.export.rows), files=cat.number(r.export.files),
                          size=cat.size(r.export.bytes + r.export.files_bytes)))
    else:
        done.append(cat.t("report.sum_no_export"))
    u = r.users
    changed = u.count("frozen", "would freeze", "frozen")
    kept = u.count("frozen", "leave: already frozen")
    if u.frozen:
        done.append(cat.t(f"report.sum_frozen{plan}", count=cat.number(changed),
                          kept=cat.number(kept)))
    if u.deactivated:
        done.append(cat.t(f"report.sum_deactivated{plan}", count=cat.number(
            u.count("deactivated", "would deactivate", "deactivated"))))
    if r.ownership.objects:
        done.append(cat.t(f"report.sum_moved{plan}", count=cat.number(r.ownership.moved)))
    left: list[tuple[str, str]] = []
    if r.failures:
        left.append((cat.t("report.sum_failures", count=cat.number(r.failures)), "bad"))
    for s in r.steps:
        if s.status == "skipped":
            left.append((cat.t("report.sum_skipped_step", step=step_name(cat, s.name),
                               reason=step_reason(cat, s) or cat.t("report.unknown")), ""))
    if r.is_plan:
        left.append((cat.t("report.sum_real_run"), ""))
    due = [m.due for m in r.manual_steps if m.due]
    upcoming = sorted(d for d in due if d >= (r.contract.on if r.contract else ""))
    left.append((cat.t("report.sum_manual", count=len(r.manual_steps),
                       date=cat.date(upcoming[0] if upcoming else due[0])) if due
                 else cat.t("report.sum_manual_nodate"), ""))
    late = [m for m in r.manual_steps if m.days_late and m.due]
    if late:
        left.append((cat.t("report.sum_manual_overdue", count=cat.number(len(late)),
                           date=cat.date(late[0].due)), "bad"))
    # A plan writes no journal and no export: claiming they "verify" would mislead an auditor.
    proof_key = ("report.sum_proof_plan" if r.is_plan else
                 "report.sum_proof_ok" if r.verification_ok else "report.sum_proof_bad")
    proof = cat.t(proof_key)
    items_done = "".join(f"<li>{e(t)}</li>" for t in done)
    items_left = "".join(f'<li class="{c}">{e(t)}</li>' for t, c in left)
    return section("summary", cat.t("report.section_summary"), (
        f"<div class='cols'><div><h3>{e(cat.t('report.done_heading'))}</h3><ul>{items_done}</ul>"
        f"</div><div><h3>{e(cat.t('report.left_heading'))}</h3><ul>{items_left}</ul></div></div>"
        + para(proof, "ok" if r.verification_ok else "bad") + _permissions(r.preflight, cat)))


def _needs(cat: Catalogue, code: str, needs: tuple[str, ...]) -> str:
    """Salesforce's permission names as its API and setup pages write them, marked English;
    "any one of them" in the reader's language."""
    if not needs:
        key = f"report.perm_needs_{code}"
        return e(cat.t(key) if cat.has(key) else code)
    out = f'<span lang="en">{e(needs[0])}</span>'
    for name in needs[1:]:   # the words escaped first, then the (escaped) names put in
        out = e(cat.messages["report.perm_or"]).format(
            first=out, second=f'<span lang="en">{e(name)}</span>')
    return out


def _permissions(pre: PreflightInfo | None, cat: Catalogue) -> str:
    """What each step that runs needs of the running user (the preflight read it before any
    change); what is not granted is highlighted, with what it costs."""
    if pre is None or not pre.permissions:
        return ""
    rows, notes = [], []
    for c in pre.permissions:
        step = step_name(cat, c.step)
        if c.refused:
            notes.append(para(cat.t("report.perm_refused", step=step, skip=c.step), "bad"))
        for r in c.requirements:
            key = f"report.perm_missed_{r.code}"
            missed = "" if r.status == "granted" else (
                e(cat.t(key)) if cat.has(key) else e(r.consequence or ""))
            missed += "".join(f"<br>{e(text)}" for text in (
                object_problem(cat, {"object": o.object, "lacks": o.lacks, "records": o.records})
                for o in r.objects if o.status != "granted") if text)
            status_key = "report.perm_status_" + r.status.replace(" ", "_")
            status = cat.t(status_key) if cat.has(status_key) else r.status
            rows.append(([e(step), _needs(cat, r.code, r.needs), e(status), missed],
                         r.status in ("missing", "unknown")))
    grid = table([cat.t("report.col_step"), cat.t("report.col_needs"),
                  cat.t("report.col_status"), cat.t("report.col_without")], rows, "perms")
    return (f"<h3 id=\"permissions\">{e(cat.t('report.perm_heading'))}</h3>"
            + para(cat.t("report.perm_intro")) + "".join(notes) + grid)


def _contract(r: Report, cat: Catalogue) -> str:
    """The term, where it stands, the chosen way of leaving and its money: one plan
    (rules.plan), the same as `sfexit deadline` and `sfexit notice`."""
    c = r.contract
    if c is None:
        return section("contract", cat.t("report.section_contract"),
                       para(cat.t("report.contract_none")))
    parts = [para(cat.t("report.contract_term", start=cat.date(c.start), end=cat.date(c.end),
                        days=cat.number(c.term_days), renews=cat.date(c.renews_on)))]
    if c.leave == "early":
        parts.append(para(cat.t("report.contract_leave_early", date=cat.date(c.effective))))
    else:
        parts.append(_status(c, cat))
        if c.status != "deadline-passed":   # once passed, the status says what happens
            parts.append(para(cat.t("report.contract_leave_end", end=cat.date(c.end))))
    parts.append(timeline_svg(c, cat))
    if c.leave == "early":
        parts.append(_refund(c, cat))
    return section("contract", cat.t("report.section_contract"), "".join(parts))


def _status(c: ContractInfo, cat: Catalogue) -> str:
    if c.status == "deadline-passed":
        return para(cat.t("report.contract_status_late", date=cat.date(c.renews_on or c.end),
                          until=cat.date(c.renewal_term_end),
                          next_deadline=cat.date(c.next_term_notice_deadline)), "bad")
    if c.status == "recommended-date-passed":
        return para(cat.t("report.contract_status_recommended",
                          date=cat.date(c.notice_deadline)))
    return para(cat.t("report.contract_status_safe", date=cat.date(c.recommended_notice_date)))


def _refund(c: ContractInfo, cat: Catalogue) -> str:
    f = c.refund
    if f is None:
        return para(cat.t("report.refund_unknown"))
    if f.full_refund:
        return para(cat.t("report.refund_full", date=cat.date(f.cancel_on),
                          amount=cat.money(f.amount, f.currency)))
    return para(cat.t("report.refund_amount", date=cat.date(f.cancel_on),
                      amount=cat.money(f.amount, f.currency), paid=cat.money(f.paid, f.currency),
                      unused=cat.number(f.days_unused), term=cat.number(f.term_days),
                      fee=cat.money(f.fee, f.currency)))


def _manual(r: Report, cat: Catalogue) -> str:
    """The person's checklist in date order (the plan's); overdue rows in red, days late."""
    rows = []
    for m in r.manual_steps:
        if m.key == "refund":
            text = (cat.t("report.manual_refund", amount=cat.money(m.amount, m.currency))
                    if m.amount and m.currency else cat.t("report.manual_refund_any"))
        else:
            text = cat.t(f"report.manual_{m.key}")
        if m.next_term and r.contract is not None:
            text += " " + cat.t("report.manual_next_term",
                                end=cat.date(r.contract.renewal_term_end))
        due = e(cat.date(m.due))
        if m.days_late:
            late = (cat.t("report.manual_late_one") if m.days_late == 1
                    else cat.t("report.manual_late", days=cat.number(m.days_late)))
            due += f'<br><strong class="late">{e(late)}</strong>'
        rows.append((["<span class='box'>&#9744;</span>", prose(text), due], m.days_late > 0))
    return section("manual", cat.t("report.section_manual"), table(
        [cat.t("report.col_done"), cat.t("report.col_what"), cat.t("report.col_by")], rows,
        "manual"))


def _export(r: Report, cat: Catalogue) -> str:
    x = r.export
    if x is None:
        return section("export", cat.t("report.section_export"), para(cat.t("report.export_none")))
    parts = [para(cat.t("report.export_totals", objects=cat.number(len(x.objects)),
                        rows=cat.number(x.rows), size=cat.size(x.bytes),
                        files=cat.number(x.files), files_size=cat.size(x.files_bytes)))]
    if x.planned:   # a dry run: what would be exported, nothing on disk to hash
        parts.append(table([cat.t("report.col_object"), cat.t("report.col_rows")],
                           [([e(o.name), e(cat.number(o.rows))], False) for o in x.objects],
                           numeric=frozenset({1})))
    else:
        parts.append(para(cat.t("report.export_manifest", path=x.manifest_path,
                                sha256=x.manifest_sha256), "mono"))
        parts.append(table(
            [cat.t("report.col_object"), cat.t("report.col_rows"), cat.t("report.col_size"),
             cat.t("report.col_method"), cat.t("report.col_sha256")],
            [([e(o.name), e(cat.number(o.rows)), e(cat.size(o.bytes)), e(o.method),
               f"<code>{e(o.sha256)}</code>"], not o.complete) for o in x.objects],
            numeric=frozenset({1, 2})))
    if x.failed:
        parts += [f"<h3>{e(cat.t('report.export_failed'))}</h3>", table(
            [cat.t("report.col_object"), cat.t("report.col_reason")],
            [([e(s.name), english_cell(s.reason)], True) for s in x.failed])]
    if x.skipped:
        parts += [f"<h3>{e(cat.t('report.export_skipped'))}</h3>", table(
            [cat.t("report.col_object"), cat.t("report.col_reason")],
            [([e(s.name), english_cell(s.reason)], False) for s in x.skipped])]
    return section("export", cat.t("report.section_export"), "".join(parts))


def _user_rows(cat: Catalogue, users: tuple[UserChange, ...]) -> list[tuple[list[str], bool]]:
    return [([e(u.username), e(user_status(cat, u.status)), e(state_text(u.before)),
              e(state_text(u.after)), english_cell(u.message)], u.failed) for u in users]


def _users(r: Report, cat: Catalogue) -> str:
    u = r.users
    if not (u.frozen or u.deactivated or u.refused):
        return section("users", cat.t("report.section_users"), para(cat.t("report.users_none")))
    cols = [cat.t("report.col_username"), cat.t("report.col_status"), cat.t("report.col_before"),
            cat.t("report.col_after"), cat.t("report.col_message")]
    parts = []
    if u.frozen:
        parts += [f"<h3>{e(cat.t('report.users_frozen'))}</h3>",
                  table(cols, _user_rows(cat, u.frozen))]
    if u.deactivated:
        parts += [f"<h3>{e(cat.t('report.users_deactivated'))}</h3>",
                  table(cols, _user_rows(cat, u.deactivated))]
    if u.refused:
        parts += [f"<h3>{e(cat.t('report.users_refused'))}</h3>", table(
            [cat.t("report.col_username"), cat.t("report.col_reason")],
            [([e(x.name), refusal_cell(cat, x.reason)], False) for x in u.refused])]
    return section("users", cat.t("report.section_users"), "".join(parts))


def _ownership(r: Report, cat: Catalogue) -> str:
    o = r.ownership
    if not o.objects:
        return section("ownership", cat.t("report.section_ownership"),
                       para(cat.t("report.ownership_none")))
    per_object = table(
        [cat.t("report.col_object"), cat.t("report.col_rows"), cat.t("report.col_moved"),
         cat.t("report.col_failed"), cat.t("report.col_transport"),
         cat.t("report.col_failure_file")],
        [([e(x.object), e(cat.number(x.rows)), e(cat.number(x.moved)), e(cat.number(x.failed)),
           e(x.transport or ""), e(x.failure_file or "")], x.failed > 0) for x in o.objects],
        numeric=frozenset({1, 2, 3}))
    per_user = table(
        [cat.t("report.col_from"), cat.t("report.col_to"), cat.t("report.col_object"),
         cat.t("report.col_count")],
        [([e(m.from_name), e(m.to_name), e(m.object), e(cat.number(m.count))], False)
         for m in o.moves], numeric=frozenset({3}))
    return section("ownership", cat.t("report.section_ownership"), (
        f"<h3>{e(cat.t('report.ownership_per_object'))}</h3>{per_object}"
        f"<h3>{e(cat.t('report.ownership_per_user'))}</h3>{per_user}"))


def _blockers(r: Report, cat: Catalogue) -> str:
    if not r.blockers:
        return section("blockers", cat.t("report.section_blockers"),
                       para(cat.t("report.blockers_none")))
    return section("blockers", cat.t("report.section_blockers"), table(
        [cat.t("report.col_username"), cat.t("report.col_status"), cat.t("report.col_blockers"),
         cat.t("report.col_message")],
        [([e(b.username), e(user_status(cat, b.status)),
           "<br>".join(e(x) for x in b.blockers), english_cell(b.message)], True)
         for b in r.blockers]))


def _steps(r: Report, cat: Catalogue) -> str:
    rows = []
    for s in r.steps:
        usage = "<br>".join(
            e(f"{cat.t('report.limit_' + k)}: {cat.number(s.used.get(k))} / "
              f"{cat.number(s.forecast.get(k))}")
            for k in LIMIT_NAMES if k in s.used or k in s.forecast)
        reason = coded_html(cat, s.reason_code, s.reason_params, s.reason) if s.reason else ""
        rows.append(([e(step_name(cat, s.name)), e(status_text(cat, s.status)), reason,
                      usage], s.status in ("failed", "partial")))
    head = [cat.t("report.col_step"), cat.t("report.col_status"), cat.t("report.col_reason"),
            f"{cat.t('report.col_used')} / {cat.t('report.col_forecast')}"]
    return section("steps", cat.t("report.section_steps"),
                   table(head, rows) if rows else para(cat.t("report.none")))


def _proof(r: Report, cat: Catalogue) -> str:
    j = r.journal
    parts = []
    if not j.present:
        parts.append(para(cat.t("report.proof_journal_missing")))
    elif j.ok:
        parts.append(para(cat.t("report.proof_journal_ok", path=j.path,
                                entries=cat.number(j.entries), head=j.head_hash), "ok mono"))
    else:
        parts.append(para(cat.t("report.proof_journal_bad", path=j.path), "bad"))
        parts.append("<ul class='bad'>" + "".join(f"<li>{e(p)}</li>" for p in j.problems)
                     + "</ul>")
    if j.present and not j.head_matches:
        parts.append(para(cat.t("report.proof_head_mismatch", recorded=j.recorded_head,
                                actual=j.head_hash), "bad mono"))
    x = r.export
    if x is None or x.planned:
        parts.append(para(cat.t("report.proof_export_missing")))
    elif x.verified:
        parts.append(para(cat.t("report.proof_export_ok", objects=cat.number(len(x.objects)),
                                files=cat.number(x.files)), "ok"))
    else:
        parts.append(para(cat.t("report.proof_export_bad"), "bad"))
        parts.append("<ul class='bad mono'>" + "".join(
            f"<li>{e(d.kind)} {e(d.name)}: {e(d.what)} {e(d.expected)} &#8594; {e(d.actual)}</li>"
            for d in x.differences) + "</ul>")
    if x is not None and not x.planned:
        parts.append(para(cat.t("report.proof_manifest", sha256=x.manifest_sha256), "mono"))
    parts.append(para(cat.t("report.proof_verify", run_dir=r.run_dir), "mono"))
    return section("proof", cat.t("report.section_proof"), "".join(parts))


def _warnings(r: Report, cat: Catalogue) -> str:
    if not r.warnings:
        return ""
    return section("warnings", cat.t("report.section_warnings"),
                   "<ul>" + "".join(f"<li>{coded_html(cat, w.code, w.params, w.text)}</li>"
                                     for w in r.warning_codes) + "</ul>")


def render_html(r: Report, cat: Catalogue) -> str:
    from sfexit.report.style import CSS

    body = "".join([_header(r, cat), _summary(r, cat), _contract(r, cat),
                    _manual(r, cat),
                    _export(r, cat), _users(r, cat), _ownership(r, cat), _blockers(r, cat),
                    _steps(r, cat), _proof(r, cat), _warnings(r, cat)])
    footer = cat.t("report.footer", version=r.report_tool_version, run_dir=r.run_dir)
    return (f'<!DOCTYPE html>\n<html lang="{e(cat.lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(cat.t('report.title'))}: {e(r.org.name or r.org.id or r.run_id)}</title>"
            f"<style>{CSS}</style></head><body class=\"{'plan' if r.is_plan else 'real'}\">"
            f"{body}<footer>{e(footer)}</footer></body></html>\n")
