"""Files on disk: the one durable write and the one file hasher.

A file another run trusts (``manifest.json``, ``run.json``, the journal's head, the report) is
written by :func:`atomic_write`: a temporary file in the same directory, fsync'ed, renamed over
the target with ``os.replace`` (atomic on POSIX and Windows), then the directory fsync'ed so the
rename itself survives a power cut (``fsync(2)``: "does not necessarily ensure that the entry in
the directory containing the file has also reached disk"). A crash leaves the old content or
the new, never half of one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

READ_SIZE = 1 << 20


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old content or the new, never a mix.
    Raises OSError (the temporary file is removed)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable; a no-op where a directory cannot be opened
    (Windows), where the rename is still atomic."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass   # some file systems refuse fsync on a directory; the rename is still atomic
    finally:
        os.close(fd)


def file_digest(path: Path) -> tuple[int, str]:
    """(size, SHA-256 hex) of a file, read in 1 MiB blocks. Raises OSError."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(READ_SIZE):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 hex of a file. Raises OSError."""
    return file_digest(path)[1]
