"""Why a step was skipped, stopped or finished partially, and the run's warnings: a stable
``code`` with its ``params`` next to the English sentence (docs/offboard.md, "reasons").

run.json keeps the English ``reason`` (for machines, logs and the terminal) and adds
``reason_code``/``reason_params``; the report renders the code from its catalogue
(``report.reason_<code>`` in ``sfexit/report/i18n/<lang>.json``) so a German report does not
quote English sentences. A code is never renamed (reports of old runs still render it); the
English text may be reworded. Params are plain JSON values: numbers, step names, and text
that only exists in English (an error message from Salesforce, a forecast line).

``forecast_short`` / ``forecast_forced`` carry the limits that do not fit twice: ``limits``,
the English lines their text quotes, and ``shortfall``, the same as data (a list of
``{"limit": "DailyApiRequests", "forecast": 1234, "remaining": 250}``), which the report words
and formats for the reader's locale in place of ``limits`` (report.shortfall_item).
A ``permission_missing`` warning of the per-object check adds ``object``, ``lacks`` (edit,
transfer, unreadable) and ``records`` (report.perm_object_<lacks>).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# code → the English sentence; ``tests/unit/test_i18n.py`` checks that every code has a
# ``report.reason_<code>`` in each catalogue with the same placeholders.
TEXTS: dict[str, str] = {
    "skip_cli": "skipped with --skip {step}",
    "skip_config": "switched off in the config ([offboard] skip)",
    "skip_no_contract": "no [contract] in the config: no dates or refund to compute",
    "skip_no_successor": "no successor ([users] successor): nobody to give the records to",
    "skip_deactivate_off": "not enabled ([offboard] deactivate = true): users are frozen only",
    "skip_no_export": "the export is skipped: no backup to verify",
    "preflight_not_skippable": "the preflight cannot be skipped: it only reads, and the plan "
                               "and the forecast come from it",
    "forecast_refused": "the forecast does not fit",
    "permissions_refused": "the running user lacks a permission that {steps} needs",
    "forecast_short": "the forecast does not fit the remaining limits: {limits}",
    "forecast_forced": "the forecast does not fit the remaining limits; started anyway with "
                       "--force: {limits}",
    "forecast_days": "the forecast needs about {days} days of the org's daily limits (above a "
                     "{reserve}% reserve): the export pauses at the reserve and --resume "
                     "continues it once the 24-hour window frees up; the last part after "
                     "{finish_by}",
    "paused_for_limits": "paused before the reserve of the org's daily limits; continue with "
                         "--resume after {resume_after} (the 24-hour window frees up then)",
    "interrupted": "interrupted (Ctrl-C); continue with --resume",
    "step_error": "{error} (continue with --resume)",
    "export_partial": "{objects} objects and {files} file bodies failed",
    "verify_differences": "{count} differences between the backup and its manifest or the org "
                          "(see the verify result)",
    "freeze_failed": "{count} users could not be frozen",
    "nobody_leaves": "nobody leaves: no records to move",
    "reassign_refused": "{refusals}",
    "reassign_failed": "{count} records failed to move",
    "reassign_held": "{count} records of {objects} were not moved: the running user may not "
                     "move them (see the preflight's permissions)",
    "deactivate_failed": "{count} users not deactivated (blockers or errors)",
    "report_unavailable": "the report module is not available yet "
                          "(sfexit.report.build_report: {error})",
    "permission_missing": "{step}: {message}",
    # a permission the org refused to show: unknown, never "missing" (export.preflight)
    "permission_unknown": "{step}: {message}",
    "reassign_warning": "reassign: {message}",
}

# The param of these codes that holds text only in English, to be kept VERBATIM: an error
# message (often Salesforce's own, "FIELD_CUSTOM_VALIDATION_EXCEPTION: ..."), or a sentence
# another module wrote. The report does not paste it into a translated sentence: it writes
# ``report.quote_<code>`` (the other params) and quotes it after, marked as English.
VERBATIM: dict[str, str] = {"step_error": "error", "report_unavailable": "error",
                            "reassign_refused": "refusals", "reassign_warning": "message",
                            "permission_missing": "message", "permission_unknown": "message"}


def verbatim(code: str | None, params: Mapping[str, Any]) -> str | None:
    """The English-only text of a coded reason or warning (VERBATIM), if it has one."""
    name = VERBATIM.get(code or "")
    value = params.get(name) if name else None
    return None if value is None else str(value)


@dataclass(frozen=True)
class Note:
    """One reason or warning: the stable code, its params, and the English sentence."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return TEXTS[self.code].format(**self.params)

    def step_fields(self) -> dict[str, Any]:
        """The run.json step fields: ``reason`` (English), ``reason_code``, ``reason_params``."""
        return {"reason": self.text, "reason_code": self.code,
                "reason_params": dict(self.params)}

    def warning(self) -> dict[str, Any]:
        """One entry of run.json's ``warning_codes`` (``text`` is the entry in ``warnings``)."""
        return {"text": self.text, "code": self.code, "params": dict(self.params)}


def note(code: str, **params: Any) -> Note:
    """Raises KeyError for a code not in TEXTS (a programming error the tests catch)."""
    TEXTS[code].format(**params)
    return Note(code, params)


NO_REASON: dict[str, Any] = {"reason": None, "reason_code": None, "reason_params": {}}


def step_fields(n: Note | None) -> dict[str, Any]:
    return dict(NO_REASON) if n is None else n.step_fields()
