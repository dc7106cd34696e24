"""A REST value written as Bulk writes it (export/csvsink.csv_field), and REST numbers kept as
the org sent them (org/rest.NumberText): the bytes of a backup do not depend on the API that
read it (issue 19, item 7)."""

from __future__ import annotations

import pytest
import responses

from sfexit.export.csvsink import csv_field, csv_line
from sfexit.org.rest import NumberText, RestClient
from sfexit.org.session import OrgSession

HOST = "https://acme.my.salesforce.com"


@pytest.mark.parametrize("value,kind,text", [
    ("2024-01-31T09:15:00.000+0000", "datetime", '"2024-01-31T09:15:00.000Z"'),
    ("2024-01-31T09:15:00.000Z", "datetime", '"2024-01-31T09:15:00.000Z"'),
    ("2024-01-31T09:15:00.000+0000", "string", '"2024-01-31T09:15:00.000+0000"'),
    ("2024-01-31", "date", '"2024-01-31"'),
    ("09:15:00.000Z", "time", '"09:15:00.000Z"'),
    (True, "boolean", '"true"'), (False, "boolean", '"false"'), (None, "double", '""'),
    (NumberText("1.0"), "double", '"1.0"'), (NumberText("9.12260031E8"), "currency",
                                             '"9.12260031E8"'),
    (12, "int", '"12"'), (12.5, "percent", '"12.5"'), ('say "hi"', "string", '"say ""hi"""'),
])
def test_a_rest_value_is_written_as_bulk_writes_it(value: object, kind: str, text: str) -> None:
    assert csv_field(value, kind) == text


def test_a_line_pairs_values_with_their_kinds() -> None:
    line = csv_line(["001", "2024-01-31T09:15:00.000+0000", None], ("id", "datetime", "string"))
    assert line == b'"001","2024-01-31T09:15:00.000Z",""\n'


@responses.activate
def test_rest_numbers_are_kept_as_the_org_wrote_them() -> None:
    body = ('{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Account"},'
            '"Amount":9.12260031E8,"Probability":1.0,"NumberOfEmployees":12}]}')
    responses.get(f"{HOST}/services/data/v62.0/query", body=body,
                  content_type="application/json")
    rest = RestClient(OrgSession(HOST, "00Dx!token", api_version="62.0",
                                 sleep=lambda _s: None))
    [plain] = rest.query_iter("SELECT Amount FROM Account")
    [kept] = rest.query_iter("SELECT Amount FROM Account", number_text=True)
    assert plain["Amount"] == 912260031.0 and str(plain["Amount"]) == "912260031.0"
    assert csv_line(kept.values()) == b'"9.12260031E8","1.0","12"\n'
