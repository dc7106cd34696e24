"""The report's and the notice letter's words, one JSON catalogue per language, and locale
formatting of dates, numbers and amounts through Babel.

Every string a person reads is in ``i18n/<lang>.json`` (flat keys: ``report.*`` for the
report, ``notice.*`` for the letter); code only picks keys and fills ``{placeholders}``.
``tests/unit/test_i18n.py`` checks that each catalogue has exactly ``en.json``'s keys, with
the same placeholders and no empty string.

Babel (CLDR data) formats for the locale: "22 November 2026" vs "22. November 2026",
"12.000,00 €" vs "€12,000.00" (babel.pocoo.org, ``babel.dates.format_date``,
``babel.numbers.format_currency``). It is imported lazily: `sfexit --help` must stay light.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import string
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sfexit.errors import UsageError

LANGUAGES = ("en", "da", "de", "fr", "it", "nl")
DEFAULT_LANG = "en"
CATALOGUE_DIR = Path(__file__).with_name("i18n")


def check_lang(lang: str | None, where: str = "--lang") -> str:
    """``lang`` lower-cased, or the default for None. Raises UsageError for any other value."""
    if lang is None:
        return DEFAULT_LANG
    value = lang.strip().lower()
    if value not in LANGUAGES:
        raise UsageError(f"{where}: {lang!r} is not a supported language; use one of "
                         f"{', '.join(LANGUAGES)}")
    return value


def catalogue_path(lang: str) -> Path:
    return CATALOGUE_DIR / f"{lang}.json"


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a message expects (``{{`` is a literal brace, not a placeholder)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@functools.cache
def _messages(lang: str) -> dict[str, str]:
    try:
        raw = json.loads(catalogue_path(lang).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"the {lang} catalogue cannot be read: {exc}",
                         hint="reinstall sfexit") from None
    return {str(k): str(v) for k, v in raw.items()}


def _as_decimal(value: Decimal | str | int | float) -> Decimal | None:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _as_date(value: dt.date | str) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date() \
            if "T" in text else dt.date.fromisoformat(text)
    except ValueError:
        return None


# French writes the first of the month as an ordinal: "1er janvier 2027" (Imprimerie nationale,
# Lexique des règles typographiques; CLDR's patterns print "1 janvier", so it is added here).
_FRENCH_FIRST = re.compile(r"(?<!\d)1 (?=\D)")


def format_day(day: dt.date, lang: str, style: str = "long") -> str:
    """``day`` as ``lang`` writes it in prose ("22. November 2026", "1er janvier 2027")."""
    from babel.dates import format_date

    text = str(format_date(day, format=style, locale=lang))
    return _ordinal_first(text, day, lang) if style != "short" else text


def _ordinal_first(text: str, day: dt.date, lang: str) -> str:
    """"1 janvier" -> "1er janvier" in French prose; other languages as CLDR writes them."""
    return _FRENCH_FIRST.sub("1er ", text, count=1) if lang == "fr" and day.day == 1 else text


@dataclass(frozen=True)
class Catalogue:
    """One language: ``t(key, **values)`` and the locale's formats."""

    lang: str
    messages: dict[str, str]

    def t(self, key: str, **values: Any) -> str:
        """The message for ``key`` with its placeholders filled. KeyError for an unknown key
        (a programming error, caught by the tests)."""
        return self.messages[key].format(**values) if values else self.messages[key]

    def has(self, key: str) -> bool:
        return key in self.messages

    def date(self, value: dt.date | str | None, style: str = "long") -> str:
        """A date as the locale writes it ("22. November 2026"); "-" for None; text that is
        no ISO date is shown as it is (a report must render whatever run.json holds)."""
        if value is None or value == "":
            return "-"
        day = _as_date(value)
        return str(value) if day is None else format_day(day, self.lang, style)

    def datetime(self, value: str | None) -> str:
        """An ISO timestamp as date and time in UTC, for when a run started and ended."""
        if not value:
            return "-"
        from babel.dates import format_datetime

        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        utc = moment.astimezone(dt.UTC)
        text = str(format_datetime(utc, format="medium", tzinfo=dt.UTC, locale=self.lang))
        return _ordinal_first(text, utc.date(), self.lang) + " UTC"

    def money(self, amount: Decimal | str | int | float, currency: str) -> str:
        """An amount with its currency as the locale writes it ("12.000,00 €")."""
        from babel.numbers import format_currency

        value = _as_decimal(amount)
        if value is None:
            return f"{amount} {currency}"
        return str(format_currency(value, currency, locale=self.lang))

    def number(self, value: int | float | Decimal | None) -> str:
        if value is None:
            return "-"
        from babel.numbers import format_decimal

        return str(format_decimal(value, locale=self.lang))

    def size(self, n_bytes: int | None) -> str:
        """Bytes in the unit a person reads (kB, MB, GB; 1000-based like the forecast's MB)."""
        if n_bytes is None:
            return "-"
        from babel.units import format_unit

        value = float(n_bytes)
        for unit in ("byte", "kilobyte", "megabyte", "gigabyte"):
            if value < 1000 or unit == "gigabyte":
                shown = round(value) if unit == "byte" else round(value, 1)
                # bytes in words ("923 bytes", "923 Byte"): CLDR's short form says "923 byte"
                return str(format_unit(shown, f"digital-{unit}",
                                       length="long" if unit == "byte" else "short",
                                       locale=self.lang))
            value /= 1000
        raise AssertionError("unreachable")


def load_catalogue(lang: str | None = None) -> Catalogue:
    """The catalogue for ``lang`` (default en). Raises UsageError for an unsupported one."""
    code = check_lang(lang)
    return Catalogue(code, _messages(code))


def notice_messages(lang: str) -> dict[str, str]:
    """The letter's sentences in ``lang``, keyed as ``sfexit.notice.MESSAGES``."""
    prefix = "notice."
    return {k[len(prefix):]: v for k, v in load_catalogue(lang).messages.items()
            if k.startswith(prefix)}
