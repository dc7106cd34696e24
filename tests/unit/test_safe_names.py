"""File names from the org are hostile: whatever they hold, the stored name is one safe path part."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sfexit.export.safe_names import DEFAULT_MAX_BYTES, FALLBACK_NAME, safe_file_name

RID = "00P5g00000A0001AAB"
WINDOWS_FORBIDDEN = set('<>:"|?*/\\')
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
            *(f"LPT{i}" for i in range(10))}


def assert_safe(result: str, max_len: int = DEFAULT_MAX_BYTES) -> None:
    assert result.startswith(RID + "-")
    assert len(result.encode("utf-8")) <= max_len
    assert result == unicodedata.normalize("NFC", result)
    assert ".." not in result
    assert not result.startswith(".") and not result.endswith((".", " "))
    assert not WINDOWS_FORBIDDEN & set(result)
    assert all(unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
               for ch in result)
    # One path part on both kinds of system: joining it to a folder stays in that folder.
    assert PurePosixPath("files", result).parent == PurePosixPath("files")
    assert PureWindowsPath("files", result).parent == PureWindowsPath("files")
    name_part = result[len(RID) + 1:]
    assert name_part
    assert name_part.split(".")[0].upper() not in RESERVED


@pytest.mark.parametrize("hostile", [
    "../../etc/passwd", "..\\..\\Windows\\system32\\config", "a/b\\c", "/absolute", "C:\\x.txt",
    "..", ".", "...", ". .", "", "   ", ".hidden", "..hidden..", "a..b", "name.", "name ",
    "CON", "con.txt", "NUL", "Aux.tar.gz", "COM1", "lpt9.log", "COM¹", "nul ", "CONIN$",
    "with\x00nul", "two\nlines\r\n", "tab\there", "\x7fdel", "\x85nel", "bell\x07",
    "evil\u202egnp.exe", "zero\u200bwidth", "line\u2028sep", "\ud800surrogate",
    "<>:\"|?*", "🚀" * 200, "é" * 500, "a" * 500 + ".pdf", "x" * 300, "\U000f0000private",
])
def test_hostile_names_become_one_safe_path_part(hostile: str) -> None:
    assert_safe(safe_file_name(RID, hostile))


def test_traversal_cannot_leave_the_folder() -> None:
    name = safe_file_name(RID, "../../etc/passwd")
    assert name == f"{RID}-_._etc_passwd"


def test_ordinary_names_are_kept_as_they_are() -> None:
    assert safe_file_name(RID, "Angebot final v2.pdf") == f"{RID}-Angebot final v2.pdf"
    assert safe_file_name(RID, "見積書 2024.xlsx") == f"{RID}-見積書 2024.xlsx"
    assert safe_file_name(RID, "site photo 🚀.png") == f"{RID}-site photo 🚀.png"


def test_reserved_windows_device_names_are_prefixed() -> None:
    assert safe_file_name(RID, "CON") == f"{RID}-_CON"
    assert safe_file_name(RID, "nul.txt") == f"{RID}-_nul.txt"
    assert safe_file_name(RID, "CONTRACT.pdf") == f"{RID}-CONTRACT.pdf"


def test_empty_or_only_dots_becomes_file() -> None:
    for name in ("", None, ".", "..", " . ", "\x00\x01"):
        assert safe_file_name(RID, name) in (f"{RID}-{FALLBACK_NAME}", f"{RID}-__")


def test_nfc_normalised_so_mac_and_windows_names_agree() -> None:
    decomposed = "Re\u0301sume\u0301.pdf"   # NFD, as macOS writes it
    composed = "R\u00e9sum\u00e9.pdf"
    assert safe_file_name(RID, decomposed) == safe_file_name(RID, composed)
    assert safe_file_name(RID, decomposed) == f"{RID}-{composed}"


def test_long_names_are_cut_in_bytes_keeping_the_extension() -> None:
    result = safe_file_name(RID, "é" * 500 + ".pdf")
    assert result.endswith("é.pdf")
    assert len(result.encode("utf-8")) <= DEFAULT_MAX_BYTES
    assert len(result.encode("utf-8")) >= DEFAULT_MAX_BYTES - 1  # cut at a character boundary


def test_a_long_fake_extension_is_not_kept() -> None:
    result = safe_file_name(RID, "report." + "x" * 300, max_len=60)
    assert len(result.encode("utf-8")) <= 60
    assert result.startswith(f"{RID}-report.xxx")


def test_max_len_is_respected_and_checked() -> None:
    assert len(safe_file_name(RID, "a" * 100, max_len=40).encode()) == 40
    with pytest.raises(ValueError, match="max_len"):
        safe_file_name(RID, "a", max_len=10)


@pytest.mark.parametrize("bad_id", ["", "../x", "00P5g00000A0001AA/", "short", "a" * 19])
def test_record_id_must_be_a_salesforce_id(bad_id: str) -> None:
    with pytest.raises(ValueError, match="record id"):
        safe_file_name(bad_id, "x.txt")


def test_distinct_ids_never_collide_even_with_the_same_name() -> None:
    other = "00P5g00000A0002AAB"
    assert safe_file_name(RID, "a/b") != safe_file_name(other, "a/b")


@settings(max_examples=600, deadline=None)
@given(name=st.text(alphabet=st.characters(codec=None), max_size=600),
       max_len=st.integers(min_value=40, max_value=255))
@example(name="\u0300" * 300, max_len=40)      # only combining marks
@example(name="." * 300 + "pdf", max_len=40)
@example(name="a" * 50 + "." + "é" * 3, max_len=40)
@example(name=". 0", max_len=40)                   # a dot, then a space: both leading
def test_any_text_gives_a_safe_bounded_deterministic_name(name: str, max_len: int) -> None:
    result = safe_file_name(RID, name, max_len=max_len)
    assert_safe(result, max_len)
    assert safe_file_name(RID, name, max_len=max_len) == result
    # Sanitising is stable: a safe name stays as it is.
    assert safe_file_name(RID, result[len(RID) + 1:], max_len=max_len) == result


@settings(max_examples=200, deadline=None)
@given(stem=st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N"]), min_size=1,
                    max_size=400),
       ext=st.sampled_from(["pdf", "docx", "png", "tar", "csv"]))
def test_extension_survives_any_cut(stem: str, ext: str) -> None:
    result = safe_file_name(RID, f"{stem}.{ext}")
    assert result.endswith(f".{ext}")
    assert_safe(result)
