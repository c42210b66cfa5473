"""Where checked rows go as Arrow: a Parquet file (row groups) or, for a parallel part, an Arrow IPC file.

The row loop hands each checked chunk (:class:`~.row_loop.ChunkSink`); the columns' buffers become Arrow
arrays through ``Array.from_buffers`` (no per-value Python work, and no pandas import, which ``pa.array``
triggers and which costs ~0.2 s and ~40 MiB). Parquet is written the way it reads best: dictionary
encoding for strings only, no compression for vectors (floats do not compress; it only costs time).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..schema import CollectionSchema, DataType, FieldSchema
from .arrow_conform import writer_schema
from .columns import Column, FixedColumn, NpyFileInfo, StrColumn
from .npy_format import data_offset
from .py_column import PyColumn
from .row_loop import chunk_rows
from .rules import META_FIELD, ROW_GROUP_BYTES

__all__ = ["POOL", "ParquetSink", "parquet_options"]

#: The writers allocate from malloc: Arrow's default pool (mimalloc) keeps ~45 MiB of freed pages as RSS.
POOL = pa.system_memory_pool()


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """``ParquetWriter`` options: dictionaries for string columns, snappy except for list (vector) columns."""
    strings = [f.name for f in schema if pa.types.is_string(f.type)]
    compression = {f.name: "none" if pa.types.is_list(f.type) else "snappy" for f in schema}
    return {"use_dictionary": strings, "compression": compression, "memory_pool": POOL}


def _fixed(data: np.ndarray) -> pa.Array:
    data = np.ascontiguousarray(data)
    if data.dtype == np.bool_:
        return pa.Array.from_buffers(pa.bool_(), len(data), [None, pa.py_buffer(np.packbits(data, bitorder="little"))])
    return pa.Array.from_buffers(pa.from_numpy_dtype(data.dtype), len(data), [None, pa.py_buffer(data)])


def _strings(values: list[str]) -> pa.Array:
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:], dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )


class _ChunkArrays:
    """The columns' checked chunk as one record batch in the writer schema."""

    def __init__(self, schema: CollectionSchema) -> None:
        self.fields = [
            *schema.input_fields,
            *([FieldSchema(META_FIELD, DataType.JSON)] if schema.enable_dynamic_field else []),
        ]
        self.arrow_schema = writer_schema(schema)

    def batch(self, columns: list[Column], k: int) -> pa.RecordBatch:
        arrays = [self._array(col, k) for col in columns]
        return pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema)

    @staticmethod
    def _array(col: Column, k: int) -> pa.Array:
        if isinstance(col, PyColumn):
            assert col.last is not None
            return col.last
        if isinstance(col, StrColumn):
            return _strings(col.last)
        assert isinstance(col, FixedColumn)
        data = np.array(col.buf[:k])  # a copy: the buffer is reused for the next chunk
        if data.ndim == 1:
            return _fixed(data)
        width = data.shape[1]
        offsets = _fixed(np.arange(0, (k + 1) * width, width, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, _fixed(data.reshape(-1)), pool=POOL)


class ParquetSink(_ChunkArrays):
    """Buffers checked chunks (or conformed batches) and writes them as row groups of ~``row_group_bytes``.

    With ``max_file_bytes``, a row group that would take the file past it starts the next file
    (``path_for(n)``, n = 1, 2, ...): every file stays inside the import's per-file limit. ``paths`` and
    ``rows_per_file`` say what was written.
    """

    def __init__(
        self,
        path: Path,
        schema: CollectionSchema,
        *,
        row_group_bytes: int = ROW_GROUP_BYTES,
        max_file_bytes: int | None = None,
        path_for: Callable[[int], Path] | None = None,
    ) -> None:
        super().__init__(schema)
        self.paths = [path]
        self.rows_per_file = [0]
        self._writer: Any = self._open(path)
        self._batches: list[pa.RecordBatch] = []
        self._buffered = 0
        self.row_group_bytes = row_group_bytes
        self.max_file_bytes = max_file_bytes
        self.path_for = path_for
        self.row_groups = 0

    def _open(self, path: Path) -> Any:
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, self.arrow_schema, **parquet_options(self.arrow_schema))

    def write(self, columns: list[Column], k: int) -> None:
        self.write_batch(self.batch(columns, k))

    def write_batch(self, batch: pa.RecordBatch) -> None:
        """A batch already in :attr:`arrow_schema` (from :class:`~.arrow_conform.BatchConformer`)."""
        if batch.nbytes > self.row_group_bytes and batch.num_rows > 1:  # a big batch spans row groups
            step = max(1, batch.num_rows * self.row_group_bytes // batch.nbytes)
            for at in range(0, batch.num_rows, step):
                self.write_batch(batch.slice(at, step))
            return
        self._batches.append(batch)
        self._buffered += batch.nbytes
        if self._buffered >= self.row_group_bytes:
            self._flush()

    def append_part(self, files: list[NpyFileInfo], rows: int) -> None:
        """A parallel part's files (``.npy``, strings as UTF-8 spills) appended as batches, in field order.

        Read a batch at a time (plain reads, not a memory map whose pages would count as RSS); a part
        without dynamic keys has no ``$meta`` file: its rows get ``{}``.
        """
        by_name = {f.field: f for f in files}
        step = chunk_rows(self.fields)
        readers = [_PartColumn(by_name.get(fs.name), fs, rows) for fs in self.fields]
        try:
            for at in range(0, rows, step):
                n = min(step, rows - at)
                arrays = [r.read(n) for r in readers]
                self.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema))
        finally:
            for r in readers:
                r.close()

    def _flush(self) -> None:
        if not self._batches:
            return
        if self.max_file_bytes is not None and self.rows_per_file[-1]:
            written = os.path.getsize(self.paths[-1])
            if written + self._buffered > self.max_file_bytes:  # buffered bytes: an upper bound of the encoded
                assert self.path_for is not None, "max_file_bytes needs path_for"
                self._writer.close()
                self.paths.append(self.path_for(len(self.paths)))
                self.rows_per_file.append(0)
                self._writer = self._open(self.paths[-1])
        table = pa.Table.from_batches(self._batches)
        self._writer.write_table(table, row_group_size=1 << 30)
        self.rows_per_file[-1] += table.num_rows
        self.row_groups += 1
        self._batches, self._buffered = [], 0

    def close(self) -> None:
        if self._writer is not None:
            self._flush()
            self._writer.close()
            self._writer = None


