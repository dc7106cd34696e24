"""SOQL lexing: tokens, string escapes, date/datetime literals, and Salesforce's caret error form.

Split from soql.py (the parser) by meaning; soql.py re-exports SoqlError, Token, tokenize,
caret_message.
"""

from __future__ import annotations

from dataclasses import dataclass


class SoqlError(Exception):
    def __init__(self, code: str, detail: str, pos: int | None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.pos = pos


def caret_message(text: str, pos: int, detail: str) -> str:
    """Salesforce's form: the query line, a caret under the column, the row/column, the detail."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    row = text.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{detail}"


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, date, datetime, op, eof
    text: str  # as written (strings: decoded value)
    pos: int

    def is_kw(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.lower() in words


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _read_string(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in "%_":
                out.append("\\" + nxt)  # LIKE escapes: kept for the LIKE translation
            else:
                raise SoqlError("MALFORMED_QUERY", f"Invalid string literal '\\{nxt}'. Illegal "
                                "character sequence '\\" + nxt + "' in string literal.", i)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>", len(text))


def _read_number_or_date(text: str, i: int) -> tuple[Token, int]:
    j = i
    if text[j] in "+-":
        j += 1
    while j < len(text) and (text[j].isdigit() or text[j] == "."):
        j += 1
    # 2024-01-31 or 2024-01-31T09:15:00(.000)(Z|+hh:mm|+hhmm)
    if j - i == 4 and text[i:j].isdigit() and text[j:j + 1] == "-":
        k = j
        while k < len(text) and (text[k].isalnum() or text[k] in "-:.+"):
            k += 1
        lit = text[i:k]
        kind = "datetime" if "T" in lit.upper() else "date"
        return Token(kind, lit, i), k
    return Token("number", text[i:j], i), j


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "'":
            value, i2 = _read_string(text, i)
            tokens.append(Token("string", value, i))
            i = i2
        elif ch.isdigit() or (ch in "+-" and i + 1 < n and text[i + 1].isdigit()
                              and (not tokens or tokens[-1].kind == "op")):
            tok, i = _read_number_or_date(text, i)
            tokens.append(tok)
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token("ident", text[i:j], i))
            i = j
        elif text.startswith(("!=", "<>", "<=", ">="), i):
            tokens.append(Token("op", text[i:i + 2], i))
            i += 2
        elif ch in "=<>(),.:":
            tokens.append(Token("op", ch, i))
            i += 1
        else:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{ch}'", i)
    tokens.append(Token("eof", "<EOF>", n))
    return tokens
