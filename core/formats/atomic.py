"""Atomic file writes: a failed write never leaves a half file or damages an existing one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from ..errors import OutputError

# mkstemp creates files readable by the owner only; written files get the usual permissions.
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call `write(f)` on a temporary file in the folder of `path`, then rename it onto `path`.

    The temporary file lives in the same folder so `os.replace` is a rename on one file system
    (atomic on POSIX and Windows). On any failure the temporary file is removed, the previous
    content of `path` (if any) is untouched, and the exception propagates; a folder that does
    not exist or cannot be written gives an `OutputError` naming the path.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{path}: cannot write here, the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: writing failed ({exc.strerror or exc}); nothing was changed") from None
        raise
    return path
