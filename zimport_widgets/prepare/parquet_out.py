"""Writing Parquet import files with pyarrow: every value checked by the same columns as the NumPy path.

:func:`convert_json_to_parquet` streams a JSON import file through the row loop; each checked chunk becomes
Arrow arrays (vectors as ``list<...>``, JSON and ``$meta`` as JSON text), buffered into row groups of about
``row_group_bytes`` and written by ``pyarrow.parquet.ParquetWriter``. Every column type is one that
``rules.PARQUET_TYPES`` (what the importer reads) lists: the writer asserts it. The file is written under
a temporary name and moved into place only when complete.
"""

from __future__ import annotations

import html
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataFileError, local_file_errors
from ..fmt import format_bytes
from ..progress import ConvertProgress, ProgressArg, Reporter
from ..schema import CollectionSchema, SchemaLike
from .arrow_conform import BatchConformer
from .arrow_sinks import JsonSink, ParquetSink
from .infer import resolve_schema
from .row_loop import run_rows
from .rules import ROW_GROUP_BYTES, ImportLimits, numpy_unsupported
from .sources import Source, open_source
from .split import parquet_in_parts, parts_for
from .staging import clear_stale_staging, staging_path

__all__ = ["ParquetResult", "convert_json_to_parquet"]


@dataclass(frozen=True)
class ParquetResult:
    """What a Parquet conversion wrote: one file (``path``), or several when one would pass the per-file limit.

    Several files are ``<stem>-00001.parquet``, ``<stem>-00002.parquet``, ... (``files``; ``path`` is the
    first); each is one entry of an import (:class:`~zimport_widgets.ImportPlan`).
    """

    source: Path | str  # the file, or what the rows came from ("DataFrame", "rows" ...)
    path: Path
    rows: int
    row_groups: int
    bytes: int
    schema: CollectionSchema
    elapsed: float = 0.0
    files: tuple[Path, ...] = ()
    rows_per_file: tuple[int, ...] = ()
    format: str = "parquet"  # or "json": the same result for JSON import files

    def __post_init__(self) -> None:
        if not self.files:
            object.__setattr__(self, "files", (self.path,))
            object.__setattr__(self, "rows_per_file", (self.rows,))

    def __repr__(self) -> str:
        where = self.path if len(self.files) == 1 else f"{len(self.files)} files ({self.path.name}, ...)"
        groups = f"{self.row_groups} row groups, " if self.format == "parquet" else ""
        return (
            f"ParquetResult: {self.rows:,} rows from {getattr(self.source, 'name', self.source)} -> {where} "
            f"({self.format}, {groups}{format_bytes(self.bytes)}, {self.elapsed:.1f} s)"
        )

    def _repr_html_(self) -> str:
        return f"<div><p><b>Converted</b> {html.escape(repr(self)[len('ParquetResult: ') :])}</p></div>"


@local_file_errors
def convert_json_to_parquet(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    schema: SchemaLike | None = None,
    *,
    progress: ProgressArg = True,
    row_group_bytes: int = ROW_GROUP_BYTES,
    workers: int | None = None,
) -> ParquetResult:
    """Convert a JSON import file (``{"rows": [...]}`` or a bare list) into one Parquet file ``out``.

    Every value is checked as :func:`~zimport_widgets.convert_json_to_numpy` checks it; the first bad one
    raises :class:`DataFileError` (file, row, field, expected, got) and nothing is left at ``out``. ``out``
    may be a folder: the file is then ``<folder>/<source stem>.parquet``. ``workers``: processes that parse
    parts of a large file (as for NumPy). (:func:`~zimport_widgets.convert` takes every other source.)
    """
    src_path = Path(src)
    if not src_path.is_file():
        raise DataFileError("the source file does not exist", file=str(src_path), hint="check the path")
    source = open_source(src_path)
    resolved = resolve_schema(src_path, schema)
    return write_arrow_files(source, out, resolved, progress=progress, row_group_bytes=row_group_bytes, workers=workers)


def parquet_target(source: Source, out: str | os.PathLike[str], suffix: str = ".parquet") -> Path:
    """The file to write: ``out`` itself, or ``<out>/<source stem><suffix>`` when ``out`` is a folder."""
    target = Path(out)
    if target.is_dir() or not target.suffix:
        stem = source.path.stem if source.path is not None and source.path.is_file() else source.name
        target = target / f"{stem}{suffix}"
    if target.exists():
        raise DataFileError("the output file exists already", file=str(target), hint="choose a new file name")
    return target


