"""The upload of a bag to a cloud prefix, and its resume (docs/archive.md, "Cloud destinations";
archive/destination.py builds the tag files it sends).

1. before anything is built: the URL, the provider's package, the bucket and the credentials
   are checked by listing the prefix, which must hold nothing, or the unfinished upload of
   the same export (its MARKER names the SHA-256 of the export's ``manifest.json``); anything
   else is refused (an archive is never overwritten; exit 2, or 3 for refused credentials);
2. MARKER is written first, then the payload (``data/``) and the other tag files
   (UPLOAD_WORKERS at a time), then one by one ``manifest-sha256.txt``, ``bag-info.txt``,
   ``tagmanifest-sha256.txt``; an object already there with the file's size and the SHA-256
   S3 checked on its arrival (storage_checked.stored_sha256), or, sent in parts, the ETag MARKER
   recorded when this upload completed it (Ledger), is not sent again: that is the resume;
3. S3 checks the SHA-256 of every single-request upload on arrival (storage_checked.put);
4. the prefix then holds exactly the bag's files but ``bagit.txt``, and MARKER, each of its
   size, and the bag's own files read back have the local bag's SHA-256; ``bagit.txt`` goes
   last (RFC 8493 §2.1.1: a bag MUST have it, so until it is there no tool takes the prefix
   for a bag), is read back, and MARKER is removed;
5. a failure or Ctrl-C keeps what was uploaded (the same command resumes), never a
   ``bagit.txt`` this run put before its check passed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bagit

from sfexit.archive.bag import ALGORITHM
from sfexit.errors import SfexitError, UsageError
from sfexit.export.manifest import MANIFEST_NAME
from sfexit.ondisk import file_sha256
from sfexit.storage import Remote, listing, read, remove
from sfexit.storage_checked import Sent, copy, holds, put, read_sha256, sent_records, write

# Uploaded last, in this order: the bag's own files, so that an upload cut short anywhere
# before the end leaves no bagit.txt, hence no bag (module docstring).
LAST = ("manifest-sha256.txt", "bag-info.txt", f"tagmanifest-{ALGORITHM}.txt", "bagit.txt")
READ_BACK = LAST
# Written first and removed last: the proof that the prefix holds an unfinished upload, and of
# which export (the SHA-256 of the manifest.json given to build), so that a rerun resumes it
# and any other export is refused. Not a file of the bag.
MARKER = ".sfexit-upload.json"
# The files before LAST go up this many at a time: an object store takes many requests at
# once, and an export's file bodies are often thousands of small objects, each a round trip.
UPLOAD_WORKERS = 8


@dataclass(frozen=True)
class InBucket:
    """A payload file that is in a bucket, not in the export's directory (`export bulk
    --dest s3://… --archive s3://…`: the file bodies): proven there, then copied inside the
    store (storage_checked.copy), never through the local disk."""

    fs: Any
    remote: Remote
    relative: str                 # its path in the export
    size: int
    sent: Sent | None = None      # the export's record of it, when it went up in parts

    def proven(self, sha256: str) -> bool:
        """Its bytes are the manifest's: the SHA-256 S3 keeps, the ETag recorded, else read
        back (storage_checked.holds)."""
        return holds(self.fs, self.remote, {self.relative: self.size}, self.relative,
                     self.size, sha256, read_back=True, sent=self.sent)


def export_identity(backup_dir: Path) -> str | None:
    """What MARKER records of an export: the SHA-256 of its manifest.json (which records the
    SHA-256 of every file, docs/manifest.md); None when there is none yet."""
    try:
        return file_sha256(Path(backup_dir) / MANIFEST_NAME)
    except OSError:
        return None


def check_resumable(fs: Any, remote: Remote, found: dict[str, int], identity: str | None,
                    refused: str) -> None:
    """The prefix holds nothing, or MARKER of the export ``identity``. Raises UsageError."""
    if not found:
        return
    if MARKER not in found:
        raise UsageError(f"--out {remote.url} {refused} ({len(found)} objects)",
                         hint="give a new prefix; an archive is never overwritten")
    theirs = _marker_identity(read(fs, remote, MARKER))
    if identity is None or theirs != identity:
        raise UsageError(f"--out {remote.url} holds an unfinished upload of another export "
                         f"(manifest.json SHA-256 {theirs or 'unreadable'})",
                         hint="give a new prefix, or the export that upload was of")


class Ledger:
    """MARKER's content: the export the upload is of, and a ``storage_checked.Sent`` record of each
    file sent in parts (S3 keeps no SHA-256 of those), MARKER rewritten after each: a rerun
    of a cut upload recognises such a file by a HEAD giving the size and ETag recorded
    (``storage_checked.holds``) instead of sending it again. Shared by the upload's threads."""

    def __init__(self, fs: Any, remote: Remote, identity: str,
                 sent: dict[str, Sent] | None = None) -> None:
        self.fs, self.remote, self.identity = fs, remote, identity
        self.sent = dict(sent or {})
        self._lock = threading.Lock()

    @classmethod
    def read(cls, fs: Any, remote: Remote, identity: str) -> Ledger:
        """The ledger of the cut upload in ``remote`` (its MARKER, already checked to be of
        ``identity``); a record that is not well-formed is ignored (the file is sent)."""
        try:
            raw = json.loads(read(fs, remote, MARKER)).get("sent")
        except (ValueError, AttributeError):
            raw = None
        return cls(fs, remote, identity, sent_records(raw))

    def write(self) -> None:
        with self._lock:
            body = {"sfexit_upload": 1, "export_manifest_sha256": self.identity,
                    "sent": {k: v.to_json() for k, v in sorted(self.sent.items())}}
            write(self.fs, self.remote, MARKER,
                  (json.dumps(body, indent=2) + "\n").encode("utf-8"))

    def record(self, relative: str, sent: Sent | None) -> None:
        if sent is not None:
            with self._lock:
                self.sent[relative] = sent
            self.write()


