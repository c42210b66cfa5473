"""Files and folders only this user may read, written whole: the checkpoints, env files, job records and state
of the uploader and the sandbox (they name local files, keys and upload ids).

:func:`write_private` writes under a temporary name (mode 0600 from the start), then renames it into place, so a
kill at any moment leaves the old file or the new one, and never a file another user could read.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

__all__ = ["private_dir", "write_private"]


def private_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder (made as needed) that only this user may open (0700)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def write_private(path: str | os.PathLike[str], data: str | bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` whole (0600; ``fsync``: on the disk before the rename)."""
    target = os.fspath(path)
    tmp = f"{target}.{os.getpid()}.{threading.get_ident()}.tmp"
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
