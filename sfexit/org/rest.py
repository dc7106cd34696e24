"""A thin, typed REST client over the one session: queries, describes, limits, creates, updates.

Raw Salesforce JSON stays inside ``sfexit/org/``: callers get records as plain dicts (without
``attributes``) and typed dataclasses for everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sfexit import errors
from sfexit.org import answers, soql
from sfexit.org.answers import NumberText as NumberText  # where callers find it
from sfexit.org.session import OrgSession

COLLECTION_LIMIT = 200  # sObject Collections: at most 200 records per call (limits.md)


@dataclass(frozen=True)
class Limit:
    name: str
    max: int
    remaining: int

    @property
    def used(self) -> int:
        return self.max - self.remaining


@dataclass(frozen=True)
class Identity:
    user_id: str
    org_id: str
    username: str
    display_name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class OrgInfo:
    org_id: str
    name: str
    edition: str | None
    is_sandbox: bool
    instance_name: str | None = None


@dataclass(frozen=True)
class RecordError:
    status_code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordResult:
    id: str | None
    success: bool
    errors: tuple[RecordError, ...] = ()


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record without ``attributes`` (also inside parent relationships).

    Copied in C and its values' few types looked at once: no Python step per field (a REST
    page holds 2,000 records; issue 23, client CPU)."""
    out = dict(record)
    out.pop("attributes", None)
    if any(issubclass(kind, Mapping) for kind in set(map(type, out.values()))):
        for key, value in out.items():
            if isinstance(value, Mapping):
                out[key] = _plain(value)
    return out


