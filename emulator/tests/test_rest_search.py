"""SOSL search (``/search``) and parameterized search through simple-salesforce, over HTTPS.

What a search should find is computed from the org's own records (a word of an Account's name),
never written down here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from org_client import OrgClient
from search_words import WORD_CHARS, commonest_word
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfexit_emulator import Emulator


@pytest.fixture
def sf(emulator: Emulator, emulator_ca_env: str) -> Any:
    return Salesforce(instance_url=emulator.url, session_id=emulator.token, version="64.0")


def _rows(org: Emulator, soql: str) -> list[tuple[Any, ...]]:
    cursor = org.store.query(soql, now=org.clock.now())
    try:
        return [tuple(row) for row in cursor.rows()]
    finally:
        cursor.close()


def _with_word(org: Emulator, sobject: str, field: str, word: str) -> set[str]:
    """Ids of records whose ``field`` has ``word`` as a whole word (case-insensitive)."""
    pattern = re.compile(rf"(?<![{WORD_CHARS}]){re.escape(word)}(?![{WORD_CHARS}])",
                         re.IGNORECASE)
    return {str(i) for i, value in _rows(org, f"SELECT Id, {field} FROM {sobject}")
            if value and pattern.search(str(value))}


@pytest.fixture
def word(emulator: Emulator) -> str:
    """A word of some Account's name that more than one Account has and few Contacts have."""
    names = [str(n) for (n,) in _rows(emulator, "SELECT Name FROM Account ORDER BY Id LIMIT 50")]
    return commonest_word(names)


def test_sosl_finds_the_records_whose_name_has_the_word(sf: Any, emulator: Emulator,
                                                        word: str) -> None:
    found = sf.search(f"FIND {{{word}}} IN NAME FIELDS RETURNING Account(Id, Name), Contact")
    records = found["searchRecords"]
    accounts = {r["Id"] for r in records if r["attributes"]["type"] == "Account"}
    assert accounts == _with_word(emulator, "Account", "Name", word) and len(accounts) > 1
    contacts = [r for r in records if r["attributes"]["type"] == "Contact"]
    assert {r["Id"] for r in contacts} == _with_word(emulator, "Contact", "Name", word)
    # A RETURNING object without a field list answers Ids only, with attributes.
    assert all(set(r) == {"attributes", "Id"} for r in contacts)
    first = next(r for r in records if r["attributes"]["type"] == "Account")
    assert first["attributes"]["url"] == f"/services/data/v64.0/sobjects/Account/{first['Id']}"
    assert word.lower() in first["Name"].lower()


def test_sosl_where_order_by_and_limits_are_soqls(sf: Any, emulator: Emulator, word: str) -> None:
    every = _with_word(emulator, "Account", "Name", word)
    found = sf.search(f"FIND {{{word}}} RETURNING Account(Id, Name WHERE Name != null "
                      "ORDER BY Name DESC LIMIT 2)")["searchRecords"]
    names = [r["Name"] for r in found]
    assert len(found) == 2 and names == sorted(names, reverse=True)
    assert {r["Id"] for r in found} <= every
    overall = sf.search(f"FIND {{{word}}} RETURNING Account(Id), Contact(Id) LIMIT 1")
    assert len(overall["searchRecords"]) == 1


def test_quick_search_and_wildcards(sf: Any, emulator: Emulator, word: str) -> None:
    quick = sf.quick_search(word)["searchRecords"]
    assert _with_word(emulator, "Account", "Name", word) <= {r["Id"] for r in quick}
    starred = sf.search(f"FIND {{{word[:3]}*}} RETURNING Account(Id)")["searchRecords"]
    assert {r["Id"] for r in quick if r["attributes"]["type"] == "Account"} <= {
        r["Id"] for r in starred}
    # Without the wildcard, part of a word is not a word (a token match, not a substring one).
    part = sf.search(f"FIND {{{word[:-1]}}} RETURNING Account(Id)")["searchRecords"]
    assert {r["Id"] for r in part} == _with_word(emulator, "Account", "Name", word[:-1])
    assert not {r["Id"] for r in part} & _with_word(emulator, "Account", "Name", word)


def test_sosl_errors_in_salesforces_shapes(sf: Any) -> None:
    with pytest.raises(SalesforceMalformedRequest) as braces:
        sf.search("FIND Acme")
    # Captured (restforce spec/fixtures/sobject/search_error_response.json).
    assert braces.value.content == [{
        "message": "No search term found. The search term must be enclosed in braces.",
        "errorCode": "MALFORMED_SEARCH"}]
    with pytest.raises(SalesforceMalformedRequest) as short:
        sf.search("FIND {a}")
    assert short.value.content[0]["errorCode"] == "MALFORMED_SEARCH"
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.search("FIND {Acme} RETURNING Nope__x(Id)")
    assert unknown.value.content[0]["errorCode"] == "INVALID_TYPE"
    with pytest.raises(SalesforceMalformedRequest) as field:
        sf.search("FIND {Acme} RETURNING Account(Id, Nope)")
    assert field.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "SELECT" not in field.value.content[0]["message"]


def test_parameterized_search_get_and_post(sf: Any, emulator: Emulator, word: str) -> None:
    every = _with_word(emulator, "Account", "Name", word)
    got = sf.restful("parameterizedSearch", params={
        "q": word, "sobject": "Account", "Account.fields": "Id,Name", "Account.limit": "2"})
    assert len(got["searchRecords"]) == 2 and {r["Id"] for r in got["searchRecords"]} <= every
    assert all(set(r) == {"attributes", "Id", "Name"} for r in got["searchRecords"])
    posted = sf.restful("parameterizedSearch", method="POST", data=json.dumps({
        "q": word, "in": "NAME", "fields": ["Id"], "overallLimit": 100,
        "sobjects": [{"name": "Account"}]}))
    assert {r["Id"] for r in posted["searchRecords"]} == every


def test_versions_before_37_answer_the_bare_array(emulator: Emulator, word: str) -> None:
    answer = OrgClient(emulator, "36.0").get("/search", params={
        "q": f"FIND {{{word}}} RETURNING Account(Id)"})
    assert answer.status_code == 200 and isinstance(answer.json(), list) and answer.json()
