"""The small pieces report.html is built of: escaping, tables, and the run's codes in the
reader's words (``coded``: a reason or warning from its stable code; ``coded_html``: the same,
with a message that only exists in English quoted after the sentence rather than inside it).

Every value is escaped with ``html.escape`` (org data is hostile text).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from sfexit.offboard.notes import VERBATIM, verbatim
from sfexit.offboard.plan import LIMIT_NAMES
from sfexit.report.i18n import Catalogue
from sfexit.report.model import StepInfo

# A /limits name → the catalogue's word for it (report.limit_<usage key>); the ingest limit
# counts batches of 10,000 records, not records.
LIMIT_LABELS = {**{name: f"report.limit_{key}" for key, name in LIMIT_NAMES.items()},
                "DailyBulkApiBatches": "report.limit_ingest_batches"}


def e(value: Any) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


CODE = re.compile(r"`([^`<>&]+)`")


def prose(text: str) -> str:
    """Our own sentence (a catalogue text) escaped, with `command` marks as <code>: the
    catalogues write commands the way docs do, and a reader should not see the backticks."""
    return CODE.sub(r"<code>\1</code>", e(text))


def table(headers: list[str], rows: list[tuple[list[str], bool]], cls: str = "",
          numeric: frozenset[int] = frozenset()) -> str:
    """Rows are (cells already escaped, highlighted as a failure); ``numeric`` columns are
    right-aligned."""
    head = "".join(f"<th{' class=n' if i in numeric else ''}>{e(h)}</th>"
                   for i, h in enumerate(headers))
    fail = ' class="fail"'
    body = "".join(f"<tr{fail if bad else ''}>" + "".join(
        f"<td{' class=n' if i in numeric else ''}>{c}</td>" for i, c in enumerate(cells))
        + "</tr>" for cells, bad in rows)
    return (f'<table class="{cls}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def section(ident: str, title: str, body: str) -> str:
    return f'<section id="{ident}"><h2>{e(title)}</h2>{body}</section>'


def para(text: str, cls: str = "") -> str:
    return f'<p class="{cls}">{prose(text)}</p>' if cls else f"<p>{prose(text)}</p>"


def step_name(cat: Catalogue, name: str) -> str:
    key = f"report.step_{name}"
    return cat.t(key) if cat.has(key) else name


def status_text(cat: Catalogue, status: str) -> str:
    key = f"report.status_{status}"
    return cat.t(key) if cat.has(key) else status


USER_STATUS = {"frozen": "frozen", "leave: already frozen": "already_frozen",
               "would freeze": "would_freeze", "deactivated": "deactivated",
               "would deactivate": "would_deactivate", "blocked": "blocked", "failed": "failed",
               "skip: no UserLogin row (cannot be frozen)": "no_login",
               "unconfirmed": "unconfirmed"}


def user_status(cat: Catalogue, status: str) -> str:
    key = USER_STATUS.get(status)
    return cat.t(f"report.ustatus_{key}") if key else status


def state_text(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    return ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items())


# The refusal reasons of people/selection.py (English, stable wording) → the catalogue's
# sentence, so a refused user's reason reads in the report's language; anything else (an
# older run's wording) stays English, marked so.
REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"it is the running user \(sfexit never \w+ the account it works as\)"),
     "report.refused_running_user"),
    (re.compile(r"already inactive"), "report.refused_inactive"),
    (re.compile(r"inactive \(cannot log in\)"), "report.refused_inactive_login"),
    (re.compile(r"on the keep-list \(--keep / \[users\] keep\)"), "report.refused_keep"),
    (re.compile(r"profile (?P<profile>'.*') is on the keep-list \(--keep-profile / \[users\] "
                r"keep_profiles\)"), "report.refused_keep_profile"),
    (re.compile(r"(?P<kind>[\w ]+) user: touched only when named explicitly"),
     "report.refused_system"),
    (re.compile(r"no UserLogin row readable for this user, so it cannot be frozen"),
     "report.refused_no_userlogin"),
    (re.compile(r"the last active System Administrator: the org would be left without an "
                r"admin who can log in"), "report.refused_last_admin"),
)


def refusal_cell(cat: Catalogue, reason: str) -> str:
    """A refused user's reason in the reader's language when sfexit wrote it."""
    for pattern, key in REFUSALS:
        found = pattern.fullmatch(reason)
        if found and cat.has(key):
            return e(cat.t(key, **found.groupdict()) if found.groupdict() else cat.t(key))
    return english_cell(reason)


def english_cell(text: str | None) -> str:
    """A table cell holding an English message (Salesforce's, or the library's), marked so."""
    return f'<span lang="en">{e(text)}</span>' if text else ""


def coded(cat: Catalogue, code: str | None, params: dict[str, Any], english: str) -> str:
    """A reason or warning in the reader's language from its stable code
    (``report.reason_<code>``, codes in sfexit/offboard/notes.py); the English sentence when
    it has no code (an older run) or its params do not fit the message."""
    key = f"report.reason_{code}"
    if not code or not cat.has(key):
        return english
    if params.get("count") == 1 and cat.has(key + ".one"):   # "1 user", not "1 users"
        key += ".one"
    values = {k: cat.number(v) if isinstance(v, int) and not isinstance(v, bool) else v
              for k, v in params.items()}
    try:
        if isinstance(params.get("shortfall"), list):   # forecast_short / forecast_forced
            values["limits"] = shortfall_text(cat, params["shortfall"])
        return cat.t(key, **values)
    except (KeyError, IndexError, ValueError, TypeError):
        return english


def shortfall_text(cat: Catalogue, items: list[Any]) -> str:
    """The limits a forecast does not fit, in the reader's words and number format
    ("REST-Aufrufe: etwa 1.234 benötigt, 250 übrig"). Raises ValueError/TypeError/KeyError
    for items that are not ``{limit, forecast, remaining}`` (the caller falls back to English)."""
    parts = []
    for item in items:
        limit = str(item["limit"])
        label = cat.t(LIMIT_LABELS[limit]) if limit in LIMIT_LABELS else limit
        parts.append(cat.t("report.shortfall_item", limit=label,
                           forecast=cat.number(int(item["forecast"])),
                           remaining=cat.number(int(item["remaining"]))))
    if not parts:
        raise ValueError("no shortfall")
    return "; ".join(parts)   # as the English lines are joined; the same in the six languages


def object_problem(cat: Catalogue, params: dict[str, Any]) -> str | None:
    """One object the running user cannot move (the per-object reassign check): the reader's
    sentence (report.perm_object_<lacks>), or None when the params are not that."""
    key = f"report.perm_object_{params.get('lacks')}"
    records = params.get("records")
    if not params.get("object") or not cat.has(key) or not isinstance(records, int):
        return None
    return cat.t(key, object=params["object"], records=cat.number(records))


def quoted(text: str) -> str:
    """Text that is not ours to translate (Salesforce's message), verbatim, as a quotation
    marked English: screen readers and hyphenation then treat it as English."""
    return f'<q class="verbatim" lang="en">{e(text)}</q>'


def coded_html(cat: Catalogue, code: str | None, params: dict[str, Any], english: str) -> str:
    """``coded`` as escaped HTML; a message that only exists in English is not pasted into the
    translated sentence: the sentence (``report.quote_<code>``), then the message quoted."""
    original = verbatim(code, params)
    key = f"report.quote_{code}"
    if original is None or not cat.has(key):
        return prose(coded(cat, code, params, english))
    rest = {k: step_name(cat, v) if k == "step" and isinstance(v, str) else v
            for k, v in params.items() if k != VERBATIM.get(code or "")}
    check = f"report.perm_missed_{rest.get('check')}"
    try:
        sentence = cat.t(key, **rest)
    except (KeyError, IndexError, ValueError):
        return e(english)
    if code == "permission_missing" and cat.has(check):   # our sentence: translated instead
        return f"{e(sentence)} {e(object_problem(cat, params) or cat.t(check))}"
    return f"{e(sentence)} {quoted(original)}"


def step_reason(cat: Catalogue, s: StepInfo) -> str | None:
    return coded(cat, s.reason_code, s.reason_params, s.reason) if s.reason else None
