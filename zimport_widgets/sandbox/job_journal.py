"""Import job records on disk, so that a sandbox restarted on the same data folder still knows its jobs.

Each job is ``<folder>/<job id>.json`` (written whole: temporary name, rename), rewritten when its state
changes; while it inserts rows, the primary keys of every inserted batch are appended to
``<job id>.ids`` as soon as the insert returns them. A job found unfinished at the next start was cut
by a crash or a kill: its rows are deleted again (an import is all or nothing, as on the real service)
and it is marked Failed with that reason. (A kill between an insert's return and that append, a few
microseconds, would leave that one batch.) Records never hold the request's storage keys.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from dataclasses import asdict
from typing import Any

from ..private_files import private_dir, write_private
from .objects import ObjectGroup

__all__ = ["JobJournal", "file_task_from_dict", "record_fields"]

log = logging.getLogger("zimport_widgets.sandbox")

#: The fields of an :class:`~.importer.ImportJobRecord` kept on disk (not its reader or lock).
_RECORD_FIELDS = (
    "job_id", "collection", "cluster_id", "partition", "created", "state", "progress", "reason",
    "complete_time", "total_rows", "imported_rows",
)  # fmt: skip
_TASK_FIELDS = ("bucket", "state", "total_rows", "imported_rows", "complete_time", "reason")


def record_fields(job: Any) -> dict[str, Any]:
    """The JSON form of a job record (lock held by the caller)."""
    out = {name: getattr(job, name) for name in _RECORD_FIELDS}
    out["files"] = [{"group": asdict(f.group), **{n: getattr(f, n) for n in _TASK_FIELDS}} for f in job.files]
    return out


def file_task_from_dict(d: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for a :class:`~.importer.FileTask` from its JSON form."""
    return {"group": ObjectGroup(**d["group"]), **{n: d[n] for n in _TASK_FIELDS if n in d}}


class JobJournal:
    """The job records of one sandbox under ``folder`` (0700; files 0600)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        private_dir(folder)

    def _path(self, job_id: str, suffix: str) -> str:
        if not job_id or "/" in job_id or job_id.startswith("."):
            raise ValueError(f"bad job id {job_id!r}")
        return os.path.join(self.folder, job_id + suffix)

    def save(self, fields: dict[str, Any]) -> None:
        with self._lock:
            write_private(self._path(fields["job_id"], ".json"), json.dumps(fields))

    def add_ids(self, job_id: str, ids: list[Any]) -> None:
        """Note the primary keys of rows this job inserted (one JSON line per batch)."""
        if not ids:
            return
        line = json.dumps([i.item() if hasattr(i, "item") else i for i in ids]) + "\n"
        fd = os.open(self._path(job_id, ".ids"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line)

    def drop_ids(self, job_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._path(job_id, ".ids"))

    def ids(self, job_id: str) -> list[Any]:
        """The keys noted by :meth:`add_ids` (a line cut by a kill is skipped)."""
        out: list[Any] = []
        with contextlib.suppress(FileNotFoundError), open(self._path(job_id, ".ids"), encoding="utf-8") as f:
            for line in f:
                with contextlib.suppress(ValueError):
                    out.extend(json.loads(line))
        return out

    def load(self) -> list[dict[str, Any]]:
        """Every readable record, oldest first."""
        out = []
        for name in sorted(os.listdir(self.folder)):
            path = os.path.join(self.folder, name)
            if name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.remove(path)
            if not name.endswith(".json"):
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    record = json.load(f)
                if not isinstance(record, dict) or not isinstance(record.get("job_id"), str):
                    raise ValueError("not a job record")
                out.append(record)
            except (OSError, ValueError) as exc:
                log.warning("job record %s could not be read (%s); skipped", path, exc)
        return sorted(out, key=lambda d: d.get("created", 0) if isinstance(d.get("created"), (int, float)) else 0)