def _marker_identity(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("export_manifest_sha256")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def upload_bag(files: Mapping[str, Path | InBucket], hashes: dict[str, str], fs: Any,
               remote: Remote,
               identity: str, on_step: Callable[[str], None] | None = None) -> None:
    """Upload the bag's ``files`` (path in the bag → the local file it is sent from) under
    ``remote`` and check the upload (module docstring), resuming the unfinished upload of the
    export ``identity`` found there; ``hashes``: path → SHA-256, from the bag's manifests.
    On any failure or interruption, keep what was uploaded (but an unchecked ``bagit.txt``)
    and raise."""
    step = on_step or (lambda _s: None)
    found = listing(fs, remote)   # checked before the build; someone may have written since
    check_resumable(fs, remote, found, identity, "is no longer empty")
    strangers = sorted(set(found) - set(hashes) - {MARKER})
    if strangers:
        raise UsageError(f"--out {remote.url} holds {len(strangers)} objects that are not "
                         f"files of this archive, first {strangers[0]}",
                         hint="give a new prefix; an archive is never overwritten")
    sealed = False
    try:
        if MARKER in found:
            step(f"resuming the upload: {len(found) - 1} objects already in {remote.url}")
            remove_stale_bagit(fs, remote, found)
            ledger = Ledger.read(fs, remote, identity)
        else:
            ledger = Ledger(fs, remote, identity)
            ledger.write()
        order = [p for p in upload_order(hashes) if p != "bagit.txt"]
        sent = _put_all(fs, remote, files, hashes, found, [p for p in order if p not in LAST],
                        ledger)
        for relative in [p for p in order if p in LAST]:   # one at a time, in LAST's order
            sent += send(fs, remote, files[relative], relative, hashes[relative], found,
                         ledger)
        if MARKER in found:
            step(f"{len(order) - sent} of {len(order) + 1} files were already there with "
                 "their SHA-256, not sent again")
        check_upload(files, fs, remote, hashes)
        put(fs, remote, _local(files["bagit.txt"]), "bagit.txt", hashes["bagit.txt"])
        sealed = True
        check_read_back(fs, remote, "bagit.txt", hashes["bagit.txt"])
    except BaseException as exc:
        if sealed and remove(fs, remote, ["bagit.txt"]):
            kept = "; bagit.txt could not be deleted"
        else:
            kept = (f"; what was uploaded is kept in {remote.url}, without bagit.txt (no "
                    "bag): `sfexit archive build` of the same export to it resumes the upload")
        if isinstance(exc, SfexitError):
            exc.message += kept    # the same error (class, exit code), told what is left
        raise
    if remove(fs, remote, [MARKER]):
        raise SfexitError(f"{remote.url}: the archive is uploaded and checked, but {MARKER} "
                          "could not be deleted",
                          hint="run the same command again (it checks and deletes it), or "
                               "delete that object")


def remove_stale_bagit(fs: Any, remote: Remote, found: dict[str, int]) -> None:
    """A run cut after putting ``bagit.txt``, before removing MARKER: its tag files are about
    to be replaced by this build's, so the prefix must stop claiming to be a bag first."""
    if "bagit.txt" in found:
        if remove(fs, remote, ["bagit.txt"]):
            raise SfexitError(f"{remote.url}: cannot delete the bagit.txt of the cut upload",
                              hint="check the credentials' permissions (delete)")
        del found["bagit.txt"]


def send(fs: Any, remote: Remote, local: Path | InBucket, relative: str, sha256: str,
         found: dict[str, int], ledger: Ledger) -> bool:
    """Put one file unless the prefix has it already: of its size, and with the SHA-256 the
    store checked on its arrival, or (sent in parts) the ETag ``ledger`` recorded when this
    upload completed it (an object with neither, of another size, or whose bytes are another
    file's, is sent again: nothing in the bucket is trusted on its name). True when it was
    sent."""
    if holds(fs, remote, found, relative, _size(local), sha256,
             sent=ledger.sent.get(relative)):
        return False
    if isinstance(local, Path):
        ledger.record(relative, put(fs, remote, local, relative, sha256))
        return True
    if not local.proven(sha256):
        raise SfexitError(f"not copying {local.remote.url}/{local.relative}: its bytes are "
                          f"not the SHA-256 {sha256} of the bag's manifest",
                          hint="the export changed in the bucket after it was made: run "
                               "`sfexit export verify` on it, then export again")
    ledger.record(relative, copy(fs, local.remote, local.relative, remote, relative,
                                 local.size, sha256))
    return True


def _size(file: Path | InBucket) -> int:
    return file.stat().st_size if isinstance(file, Path) else file.size


def _local(file: Path | InBucket) -> Path:
    assert isinstance(file, Path)     # the bag's own files are built locally
    return file


def _put_all(fs: Any, remote: Remote, files: Mapping[str, Path | InBucket],
             hashes: dict[str, str],
             found: dict[str, int], paths: list[str], ledger: Ledger) -> int:
    """``send`` ``paths`` UPLOAD_WORKERS at a time; how many were sent. The first failure (or
    Ctrl-C) cancels what has not started, waits for what has, and is raised."""
    pool = ThreadPoolExecutor(UPLOAD_WORKERS, thread_name_prefix="sfexit-upload")
    futures = [pool.submit(send, fs, remote, files[p], p, hashes[p], found, ledger)
               for p in paths]
    try:
        return sum(future.result() for future in as_completed(futures))
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True)