class RestClient:
    def __init__(self, session: OrgSession) -> None:
        self.session = session

    def query_iter(self, query: str, *, include_deleted: bool = False,
                   batch_size: int | None = None, number_text: bool = False
                   ) -> Iterator[dict[str, Any]]:
        """Every row, fetched page by page through ``nextRecordsUrl`` (never all in memory).

        ``batch_size`` (200–2000) asks for smaller pages (``Sforce-Query-Options``); Salesforce
        treats it as a hint. ``number_text``: numbers with a fraction or exponent come as
        :class:`NumberText` (the export writes them as sent), not float.
        """
        resource = "queryAll" if include_deleted else "query"
        headers = {"Sforce-Query-Options": f"batchSize={int(batch_size)}"} if batch_size else {}
        get = self._get_number_text if number_text else self.session.get_json
        body = get(f"data/{resource}", params={"q": query}, headers=headers)
        while True:
            for record in answers.member(body, "records", list):   # also on COUNT() pages
                yield _plain(answers.checked(record, dict, body, "records"))
            next_url = answers.member(body, "nextRecordsUrl", str, default=None)
            if answers.member(body, "done", bool, default=True) or not next_url:
                return
            # This page's rows let go before the next arrives: an export reads 16 objects at
            # once this way, and two parsed pages each is what took its peak RSS past 100 MB.
            body = None
            body = get(next_url, headers=headers)

    def _get_number_text(self, path: str, **kw: Any) -> Any:
        """The page parsed once, by the session's check (not again here: issue 23, CPU)."""
        return answers.json_body(self.session.request("GET", path, number_text=True, **kw),
                                 dict, number_text=True)

    def count(self, query: str, *, include_deleted: bool = False) -> int:
        """``totalSize`` of a ``SELECT COUNT() …`` query (``soql.count``); with
        ``include_deleted``, through ``queryAll`` (deleted and archived rows too)."""
        resource = "queryAll" if include_deleted else "query"
        return answers.integer(self.session.get_json(f"data/{resource}", params={"q": query}),
                               "totalSize")

    def record_counts(self, objects: Iterable[str] | None) -> dict[str, int]:
        """``limits/recordCount``: approximate rows per object (those the org lists); every
        object's when ``objects`` is None ("If this parameter isn't provided, the resource
        returns record counts for all objects in the org": REST API Developer Guide, Record
        Count)."""
        params = None if objects is None else {"sObjects": ",".join(objects)}
        body = self.session.get_json("data/limits/recordCount", params=params)
        return {answers.member(s, "name", str): answers.integer(s, "count", 0)
                for s in answers.member(body, "sObjects", list, default=[])
                if answers.checked(s, dict, body, "sObjects")}

    def describe_global(self) -> list[dict[str, Any]]:
        return list(answers.member(self.session.get_json("data/sobjects"), "sobjects", list))

    def describe(self, sobject: str) -> dict[str, Any]:
        return dict(self.session.get_json(f"data/sobjects/{soql.ident(sobject)}/describe"))

    def limits(self) -> dict[str, Limit]:
        body = self.session.get_json("data/limits")
        return {name: Limit(name, answers.integer(v, "Max", 0), answers.integer(v, "Remaining", 0))
                for name, v in sorted(body.items()) if isinstance(v, Mapping)}

    def identity(self) -> Identity:
        """The logged-in user, from ``/services/oauth2/userinfo``."""
        body = self.session.get_json("/services/oauth2/userinfo")
        return Identity(user_id=answers.member(body, "user_id", str),
                        org_id=answers.member(body, "organization_id", str),
                        username=body.get("preferred_username") or body.get("username", ""),
                        display_name=body.get("name"), email=body.get("email"))

    def organization(self) -> OrgInfo:
        query = soql.select("Organization", ["Id", "Name", "OrganizationType", "IsSandbox",
                                             "InstanceName"], limit=1)
        rows = list(self.query_iter(query))
        if not rows:
            raise errors.ServerAnswerError("GET /services/data/query answered no Organization "
                                           "row (every org has one)")
        row = rows[0]
        return OrgInfo(org_id=row["Id"], name=row.get("Name") or "",
                       edition=row.get("OrganizationType"), is_sandbox=bool(row.get("IsSandbox")),
                       instance_name=row.get("InstanceName"))

    def update_records(self, sobject: str, records: Iterable[Mapping[str, Any]],
                       all_or_none: bool = False) -> list[RecordResult]:
        """PATCH through sObject Collections, ≤ 200 per call; one result per record, in order.

        Setting fields to given values is idempotent, so these calls may be retried.
        """
        return self._collections("PATCH", sobject, records, all_or_none, idempotent=True)

    def create_records(self, sobject: str, records: Iterable[Mapping[str, Any]],
                       all_or_none: bool = False) -> list[RecordResult]:
        """POST through sObject Collections, ≤ 200 per call; one result per record, in order
        (``id`` is the new record's on success).

        Never retried: a lost response may still have created the records, and a second POST
        would create them twice (sObject Collections "Create Multiple Records",
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm).
        """
        return self._collections("POST", sobject, records, all_or_none, idempotent=False)

    def _collections(self, method: str, sobject: str, records: Iterable[Mapping[str, Any]],
                     all_or_none: bool, *, idempotent: bool) -> list[RecordResult]:
        results: list[RecordResult] = []
        chunk: list[dict[str, Any]] = []
        kind = {"type": soql.ident(sobject)}
        for record in records:
            chunk.append({"attributes": kind, **record})
            if len(chunk) == COLLECTION_LIMIT:
                results.extend(self._send_chunk(method, chunk, all_or_none, idempotent))
                chunk = []
        if chunk:
            results.extend(self._send_chunk(method, chunk, all_or_none, idempotent))
        return results

    def _send_chunk(self, method: str, chunk: list[dict[str, Any]], all_or_none: bool,
                    idempotent: bool) -> list[RecordResult]:
        response = self.session.request(method, "data/composite/sobjects",
                                        json={"allOrNone": all_or_none, "records": chunk},
                                        idempotent=idempotent)
        items = [answers.checked(item, dict, None, "a result")
                 for item in answers.json_body(response, list)]
        return [RecordResult(
            id=item.get("id"), success=bool(item.get("success")),
            errors=tuple(RecordError(str(e.get("statusCode", "")), str(e.get("message", "")),
                                     tuple(e.get("fields") or ()))
                         for e in answers.member(item, "errors", list, default=None) or ()
                         if isinstance(e, Mapping)),
        ) for item in items]
