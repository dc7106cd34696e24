"""Whatever path reads an object, its CSV is what Bulk serves, byte for byte (issue 19, item 7):
every object of the org exported over Bulk, then again with every Bulk job refused (so each
falls back to REST query), compares equal object by object (bytes and sha256). The emulator's
REST JSON differs from its Bulk CSV where Salesforce's does: datetimes ``.000+0000`` vs
``.000Z``, JSON booleans and numbers vs text, null vs an empty field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from export_support import backup, methods_and_hashes
from sfexit import errors
from sfexit_emulator import Emulator


def test_every_object_read_over_rest_is_byte_identical_to_bulk(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.org.bulk2 as bulk2

    org = fresh_emulator
    backup(org, tmp_path / "bulk", max_records=500)

    def refused(*_args: Any, **_kw: Any) -> Any:
        raise errors.SalesforceError("POST jobs/query failed: Bulk is switched off here",
                                     error_code="API_ERROR", status=400)

    monkeypatch.setattr(bulk2, "create_query_job", refused)
    backup(org, tmp_path / "rest", max_records=500)
    bulk, rest = methods_and_hashes(tmp_path / "bulk"), methods_and_hashes(tmp_path / "rest")
    assert set(bulk) == set(rest)
    read_by_bulk = sorted(n for n, (method, _) in bulk.items() if method == "bulk")
    assert len(read_by_bulk) >= 20 and "Opportunity" in read_by_bulk
    assert {rest[n][0] for n in read_by_bulk} == {"rest"}
    differing = sorted(n for n in bulk if bulk[n][1] != rest[n][1])
    assert differing == [], differing
    for name in read_by_bulk:   # byte for byte, not only by hash
        path = f"data/{name}.csv"
        assert (tmp_path / "rest" / path).read_bytes() == (tmp_path / "bulk" / path).read_bytes()
