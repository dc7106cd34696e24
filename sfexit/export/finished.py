"""A finished, complete export: the one check that ``archive build`` and ``export bulk
--since`` both rely on before they use a backup directory. Reads only the disk.
"""

from __future__ import annotations

from pathlib import Path

from sfexit.errors import UsageError
from sfexit.export.manifest import MANIFEST_NAME, Manifest, ManifestStore

# Where the export keeps the describe of every object it read (export/objects.py writes it).
SCHEMA_DIR = "schema"


def load_finished(directory: Path) -> Manifest:
    """The manifest of the export in ``directory``, refused unless it is finished and nothing
    is missing.

    Raises UsageError: no directory, no readable manifest, a run that did not finish, a file
    still marked incomplete, or an object the export described but neither exported nor
    skipped (it failed: rerun the export to finish it).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory",
                         hint="give the directory of a backup made by `sfexit export bulk`")
    if not (directory / MANIFEST_NAME).is_file():
        raise UsageError(f"{directory} is not an sfexit export (no {MANIFEST_NAME})",
                         hint="give the directory of a backup made by `sfexit export bulk`")
    manifest = ManifestStore.load(directory).snapshot()
    _refuse_incomplete(directory, manifest)
    return manifest


def _refuse_incomplete(directory: Path, manifest: Manifest) -> None:
    rerun = "run the same `sfexit export bulk` again to finish it, then build the archive"
    if not manifest.finished_at:
        raise UsageError(f"the export in {directory} did not finish (manifest.json has no "
                         "finished_at)", hint=rerun)
    broken = sorted(key for key, f in manifest.files.items() if not f.complete)
    if broken:
        raise UsageError(f"the export in {directory} is incomplete: {len(broken)} file(s) "
                         f"did not verify, first {broken[0]}", hint=rerun)
    listed = set(manifest.objects) | {s.name for s in manifest.skipped}
    described = sorted(p.stem for p in (directory / SCHEMA_DIR).glob("*.json"))
    failed = [name for name in described if name not in listed]
    if failed:
        raise UsageError(f"the export in {directory} is incomplete: {len(failed)} object(s) "
                         f"described but not exported, first {failed[0]}", hint=rerun)
