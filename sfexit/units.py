"""Numbers as sfexit writes them in English: one unit for sizes, plurals, thousands separators.

Sizes are 1000-based (kB, MB, GB) everywhere sfexit shows one, as Salesforce's limits and the
report (``report/i18n.py`` ``Catalogue.size``) count them; API limit names keep their own "MB".
"""

from __future__ import annotations

UNITS = ("kB", "MB", "GB", "TB")


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 row``, ``2,500 rows``; ``many`` when the plural is not ``one + "s"``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def size(n_bytes: int | float) -> str:
    """``1 byte``, ``923 bytes``, ``1.2 kB``, ``12.3 MB``, ``1,024.0 GB``."""
    if n_bytes < 1000:
        return plural(int(n_bytes), "byte")
    value = float(n_bytes)
    for unit in UNITS:
        value /= 1000
        if value < 1000 or unit == UNITS[-1]:
            return f"{value:,.1f} {unit}"
    raise AssertionError("unreachable")