class _PartColumn:
    """Reads one column of a parallel part in slices: a ``.npy`` file, or a UTF-8 spill and its byte lengths."""

    def __init__(self, info: NpyFileInfo | None, fs: FieldSchema, rows: int) -> None:
        self.info, self.fs = info, fs
        self.fh = self.lens = None
        if info is None:  # $meta of a part without dynamic keys
            assert fs.name == META_FIELD
            return
        self.fh = open(info.path, "rb")  # noqa: SIM115 - closed in close()
        if info.dtype == "utf8":
            self.lens = open(info.path.with_suffix("").with_suffix(".lens.part"), "rb")  # noqa: SIM115
        else:
            self.dtype = np.dtype(info.dtype)
            self.row_shape = info.shape[1:]
            self.fh.seek(data_offset(info.path))

    def read(self, n: int) -> pa.Array:
        if self.info is None:
            return _strings(["{}"] * n)
        assert self.fh is not None
        if self.lens is not None:
            lengths = np.frombuffer(self.lens.read(8 * n), dtype=np.int64)
            offsets = np.zeros(n + 1, dtype=np.int32)
            np.cumsum(lengths, out=offsets[1:], dtype=np.int32)
            text = self.fh.read(int(offsets[-1]))
            return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(text)])
        width = int(np.prod(self.row_shape)) if self.row_shape else 1
        values = np.frombuffer(self.fh.read(n * width * self.dtype.itemsize), dtype=self.dtype)
        if not self.row_shape:
            return _fixed(values)
        offsets = _fixed(np.arange(0, (n + 1) * width, width, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, _fixed(values), pool=POOL)

    def close(self) -> None:
        for fh in (self.fh, self.lens):
            if fh is not None:
                fh.close()
