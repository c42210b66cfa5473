"""Import jobs of the sandbox controller: a queue worked by one background thread.

A job moves Pending → Importing → Completed/Failed. Importing reads the objects through the OSS
protocol with the request's keys, runs the core checks (:func:`zimport_widgets.check_import_source`)
against the collection's schema, converts a JSON source with :func:`zimport_widgets.convert_json_to_numpy`
and inserts the rows into Milvus Lite in batches; progress advances with the batches. A failure
carries a reason naming the file and field, and rows already inserted by the job are deleted again.

Progress (0-100, as Milvus weighs its phases): Pending 0, reading 10-30, checking 30-40,
inserting 40-90, completed 100; a failed job reports progress 0 and its reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..schema import CollectionSchema
from .faults import Faults
from .job_journal import JobJournal, file_task_from_dict, record_fields
from .milvus import MilvusEngine
from .npy_rows import npy_rows, parquet_arrays
from .objects import ImportRequestError, ObjectGroup, ObjectRef, StoreAccessError, StoreReader, group_objects

__all__ = ["FileTask", "ImportJobRecord", "JobRunner"]

log = logging.getLogger("zimport_widgets.sandbox")


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def text_rows_to_parquet(task: FileTask, path: str, schema: CollectionSchema, root: str, strip: str) -> Path:
    """A JSON Lines or CSV import file as Parquet (Milvus's 2.5+ CSV reader rules), or the job fails with why.

    Both engines need it: the lite engine reads Parquet, and the real server here (2.3.5) predates these readers.
    """
    from ..errors import ZImportError
    from ..prepare.convert_any import convert

    out = Path(root) / "converted" / f"{secrets.token_hex(4)}.parquet"
    try:
        convert(path, out, schema, progress=False)
    except ZImportError as exc:
        task.reason = str(exc).replace(strip, "")
        raise JobFailed(f"Failed to read {{{task.group.label}}}: {task.reason}") from None
    return out


class JobFailed(Exception):
    """Ends a job in state Failed with this reason."""


@dataclass
class FileTask:
    """One group of a job (a NumPy folder or a JSON file) and its own progress."""

    group: ObjectGroup
    bucket: str
    ref: ObjectRef | None = None  # set when the source could not be listed yet (keys refused at create time)
    state: str = "Pending"  # Pending | InProgress | Completed | Failed
    total_rows: int = 0
    imported_rows: int = 0
    complete_time: str | None = None
    reason: str = ""

    @property
    def progress(self) -> int:
        if self.state == "Completed":
            return 100
        return int(100 * self.imported_rows / self.total_rows) if self.total_rows else 0


@dataclass
class ImportJobRecord:
    """What the controller knows of one job. The request's key pair lives in ``reader`` (never shown)."""

    job_id: str
    collection: str
    cluster_id: str
    files: list[FileTask]
    reader: StoreReader | None = field(repr=False)  # None for a job restored from disk (it never runs again)
    partition: str = ""
    created: float = field(default_factory=time.time)
    state: str = "Pending"  # Pending | Importing | Completed | Failed
    progress: int = 0
    reason: str = ""
    complete_time: str | None = None
    total_rows: int = 0
    imported_rows: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def file_size(self) -> int:
        return sum(f.group.size for f in self.files)

    @property
    def file_name(self) -> str:
        return self.files[0].group.label if len(self.files) == 1 else ", ".join(f.group.label for f in self.files)

    # -- wire shapes --------------------------------------------------------------------------------
    def v1_progress(self) -> dict[str, Any]:
        """``data`` of ``GET /v1/vector/collections/import/get``: readyPercentage is a 0-1 fraction."""
        with self._lock:
            return self._v1_progress()

    def _v1_progress(self) -> dict[str, Any]:
        ready = 1 if self.state == "Completed" else round(self.progress / 100, 2)
        return {
            "collectionName": self.collection, "fileName": self.file_name, "fileSize": self.file_size,
            "readyPercentage": ready, "completeTime": self.complete_time,
            "errorMessage": self.reason if self.state == "Failed" else None, "jobId": self.job_id,
            "details": [
                {"fileName": f.group.label, "fileSize": f.group.size,
                 "readyPercentage": 1 if f.state == "Completed" else round(f.progress / 100, 2),
                 "completeTime": f.complete_time, "errorMessage": f.reason or None}
                for f in self.files
            ],
        }  # fmt: skip

    def v2_progress(self) -> dict[str, Any]:
        """``data`` of ``POST /v2/vectordb/jobs/import/describe`` (``getProgress``, ``get_progress``)."""
        with self._lock:
            return self._v2_progress()

    def _v2_progress(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id, "collectionName": self.collection, "fileName": self.file_name,
            "fileSize": self.file_size, "state": self.state, "progress": self.progress,
            "completeTime": self.complete_time or "", "reason": self.reason,
            "importedRows": self.imported_rows, "totalRows": self.total_rows,
            "details": [
                {"fileName": f.group.label, "fileSize": f.group.size, "state": f.state, "progress": f.progress,
                 "completeTime": f.complete_time or "", "reason": f.reason, "importedRows": f.imported_rows,
                 "totalRows": f.total_rows}
                for f in self.files
            ],
        }  # fmt: skip

    def v1_list_item(self) -> dict[str, Any]:
        state = {"Completed": "ImportCompleted", "Failed": "ImportFailed"}.get(self.state, "ImportRunning")
        return {"collectionName": self.collection, "jobId": self.job_id, "state": state}

    def v2_list_item(self) -> dict[str, Any]:
        item = {"collectionName": self.collection, "jobId": self.job_id, "state": self.state,
                "progress": self.progress}  # fmt: skip
        if self.reason:
            item["reason"] = self.reason
        return item


def _reader(job: ImportJobRecord) -> StoreReader:
    if job.reader is None:
        raise JobFailed("this job was restored from disk and cannot run again")
    return job.reader


def new_job_id() -> str:
    return "job-" + secrets.token_hex(11)


class JobRunner:
    """Queues and runs import jobs one at a time in a background thread."""

    def __init__(
        self,
        engine: MilvusEngine,
        faults: Faults,
        *,
        work_dir: str,
        batch_rows: int = 1000,
        batch_delay: float = 0.0,
        keep_records: bool = False,
    ) -> None:
        self.engine, self.faults, self.work_dir = engine, faults, work_dir
        self.batch_rows, self.batch_delay = batch_rows, batch_delay
        self.journal = JobJournal(os.path.join(work_dir, "records")) if keep_records else None
        self._jobs: dict[str, ImportJobRecord] = {}
        self._last_saved: dict[str, float] = {}
        self._lock = threading.RLock()
        self._queue: queue.Queue[ImportJobRecord | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> JobRunner:
        if self._thread is None:
            self._stopping.clear()
            self._clear_work_dir()
            self._restore()
            self._thread = threading.Thread(target=self._work, name="zimport-import-jobs", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    # -- records on disk ----------------------------------------------------------------------------
    def _clear_work_dir(self) -> None:
        """Remove the download folders of jobs that a kill cut short (``<job id>-xxxx``)."""
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(self.work_dir):
                if name.startswith("job-"):
                    shutil.rmtree(os.path.join(self.work_dir, name), ignore_errors=True)

    def _save(self, job: ImportJobRecord, *, throttle: float = 0.0) -> None:
        if self.journal is None:
            return
        now = time.monotonic()
        if throttle and now - self._last_saved.get(job.job_id, 0.0) < throttle:
            return
        self._last_saved[job.job_id] = now
        with job._lock:
            fields = record_fields(job)
        try:
            self.journal.save(fields)
        except OSError as exc:
            log.warning("job %s: its record could not be written (%s)", job.job_id, exc)

    def _restore(self) -> None:
        """Load the jobs of earlier runs; one cut by a crash is undone and marked Failed."""
        if self.journal is None:
            return
        for d in self.journal.load():
            if d.get("job_id") in self._jobs:
                continue
            try:
                job = ImportJobRecord(
                    **{k: d[k] for k in d if k != "files"}, reader=None,
                    files=[FileTask(**file_task_from_dict(f)) for f in d.get("files", [])],
                )  # fmt: skip
            except (TypeError, KeyError, AttributeError, ValueError) as exc:  # a record from another version
                log.warning("a job record could not be read (%s); skipped", exc)
                continue
            with self._lock:
                self._jobs[job.job_id] = job
            if job.state in ("Completed", "Failed"):
                continue
            ids = self.journal.ids(job.job_id)
            undone = ""
            if ids:
                try:
                    self.engine.delete_ids(job.collection, ids)
                    undone = f"; the {len(ids)} rows it had inserted were deleted again (an import is all or nothing)"
                except Exception as exc:
                    undone = f"; the {len(ids)} rows it had inserted could not be deleted ({exc})"
            self._fail(job, "the sandbox stopped while this job ran (killed or crashed)" + undone)
            with job._lock:
                job.imported_rows = 0
            self._save(job)
            self.journal.drop_ids(job.job_id)

    # -- bookkeeping --------------------------------------------------------------------------------
    def submit(self, job: ImportJobRecord) -> ImportJobRecord:
        with self._lock:
            self._jobs[job.job_id] = job
        self._save(job)
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> ImportJobRecord | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, collection: str | None = None) -> list[ImportJobRecord]:
        """Jobs, newest first, optionally of one collection."""
        with self._lock:
            items = list(self._jobs.values())
        items = [j for j in items if not collection or j.collection == collection]
        return sorted(items, key=lambda j: j.created, reverse=True)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no job is Pending or Importing (for tests and the demo)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(j.state in ("Completed", "Failed") for j in self.jobs()):
                return True
            time.sleep(0.05)
        return False

    # -- the worker ---------------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stopping.is_set():
            job = self._queue.get()
            if job is None:
                return
            try:
                self._run(job)
            except JobFailed as exc:
                self._fail(job, str(exc))
            except Exception as exc:  # a bug or an engine failure: the job fails, the worker lives on
                log.debug("import job %s crashed", job.job_id, exc_info=True)
                self._fail(job, f"internal error: {type(exc).__name__}: {exc}")
            self._save(job)
            if self.journal is not None:
                self.journal.drop_ids(job.job_id)

    def _fail(self, job: ImportJobRecord, reason: str) -> None:
        with job._lock:
            job.state, job.reason, job.progress = "Failed", reason, 0
            job.complete_time = _now_iso()
            for f in job.files:
                if f.state != "Completed":
                    f.state = "Failed"
                    f.reason = f.reason or reason
                    f.complete_time = job.complete_time

    def _set(self, job: ImportJobRecord, **values: Any) -> None:
        with job._lock:
            for k, v in values.items():
                setattr(job, k, v)

    def _run(self, job: ImportJobRecord) -> None:
        self._set(job, state="Importing", progress=10)
        self._save(job)
        injected = self.faults.take_job_failure()
        if injected is not None:
            raise JobFailed(injected)
        root = tempfile.mkdtemp(prefix=f"{job.job_id}-", dir=self.work_dir)
        try:
            self._import(job, root)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def _download(self, job: ImportJobRecord, root: str, span: tuple[int, int] = (10, 30)) -> dict[str, list[str]]:
        """Read every object of the job with the request's keys into ``root/objects``; progress moves over ``span``."""
        self._resolve_deferred(job)
        total_bytes = max(1, job.file_size)
        done_bytes = 0
        lo, hi = span
        local: dict[str, list[str]] = {}
        for task in job.files:
            task.state = "InProgress"
            paths = []
            for key in task.group.keys:
                dest = os.path.join(root, "objects", *key.split("/"))
                try:
                    done_bytes += _reader(job).download(task.bucket, key, dest)
                except StoreAccessError as exc:
                    task.reason = f"failed to read {key}: {exc.reason}"
                    raise JobFailed(f"Failed to read object {task.bucket}/{key}: {exc.reason}") from None
                paths.append(dest)
                self._set(job, progress=lo + int((hi - lo) * min(done_bytes, total_bytes) / total_bytes))
            local[task.group.label] = paths
        return local

    def _import(self, job: ImportJobRecord, root: str) -> None:
        # 1. read the objects with the request's keys (10-30)
        local = self._download(job, root)

        # 2. check every group against the collection's schema (30-40)
        try:
            schema = self.engine.schema(job.collection)
        except Exception as exc:
            raise JobFailed(f"the collection {job.collection!r} is not available: {exc}") from None
        if job.partition and not self.engine.has_partition(job.collection, job.partition):
            # as the service: the job is accepted, then fails (Milvus: "partition not found")
            raise JobFailed(f"partition not found[partition={job.partition}] in collection {job.collection!r}")
        strip = os.path.join(root, "objects") + os.sep
        columns: list[tuple[FileTask, dict[str, np.ndarray], int]] = []
        for task in job.files:
            arrays, rows = self._check_and_load(task, local[task.group.label], schema, root, strip)
            task.total_rows = rows
            columns.append((task, arrays, rows))
        self._set(job, progress=40, total_rows=sum(r for _, _, r in columns))

        # 3. insert in batches (40-90); undo on failure
        inserted: list[Any] = []
        total = max(1, job.total_rows)
        try:
            for task, arrays, rows in columns:
                for lo in range(0, rows, self.batch_rows):
                    hi = min(rows, lo + self.batch_rows)
                    batch = npy_rows(schema, arrays, lo, hi)
                    try:
                        ids = self.engine.insert(job.collection, batch, job.partition)
                        inserted += ids
                        if self.journal is not None:
                            self.journal.add_ids(job.job_id, ids)
                    except Exception as exc:
                        task.reason = str(exc)
                        raise JobFailed(f"Failed to insert rows {lo}-{hi - 1} of {task.group.label}: {exc}") from None
                    with job._lock:
                        task.imported_rows = hi
                        job.imported_rows += hi - lo
                        job.progress = 40 + int(50 * job.imported_rows / total)
                    self._save(job, throttle=1.0)
                    if self.batch_delay:
                        time.sleep(self.batch_delay)
                with job._lock:
                    task.state, task.complete_time = "Completed", _now_iso()
            # 4. persist (90-100): the rows go into sealed segments before the job is Completed
            self._set(job, progress=90)
            try:
                self.engine.flush(job.collection)
            except Exception as exc:
                raise JobFailed(f"Failed to persist the imported rows of {job.collection}: {exc}") from None
        except BaseException:
            with contextlib.suppress(Exception):
                self.engine.delete_ids(job.collection, inserted)
            with job._lock:
                job.imported_rows = 0
            raise
        with job._lock:
            job.state, job.progress, job.complete_time = "Completed", 100, _now_iso()

    def _resolve_deferred(self, job: ImportJobRecord) -> None:
        """List the sources the controller could not list when the job was created (the keys were refused)."""
        resolved: list[FileTask] = []
        for task in job.files:
            if task.ref is None:
                resolved.append(task)
                continue
            try:
                listing = _reader(job).listing(task.ref)
            except StoreAccessError as exc:
                task.reason = exc.reason
                raise JobFailed(f"Failed to read {task.ref.url}: {exc.reason}") from None
            try:
                groups = group_objects(task.ref, listing)
            except ImportRequestError as exc:
                raise JobFailed(exc.message) from None
            resolved += [FileTask(g, task.bucket) for g in groups]
        with job._lock:
            job.files = resolved

    def _check_and_load(
        self, task: FileTask, paths: list[str], schema: CollectionSchema, root: str, strip: str
    ) -> tuple[dict[str, np.ndarray], int]:
        from ..errors import ZImportError
        from ..prepare.checks import check_import_source

        try:
            report = check_import_source(paths, schema)
        except ZImportError as exc:
            task.reason = str(exc).replace(strip, "")
            raise JobFailed(f"Failed to checkFiles {{{task.group.label}}}: {task.reason}") from None
        if not report.ok:
            problems = "; ".join(str(e).replace(strip, "") for e in report.errors[:3])
            more = f" (and {len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
            task.reason = problems + more
            raise JobFailed(f"Failed to checkFiles {{{task.group.label}}}: {problems}{more}")
        if task.group.kind != "numpy" and report.row_count == 0:
            return {}, 0  # nothing to insert: the job completes with 0 rows, as Milvus's importer does
        if task.group.kind == "parquet":
            return parquet_arrays(paths[0], schema)
        if task.group.kind in ("jsonl", "csv"):
            return parquet_arrays(str(text_rows_to_parquet(task, paths[0], schema, root, strip)), schema)
        if task.group.kind == "json":
            from ..prepare.convert import convert_json_to_numpy

            out = os.path.join(root, "converted", secrets.token_hex(4))
            try:
                result = convert_json_to_numpy(paths[0], out, schema, progress=False)
            except ZImportError as exc:
                task.reason = str(exc).replace(strip, "")
                raise JobFailed(f"Failed to checkFiles {{{task.group.label}}}: {task.reason}") from None
            files = {info.field: str(info.path) for info in result.files}
        else:
            files = {os.path.splitext(os.path.basename(p))[0]: p for p in paths if p.endswith(".npy")}
        arrays = {name: np.load(path, mmap_mode="r", allow_pickle=False) for name, path in files.items()}
        rows = int(next(iter(arrays.values())).shape[0]) if arrays else 0
        return arrays, rows
