"""manifest.json: versioned, round-trips, atomic, thread-safe, refuses another org's backup."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from sfexit.errors import UsageError
from sfexit.export import manifest as m
from sfexit.export.csvshape import scan_csv


def _object(name: str = "Account", rows: int = 3) -> m.ObjectEntry:
    return m.ObjectEntry(name=name, method="bulk", query=f"SELECT Id FROM {name}",
                         job_ids=["750x"], rows=rows, bytes=42, sha256="ab" * 32,
                         file=f"data/{name}.csv",
                         skipped_fields=[m.SkippedField("BillingAddress", "compound")])


def _file(i: int) -> m.FileEntry:
    return m.FileEntry("ContentVersion", f"068{i:015d}", "069x", f"n{i}.pdf",
                       f"files/ContentVersion/068{i:015d}-n{i}.pdf", i, "cd" * 32, "ef" * 16,
                       True, True)


def test_a_new_manifest_is_written_at_once_with_its_schema_version(tmp_path: Path) -> None:
    store = m.ManifestStore.create(tmp_path, org_id="00Dx", org_name="Acme", api_version="62.0")
    raw = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert raw["schema_version"] == m.SCHEMA_VERSION == 1
    assert raw["org_id"] == "00Dx" and raw["finished_at"] is None
    assert store.manifest_sha256() == __import__("hashlib").sha256(
        (tmp_path / "manifest.json").read_bytes()).hexdigest()


def test_every_entry_kind_round_trips(tmp_path: Path) -> None:
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")
    store.put_object(_object())
    store.put_file(_file(1))
    store.put_weekly(m.WeeklyPart("WE_00Dx_1.ZIP", 10, "00" * 32, "weekly/WE_00Dx_1.ZIP"))
    store.add_skipped(m.SkippedObject("ActivityHistory", "not queryable"))
    store.set_permissions({"ViewAllData": True})
    store.finish(api_calls=7, bulk_jobs=2)
    loaded = m.ManifestStore.load(tmp_path).manifest
    assert loaded.objects["Account"] == _object()
    assert loaded.files["ContentVersion/068000000000000001"] == _file(1)
    assert loaded.weekly[0].name == "WE_00Dx_1.ZIP"
    assert loaded.skipped == [m.SkippedObject("ActivityHistory", "not queryable")]
    assert loaded.permissions == {"ViewAllData": True}
    assert (loaded.api_calls, loaded.bulk_jobs) == (7, 2) and loaded.finished_at


def test_a_resumed_run_adds_its_usage_and_exporting_a_skipped_object_unskips_it(
        tmp_path: Path) -> None:
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")
    store.add_skipped(m.SkippedObject("Account", "no access"))
    store.finish(api_calls=5)
    again = m.ManifestStore.open_or_create(tmp_path, org_id="00Dx")
    assert again.manifest.finished_at is None
    again.put_object(_object())
    again.finish(api_calls=3)
    loaded = m.ManifestStore.load(tmp_path).manifest
    assert loaded.api_calls == 8 and loaded.skipped == []


def test_another_orgs_backup_is_refused(tmp_path: Path) -> None:
    m.ManifestStore.create(tmp_path, org_id="00DA")
    with pytest.raises(UsageError, match="holds a backup of org 00DA"):
        m.ManifestStore.open_or_create(tmp_path, org_id="00DB")


@pytest.mark.parametrize("content,needle", [
    (None, "does not exist"), ("{not json", "not a readable sfexit manifest"),
    ('{"schema_version": 99, "org_id": "x"}', "schema_version 99")])
def test_unreadable_manifests_are_usage_errors(tmp_path: Path, content: str | None,
                                               needle: str) -> None:
    if content is not None:
        (tmp_path / "manifest.json").write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=needle):
        m.ManifestStore.load(tmp_path)


def test_parallel_writers_lose_nothing(tmp_path: Path) -> None:
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")
    threads = [threading.Thread(target=lambda i=i: store.put_file(_file(i))) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(m.ManifestStore.load(tmp_path).manifest.files) == 40


def test_put_files_records_many_entries_with_one_write(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")
    writes: list[Path] = []
    real = m.atomic_write

    def counting(path: Path, data: bytes) -> None:
        writes.append(path)
        real(path, data)

    monkeypatch.setattr(m, "atomic_write", counting)
    store.put_files([_file(i) for i in range(100)])
    store.put_files([])  # nothing to record: nothing written
    assert len(writes) == 1
    loaded = m.ManifestStore.load(tmp_path).manifest.files
    assert sorted(loaded) == sorted(_file(i).key for i in range(100))
    assert loaded[_file(7).key] == _file(7)


def test_a_batch_that_fails_to_write_records_none_of_its_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")
    store.put_files([_file(1)])
    before = (tmp_path / "manifest.json").read_bytes()

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.put_files([_file(2), _file(3)])
    assert (tmp_path / "manifest.json").read_bytes() == before
    monkeypatch.undo()
    assert list(m.ManifestStore.load(tmp_path).manifest.files) == [_file(1).key]


def test_weekly_parts_keep_file_id_and_export_date_and_older_manifests_still_load(
        tmp_path: Path) -> None:
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")
    store.put_weekly(m.WeeklyPart("WE_00Dx_1.ZIP", 10, "00" * 32, "weekly/WE_00Dx_1.ZIP",
                                  file_id="092000000000001AAA", export_date="2026-11-20"))
    part = m.ManifestStore.load(tmp_path).manifest.weekly[0]
    assert (part.file_id, part.export_date) == ("092000000000001AAA", "2026-11-20")

    raw = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    for key in ("file_id", "export_date"):
        del raw["weekly"][0][key]  # as written before these fields existed
    (tmp_path / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    old = m.ManifestStore.load(tmp_path).manifest
    assert old.schema_version == 1
    assert (old.weekly[0].name, old.weekly[0].file_id, old.weekly[0].export_date) == \
        ("WE_00Dx_1.ZIP", None, None)


def test_a_failed_write_leaves_the_previous_manifest(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")
    store.put_object(_object())
    store.flush()
    before = (tmp_path / "manifest.json").read_bytes()

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    store.put_object(_object("Contact"))
    with pytest.raises(KeyboardInterrupt):
        store.flush()
    assert (tmp_path / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_unknown_method_is_refused(tmp_path: Path) -> None:
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")
    bad = m.ObjectEntry("A", "soap", "q", [], 0, 0, "", "data/A.csv")
    with pytest.raises(ValueError):
        store.put_object(bad)


@pytest.mark.parametrize("data,rows", [
    (b'"Id","Name"\n', 0),
    (b'"Id","Name"\n"1","a"\n"2","b"\n', 2),
    (b'"Id","Name"\n"1","line\none"\n"2","say ""hi""\n, ok"\n', 2),
    (b'"Id","Name"\n"1","no final newline"', 1),
    (b"", 0),
])
def test_csv_rows_are_counted_outside_quotes(tmp_path: Path, data: bytes, rows: int) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    facts = scan_csv(path)
    assert (facts.rows, facts.size) == (rows, len(data))


def test_rows_counted_across_read_boundaries(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.export.csvshape as shape

    data = b'"Id","Name"\n' + b"".join(
        b'"%d","a ""q"" \n b, c"\n' % i for i in range(50))
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    for size in (1, 2, 3, 7, 64):
        monkeypatch.setattr(shape, "READ_SIZE", size)
        facts = shape.scan_csv(path)
        assert (facts.rows, facts.problem) == (50, None), size


def test_header_is_kept_once_even_when_split_across_chunks(tmp_path: Path) -> None:
    from sfexit.export.csvsink import HeaderOnce, PartFile

    part = PartFile(tmp_path / "A.csv")
    header = HeaderOnce(part)
    for page in ([b'"Id","Na', b'me"\n"1","x"\n'], [b'"Id"', b',"Name"', b'\n"2","y"\n']):
        header.start_page()
        for chunk in page:
            header.feed(chunk)
    part.commit()
    assert (tmp_path / "A.csv").read_bytes() == b'"Id","Name"\n"1","x"\n"2","y"\n'
    assert not (tmp_path / "A.csv.part").exists()


def test_the_manifest_file_does_not_depend_on_the_order_work_finished(tmp_path: Path) -> None:
    """Parallel objects finish in any order; the manifest lists them by name."""
    texts = []
    for order in (("Task", "Account", "Contact"), ("Contact", "Account", "Task")):
        store = m.ManifestStore.create(tmp_path / "-".join(order), org_id="00Dx",
                                       org_name="Acme", api_version="62.0")
        for name in order:
            store.put_object(_object(name))
        store.flush()
        raw = json.loads((store.path).read_text(encoding="utf-8"))
        texts.append(json.dumps(raw["objects"]))
        assert list(raw["objects"]) == ["Account", "Contact", "Task"]
    assert texts[0] == texts[1]


class _Timers:
    """threading.Timer as the store starts it, fired by the test instead of by a clock."""

    def __init__(self) -> None:
        self.started: list[_Timers.Timer] = []

    def __call__(self, wait: float, function: object) -> _Timers.Timer:
        timer = _Timers.Timer(wait, function)
        self.started.append(timer)
        return timer

    class Timer:
        def __init__(self, wait: float, function: object) -> None:
            self.wait, self.function, self.cancelled, self.daemon = wait, function, False, False

        def start(self) -> None:
            pass

        def cancel(self) -> None:
            self.cancelled = True


def _listed(directory: Path) -> list[str]:
    return sorted(json.loads((directory / "manifest.json").read_text("utf-8"))["objects"])


def test_objects_finished_within_a_second_are_written_together_within_that_second(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    timers = _Timers()
    monkeypatch.setattr(m.threading, "Timer", timers)
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")   # written just now
    store.put_object(_object("Account"))
    store.put_object(_object("Contact"))
    assert _listed(tmp_path) == []                 # both wait for the window's end ...
    assert len(timers.started) == 1 and 0 < timers.started[0].wait <= m.GROUP_SECONDS
    assert timers.started[0].daemon
    timers.started[0].function()                   # ... which writes them at once
    assert _listed(tmp_path) == ["Account", "Contact"]
    assert store.manifest_sha256()                 # nothing waits: no second timer
    assert len(timers.started) == 1


def test_every_other_update_and_the_report_hash_write_the_waiting_objects(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    timers = _Timers()
    monkeypatch.setattr(m.threading, "Timer", timers)
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")
    store.put_object(_object("Account"))
    digest = store.manifest_sha256()
    assert _listed(tmp_path) == ["Account"] and timers.started[0].cancelled
    assert digest == __import__("hashlib").sha256(
        (tmp_path / "manifest.json").read_bytes()).hexdigest()
    store.put_object(_object("Contact"))
    store.add_usage(api_calls=1)                   # usage, pause, finish: the run's end states
    assert _listed(tmp_path) == ["Account", "Contact"] and timers.started[1].cancelled


def test_an_object_after_a_quiet_second_is_written_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(m.time, "monotonic", lambda: clock[0])
    store = m.ManifestStore.create(tmp_path, org_id="00Dx")
    clock[0] += m.GROUP_SECONDS
    store.put_object(_object("Account"))
    assert _listed(tmp_path) == ["Account"]
