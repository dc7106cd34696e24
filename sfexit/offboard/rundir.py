"""The run directory of ``sfexit offboard`` and its ``run.json`` (docs/offboard.md).

The run directory is the contract between the orchestration (this package, which writes it)
and the report (``sfexit.report``, which reads it)::

    RUN_DIR/run.json        the run's state, rewritten atomically after every step change
    RUN_DIR/journal.jsonl   every org change (sfexit.journal), with step_start/step_end
    RUN_DIR/export/         the backup (manifest.json, data/, files/, schema/)
    RUN_DIR/plans/          the freeze / deactivate plan CSVs, the reassignment plan
    RUN_DIR/report.json, report.html

``run.json`` is written tmp + fsync + ``os.replace`` so a crash leaves the old or the new file,
never half of one: ``--resume`` trusts it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sfexit import errors
from sfexit.ondisk import atomic_write

SCHEMA_VERSION = 1
STEPS = ("preflight", "dates", "export", "verify", "freeze", "reassign", "deactivate", "report")
# A step's status in run.json, the offboard result and the report.
StepStatus = Literal["planned", "skipped", "running", "done", "partial", "failed"]
LIMIT_KEYS = ("rest_calls", "bulk_query_jobs", "bulk_result_mb", "ingest_records")
RUN_FILE = "run.json"
JOURNAL_FILE = "journal.jsonl"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def zero_usage() -> dict[str, int]:
    return dict.fromkeys(LIMIT_KEYS, 0)


@dataclass
class RunDir:
    """One run directory and its ``run.json`` state (``data``), kept in memory and on disk."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def run_file(self) -> Path:
        return self.path / RUN_FILE

    @property
    def journal_path(self) -> Path:
        return self.path / JOURNAL_FILE

    @property
    def export_dir(self) -> Path:
        return self.path / "export"

    @property
    def plans_dir(self) -> Path:
        self.path.joinpath("plans").mkdir(parents=True, exist_ok=True)
        return self.path / "plans"

    @property
    def mode(self) -> str:
        return str(self.data.get("mode", "real"))

    # --- creating and loading ---------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, *, mode: str, tool_version: str, lang: str,
               steps: list[dict[str, Any]]) -> RunDir:
        """A new run directory. Raises UsageError when ``path`` already holds a run."""
        path = Path(path)
        if (path / RUN_FILE).exists():
            raise errors.UsageError(f"{path} already holds an offboard run",
                                    hint=f"continue it with --resume {path}, or pick another "
                                         "--run-dir")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.UsageError(f"cannot create the run directory {path}: "
                                    f"{exc.strerror}") from None
        run = cls(path, {
            "schema_version": SCHEMA_VERSION, "run_id": path.name, "mode": mode,
            "tool_version": tool_version, "started_at": now_iso(), "finished_at": None,
            "lang": lang, "org": None, "operator": None, "contract": None, "steps": steps,
            "limits_before": {}, "warnings": [], "journal_head": None, "forecast": None})
        run.save()
        return run

    @classmethod
    def load(cls, path: Path) -> RunDir:
        """Raises UsageError when ``path`` holds no readable run.json."""
        path = Path(path)
        try:
            data = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise errors.UsageError(f"{path} holds no offboard run (no {RUN_FILE})",
                                    hint="give the directory a previous `sfexit offboard` "
                                         "printed") from None
        except (OSError, ValueError) as exc:
            raise errors.UsageError(f"cannot read {path / RUN_FILE}: {exc}") from None
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION \
                or not isinstance(data.get("steps"), list):
            raise errors.UsageError(f"{path / RUN_FILE} is not a run.json this sfexit knows "
                                    f"(schema_version {SCHEMA_VERSION})")
        return cls(path, data)

    # --- writing ------------------------------------------------------------------------------

    def save(self) -> None:
        """Atomically (:func:`sfexit.ondisk.atomic_write`)."""
        body = json.dumps(self.data, indent=2, ensure_ascii=False, default=str) + "\n"
        atomic_write(self.run_file, body.encode("utf-8"))

    def step(self, name: str) -> dict[str, Any]:
        for s in self.data["steps"]:
            if s["name"] == name:
                return dict(s)
        raise KeyError(name)

    def update_step(self, name: str, status: StepStatus | None = None, **changes: Any) -> None:
        if status is not None:
            changes["status"] = status
        for s in self.data["steps"]:
            if s["name"] == name:
                s.update(changes)
        self.save()

    def set(self, **values: Any) -> None:
        self.data.update(values)
        self.save()

    def first_unfinished(self) -> str | None:
        for s in self.data["steps"]:
            if s["status"] not in ("done", "skipped"):
                return str(s["name"])
        return None
