"""Where checked rows go as Arrow: a Parquet file (row groups) or, for a parallel part, an Arrow IPC file.

The row loop hands each checked chunk (:class:`~.row_loop.ChunkSink`); the columns' buffers become Arrow
arrays through ``Array.from_buffers`` (no per-value Python work, and no pandas import, which ``pa.array``
triggers and which costs ~0.2 s and ~40 MiB). Parquet is written the way it reads best: dictionary
encoding for strings only, no compression for vectors (floats do not compress; it only costs time).
"""

from __future__ import annotations

import contextlib
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

__all__ = ["POOL", "JsonSink", "ParquetSink", "parquet_options"]

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

    def append_part(self, files: list[NpyFileInfo], rows: int) -> None:
        """A parallel part's files (``.npy``, strings as UTF-8 spills) appended as batches, in field order.

        Read a batch at a time (plain reads, not a memory map whose pages would count as RSS); a part
        without dynamic keys has no ``$meta`` file: its rows get ``{}``.
        """
        by_name = {f.field: f for f in files}
        step = chunk_rows(self.fields)
        readers = [_PartColumn(by_name.get(fs.name), fs) for fs in self.fields]
        try:
            for at in range(0, rows, step):
                n = min(step, rows - at)
                arrays = [r.read(n) for r in readers]
                self.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema))
        finally:
            for r in readers:
                r.close()

    def write_batch(self, batch: pa.RecordBatch) -> None:
        raise NotImplementedError

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

    def abort(self) -> None:
        """Stop without writing what is buffered (after a failure; the caller removes the files)."""
        self._batches, self._buffered = [], 0
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):  # e.g. the disk is full: the footer cannot be written either
                writer.close()


class JsonSink(_ChunkArrays):
    """Checked rows as a ``{"rows": [...]}`` JSON import file (or several within ``max_file_bytes``).

    Written with orjson: float32 vectors in their shortest float32 form, JSON fields, sparse vectors and
    ``$meta`` embedded as the JSON text already checked, Float16/BFloat16 vectors as the floats they hold
    (the JSON importer takes numbers), nulls as ``null``.
    """

    def __init__(
        self,
        path: Path,
        schema: CollectionSchema,
        *,
        max_file_bytes: int | None = None,
        path_for: Callable[[int], Path] | None = None,
    ) -> None:
        super().__init__(schema)
        self.paths = [path]
        self.rows_per_file = [0]
        self.max_file_bytes, self.path_for = max_file_bytes, path_for
        self.row_groups = 0
        self._fh: Any = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._fh.write(b'{"rows": [')
        self._size = 10

    def write(self, columns: list[Column], k: int) -> None:
        self.write_batch(self.batch(columns, k))

    def write_batch(self, batch: pa.RecordBatch) -> None:
        import orjson

        columns = [(fs.name, _json_values(fs, arr)) for fs, arr in zip(self.fields, batch.columns, strict=True)]
        for i in range(batch.num_rows):
            row: dict[str, Any] = {}
            for name, values in columns:
                v = values[i]
                if name == META_FIELD and (v is None or v == "{}"):
                    continue
                row[name] = orjson.Fragment(v) if name == META_FIELD else v
            text = orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY)
            if (
                self.max_file_bytes is not None
                and self.rows_per_file[-1]
                and self._size + len(text) + 4 > self.max_file_bytes
            ):
                assert self.path_for is not None, "max_file_bytes needs path_for"
                self._end()
                self.paths.append(self.path_for(len(self.paths)))
                self.rows_per_file.append(0)
                self._fh = open(self.paths[-1], "wb")  # noqa: SIM115
                self._fh.write(b'{"rows": [')
                self._size = 10
            sep = b",\n" if self.rows_per_file[-1] else b"\n"
            self._fh.write(sep)
            self._fh.write(text)
            self._size += len(sep) + len(text)
            self.rows_per_file[-1] += 1

    def _end(self) -> None:
        self._fh.write(b"\n]}\n")
        self._fh.close()

    def close(self) -> None:
        if self._fh is not None and not self._fh.closed:
            self._end()
        self._fh = None

    def abort(self) -> None:
        """Stop without writing the end (after a failure; the caller removes the files)."""
        fh, self._fh = self._fh, None
        if fh is not None:
            with contextlib.suppress(Exception):
                fh.close()


def _json_values(fs: FieldSchema, arr: pa.Array) -> list[Any]:
    """A checked column as the values a JSON row holds (NumPy rows for vectors, raw JSON text as fragments)."""
    import orjson

    dt = fs.dtype
    if fs.name == META_FIELD:
        return arr.to_pylist()
    if dt in (DataType.JSON, DataType.SPARSE_FLOAT_VECTOR):
        return [None if v is None else orjson.Fragment(v) for v in arr.to_pylist()]
    if dt.is_vector and not arr.null_count:
        n = len(arr)
        flat = arr.flatten().to_numpy(zero_copy_only=False)
        if dt is DataType.FLOAT16_VECTOR:
            flat = flat.view(np.float16).astype(np.float32)
        elif dt is DataType.BFLOAT16_VECTOR:
            flat = (flat.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        return list(flat.reshape(n, -1)) if n else []
    if dt.is_vector:  # nullable vectors: row by row
        return [_json_values(fs, arr.slice(i, 1))[0] if arr[i].is_valid else None for i in range(len(arr))]
    if dt is DataType.FLOAT and not arr.null_count:
        return list(arr.to_numpy(zero_copy_only=False))  # float32: its shortest form, not the double's
    return arr.to_pylist()


class _PartColumn:
    """Reads one column of a parallel part in slices: a ``.npy`` file, or a UTF-8 spill and its byte lengths."""

    def __init__(self, info: NpyFileInfo | None, fs: FieldSchema) -> None:
        self.info = info
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
