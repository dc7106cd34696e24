"""SOQL text is assembled only in sfexit.org.soql: literals quoted, names checked, IN lists chunked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import quote as url_quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfexit.org import soql


@pytest.mark.parametrize(("value", "literal"), [
    ("O'Brien", r"'O\'Brien'"),
    ("back\\slash", r"'back\\slash'"),
    ('say "hi"', r"'say \"hi\"'"),
    ("line\nbreak\ttab\r", r"'line\nbreak\ttab\r'"),
    ("' OR Name != '", r"'\' OR Name != \''"),
    (None, "null"),
    (True, "TRUE"),
    (False, "FALSE"),
    (42, "42"),
    (Decimal("12.50"), "12.50"),
    (dt.date(2025, 1, 31), "2025-01-31"),
    (dt.datetime(2025, 1, 31, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
     "2025-01-31T11:00:00Z"),
])
def test_quote_literals(value: soql.Value, literal: str) -> None:
    assert soql.quote(value) == literal


def test_quote_refuses_unknown_types_and_naive_datetimes() -> None:
    with pytest.raises(TypeError, match="cannot put a list into SOQL"):
        soql.quote([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a time zone"):
        soql.quote(dt.datetime(2025, 1, 1))


def test_like_escapes_wildcards() -> None:
    assert soql.quote_like("50%_off's") == r"'50\%\_off\'s'"


@given(st.text())
def test_quoted_string_has_no_unescaped_quote(text: str) -> None:
    literal = soql.quote(text)[1:-1]
    i = 0
    while i < len(literal):
        if literal[i] == "\\":
            assert literal[i + 1] in "\\'\"nrtbf"
            i += 2
            continue
        assert literal[i] not in "'\n\r"
        i += 1


def test_select_with_conditions() -> None:
    text = soql.select("User", ["Id", "Username", "Profile.Name"],
                       where=[soql.condition("IsActive", "=", True),
                              soql.in_list("Username", ["a@x.com", "b'@x.com"])],
                       order_by=["Username desc"], limit=10)
    assert text == ("SELECT Id, Username, Profile.Name FROM User WHERE (IsActive = TRUE) AND "
                    r"(Username IN ('a@x.com','b\'@x.com')) ORDER BY Username DESC LIMIT 10")


def test_names_are_checked() -> None:
    with pytest.raises(ValueError, match="not a Salesforce field or object name"):
        soql.select("Account; DELETE", ["Id"])
    with pytest.raises(ValueError, match="not a Salesforce field or object name"):
        soql.condition("Name = 'x' OR Id", "=", "y")
    with pytest.raises(ValueError, match="unsupported SOQL operator"):
        soql.condition("Name", "= 'x' OR Name =", "y")


def test_count_query() -> None:
    assert soql.count("Account", where=["IsDeleted = TRUE"]) == (
        "SELECT COUNT() FROM Account WHERE (IsDeleted = TRUE)")
    assert soql.select("Opportunity", ["COUNT(Id) n"]) == "SELECT COUNT(Id) n FROM Opportunity"


def test_chunked_in_keeps_each_clause_under_the_limit() -> None:
    ids = [f"005{i:012d}AAA" for i in range(1000)]
    clauses = list(soql.chunked_in("OwnerId", ids, 2000))
    assert len(clauses) > 1
    assert all(len(url_quote(c, safe="")) <= 2000 for c in clauses)
    found = [v.strip("'") for c in clauses for v in c[len("OwnerId IN ("):-1].split(",")]
    assert found == ids


def test_chunked_in_drops_duplicates_and_refuses_oversized_values() -> None:
    assert list(soql.chunked_in("Id", ["a", "a", "b"], 100)) == ["Id IN ('a','b')"]
    with pytest.raises(ValueError, match="one value is too long"):
        list(soql.chunked_in("Id", ["x" * 500], 100))


def test_select_in_chunks_full_queries_under_url_limit() -> None:
    ids = [f"001{i:015d}" for i in range(3000)]
    queries = list(soql.select_in_chunks("Account", ["Id", "Name"], "Id", ids,
                                         where=[soql.condition("IsDeleted", "=", False)],
                                         max_url_bytes=8000))
    assert len(queries) > 3
    for q in queries:
        assert len(url_quote(q, safe="")) <= 8000
        assert q.startswith("SELECT Id, Name FROM Account WHERE (IsDeleted = FALSE) AND (Id IN (")
    assert list(soql.select_in_chunks("Account", ["Id"], "Id", [])) == []


def test_group_by_comes_after_where_and_before_order_by() -> None:
    text = soql.select("Lead", ["OwnerId", "COUNT(Id) total"],
                       where=[soql.in_list("OwnerId", ["005A", "005B"])],
                       group_by=["OwnerId", "Status"], order_by=["OwnerId"], limit=5)
    assert text == ("SELECT OwnerId, COUNT(Id) total FROM Lead WHERE (OwnerId IN ('005A','005B'))"
                    " GROUP BY OwnerId, Status ORDER BY OwnerId LIMIT 5")


@pytest.mark.parametrize("bad", ["OwnerId HAVING COUNT(Id) > 1", "OwnerId, Name", "Owner Id",
                                 "", "1Owner"])
def test_group_by_takes_only_field_names(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Salesforce field or object name"):
        soql.select("Lead", ["OwnerId"], group_by=[bad])


def test_last_n_days_is_a_literal_compared_like_any_value() -> None:
    assert soql.condition("LastLoginDate", "<", soql.last_n_days(90)) \
        == "LastLoginDate < LAST_N_DAYS:90"
    assert soql.quote(soql.relative_date("N_MONTHS_AGO", 2)) == "N_MONTHS_AGO:2"
    assert soql.quote(soql.relative_date("NEXT_N_FISCAL_YEARS", 0)) == "NEXT_N_FISCAL_YEARS:0"


@pytest.mark.parametrize(("name", "n"), [("LAST_N_DAYS", -1), ("LAST_N_DAYS", True),
                                         ("LAST_N_DAYS", 1.5), ("LAST_N_DAYS", "30"),
                                         ("LAST_N_DAYS:1 OR Id", 1), ("TODAY", 1),
                                         ("last_n_days", 3)])
def test_relative_dates_refuse_anything_but_a_known_name_and_a_count(name: str, n: object) -> None:
    with pytest.raises(ValueError):
        soql.relative_date(name, n)  # type: ignore[arg-type]


def test_any_of_and_all_of_parenthesise_each_clause() -> None:
    old = soql.condition("LastLoginDate", "<", soql.last_n_days(30))
    never = soql.condition("LastLoginDate", "=", None)
    assert soql.any_of(soql.all_of(old, "IsActive = TRUE"), never) == (
        "((LastLoginDate < LAST_N_DAYS:30) AND (IsActive = TRUE)) OR (LastLoginDate = null)")
    with pytest.raises(ValueError, match="needs at least one clause"):
        soql.any_of()


def test_inactive_clause_is_built_from_the_checked_pieces() -> None:
    from sfexit.people.users import inactive_clause

    assert inactive_clause(45) == (
        "((LastLoginDate < LAST_N_DAYS:45) AND (LastLoginDate != null)) OR "
        "((CreatedDate < LAST_N_DAYS:45) AND (LastLoginDate = null))")
    with pytest.raises(ValueError, match="days must be ≥ 0"):
        inactive_clause(-1)
