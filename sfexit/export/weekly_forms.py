"""HTML forms read as data: the Export Now form kept as served, options found by label.

The Export Now form's field names are not public (research/export-protocol.md, "Export Now"), so
a form is kept as served (every input, hidden ones included), its options are found by their
``<label for>`` texts, and the payload is what a browser would post after clicking a button.
Pure parsing with ``html.parser``, no I/O; the page itself is :mod:`weekly_page`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser

from sfexit.export.weekly_page import START_EXPORT, PageFormatError, tag_attrs

@dataclass(frozen=True)
class SelectOption:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class FormControl:
    tag: str                    # input | select | textarea | button
    kind: str                   # the input type (text, hidden, checkbox, submit…), or the tag
    name: str
    id: str
    value: str
    checked: bool = False
    disabled: bool = False
    options: tuple[SelectOption, ...] = ()


@dataclass(frozen=True)
class HtmlForm:
    """One ``<form>`` as served: its own action and method, every control in document order."""

    action: str
    method: str
    controls: tuple[FormControl, ...]
    labels: Mapping[str, str] = field(default_factory=dict)   # control id → visible label

    def submit_captions(self) -> list[str]:
        return [c.value for c in self.controls if c.kind in ("submit", "image")]

    def label_texts(self) -> list[str]:
        return sorted(self.labels.values())

    def control_for(self, labels: Iterable[str]) -> FormControl | None:
        """The control whose label matches one of ``labels`` (case and spaces ignored; a label
        ending in ``…`` matches by prefix)."""
        for wanted in labels:
            key = _norm(wanted)
            prefix = key.endswith("…")
            key = key.rstrip("…").strip()
            for control_id, text in self.labels.items():
                found = _norm(text)
                if found == key or (prefix and found.startswith(key)):
                    control = next((c for c in self.controls if c.id == control_id), None)
                    if control is not None:
                        return control
        return None

    def payload(self, button: str, checks: Mapping[str, bool] | None = None,
                choices: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
        """The fields a browser would post after clicking ``button``: hidden and text inputs as
        served, checkboxes/selects as served unless set (by control id) in ``checks`` (on/off) or
        ``choices`` (option value). Raises PageFormatError without that button."""
        out: list[tuple[str, str]] = []
        clicked = False
        for control in self.controls:
            if not control.name or control.disabled:
                continue
            if control.kind in ("checkbox", "radio"):
                on = (checks or {}).get(control.id, control.checked)
                if on:
                    out.append((control.name, control.value or "on"))
            elif control.kind == "select":
                chosen = (choices or {}).get(control.id)
                if chosen is None:
                    picked = [o.value for o in control.options if o.selected]
                    chosen = picked[0] if picked else (control.options[0].value
                                                       if control.options else "")
                out.append((control.name, chosen))
            elif control.kind in ("submit", "image"):
                if control.value == button and not clicked:
                    out.append((control.name, control.value))
                    clicked = True
            elif control.kind not in ("button", "reset", "file"):
                out.append((control.name, control.value))
        if not clicked:
            raise PageFormatError(f"the form has no {button!r} button (buttons: "
                                  f"{', '.join(self.submit_captions()) or 'none'})")
        return out


def _norm(text: str) -> str:
    return " ".join(text.replace("\u2026", "…").split()).lower()


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[dict[str, str], list[FormControl]]] = []
        self.labels: dict[str, str] = {}
        self.errors: list[str] = []
        self._form: list[FormControl] | None = None
        self._select: tuple[dict[str, str], list[SelectOption]] | None = None
        self._option: dict[str, str] | None = None
        self._label: tuple[str | None, list[str], list[str]] | None = None  # for, text, ids
        self._error: list[str] | None = None
        self._error_depth = 0
        self._buffer: list[str] = []
        self._anonymous = 0

    def _add(self, control: FormControl) -> FormControl:
        if not control.id and self._label is not None and self._label[0] is None:
            self._anonymous += 1
            control = FormControl(**{**control.__dict__, "id": f"__label_{self._anonymous}"})
        if self._label is not None and self._label[0] is None:
            self._label[2].append(control.id)
        if self._form is not None:
            self._form.append(control)
        return control

    def handle_starttag(self, tag: str, pairs: list[tuple[str, str | None]]) -> None:
        attrs = tag_attrs(pairs)
        if tag == "form":
            self._form = []
            self.forms.append((attrs, self._form))
        elif tag == "input":
            self._add(FormControl("input", attrs.get("type", "text").lower(), attrs.get("name", ""),
                                  attrs.get("id", ""), attrs.get("value", ""),
                                  "checked" in attrs, "disabled" in attrs))
        elif tag == "select":
            self._select = (attrs, [])
        elif tag == "option":
            self._option, self._buffer = attrs, []
        elif tag == "label":
            self._label = (attrs.get("for") or None, [], [])
        elif tag == "div" and self._error is None and "pberror" in attrs.get("class", "").lower() \
                and "display: none" not in attrs.get("style", "").lower():
            self._error, self._error_depth = [], 0
        elif tag == "div" and self._error is not None:
            self._error_depth += 1

    def handle_startendtag(self, tag: str, pairs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, pairs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "option" and self._option is not None and self._select is not None:
            text = " ".join("".join(self._buffer).split())
            self._select[1].append(SelectOption(self._option.get("value", text), text,
                                                "selected" in self._option))
            self._option = None
        elif tag == "select" and self._select is not None:
            attrs, options = self._select
            self._add(FormControl("select", "select", attrs.get("name", ""), attrs.get("id", ""),
                                  "", False, "disabled" in attrs, tuple(options)))
            self._select = None
        elif tag == "label" and self._label is not None:
            target, pieces, inner = self._label
            label = " ".join("".join(pieces).split())
            for control_id in ([target] if target else inner):
                if control_id:
                    self.labels.setdefault(control_id, label)
            self._label = None
        elif tag == "div" and self._error is not None:
            if self._error_depth == 0:
                message = " ".join("".join(self._error).split())
                if message:
                    self.errors.append(message)
                self._error = None
            else:
                self._error_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._buffer.append(data)
        if self._label is not None:
            self._label[1].append(data)
        if self._error is not None:
            self._error.append(data)


def parse_forms(text: str) -> list[HtmlForm]:
    """Every ``<form>`` of a page, labels resolved (a label may sit outside its form)."""
    parser = _FormParser()
    parser.feed(text)
    parser.close()
    out = []
    for attrs, controls in parser.forms:
        ids = {c.id for c in controls if c.id}
        labels = {k: v for k, v in parser.labels.items() if k in ids}
        out.append(HtmlForm(action=html.unescape(attrs.get("action", "")),
                            method=(attrs.get("method") or "GET").upper(),
                            controls=tuple(controls), labels=labels))
    return out


def page_errors(text: str) -> list[str]:
    """The visible ``pbError`` messages of a page (a refused form comes back with one)."""
    parser = _FormParser()
    parser.feed(text)
    parser.close()
    return parser.errors


def export_form(text: str) -> HtmlForm:
    """The Export Now form: the one form with a "Start Export" submit button, whatever other
    forms (session timeout, search) the page carries. Raises PageFormatError."""
    forms = parse_forms(text)
    for form in forms:
        if START_EXPORT in form.submit_captions():
            return form
    raise PageFormatError(f"no form with a {START_EXPORT!r} button on the Export Now page "
                          f"({len(forms)} forms found)")
