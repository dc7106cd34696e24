"""An object's Id space cut into ranges, to read one large object over several REST cursors
side by side (issue 23; pure).

Salesforce's own answer for large extracts is PK chunking: "adding record ID boundaries to the
query with a WHERE clause", e.g. ``WHERE Id >= 001300000000000 AND Id < 00130000000132G``, each
chunk "specified by the base-62 ID boundaries" (Bulk API Developer Guide, "PK Chunking",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/async_api_headers_enable_pk_chunking.htm;
its example adds 250,000 = ``132G`` in base 62 to the start id). Over SOQL the same is done by
hand ("base62 PK chunking": query the first and the last Id, split the base-62 range between
them; Daniel Peter, "Data Chunking Techniques for Massive Orgs", Salesforce developer blog
2015-11, https://developer.salesforce.com/blogs/developer-relations/2015/11/pk-chunking-techniques-massive-orgs.html).

An id is ``<3-char key prefix><2-char pod><1 reserved><9 base-62 digits>`` (15 characters,
case-sensitive; the 18-char form adds a case-safe suffix). The digits are ``0-9A-Za-z`` in that
order, which is also their byte order, so comparing two 15-char ids as strings (what the
doc's bounds rely on) orders them by their base-62 value; ``ORDER BY Id`` reads them in the same
order. The bounds here are 15-char ids, as in the doc's example.

Every range is ``[low, high)``; the first has no lower bound and the last no upper one, so the
ranges together hold every row whatever was inserted after the first and last Id were read, and
no row is in two ranges. Ids of another pod (an org moved between instances keeps its old
ids) make the numbers between the first and last id meaningless: then the split is only at the
start of the last id's pod (two ranges); ids of different key prefixes (not one object) are
not split at all.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_VALUE = {ch: n for n, ch in enumerate(BASE62)}
HEAD = 6          # key prefix (3), pod (2), reserved (1)
DIGITS = 9        # the record number, base 62


@dataclass(frozen=True)
class IdRange:
    """Ids ``>= low`` and ``< high`` (None: unbounded on that side), 15-char ids."""

    low: str | None
    high: str | None


def number(id15: str) -> int:
    """The base-62 value of an id's record number (its last 9 of 15 characters)."""
    value = 0
    for ch in id15[HEAD:HEAD + DIGITS]:
        value = value * 62 + _VALUE[ch]
    return value


def id_of(head: str, value: int) -> str:
    """The 15-char id of ``head`` (6 chars) and record number ``value``."""
    digits = []
    for _ in range(DIGITS):
        value, rest = divmod(value, 62)
        digits.append(BASE62[rest])
    return head + "".join(reversed(digits))


def valid(record_id: str) -> bool:
    return len(record_id) in (15, 18) and all(ch in _VALUE for ch in record_id)


def split(first: str, last: str, count: int) -> list[IdRange]:
    """At most ``count`` ranges covering every id, cut evenly by base-62 value between the
    ``first`` and ``last`` ids (15 or 18 chars). Fewer when there are fewer ids between them than
    ranges asked for (never an empty range by construction: each bound is a distinct id in
    ``(first, last]``); one when an id is not id-shaped or the key prefixes differ; two (cut at
    the last id's pod) when the pods differ."""
    if count <= 1 or not (valid(first) and valid(last)):
        return [IdRange(None, None)]
    low, high = first[:15], last[:15]
    if low[:3] != high[:3] or low >= high:
        return [IdRange(None, None)]
    if low[:HEAD] != high[:HEAD]:
        cut = id_of(high[:HEAD], 0)
        return [IdRange(None, cut), IdRange(cut, None)]
    start, span = number(low), number(high) - number(low)
    parts = min(count, span + 1)
    # The i-th bound is the start plus i/parts of the span (rounded up: bound 1 is > first).
    bounds = [id_of(low[:HEAD], start + -(-span * i // parts)) for i in range(1, parts)]
    edges: list[str | None] = [None, *bounds, None]
    return [IdRange(edges[i], edges[i + 1]) for i in range(parts)]
