"""Output that appears whole or not at all: built under a hidden staging name, then renamed into place.

A staging name carries the writing process's id (``.<name>.<pid>-<random>.tmp``), so that what a killed
run left behind is recognised and removed by the next run writing the same output, and never taken for
another run's work in progress. An existing output folder is swapped, not filled file by file: at every
moment ``out`` is the old complete set, the new complete set, or (between two renames) absent.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import uuid
from pathlib import Path

__all__ = ["clear_stale_staging", "pid_alive", "staging_path", "swap_into_place"]


#: This machine, in staging names: on a folder shared between machines (NFS) a process id means nothing
#: to the others, so only this machine's leftovers are ever removed.
_HOST = hashlib.sha1(socket.gethostname().encode(), usedforsecurity=False).hexdigest()[:6]


def staging_path(target: Path, suffix: str = "tmp") -> Path:
    """A fresh hidden name beside ``target`` that names this machine and process."""
    return target.with_name(f".{target.name}.{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}.{suffix}")


def clear_stale_staging(target: Path) -> list[Path]:
    """Remove what runs that did not finish (killed, crashed) left beside ``target``; the paths removed."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.{_HOST}-(\d+)-[0-9a-f]{{8}}\.(?:\w+\.)?(tmp|old)$")
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in sorted(target.parent.iterdir()):
            m = pattern.match(entry.name)
            if m is None or pid_alive(int(m.group(1))):
                continue
            if m.group(2) == "old" and not target.exists():
                os.replace(entry, target)  # killed between the two renames of a swap: the old set comes back
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def swap_into_place(tmp: Path, out: Path) -> None:
    """Make the finished folder ``tmp`` the folder ``out`` (an existing ``out`` is replaced whole)."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = staging_path(out, "old")
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)  # the old set stays in place
        raise
    shutil.rmtree(old, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (this one, always)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