def upload_order(hashes: dict[str, str]) -> list[str]:
    """The payload, then the other tag files, then LAST in its order."""
    rest = [p for p in hashes if p not in LAST]
    return (sorted(p for p in rest if p.startswith("data/"))
            + sorted(p for p in rest if not p.startswith("data/"))
            + [p for p in LAST if p in hashes])


def bag_hashes(bag: Path) -> dict[str, str]:
    """Every file of the bag (posix path relative to it) → its SHA-256: from the bag's two
    manifests (nothing is hashed again), ``tagmanifest-sha256.txt`` itself hashed here. The
    payload need not be in ``bag``: ``manifest-sha256.txt`` lists it."""
    out = {relative: entry[ALGORITHM] for relative, entry in bagit.Bag(str(bag)).entries.items()
           if ALGORITHM in entry}
    for relative in tag_files(bag):
        out.setdefault(relative, file_sha256(bag / relative))
    return dict(sorted(out.items()))


def tag_files(bag: Path) -> dict[str, Path]:
    """The files built locally (everything in ``bag`` but a payload): path in the bag → file."""
    return {path.relative_to(bag).as_posix(): path for path in sorted(bag.rglob("*"))
            if path.is_file() and not path.relative_to(bag).as_posix().startswith("data/")}


def check_upload(files: Mapping[str, Path | InBucket], fs: Any, remote: Remote,
                 hashes: dict[str, str]) -> None:
    """Before ``bagit.txt``: the prefix holds exactly the bag's other files and MARKER, each
    of its size; the bag's own files read back have their SHA-256. Raises SfexitError naming
    the first difference."""
    found = listing(fs, remote)
    found.pop(MARKER, None)
    for relative in sorted((set(hashes) | set(found)) - {"bagit.txt"}):
        size = _size(files[relative]) if relative in hashes else None
        if found.get(relative) != size:
            raise SfexitError(f"the upload to {remote.url} does not match the bag: "
                              f"{relative}: {size} bytes in the bag, "
                              f"{found.get(relative)} in the bucket")
    for relative in READ_BACK:
        if relative != "bagit.txt":
            check_read_back(fs, remote, relative, hashes[relative])


def check_read_back(fs: Any, remote: Remote, relative: str, sha256: str) -> None:
    digest = read_sha256(fs, remote, relative)
    if digest != sha256:
        raise SfexitError(f"the upload to {remote.url} does not match the bag: "
                          f"{relative}: SHA-256 {digest} read back, {sha256} in the bag")

