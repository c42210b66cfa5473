"""Typed import jobs and progress, normalised from the v1, v2 and self-hosted Milvus JSON shapes.

The APIs disagree on almost everything (see the import API reference, §1-§2):

* v1 ``get``: ``readyPercentage`` is a 0-1 fraction, no ``state``; done = fraction 1 and ``completeTime``
  set, failed = ``errorMessage`` set. v1 ``list``: ``tasks`` (or ``records``) with ``ImportRunning`` /
  ``ImportCompleted`` / ``ImportFailed``.
* v2 (Zilliz and Milvus): ``progress`` 0-100, ``state`` Pending/Importing/Completed/Failed (list may say
  InProgress), ``importedRows``/``totalRows``, ``reason`` (absent when empty on Milvus), ``details[]``.
* ``jobId`` or ``jobID``; ``completeTime`` ``null`` or ``""`` while running.

Everything here turns those into :class:`ImportProgress` (with :class:`FileProgress` per file) and
:class:`ImportJobSummary`, whatever the version.
"""

from __future__ import annotations

import enum
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "FileProgress",
    "ImportJob",
    "ImportJobSummary",
    "ImportProgress",
    "ImportState",
    "job_id_of",
    "parse_job_list",
    "parse_progress",
]


class ImportState(str, enum.Enum):
    """The user-visible job state, the same for every API version."""

    PENDING = "Pending"
    IMPORTING = "Importing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    UNKNOWN = "Unknown"

    @property
    def finished(self) -> bool:
        return self in (ImportState.COMPLETED, ImportState.FAILED)

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: Any) -> ImportState:
        """Map every spelling the APIs use (v1 list, v2, Milvus task states) onto the five states."""
        if isinstance(value, ImportState):
            return value
        key = str(value or "").strip().lower().replace("_", "")
        key = key[len("import") :] if key.startswith("import") and key != "importing" else key
        return _STATE_WORDS.get(key, cls.UNKNOWN)


_STATE_WORDS = {
    "pending": ImportState.PENDING, "preimporting": ImportState.IMPORTING, "importing": ImportState.IMPORTING,
    "inprogress": ImportState.IMPORTING, "running": ImportState.IMPORTING, "retry": ImportState.IMPORTING,
    "sorting": ImportState.IMPORTING, "indexbuilding": ImportState.IMPORTING, "started": ImportState.IMPORTING,
    "completed": ImportState.COMPLETED, "complete": ImportState.COMPLETED, "success": ImportState.COMPLETED,
    "failed": ImportState.FAILED, "fail": ImportState.FAILED,
}  # fmt: skip


@dataclass(frozen=True)
class ImportJob:
    """A started import job: what :meth:`ImportClient.start_import` returns (no keys kept)."""

    job_id: str
    collection: str
    object_url: str | None = None
    partition: str | None = None
    cluster_id: str | None = None
    api_version: str = "v1"
    recovered: bool = False
    """True when the create answer was lost and the job was found in the job list instead."""
    started_at: datetime | None = None
    """When this machine started it (UTC), as noted in the client's job log."""

    def __str__(self) -> str:
        return self.job_id

    def _repr_html_(self) -> str:
        rows = [("job id", self.job_id), ("collection", self.collection), ("object URL", self.object_url or "")]
        if self.partition:
            rows.append(("partition", self.partition))
        rows.append(("API", self.api_version))
        return _table("Import job started", rows)


@dataclass(frozen=True)
class FileProgress:
    """Progress of one file (or one file group) of a job."""

    name: str
    state: ImportState = ImportState.UNKNOWN
    percent: float = 0.0
    size: int | None = None
    imported_rows: int | None = None
    total_rows: int | None = None
    reason: str = ""
    complete_time: str | None = None


