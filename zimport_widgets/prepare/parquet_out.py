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
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFileError
from ..fmt import format_bytes
from ..progress import ConvertProgress, ProgressArg, Reporter
from ..schema import CollectionSchema, DataType, FieldSchema, SchemaLike
from .arrow_conform import BatchConformer, writer_schema
from .columns import Column, FixedColumn, StrColumn
from .infer import resolve_schema
from .py_column import PyColumn
from .row_loop import run_rows
from .rules import META_FIELD
from .sources import Source, open_source

__all__ = ["ParquetResult", "convert_json_to_parquet"]

_ROW_GROUP_BYTES = 64 << 20  # buffered before a row group is written: bounded memory, few row groups


@dataclass(frozen=True)
class ParquetResult:
    """What :func:`convert_json_to_parquet` wrote: one Parquet file."""

    source: Path | str  # the file, or what the rows came from ("DataFrame", "rows" ...)
    path: Path
    rows: int
    row_groups: int
    bytes: int
    schema: CollectionSchema
    elapsed: float = 0.0

    def __repr__(self) -> str:
        return (
            f"ParquetResult: {self.rows:,} rows from {getattr(self.source, 'name', self.source)} -> {self.path} "
            f"({self.row_groups} row groups, {format_bytes(self.bytes)}, {self.elapsed:.1f} s)"
        )

    def _repr_html_(self) -> str:
        return f"<div><p><b>Converted</b> {html.escape(repr(self)[len('ParquetResult: ') :])}</p></div>"


class ParquetSink:
    """Buffers checked chunks as Arrow record batches and writes them as row groups."""

    def __init__(self, path: Path, schema: CollectionSchema, *, row_group_bytes: int = _ROW_GROUP_BYTES) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self.fields = [
            *schema.input_fields,
            *([FieldSchema(META_FIELD, DataType.JSON)] if schema.enable_dynamic_field else []),
        ]
        self.arrow_schema = writer_schema(schema)
        self._writer: Any = pq.ParquetWriter(path, self.arrow_schema)
        self._batches: list[Any] = []
        self._buffered = 0
        self.row_group_bytes = row_group_bytes
        self.row_groups = 0

    def write(self, columns: list[Column], k: int) -> None:
        arrays = [self._array(fs, col, k) for fs, col in zip(self.fields, columns, strict=True)]
        self.write_batch(self._pa.record_batch(arrays, schema=self.arrow_schema))

    def write_batch(self, batch: Any) -> None:
        """A batch already in :attr:`arrow_schema` (from :class:`~.arrow_conform.BatchConformer`)."""
        self._batches.append(batch)
        self._buffered += batch.nbytes
        if self._buffered >= self.row_group_bytes:
            self._flush()

    def _array(self, fs: FieldSchema, col: Column, k: int) -> Any:
        pa = self._pa
        if isinstance(col, PyColumn):
            return col.last
        if isinstance(col, StrColumn):
            return pa.array(col.last, type=pa.string())
        assert isinstance(col, FixedColumn)
        data = np.array(col.buf[:k])  # a copy: the buffer is reused for the next chunk
        if data.ndim == 1:
            return pa.array(data)
        width = data.shape[1]
        offsets = pa.array(np.arange(0, (k + 1) * width, width, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, pa.array(data.reshape(-1)))

    def _flush(self) -> None:
        if self._batches:
            self._writer.write_table(self._pa.Table.from_batches(self._batches), row_group_size=1 << 30)
            self.row_groups += 1
            self._batches, self._buffered = [], 0

    def close(self) -> None:
        if self._writer is not None:
            self._flush()
            self._writer.close()
            self._writer = None


def convert_json_to_parquet(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    schema: SchemaLike | None = None,
    *,
    progress: ProgressArg = True,
    row_group_bytes: int = _ROW_GROUP_BYTES,
) -> ParquetResult:
    """Convert a JSON import file (``{"rows": [...]}`` or a bare list) into one Parquet file ``out``.

    Every value is checked as :func:`~zimport_widgets.convert_json_to_numpy` checks it; the first bad one
    raises :class:`DataFileError` (file, row, field, expected, got) and nothing is left at ``out``. ``out``
    may be a folder: the file is then ``<folder>/<source stem>.parquet``. (:func:`~zimport_widgets.convert`
    takes every other source.)
    """
    src_path = Path(src)
    if not src_path.is_file():
        raise DataFileError("the source file does not exist", file=str(src_path), hint="check the path")
    source = open_source(src_path)
    return write_parquet(
        source, out, resolve_schema(src_path, schema), progress=progress, row_group_bytes=row_group_bytes
    )


def parquet_target(source: Source, out: str | os.PathLike[str]) -> Path:
    """The file to write: ``out`` itself, or ``<out>/<source stem>.parquet`` when ``out`` is a folder."""
    target = Path(out)
    if target.is_dir() or not target.suffix:
        stem = source.path.stem if source.path is not None and source.path.is_file() else source.name
        target = target / f"{stem}.parquet"
    if target.exists():
        raise DataFileError("the output file exists already", file=str(target), hint="choose a new file name")
    return target


def write_parquet(
    source: Source,
    out: str | os.PathLike[str],
    schema: CollectionSchema,
    *,
    progress: ProgressArg = True,
    row_group_bytes: int = _ROW_GROUP_BYTES,
) -> ParquetResult:
    """Every row of ``source`` checked against ``schema`` and written as one Parquet file (atomically)."""
    started = time.monotonic()
    target = parquet_target(source, out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    total = source.total
    bytes_unit = source.unit == "B"
    with Reporter(progress, total=total, desc=f"convert {source.name}", unit=source.unit, unit_scale=True,
                  unit_divisor=1024 if bytes_unit else 1000) as rep:  # fmt: skip
        sink = ParquetSink(tmp, schema, row_group_bytes=row_group_bytes)

        def on_progress(rows: int, done: int) -> None:
            rep.update(done, ConvertProgress(rows, done, total or 0, source.name), postfix=f"{rows:,} rows")

        try:
            if source.columnar:
                rows = _write_batches(source, schema, sink, on_progress)
            else:
                rows, _ = run_rows((source.name, source.rows_of(schema)), schema, None, on_progress, sink=sink)
            sink.close()
            if rows == 0:
                raise DataFileError("the source has no rows", file=source.name, expected="at least one row", got="none")
            os.replace(tmp, target)
        except BaseException:
            sink.close()  # nothing half-written stays: the temporary file goes
            tmp.unlink(missing_ok=True)
            raise
        end = total if total is not None else rows
        rep.update(end, ConvertProgress(rows, end, end, source.name), postfix=f"{rows:,} rows")
    return ParquetResult(
        source=source.path if source.path is not None else source.name,
        path=target,
        rows=rows,
        row_groups=sink.row_groups,
        bytes=target.stat().st_size,
        schema=schema,
        elapsed=time.monotonic() - started,
    )


def _write_batches(source: Source, schema: CollectionSchema, sink: ParquetSink, on_progress: Any) -> int:
    conformer = BatchConformer(schema, source.name)
    rows = 0
    for batch in source.batches(schema):
        if batch.num_rows:
            sink.write_batch(conformer.conform(batch))
            rows += batch.num_rows
            on_progress(rows, rows if source.unit == "rows" else source.progress_bytes(rows))
    return rows
