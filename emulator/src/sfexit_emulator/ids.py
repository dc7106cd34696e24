"""Salesforce record ids: 15-char case-sensitive ids and their 18-char case-safe form.

An id is `<3-char key prefix><2-char pod><1 reserved char><9 base-62 digits>`; the 18-char form
appends three characters that encode, per 5-char chunk, which characters are upper case, so the id
survives case-insensitive systems (Excel, SQL collations). The emulator stores and returns the 18-char
form, as the REST API does, and accepts either form as input.
"""

from __future__ import annotations

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# Pod "5g" + reserved "0": the shape of ids of a recent production org (e.g. 0015g00000AbCdEAAV).
_POD = "5g0"
_ID_CHARS = frozenset(_BASE62)
# Record numbers start here so ids look like a real org's (`0015g00000A0001...`), not all zeros.
ID_NUMBER_BASE = 10 * 62 ** 4


def case_safe_suffix(id15: str) -> str:
    """The 3 characters Salesforce appends to make the 18-char id."""
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX_CHARS[bits])
    return "".join(out)


def make_id(prefix: str, number: int) -> str:
    """The 18-char id of record `number` (>= 1) of the object with key `prefix`."""
    digits = []
    n = number
    for _ in range(9):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    if n:
        raise ValueError(f"id number too large: {number}")
    id15 = prefix + _POD + "".join(reversed(digits))
    return id15 + case_safe_suffix(id15)


def normalize_id(value: str) -> str | None:
    """The 18-char form of a 15- or 18-char id, or None when `value` is not id-shaped.

    Salesforce ignores the case of the suffix and recomputes it, so a wrong suffix is accepted.
    """
    if len(value) not in (15, 18) or not set(value) <= _ID_CHARS:
        return None
    id15 = value[:15]
    return id15 + case_safe_suffix(id15)


def to15(id18: str) -> str:
    return id18[:15]


def key_prefix(record_id: str) -> str:
    return record_id[:3]