@dataclass(frozen=True)
class ImportProgress:
    """One normalised progress report of a job. ``percent`` is 0-100 for every API version."""

    job_id: str
    state: ImportState
    percent: float
    collection: str | None = None
    imported_rows: int | None = None
    total_rows: int | None = None
    reason: str = ""
    complete_time: str | None = None
    files: tuple[FileProgress, ...] = field(default_factory=tuple)
    api_version: str = "v1"

    @property
    def finished(self) -> bool:
        return self.state.finished

    @property
    def completed(self) -> bool:
        return self.state is ImportState.COMPLETED

    @property
    def failed(self) -> bool:
        return self.state is ImportState.FAILED

    @property
    def fraction(self) -> float:
        return self.percent / 100.0

    @property
    def completed_at(self) -> datetime | None:
        """``complete_time`` as a datetime, when the server's format is ISO 8601."""
        return _parse_time(self.complete_time)

    @property
    def phase(self) -> str:
        """State in words; says "building index" when every file is done but the job is still importing."""
        if (
            self.state is ImportState.IMPORTING
            and self.files
            and all(f.state is ImportState.COMPLETED for f in self.files)
        ):
            return "Importing (building index)"
        return self.state.value

    def rows_text(self) -> str:
        if self.imported_rows is None:
            return ""
        if self.total_rows:
            return f"{self.imported_rows:,}/{self.total_rows:,} rows"
        return f"{self.imported_rows:,} rows"

    def __repr__(self) -> str:
        parts = [f"job_id={self.job_id!r}", f"state={self.state.value}", f"percent={self.percent:g}"]
        if self.imported_rows is not None or self.total_rows is not None:
            parts.append(f"rows={self.imported_rows}/{self.total_rows}")
        if self.collection:
            parts.append(f"collection={self.collection!r}")
        if self.reason:
            parts.append(f"reason={self.reason!r}")
        parts.append(f"files={len(self.files)}")
        return f"ImportProgress({', '.join(parts)})"

    def __str__(self) -> str:
        text = f"job {self.job_id}: {self.phase} {self.percent:.0f}%"
        rows = self.rows_text()
        if rows:
            text += f", {rows}"
        if self.reason:
            text += f" - {self.reason}"
        return text

    def _repr_html_(self) -> str:
        rows = [("job id", self.job_id), ("state", self.phase), ("progress", f"{self.percent:.0f} %")]
        if self.collection:
            rows.append(("collection", self.collection))
        if self.imported_rows is not None:
            rows.append(("rows", self.rows_text()))
        if self.reason:
            rows.append(("reason", self.reason))
        if self.complete_time:
            rows.append(("completed", self.complete_time))
        out = _table("Import progress", rows)
        if self.files:
            body = "".join(
                f"<tr><td><code>{html.escape(f.name)}</code></td><td>{html.escape(f.state.value)}</td>"
                f"<td>{f.percent:.0f} %</td><td>{html.escape(f.reason)}</td></tr>"
                for f in self.files
            )
            out += (
                "<table><thead><tr><th>file</th><th>state</th><th>progress</th><th>reason</th></tr></thead>"
                f"<tbody>{body}</tbody></table>"
            )
        return out


