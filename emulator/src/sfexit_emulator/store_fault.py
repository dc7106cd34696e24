"""The one exception the org raises: an error answered in Salesforce's shape (errors.md §1)."""

from __future__ import annotations


class SalesforceFault(Exception):
    """An error answered in Salesforce's shape. status = HTTP status.

    REST renders it as `[{"message": message, "errorCode": error_code, "fields": fields}]`
    (`fields` only on record errors: None means "leave the key out").
    """

    def __init__(self, status: int, error_code: str, message: str,
                 fields: list[str] | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, object]]:
        entry: dict[str, object] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            entry["fields"] = self.fields
        return [entry]


def not_found() -> SalesforceFault:
    return SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")
