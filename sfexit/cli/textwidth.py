"""Text as a terminal shows it: wide (CJK) characters take two cells, combining marks none.

``table`` aligns columns with :func:`cells` and, given a width, truncates the widest columns
with :func:`clip` so a table fits the terminal instead of wrapping into a mess.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"


def char_cells(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cells(text: str) -> int:
    """How many terminal cells ``text`` takes."""
    return sum(char_cells(ch) for ch in text)


def pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` cells (str.ljust counts characters)."""
    return text + " " * max(0, width - cells(text))


def clip(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` cells, ending in an ellipsis when cut."""
    if cells(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = char_cells(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def fit_widths(widths: list[int], total: int, gap: int = 2, minimum: int = 6,
               keep: frozenset[int] = frozenset()) -> list[int]:
    """Column widths that fit in ``total`` cells (with ``gap`` between columns): the widest
    column not in ``keep`` gives up a cell at a time, none below ``minimum``."""
    widths = list(widths)
    budget = total - gap * (len(widths) - 1)
    shrinkable = [k for k in range(len(widths)) if k not in keep] or list(range(len(widths)))
    while sum(widths) > budget:
        i = max(shrinkable, key=lambda k: widths[k])
        if widths[i] <= minimum:
            break
        widths[i] -= 1
    return widths
