"""SOSL: a small engine for ``FIND {terms} [IN scope FIELDS] [RETURNING Obj(fields [WHERE ...]
[ORDER BY ...] [LIMIT n]), ...] [LIMIT n]`` and for parameterized search.

SOQL and SOSL Reference, "SOSL Syntax" (sforce_api_calls_sosl_syntax.htm), "FIND {SearchQuery}"
(sforce_api_calls_sosl_find.htm), "IN SearchGroup" (..._sosl_in.htm), "RETURNING FieldSpec"
(..._sosl_returning.htm), "LIMIT n" (..._sosl_limit.htm). Only the search itself is SOSL's own:
each RETURNING object's field list, WHERE, ORDER BY and LIMIT are handed to the emulator's SOQL
machinery (soql.py, store_query.py) as ``SELECT <fields> FROM <Obj> WHERE Id IN (<matches>) AND
(<where>) ...``, so their names and errors are SOQL's.

Matching (an emulator simplification of Salesforce's search index): the text of the searched
fields is split into words (letters and digits); a term matches a word case-insensitively, ``*``
standing for any characters and ``?`` for one (FIND: "wildcards"); a quoted phrase matches
consecutive words of one field; terms without an operator, or joined by AND, must all match
(FIND: "If you don't specify an operator... AND is used"), OR needs one, AND NOT excludes. No
parentheses, no stemming, no synonyms, no relevance: records come in Id order unless the
RETURNING clause orders them. A phone field also yields its digits as one word, so {4155551212}
finds "(415) 555-1212" (UNCONF: Salesforce normalizes phone numbers in its own way).

Not supported (MALFORMED_SEARCH): WITH clauses, UPDATE TRACKING/VIEWSTAT, USING LISTVIEW,
toLabel/convertCurrency, OFFSET.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from sfexit_emulator.soql_tokens import SoqlError, Token, tokenize
from sfexit_emulator.store_fault import SalesforceFault

# SOQL and SOSL Reference, "LIMIT n" (SOSL): "If unspecified, the default is 2,000 results."
MAX_RESULTS = 2000
SCOPES = ("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR")
_TEXT = frozenset({"string", "textarea", "email", "phone", "url"})
_WORD = re.compile(r"[0-9A-Za-z\u00C0-\uFFFF*?]+")
# NO_TERM: captured (restforce spec/fixtures/sobject/search_error_response.json). SHORT_TERM: the
# text of Apex's SearchException; UNCONF that REST answers it as MALFORMED_SEARCH.
NO_TERM = "No search term found. The search term must be enclosed in braces."
SHORT_TERM = "search term must be longer than one character"


@dataclass(frozen=True)
class Returning:
    """One object to search: ``select`` (SOQL field list, "" = Id) and the clauses after it."""
    sobject: str
    select: str = ""
    where: str = ""
    order_by: str = ""
    limit: int | None = None


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]   # lower case; several for a quoted phrase
    op: str                  # "and", "or", "not"


@dataclass(frozen=True)
class Search:
    terms: tuple[Term, ...]
    scope: str = "ALL"
    returning: tuple[Returning, ...] = ()
    limit: int = MAX_RESULTS


def malformed(message: str) -> SalesforceFault:
    return SalesforceFault(400, "MALFORMED_SEARCH", message)


# --- parsing -----------------------------------------------------------------------------------
def parse_terms(text: str) -> tuple[Term, ...]:
    """The search terms of ``FIND {…}`` or of a parameterized search's ``q``."""
    terms: list[Term] = []
    op = "and"
    for phrase, word in re.findall(r'"([^"]*)"|(\S+)', text):
        if not phrase and word.upper() in ("AND", "OR", "NOT"):
            op = {"AND": "and" if op != "not" else "not", "OR": "or", "NOT": "not"}[word.upper()]
            continue
        words = tuple(w.lower() for w in _WORD.findall(phrase or word))
        if words:
            terms.append(Term(words, op))
        op = "and"
    if not terms:
        raise malformed(NO_TERM)
    if all(len("".join(t.words).replace("*", "").replace("?", "")) < 2 for t in terms):
        raise malformed(SHORT_TERM)
    return tuple(terms)


def _find_term(text: str) -> tuple[str, int]:
    """The text between ``FIND {`` and its closing brace (``\\}`` escapes one), and the index
    after it."""
    found = re.match(r"\s*FIND\s*\{", text, re.IGNORECASE)
    if found is None:
        raise malformed(NO_TERM)
    out, i = [], found.end()
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if text[i] == "}":
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    raise malformed(NO_TERM)


def parse(text: str) -> Search:
    """A SOSL statement; raises SalesforceFault MALFORMED_SEARCH."""
    term_text, rest_at = _find_term(text)
    terms = parse_terms(term_text)
    rest = text[rest_at:]
    try:
        tokens = tokenize(rest)
    except SoqlError as exc:
        raise malformed(exc.detail) from exc
    walker = _Walker(rest, tokens)
    scope = walker.scope()
    returning = walker.returning()
    limit = walker.limit()
    if walker.tok.kind != "eof":
        raise malformed(f"unexpected token: {walker.tok.text}")
    return Search(terms, scope, returning, MAX_RESULTS if limit is None else min(limit, MAX_RESULTS))