@dataclass(frozen=True)
class ImportJobSummary:
    """One row of the job list."""

    job_id: str
    collection: str | None
    state: ImportState
    percent: float | None = None
    reason: str = ""
    started_at: datetime | None = None
    """When it was started from this machine (UTC, from the client's job log); ``None`` if elsewhere."""

    def _repr_html_(self) -> str:
        rows = [("job id", self.job_id), ("collection", self.collection or ""), ("state", self.state.value)]
        if self.started_at is not None:
            rows.append(("started", self.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")))
        return _table("Import job", rows)


# -- parsing ---------------------------------------------------------------------------------------


def job_id_of(data: Mapping[str, Any]) -> str | None:
    """The job id of a create/get/list item, spelled ``jobId`` or ``jobID``, as a string."""
    for key in ("jobId", "jobID", "job_id"):
        value = data.get(key)
        if value is not None and value != "":
            return str(value)
    return None


def parse_progress(data: Mapping[str, Any], *, api_version: str, job_id: str | None = None) -> ImportProgress:
    """Normalise the ``data`` of a v1 ``import/get`` or a v2/Milvus ``getProgress``/``describe`` answer."""
    if not isinstance(data, Mapping):
        data = {}
    jid = job_id_of(data) or (job_id or "")
    files = tuple(_parse_file(d) for d in (data.get("details") or []) if isinstance(d, Mapping))
    if "readyPercentage" in data and "progress" not in data:
        percent = _percent(data.get("readyPercentage"), fraction=True)
        error = _text(data.get("errorMessage"))
        complete = _time_text(data.get("completeTime"))
        state = _state_of(data, percent, error, complete)
        reason = error or _text(data.get("reason"))
    else:
        percent = _percent(data.get("progress"), fraction=False)
        state = ImportState.parse(data.get("state"))
        complete = _time_text(data.get("completeTime"))
        reason = _text(data.get("reason")) or _text(data.get("errorMessage"))
    if state is ImportState.FAILED and not reason:
        reason = "; ".join(f"{f.name}: {f.reason}" for f in files if f.reason)
    if state is ImportState.COMPLETED:
        percent = 100.0
    imported = _int(data.get("importedRows"))
    total = _int(data.get("totalRows"))
    if imported is None and files and all(f.imported_rows is not None for f in files):
        imported = sum(f.imported_rows or 0 for f in files)
    if total is None and files and all(f.total_rows is not None for f in files):
        total = sum(f.total_rows or 0 for f in files)
    return ImportProgress(
        job_id=jid,
        state=state,
        percent=percent,
        collection=data.get("collectionName") or None,
        imported_rows=imported,
        total_rows=total,
        reason=reason,
        complete_time=complete,
        files=files,
        api_version=api_version,
    )


def parse_job_list(data: Any) -> list[ImportJobSummary]:
    """Normalise the ``data`` of a v1/v2/Milvus ``list`` answer (``tasks`` or ``records``)."""
    if isinstance(data, list):
        items = data
    elif isinstance(data, Mapping):
        items = data.get("tasks") or data.get("records") or data.get("jobs") or []
    else:
        items = []
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        jid = job_id_of(item)
        if not jid:
            continue
        prog = item.get("progress", item.get("readyPercentage"))
        percent = None
        if prog is not None:
            percent = _percent(prog, fraction="readyPercentage" in item and "progress" not in item)
        state = ImportState.parse(item.get("state"))
        if state is ImportState.COMPLETED:
            percent = 100.0
        out.append(
            ImportJobSummary(
                job_id=jid,
                collection=item.get("collectionName") or None,
                state=state,
                percent=percent,
                reason=_text(item.get("reason")) or _text(item.get("errorMessage")),
            )
        )
    return out


def _state_of(d: Mapping[str, Any], percent: float, error: str, complete: str | None) -> ImportState:
    """The explicit ``state`` if the answer has one; else (v1 has none) inferred from error, time and percent."""
    if "state" in d:
        return ImportState.parse(d.get("state"))
    if error:
        return ImportState.FAILED
    if complete and percent >= 100:
        return ImportState.COMPLETED
    return ImportState.IMPORTING if percent > 0 else ImportState.PENDING


def _parse_file(d: Mapping[str, Any]) -> FileProgress:
    fraction = "readyPercentage" in d and "progress" not in d
    percent = _percent(d.get("readyPercentage") if fraction else d.get("progress"), fraction=fraction)
    error = _text(d.get("reason")) or _text(d.get("errorMessage"))
    complete = _time_text(d.get("completeTime"))
    state = _state_of(d, percent, error, complete)
    if state is ImportState.COMPLETED:
        percent = 100.0
    name = d.get("fileName")
    if isinstance(name, list):
        name = ", ".join(str(x) for x in name)
    return FileProgress(
        name=str(name or ""),
        state=state,
        percent=percent,
        size=_int(d.get("fileSize")),
        imported_rows=_int(d.get("importedRows")),
        total_rows=_int(d.get("totalRows")),
        reason=error,
        complete_time=complete,
    )


def _percent(value: Any, *, fraction: bool) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 0.0
    if v != v:  # NaN
        return 0.0
    if fraction:
        v *= 100.0
    return min(100.0, max(0.0, v))


def _int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _time_text(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _table(title: str, rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows)  # fmt: skip
    return f"<div><b>{html.escape(title)}</b><table>{body}</table></div>"
