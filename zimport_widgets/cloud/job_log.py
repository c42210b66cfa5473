"""The import jobs this machine started, with when: no job API (v1, v2, Milvus) returns a job's start time.

One JSON line per started job (cluster, job id, collection, time) in a 0600 file of the user cache
(:func:`~zimport_widgets.config.default_job_log`). The client appends to it after every create and reads it
when it lists jobs, so the jobs table can show "started" for the jobs started here, even after a kernel
restart. It holds no key, URL query or object URL. A log that cannot be written never fails an import.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from ..private_files import private_dir, write_private

__all__ = ["JobLog"]

log = logging.getLogger("zimport_widgets.cloud")
_lock = threading.Lock()


class JobLog:
    """Start times of the jobs started from this machine, by cluster (``path=None``: kept nowhere)."""

    #: Past this size the log is cut to its newest :attr:`keep` lines (checked on every write).
    max_bytes = 1 << 20
    keep = 2000

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None

    def record(self, cluster: str, job_id: str, collection: str, started: datetime | None = None) -> datetime:
        """Note that ``job_id`` was started on ``cluster`` now (or at ``started``); return that time (UTC)."""
        when = (started or datetime.now(timezone.utc)).astimezone(timezone.utc)
        if self.path is None:
            return when
        line = json.dumps({"cluster": cluster, "job": job_id, "collection": collection,
                           "started": when.isoformat(timespec="seconds")}) + "\n"  # fmt: skip
        try:
            with _lock:
                private_dir(self.path.parent)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as f:
                    f.write(line)
                self._trim()
        except OSError as exc:  # a read-only home must not fail the import that just started
            log.debug("could not record job %s in %s: %s", job_id, self.path, exc)
        return when

    def started(self, cluster: str) -> dict[str, datetime]:
        """Job id → start time (UTC) of the jobs recorded for ``cluster``."""
        out: dict[str, datetime] = {}
        for entry in self._entries():
            if entry.get("cluster") == cluster:
                try:
                    out[str(entry["job"])] = datetime.fromisoformat(str(entry["started"]))
                except (KeyError, ValueError):
                    continue
        return out

    def _entries(self) -> Iterator[dict[str, object]]:
        if self.path is None:
            return
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except OSError:
            return
        for text in lines:
            try:
                entry = json.loads(text)
            except ValueError:  # a line cut by a kill: the others still count
                continue
            if isinstance(entry, dict):
                yield entry

    def _trim(self) -> None:
        assert self.path is not None
        if os.path.getsize(self.path) <= self.max_bytes:
            return
        with open(self.path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        write_private(self.path, "".join(lines[-self.keep :]))
