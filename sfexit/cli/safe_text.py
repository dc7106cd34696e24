"""Text from the org made harmless for a terminal, and JSON made harmless without changing it.

Anything the org holds can reach the admin's terminal: user and record names, file titles,
object names from describe, Salesforce's error messages. A ``FirstName`` holding
``ESC ] 0 ; … BEL ESC [ 2 J`` would retitle and clear the terminal, U+202E would show text
reversed, a CR would let a line overwrite itself (issue 19, "Terminal escape injection";
Unicode TR #9 and CVE-2021-42574 "Trojan Source" for the bidi controls). So every line
:mod:`sfexit.cli.output` prints goes through :func:`neutralise_line` or
:func:`neutralise_cell`: such characters are SHOWN escaped (``\\x1b``, ``\\u202e``, ``\\r``),
never dropped, so the admin still sees that the name holds them.

JSON output keeps the data exact: ``json.dumps`` already escapes C0 controls; :func:`json_safe`
also escapes DEL, C1 controls and the invisible/bidi characters as ``\\uXXXX``, which every JSON
parser reads back as the same string.

CSV and backup files are NOT neutralised: the backup must be byte-exact (docs/safety.md).
"""

from __future__ import annotations

# Bidi embeddings/overrides (U+202A–U+202E), isolates (U+2066–U+2069), the LRM/RLM marks
# (U+200E/U+200F) and the Arabic letter mark (U+061C): they reorder what the terminal shows.
# U+2028/U+2029 (line/paragraph separator) break lines in some terminals and editors.
INVISIBLE = frozenset(
    [0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(code: int) -> str:
    char = chr(code)
    if char in NAMED:
        return NAMED[char]
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _is_control(code: int) -> bool:
    """C0 (with TAB, CR, LF), DEL and C1: ESC, CSI (U+009B), OSC (U+009D) among them."""
    return code < 0x20 or 0x7F <= code <= 0x9F


# str.translate tables: one pass over the text, in C.
_CELL = {c: _escape(c) for c in range(0xA0) if _is_control(c)} | {c: _escape(c) for c in INVISIBLE}
_LINE = {c: v for c, v in _CELL.items() if c != ord("\n")}
_JSON = {c: f"\\u{c:04x}" for c in [*range(0x7F, 0xA0), *INVISIBLE]}


def neutralise_cell(value: str) -> str:
    """One value (a table cell, a name): every control and bidi character escaped, LF too."""
    return value.translate(_CELL)


def neutralise_line(text: str) -> str:
    """Human text that may span lines: the line feeds sfexit put there stay line breaks; every
    other control or bidi character is escaped (a CR cannot rewrite a line, ESC cannot start a
    sequence). A line feed inside an org value is escaped where that value is a table cell."""
    return text.translate(_LINE)


def json_safe(text: str) -> str:
    """Serialised JSON with DEL, C1 and bidi characters as ``\\uXXXX`` escapes: the same JSON
    value (these characters only occur inside strings), safe to print."""
    return text.translate(_JSON)
