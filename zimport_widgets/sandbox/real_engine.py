"""The sandbox's "milvus" engine: a real Milvus server judges and stores every import.

:class:`RealMilvusEngine` is the data plane (collections, count, query, search, insert) over a real
Milvus standalone (:mod:`.milvus_server`), through the same ``pymilvus.MilvusClient`` calls as the
Milvus Lite engine. :class:`BulkInsertRunner` runs import jobs through the server's own bulk insert:
it fetches the objects from the sandbox bucket with the request's keys and hands the files to Milvus;
job state, progress, row counts and failure reasons are Milvus's. Our checker is never asked.

Milvus 2.3.5 differs from Zilliz Cloud where it is laxer (see ``docs/milvus-versions.md``); a job over
several file groups runs one bulk-insert task per group, so groups that completed keep their rows
when another fails. A malformed ``.npy`` header can crash the 2.3.5 server: the job then fails saying
so, and the sandbox needs a restart.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any

from .faults import Faults
from .importer import ImportJobRecord, JobFailed, JobRunner, _now_iso, text_rows_to_parquet
from .milvus import EngineError, MilvusEngine
from .milvus_server import MILVUS_VERSION, MilvusServer
from .objects import SUPPORTED_SUFFIXES

__all__ = ["BulkInsertRunner", "BulkInsertState", "RealMilvusEngine"]


_POLL = 0.25
_TERMINAL = ("Completed", "Failed")


@dataclass(frozen=True)
class BulkInsertState:
    """One bulk-insert task as Milvus reports it: ``state`` is Pending/Importing/Completed/Failed."""

    task_id: int
    state: str
    progress: int
    rows: int
    reason: str


def _state_name(raw: Any) -> str:
    name = str(getattr(raw, "state_name", raw))
    if name in ("Completed", "Failed"):
        return name
    if "Failed" in name:
        return "Failed"
    return "Pending" if name == "Pending" else "Importing"


class _RefusalFilter(logging.Filter):
    """pymilvus logs a refused bulk insert at ERROR with a traceback; the refusal is the job's reason instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "[do_bulk_insert]" not in record.getMessage()


_REFUSALS = _RefusalFilter()