class _Walker:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text, self.tokens, self.i = text, tokens, 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        self.i += 1
        return self.tokens[self.i - 1]

    def expect(self, word: str) -> None:
        if not self.tok.is_kw(word):
            raise malformed(f"unexpected token: {self.tok.text or '<EOF>'}")
        self.i += 1

    def scope(self) -> str:
        if not self.tok.is_kw("in"):
            return "ALL"
        self.i += 1
        group = self.take().text.upper()
        if group not in SCOPES:
            raise malformed(f"unexpected token: {group}")
        self.expect("fields")
        return group

    def returning(self) -> tuple[Returning, ...]:
        if not self.tok.is_kw("returning"):
            return ()
        self.i += 1
        items = [self.one_object()]
        while self.tok.kind == "op" and self.tok.text == ",":
            self.i += 1
            items.append(self.one_object())
        return tuple(items)

    def one_object(self) -> Returning:
        name = self.take()
        if name.kind != "ident":
            raise malformed(f"unexpected token: {name.text or '<EOF>'}")
        if not (self.tok.kind == "op" and self.tok.text == "("):
            return Returning(name.text)
        start = self.take().pos + 1
        depth = 1
        while depth:
            tok = self.take()
            if tok.kind == "eof":
                raise malformed("unexpected token: <EOF>")
            if tok.kind == "op" and tok.text in "()":
                depth += 1 if tok.text == "(" else -1
        return _clauses(name.text, self.text[start:self.tokens[self.i - 1].pos])

    def limit(self) -> int | None:
        if not self.tok.is_kw("limit"):
            return None
        self.i += 1
        tok = self.take()
        if tok.kind != "number" or not tok.text.isdigit():
            raise malformed(f"unexpected token: {tok.text or '<EOF>'}")
        return int(tok.text)


def _clauses(sobject: str, inner: str) -> Returning:
    """``Id, Name WHERE … ORDER BY … LIMIT n`` split at its top-level keywords."""
    tokens = tokenize(inner)
    marks: dict[str, int] = {}
    depth = 0
    for k, tok in enumerate(tokens):
        if tok.kind == "op" and tok.text in "()":
            depth += 1 if tok.text == "(" else -1
        elif depth == 0 and tok.is_kw("where", "order", "limit", "offset", "using", "with"):
            marks.setdefault(tok.text.lower(), k)
    for refused in ("offset", "using", "with"):
        if refused in marks:
            raise malformed(f"unexpected token: {tokens[marks[refused]].text}")
    ends = sorted(marks.values()) + [len(tokens) - 1]

    def part(word: str, skip: int) -> str:
        if word not in marks:
            return ""
        k = marks[word]
        stop = next(e for e in ends if e > k)
        return inner[tokens[k + skip].pos:tokens[stop].pos if stop < len(tokens) - 1 else None].strip()

    select_end = tokens[ends[0]].pos if ends[0] < len(tokens) - 1 else len(inner)
    limit_text = part("limit", 1)
    if limit_text and not limit_text.isdigit():
        raise malformed(f"unexpected token: {limit_text}")
    return Returning(sobject, inner[:select_end].strip().rstrip(","), part("where", 1),
                     part("order", 2), int(limit_text) if limit_text else None)


# --- matching ----------------------------------------------------------------------------------
def searched_fields(obj: Any, scope: str) -> list[str]:
    """The fields ``IN scope FIELDS`` searches on ``obj`` (a schema SObjectDef). UNCONF: ALL and
    SIDEBAR search every text field (string, textarea, email, phone, url) here; NAME the name
    fields (describe's nameField, and First/LastName)."""
    if scope == "NAME":
        return [f.name for f in obj.fields
                if f.type in _TEXT and (f.name_field or f.name in ("FirstName", "LastName"))]
    kinds = {"EMAIL": {"email"}, "PHONE": {"phone"}}.get(scope, _TEXT)
    return [f.name for f in obj.fields if f.type in kinds and not f.is_compound]


def _words(value: str, phone: bool) -> list[str]:
    words = [w.lower() for w in _WORD.findall(value.replace("*", " ").replace("?", " "))]
    digits = "".join(ch for ch in value if ch.isdigit())
    return words + [digits] if phone and digits else words


def _has(fields: list[list[str]], term: Term) -> bool:
    size = len(term.words)
    for words in fields:
        for start in range(len(words) - size + 1):
            if all(fnmatchcase(words[start + k], pattern) for k, pattern in enumerate(term.words)):
                return True
    return False


def matches(terms: tuple[Term, ...], values: list[tuple[str, bool]]) -> bool:
    """Whether a record whose searched fields hold ``values`` (text, is a phone) matches."""
    fields = [_words(text, phone) for text, phone in values if text]
    result: bool | None = None
    for term in terms:
        found = _has(fields, term)
        if result is None:
            result = found if term.op != "not" else not found
        elif term.op == "or":
            result = result or found
        elif term.op == "not":
            result = result and not found
        else:
            result = result and found
    return bool(result)
