"""Words to search the seeded org for, taken from its own records (never written down).

A search word must be a WHOLE word of a name as SOSL tokenises it: letters include accented
and non-Latin ones, so "ller" is not a word of "Müller" (an ASCII-only split once picked it and
the searches found nothing). Ties are broken by the word itself, not by set order (which
changes with PYTHONHASHSEED from one process to the next).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# What a word is made of, for the tests' own expectations and for picking words.
WORD_CHARS = "0-9A-Za-z\u00C0-\uFFFF"


def whole_words(text: str) -> list[str]:
    """The ASCII words of ``text`` of four letters or more that are whole words."""
    return [w for w in re.findall(f"[{WORD_CHARS}]+", text)
            if len(w) >= 4 and w.isascii() and w.isalpha()]


def commonest_word(names: Iterable[str]) -> str:
    """The whole word most of ``names`` share (the first in sorted order on a tie)."""
    words = [w for name in names for w in whole_words(name)]
    return max(sorted(set(words)), key=words.count)