class RealMilvusEngine(MilvusEngine):
    """A real Milvus server in ``data_dir`` (started in the background, like Milvus Lite)."""

    kind = "milvus"
    keeps_duplicates = True  # a real server: an import inserts, duplicate keys and all

    def __init__(self, data_dir: str) -> None:
        super().__init__(data_dir)
        self.server = MilvusServer(os.path.join(data_dir, "server"))
        self._alias = "zimport-" + secrets.token_hex(6)

    @property
    def description(self) -> str:
        return f"real Milvus {MILVUS_VERSION} server (its own bulk insert judges every import)"

    def _connect(self) -> Any:
        pymilvus_log = logging.getLogger("pymilvus.decorators")
        if _REFUSALS not in pymilvus_log.filters:
            pymilvus_log.addFilter(_REFUSALS)
        self.server.start()
        from pymilvus import MilvusClient, connections

        connections.connect(self._alias, uri=self.server.uri, token=self.server.token)
        return MilvusClient(uri=self.server.uri, token=self.server.token)

    start_timeout = 300.0

    def _release(self) -> None:
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pymilvus import connections

            connections.disconnect(self._alias)
        self.server.stop()

    # -- bulk insert --------------------------------------------------------------------------------
    def bulk_insert(self, collection: str, files: list[str], partition: str = "") -> int:
        """Start Milvus's own import of ``files`` (absolute paths on this machine); returns its task id."""
        from pymilvus import utility

        self.client  # noqa: B018 - waits for the server
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return int(utility.do_bulk_insert(collection, files=files, partition_name=partition or None,
                                                  timeout=15, using=self._alias))  # fmt: skip
        except Exception as exc:
            self._alive(wait=20.0 if "UNAVAILABLE" in str(exc) else 0.0)  # a refusal, or the server died on it
            raise EngineError(getattr(exc, "message", None) or str(exc)) from None

    def _alive(self, wait: float = 0.0) -> None:
        """Raise if the server process has ended; after a failed call, ``wait`` for its exit to be reported."""
        deadline = time.monotonic() + wait
        while self.server.running and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.server.exit_code is not None:
            raise EngineError(
                f"the Milvus server process ended (exit code {self.server.exit_code}) while reading the files; "
                "Milvus 2.3 crashes on some malformed .npy headers"
            )

    def bulk_insert_state(self, task_id: int) -> BulkInsertState:
        from pymilvus import utility

        self._alive()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                st = utility.get_bulk_insert_state(task_id, timeout=10, using=self._alias)  # bounds pymilvus's retries
        except Exception as exc:
            self._alive(wait=20.0)  # a crash: the server's exit is reported a moment after its socket closes
            raise EngineError(f"the state of bulk insert task {task_id} is unknown: {exc}") from None
        infos = dict(st.infos or {})
        try:
            progress = int(float(infos.get("progress_percent") or 0))
        except ValueError:
            progress = 0
        state = _state_name(st)
        return BulkInsertState(task_id, state, 100 if state == "Completed" else progress, int(st.row_count or 0),
                               str(st.failed_reason or infos.get("failed_reason") or ""))  # fmt: skip

    def wait_bulk_insert(self, task_id: int, timeout: float = 300.0) -> BulkInsertState:
        """Poll a task until Milvus says Completed or Failed."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.bulk_insert_state(task_id)
            if st.state in _TERMINAL:
                return st
            if time.monotonic() > deadline:
                raise EngineError(f"bulk insert task {task_id} still {st.state} after {timeout:.0f} s")
            time.sleep(_POLL)

    def make_visible(self, collection: str) -> None:
        """Load the imported segments so count and search see them (Milvus does not do it by itself)."""
        client = self.client
        try:
            client.refresh_load(collection)
        except Exception:
            client.release_collection(collection)
            client.load_collection(collection)
        self.invalidate(collection)


class BulkInsertRunner(JobRunner):
    """Import jobs handed to the real server's bulk insert: one task per file group (NumPy folder or JSON file)."""

    engine: RealMilvusEngine

    def __init__(self, engine: RealMilvusEngine, faults: Faults, *, work_dir: str, keep_records: bool = False) -> None:
        super().__init__(engine, faults, work_dir=work_dir, keep_records=keep_records)

    def _import(self, job: ImportJobRecord, root: str) -> None:
        local = self._download(job, root, span=(5, 10))
        strip = os.path.join(root, "objects") + os.sep
        started: list[tuple[Any, int]] = []
        for task in job.files:
            files = [p for p in local[task.group.label] if p.endswith(SUPPORTED_SUFFIXES)]
            if task.group.kind in ("jsonl", "csv"):  # this server predates its JSON Lines and CSV readers
                files = [str(text_rows_to_parquet(task, files[0], self.engine.schema(job.collection), root, strip))]
            try:
                started.append((task, self.engine.bulk_insert(job.collection, files, job.partition)))
            except EngineError as exc:
                task.reason = str(exc).replace(strip, "")
                raise JobFailed(f"Milvus refused the import of {task.group.label}: {task.reason}") from None
        while True:
            try:
                states = [(task, self.engine.bulk_insert_state(tid)) for task, tid in started]
            except EngineError as exc:
                raise JobFailed(f"Milvus stopped answering about the import: {exc}") from None
            with job._lock:
                for task, st in states:
                    task.state = {"Importing": "InProgress"}.get(st.state, st.state)
                    task.imported_rows = task.total_rows = st.rows
                    if st.state in _TERMINAL and task.complete_time is None:
                        task.complete_time = _now_iso()
                    if st.state == "Failed":
                        task.reason = st.reason.replace(strip, "")
                job.imported_rows = job.total_rows = sum(st.rows for _, st in states)
                job.progress = 10 + int(0.8 * sum(st.progress for _, st in states) / max(1, len(states)))
            failed = [(task, st) for task, st in states if st.state == "Failed"]
            if failed:
                task, st = failed[0]
                raise JobFailed(f"{task.reason} (Milvus's bulk insert of {task.group.label})")
            if all(st.state == "Completed" for _, st in states):
                break
            time.sleep(_POLL)
        self._set(job, progress=90)
        try:
            self.engine.make_visible(job.collection)
        except Exception as exc:
            raise JobFailed(f"the imported rows of {job.collection} could not be loaded: {exc}") from None
        with job._lock:
            job.state, job.progress, job.complete_time = "Completed", 100, _now_iso()