def write_arrow_files(
    source: Source,
    out: str | os.PathLike[str],
    schema: CollectionSchema,
    *,
    progress: ProgressArg = True,
    row_group_bytes: int = ROW_GROUP_BYTES,
    workers: int | None = None,
    max_file_bytes: int | None = None,
    fmt: str = "parquet",
) -> ParquetResult:
    """Every row of ``source`` checked against ``schema`` and written as Parquet (atomically).

    ``fmt="json"``: as ``{"rows": [...]}`` JSON import files instead, through the same checks.

    One file, or as many as keep each within ``max_file_bytes`` (default: ``ImportLimits().max_file_bytes``,
    Zilliz's 10 GiB); all appear at the end, or none.

    A large JSON file is parsed in parts by ``workers`` processes (default: as for NumPy), whose checked rows
    come back as Arrow IPC files appended in order: the same file, row numbers and errors as one process.
    """
    started = time.monotonic()
    target = parquet_target(source, out, ".json" if fmt == "json" else ".parquet")
    target.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_staging(target)  # what a killed run left
    tmp = staging_path(target)
    run = tmp.name[len(target.name) + 2 : -len(".tmp")]
    limit = max_file_bytes if max_file_bytes is not None else ImportLimits().max_file_bytes

    def new_sink() -> ParquetSink | JsonSink:
        def path_for(n: int) -> Path:
            return target.with_name(f".{target.name}.{run}.{n}.tmp")  # matched by clear_stale_staging too

        if fmt == "json":
            return JsonSink(tmp, schema, max_file_bytes=limit, path_for=path_for)
        return ParquetSink(tmp, schema, row_group_bytes=row_group_bytes, max_file_bytes=limit, path_for=path_for)

    total = source.total
    bytes_unit = source.unit == "B"
    with Reporter(progress, total=total, desc=f"convert {source.name}", unit=source.unit, unit_scale=True,
                  unit_divisor=1024 if bytes_unit else 1000) as rep:  # fmt: skip
        sink = new_sink()

        def on_progress(rows: int, done: int) -> None:
            rep.update(done, ConvertProgress(rows, done, total or 0, source.name), postfix=f"{rows:,} rows")

        try:
            parts = _parts(source, schema, workers)
            split = None
            if parts > 1:
                assert source.path is not None
                work = target.with_name(f".{target.name}.{run}.parts.tmp")  # the workers' files, removed after
                work.mkdir()
                try:
                    split = parquet_in_parts(source.path, schema, work, parts, sink, on_progress)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                if split is None:  # the file could not be split: start again in one process
                    _discard(sink)
                    sink = new_sink()
            if split is not None:
                rows = split
            elif source.columnar:
                rows = _write_batches(source, schema, sink, on_progress)
            else:
                rows, _ = run_rows((source.name, source.rows_of(schema)), schema, None, on_progress, sink=sink)
            sink.close()
            if rows == 0:
                raise DataFileError("the source has no rows", file=source.name, expected="at least one row", got="none")
            finals = _final_names(target, len(sink.paths))
            for part, final in zip(sink.paths, finals, strict=True):
                os.replace(part, final)
        except BaseException:
            _discard(sink)  # nothing half-written stays: the temporary files go
            raise
        end = total if total is not None else rows
        rep.update(end, ConvertProgress(rows, end, end, source.name), postfix=f"{rows:,} rows")
    return ParquetResult(
        source=source.path if source.path is not None else source.name,
        path=finals[0],
        rows=rows,
        row_groups=sink.row_groups,
        bytes=sum(f.stat().st_size for f in finals),
        schema=schema,
        elapsed=time.monotonic() - started,
        files=tuple(finals),
        rows_per_file=tuple(sink.rows_per_file),
        format=fmt,
    )


def _final_names(target: Path, n: int) -> list[Path]:
    """``target`` for one file; ``<stem>-00001.parquet`` ... for several (none may exist yet)."""
    if n == 1:
        return [target]
    names = [target.with_name(f"{target.stem}-{i:05d}{target.suffix}") for i in range(1, n + 1)]
    taken = [p for p in names if p.exists()]
    if taken:
        raise DataFileError("an output file exists already", file=str(taken[0]), hint="choose a new file name")
    return names


def _discard(sink: ParquetSink | JsonSink) -> None:
    sink.abort()  # never close() here: flushing may fail again (a full disk) and leave the files behind
    for part in sink.paths:
        part.unlink(missing_ok=True)


def _parts(source: Source, schema: CollectionSchema, workers: int | None) -> int:
    """Processes for the conversion: parts need a JSON file and fields a NumPy-shaped column carries."""
    arrow_only = any(numpy_unsupported(fs) is not None or fs.default_value is not None for fs in schema.input_fields)
    return 1 if arrow_only else parts_for(source.kind, source.total, workers)


def _write_batches(source: Source, schema: CollectionSchema, sink: ParquetSink | JsonSink, on_progress: Any) -> int:
    conformer = BatchConformer(schema, source.name)
    rows = 0
    for batch in source.batches(schema):
        if batch.num_rows:
            sink.write_batch(conformer.conform(batch))
            rows += batch.num_rows
            on_progress(rows, rows if source.unit == "rows" else source.progress_bytes(rows))
    return rows
