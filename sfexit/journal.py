"""The journal: an append-only, hash-chained record of every change sfexit makes to an org.

One JSON object per line (JSON Lines). Every entry carries ``prev``, the SHA-256 of the
previous line exactly as written ("0" * 64 for the first), and ``hash``, the SHA-256 of its
own canonical JSON without ``hash``. So an edited line no longer matches its own ``hash``,
and a deleted, inserted or reordered line breaks the next line's ``prev``: any tampering is
found by :func:`verify_journal`. A chain alone cannot show that its last lines were cut off,
so a small sidecar ``<journal>.head`` keeps the entry count and head hash, rewritten
atomically after each entry; a journal shorter than its head file says is reported. Each
entry is flushed and fsync'ed before the call returns, so an intent is on disk before its call
is sent, and an outcome before the next call (issue 13).

A change entry keeps the before-state, which is what every undo restores. Changes sent in
one call for many records (sObject Collections) are journaled write-ahead, as a database
would: an ``intent`` entry per record BEFORE the call (what, target, before, intended after),
then its outcome after it: a ``change`` (applied; ``info.intent`` is the intent's hash) or a
``not_applied`` (with Salesforce's message). ``change`` keeps meaning "this happened", so every
reader of changes is unaffected. An intent with no outcome is the crash window: only the org
can say what happened (``sfexit.people.intents`` reads it and journals the outcome, marked
``recovered``); until then readers see it through :func:`unresolved_intents`.

Never a secret: values under secret-looking keys and anything shaped like an access token are
replaced before writing (the journal is evidence to hand to other people).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sfexit.errors import SfexitError
from sfexit.ondisk import atomic_write

EntryKind = Literal["change", "step_start", "step_end", "note", "intent", "not_applied"]
KINDS: tuple[str, ...] = ("change", "step_start", "step_end", "note", "intent", "not_applied")
GENESIS = "0" * 64
REDACTED = "[REDACTED]"

# Keys whose values are never written, at any depth (the journal is handed to auditors).
_SECRET_KEY = re.compile(r"(?i)(password|secret|token|session_?id|^sid$|assertion|passphrase)")
# Salesforce access tokens / session ids look like "<org id>!<opaque>" (org/redaction.py).
_TOKEN_VALUE = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+")
_FIELDS = ("seq", "at", "kind", "action", "target", "before", "after", "info", "prev", "hash")


class JournalError(SfexitError):
    """The journal cannot be read, or its chain is broken (an edit, deletion or reorder)."""

    name = "JournalError"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    kind: EntryKind
    action: str
    target: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    info: dict[str, Any]
    prev: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}


@dataclass(frozen=True)
class JournalCheck:
    ok: bool
    entries: int
    head_hash: str
    problems: list[str] = field(default_factory=list)


def line_hash(line: str) -> str:
    """SHA-256 of one journal line as written (without its newline): the next ``prev``."""
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def _canonical(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _entry_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in body.items() if k != "hash"})
                          .encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """JSON-ready copy of ``value`` with secrets removed; raises TypeError for odd types."""
    if isinstance(value, Mapping):
        return {str(k): (REDACTED if _SECRET_KEY.search(str(k)) and v is not None
                         else _plain(v)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(v) for v in items]
    if isinstance(value, str):
        return _TOKEN_VALUE.sub(REDACTED, value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | Path):
        return str(value)
    raise TypeError(f"journal values must be JSON data, not {type(value).__name__}")


def _entry_from(obj: Any, number: int) -> Entry:
    if not isinstance(obj, dict) or set(obj) != set(_FIELDS):
        raise ValueError(f"line {number}: not a journal entry")
    if obj["kind"] not in KINDS or not isinstance(obj["seq"], int):
        raise ValueError(f"line {number}: not a journal entry")
    return Entry(**{name: obj[name] for name in _FIELDS})


def _check_lines(lines: list[str]) -> tuple[list[Entry], str, list[str]]:
    """Walk the chain: the entries read, the head hash, and every problem found."""
    entries: list[Entry] = []
    problems: list[str] = []
    prev = GENESIS
    for number, line in enumerate(lines, start=1):
        try:
            entry = _entry_from(json.loads(line), number)
        except ValueError as exc:  # JSONDecodeError is a ValueError
            text = str(exc) if str(exc).startswith("line ") else f"line {number}: bad JSON"
            problems.append(text)
            prev = line_hash(line)
            continue
        if _entry_hash(entry.as_dict()) != entry.hash:
            problems.append(f"line {number}: edited (its content does not match its hash)")
        if entry.prev != prev:
            problems.append(f"line {number}: chain broken (a line before it was edited, "
                            "deleted, inserted or reordered)")
        if entry.seq != number:
            problems.append(f"line {number}: sequence number {entry.seq} out of place "
                            "(lines deleted or reordered)")
        entries.append(entry)
        prev = line_hash(line)
    return entries, prev, problems


def _outcome_of(intent: Entry) -> dict[str, Any]:
    if intent.kind != "intent":
        raise ValueError(f"entry {intent.seq} is a {intent.kind}, not an intent")
    # The hash, not the seq: intents of several journals are read together (users unfreeze
    # without --journal), and a hash names one entry in all of them.
    return {"intent": intent.hash, "intent_seq": intent.seq}


def unresolved_intents(entries: Iterable[Entry]) -> list[Entry]:
    """Intents with no outcome entry: sent, or about to be, when the process stopped. Pure."""
    entries = list(entries)
    resolved = {e.info.get("intent") for e in entries if e.kind in ("change", "not_applied")}
    return [e for e in entries if e.kind == "intent" and e.hash not in resolved]


def head_path(path: Path) -> Path:
    """The sidecar that remembers how long the journal was (to detect a cut-off end)."""
    return path.with_name(path.name + ".head")


def _write_head(path: Path, entries: int, head_hash: str) -> None:
    body = _canonical({"entries": entries, "head_hash": head_hash}) + "\n"
    atomic_write(head_path(path), body.encode("utf-8"))


def _check_head(path: Path, lines: list[str]) -> list[str]:
    """Problems with the journal's end: lines deleted from the end of the file."""
    try:
        head = json.loads(head_path(path).read_text(encoding="utf-8"))
        count, hash_ = int(head["entries"]), str(head["head_hash"])
    except FileNotFoundError:
        return [f"{head_path(path).name} is missing (cannot tell whether the last lines were "
                "deleted)"] if lines else []
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{head_path(path).name} is unreadable"]
    if len(lines) < count:
        return [f"line {len(lines) + 1}: deleted (the journal recorded {count} entries, "
                f"the file has {len(lines)})"]
    # One entry more than the head file is the crash window between the two fsyncs.
    if count and line_hash(lines[count - 1]) != hash_ or len(lines) > count + 1:
        return [f"line {min(count, len(lines))}: does not match the recorded head of the "
                "journal"]
    return []


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JournalError(f"journal {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JournalError(f"journal {path} cannot be read: {exc}") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    return lines


def verify_journal(path: Path) -> JournalCheck:
    """Check the whole chain; ``problems`` names each line that was edited, lost or moved.

    Raises JournalError only when the file cannot be read at all.
    """
    lines = _read_lines(Path(path))
    entries, head, problems = _check_lines(lines)
    problems += _check_head(Path(path), lines)
    return JournalCheck(ok=not problems, entries=len(entries), head_hash=head, problems=problems)


def read_journal(path: Path) -> list[Entry]:
    """Every entry of a journal whose chain verifies.

    Raises JournalError naming the first broken line (an undo must never trust a tampered file).
    """
    lines = _read_lines(Path(path))
    entries, _, problems = _check_lines(lines)
    problems += _check_head(Path(path), lines)
    if problems:
        raise JournalError(f"journal {path} fails verification: {problems[0]}",
                           hint="it was edited, truncated or reordered after it was written; "
                                "nothing was changed")
    return entries


def default_journal_path(kind: str, base: Path | None = None,
                         now: dt.datetime | None = None) -> Path:
    """``<user data dir>/journals/<UTC timestamp>-<kind>.jsonl``, or inside ``base`` if given.

    Never an existing file: two runs in the same second get ``-2``, ``-3`` ….
    """
    if base is None:
        import platformdirs  # only needed here

        base = Path(platformdirs.user_data_path("sfexit")) / "journals"
    stamp = (now or utcnow()).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = Path(base) / f"{stamp}-{kind}.jsonl"
    n = 2
    while candidate.exists():
        candidate = Path(base) / f"{stamp}-{kind}-{n}.jsonl"
        n += 1
    return candidate


class Journal:
    """Appends entries to one journal file; see the module docstring for the format."""

    def __init__(self, path: Path, entries: list[Entry], head_hash: str,
                 clock: Callable[[], dt.datetime]) -> None:
        self.path = path
        self.head_hash = head_hash
        self._entries = entries
        self._clock = clock

    @classmethod
    def open(cls, path: Path, *, clock: Callable[[], dt.datetime] = utcnow) -> Journal:
        """Create the journal, or verify an existing one and continue it.

        Raises JournalError when an existing file's chain is broken (naming the line) or the
        file cannot be created.
        """
        path = Path(path)
        if path.exists():
            lines = _read_lines(path)
            entries, head, problems = _check_lines(lines)
            problems += _check_head(path, lines)
            if problems:
                raise JournalError(f"journal {path} fails verification: {problems[0]}",
                                   hint="refusing to append to a tampered journal; "
                                        "start a new one with --journal")
            return cls(path, entries, head, clock)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(exist_ok=False)
            _write_head(path, 0, GENESIS)
        except OSError as exc:
            raise JournalError(f"journal {path} cannot be created: {exc.strerror}") from None
        return cls(path, [], GENESIS, clock)

    def change(self, action: str, *, target: dict[str, Any], before: dict[str, Any] | None,
               after: dict[str, Any] | None, **info: Any) -> Entry:
        """Record one change to the org, with the state before it (what undo restores)."""
        return self._append("change", action, target, before, after, info)

    def intent(self, action: str, *, target: dict[str, Any], before: dict[str, Any],
               after: dict[str, Any], **info: Any) -> Entry:
        """Record a change about to be sent (write-ahead): on disk before the call goes out."""
        return self._append("intent", action, target, before, after, info)

    def applied(self, intent: Entry, **info: Any) -> Entry:
        """The org took ``intent``: a ``change`` with the intent's before and after."""
        return self._append("change", intent.action, intent.target, intent.before,
                            intent.after, {**_outcome_of(intent), **info})

    def not_applied(self, intent: Entry, **info: Any) -> Entry:
        """The org refused ``intent`` (or, recovered, shows it was never made): nothing
        changed, so nothing is to undo."""
        return self._append("not_applied", intent.action, intent.target, intent.before, None,
                            {**_outcome_of(intent), **info})

    def step_start(self, step: str, **info: Any) -> Entry:
        return self._append("step_start", step, {}, None, None, info)

    def step_end(self, step: str, status: str, **info: Any) -> Entry:
        return self._append("step_end", step, {}, None, None, {"status": status, **info})

    def note(self, message: str, **info: Any) -> Entry:
        return self._append("note", "note", {}, None, None, {"message": message, **info})

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def _append(self, kind: EntryKind, action: str, target: Mapping[str, Any],
                before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
                info: Mapping[str, Any]) -> Entry:
        at = self._clock().astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        body: dict[str, Any] = {
            "seq": len(self._entries) + 1, "at": at, "kind": kind, "action": action,
            "target": _plain(dict(target)),
            "before": None if before is None else _plain(dict(before)),
            "after": None if after is None else _plain(dict(after)),
            "info": _plain(dict(info)), "prev": self.head_hash,
        }
        body["hash"] = _entry_hash(body)
        line = _canonical(body)
        try:
            # O_APPEND: each entry lands at the end even if the file was opened elsewhere.
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            _write_head(self.path, len(self._entries) + 1, line_hash(line))
        except OSError as exc:
            raise JournalError(f"journal {self.path} cannot be written: {exc.strerror}",
                               hint="stop: changes made from here on would not be recorded"
                               ) from None
        entry = Entry(**{name: body[name] for name in _FIELDS})
        self._entries.append(entry)
        self.head_hash = line_hash(line)
        return entry
