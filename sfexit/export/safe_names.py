"""File names for downloaded bodies: ``<Id>-<safe name>``, safe on every file system we may meet.

File names come from the org (``Attachment.Name``, ``Document.Name``,
``ContentVersion.PathOnClient`` / ``Title``) and anyone with a login can set them: they are
hostile input. The rules:

- NFC first, so the same name typed on a Mac and on Windows maps to the same bytes.
- No path separators (``/``, ``\\``), no ``..``, no leading dot (hidden files, ``.``/``..``),
  no control, format (bidi overrides such as U+202E) or line/paragraph separator characters.
- Windows: ``< > : " | ? *`` replaced; no trailing dot or space (Explorer cannot delete those);
  reserved device names (``CON``, ``NUL``, ``COM1``… — Microsoft, "Naming Files, Paths, and
  Namespaces", https://learn.microsoft.com/windows/win32/fileio/naming-a-file) prefixed with ``_``.
- Capped in UTF-8 *bytes* (ext4, APFS and NTFS-via-UTF-8 all stop at 255 bytes per name; the
  default leaves room for the ``.part`` suffix), keeping a short extension so the file still opens.
- Never empty: a name with nothing usable becomes ``file``.

The record id in front makes every name unique, so sanitising can never make two files collide;
it must be the 18-character id (15-character ids differ only by case, and macOS and Windows
file systems ignore case).
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT_MAX_BYTES = 200  # 255-byte file system limit, minus ".part" and a safety margin
MIN_MAX_BYTES = 40
FALLBACK_NAME = "file"
MAX_EXTENSION_BYTES = 16  # longer "extensions" are just part of the name

_WINDOWS_FORBIDDEN = set('<>:"|?*/\\')
# Character categories that never belong in a file name: Cc control (NUL, newline, DEL, C1),
# Cf format (bidi overrides, zero-width joiners), Cs lone surrogates (not encodable in UTF-8),
# Co private use, Cn unassigned, Zl/Zp line and paragraph separators.
_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])$",
                       re.IGNORECASE)
_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def safe_file_name(record_id: str, name: str | None, max_len: int = DEFAULT_MAX_BYTES) -> str:
    """``<record_id>-<name made safe>``, at most ``max_len`` UTF-8 bytes; pure and deterministic.

    Raises ValueError when ``record_id`` is not a Salesforce id or ``max_len`` is too small to
    hold the id and a name.
    """
    if not _RECORD_ID.match(record_id or ""):
        raise ValueError(f"not a Salesforce record id: {record_id!r}")
    if max_len < MIN_MAX_BYTES:
        raise ValueError(f"max_len must be at least {MIN_MAX_BYTES} bytes, got {max_len}")
    prefix = f"{record_id}-"
    budget = max_len - len(prefix.encode("utf-8"))
    return prefix + _fit(clean_name(name or ""), budget)


def clean_name(name: str) -> str:
    """``name`` without separators, ``..``, bad characters, leading dots or trailing dots/spaces."""
    text = unicodedata.normalize("NFC", name)
    text = "".join(_clean_char(ch) for ch in text)
    text = re.sub(r"\.{2,}", ".", text)         # no "..", anywhere
    text = text.lstrip(". ").rstrip(". ")       # ". 0" -> "0": stable when sanitised again
    if not text.strip("_ ."):
        return FALLBACK_NAME
    stem = text.split(".", 1)[0].rstrip(" ")
    if _RESERVED.match(stem):
        text = "_" + text
    return text


def _clean_char(ch: str) -> str:
    if ch in _WINDOWS_FORBIDDEN or unicodedata.category(ch) in _BAD_CATEGORIES:
        return "_"
    if ch.isspace():
        return " "  # tabs are Cc already; this catches NBSP-like spaces that confuse shells
    return ch


def _fit(name: str, budget: int) -> str:
    """``name`` cut to ``budget`` UTF-8 bytes on a character boundary, its extension kept."""
    if len(name.encode("utf-8")) <= budget:
        return name
    stem, dot, ext = name.rpartition(".")
    suffix = dot + ext
    if not stem or not dot or len(suffix.encode("utf-8")) > MAX_EXTENSION_BYTES:
        stem, suffix = name, ""
    room = budget - len(suffix.encode("utf-8"))
    cut = _cut_bytes(stem, room).rstrip(". ")
    if not cut:
        cut = FALLBACK_NAME[:room]
    result = unicodedata.normalize("NFC", cut + suffix)
    # NFC of a cut string can (rarely) compose to different bytes; cut again until it fits.
    while len(result.encode("utf-8")) > budget:
        result = unicodedata.normalize("NFC", result[:-1]).rstrip(". ")
    return result or FALLBACK_NAME[:budget]


def _cut_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 form fits in ``limit`` bytes."""
    encoded = text.encode("utf-8")[:max(0, limit)]
    return encoded.decode("utf-8", errors="ignore")
