"""The export's describe cache (sfexit/export/objects.py): each object described once in a run,
also when the first jobs take a describe the preflight's sample still asks for."""

from __future__ import annotations

from typing import Any

from sfexit.export.objects import DescribeCache


class _Rest:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def describe(self, name: str) -> dict[str, Any]:
        self.calls.append(name)
        return {"name": name, "fields": []}


def test_a_held_cache_keeps_what_was_taken_until_released() -> None:
    # A first job takes Account's describe; the preflight's sample asks for it after.
    rest, cache = _Rest(), DescribeCache(held=True)
    cache.get(rest, "Account")                    # type: ignore[arg-type]
    cache.take(rest, "Account")                   # type: ignore[arg-type]
    cache.get(rest, "Account")                    # type: ignore[arg-type]
    assert rest.calls == ["Account"]
    cache.release()
    cache.get(rest, "Account")                    # type: ignore[arg-type]
    assert rest.calls == ["Account", "Account"]   # no longer kept: memory stays flat


def test_an_unheld_cache_hands_a_describe_over_once() -> None:
    rest, cache = _Rest(), DescribeCache()
    cache.get(rest, "Account")                    # type: ignore[arg-type]
    cache.take(rest, "Account")                   # type: ignore[arg-type]
    cache.take(rest, "Account")                   # type: ignore[arg-type]
    assert rest.calls == ["Account", "Account"]
