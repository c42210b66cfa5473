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
from .columns import Column, FixedColumn, StrColumn
from .infer import resolve_schema
from .row_loop import run_rows
from .rules import META_FIELD, arrow_type_name, npy_dtype_for, parquet_types, refuse_numpy_unsupported

__all__ = ["ParquetResult", "convert_json_to_parquet"]

_ROW_GROUP_BYTES = 64 << 20  # buffered before a row group is written: bounded memory, few row groups


@dataclass(frozen=True)
class ParquetResult:
    """What :func:`convert_json_to_parquet` wrote: one Parquet file."""

    source: Path
    path: Path
    rows: int
    row_groups: int
    bytes: int
    schema: CollectionSchema
    elapsed: float = 0.0

    def __repr__(self) -> str:
        return (
            f"ParquetResult: {self.rows:,} rows from {self.source.name} -> {self.path} "
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
        self.arrow_schema = pa.schema([pa.field(f.name, _arrow_type(pa, f), nullable=False) for f in self.fields])
        self._writer: Any = pq.ParquetWriter(path, self.arrow_schema)
        self._batches: list[Any] = []
        self._buffered = 0
        self.row_group_bytes = row_group_bytes
        self.row_groups = 0

    def write(self, columns: list[Column], k: int) -> None:
        arrays = [self._array(fs, col, k) for fs, col in zip(self.fields, columns, strict=True)]
        batch = self._pa.record_batch(arrays, schema=self.arrow_schema)
        self._batches.append(batch)
        self._buffered += batch.nbytes
        if self._buffered >= self.row_group_bytes:
            self._flush()

    def _array(self, fs: FieldSchema, col: Column, k: int) -> Any:
        pa = self._pa
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


def _arrow_type(pa: Any, fs: FieldSchema) -> Any:
    """The Arrow type the sink writes for ``fs``: the NumPy dtype the columns hold, as a list for vectors."""
    dtype, row_shape = npy_dtype_for(fs)
    scalar = pa.string() if dtype.kind == "U" else pa.from_numpy_dtype(dtype)
    arrow = pa.list_(scalar) if row_shape else scalar
    assert arrow_type_name(arrow) in parquet_types(fs), (fs, arrow)  # what we write is what the importer reads
    return arrow


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
    may be a folder: the file is then ``<folder>/<source stem>.parquet``.
    """
    started = time.monotonic()
    src_path = Path(src)
    if not src_path.is_file():
        raise DataFileError("the source file does not exist", file=str(src_path), hint="check the path")
    resolved = resolve_schema(src_path, schema)
    refuse_numpy_unsupported(resolved)  # not yet written to Parquet by this converter (the checker reads them)
    target = Path(out)
    if target.is_dir() or not target.suffix:
        target = target / f"{src_path.stem}.parquet"
    if target.exists():
        raise DataFileError("the output file exists already", file=str(target), hint="choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    total = src_path.stat().st_size
    with Reporter(progress, total=total, desc=f"convert {src_path.name}", unit="B", unit_scale=True,
                  unit_divisor=1024) as rep:  # fmt: skip
        sink = ParquetSink(tmp, resolved, row_group_bytes=row_group_bytes)

        def on_progress(rows: int, done: int) -> None:
            rep.update(done, ConvertProgress(rows, done, total, src_path.name), postfix=f"{rows:,} rows")

        try:
            rows, _ = run_rows(src_path, resolved, None, on_progress, sink=sink)
            sink.close()
            if rows == 0:
                raise DataFileError("the file has no rows", file=src_path.name, expected="at least one row", got="[]")
            os.replace(tmp, target)
        except BaseException:
            sink.close()  # nothing half-written stays: the temporary file goes
            tmp.unlink(missing_ok=True)
            raise
        rep.update(total, ConvertProgress(rows, total, total, src_path.name), postfix=f"{rows:,} rows")
    return ParquetResult(
        source=src_path,
        path=target,
        rows=rows,
        row_groups=sink.row_groups,
        bytes=target.stat().st_size,
        schema=resolved,
        elapsed=time.monotonic() - started,
    )
