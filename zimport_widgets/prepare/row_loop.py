"""The row loop: every row of a source through the schema's columns, in bounded chunks.

Shared by the sequential converter, the parallel parts (``split``) and the checker (``out=None``:
values are checked, nothing is written). Missing values take the field's default or null; keys outside
the schema go to ``$meta`` when the dynamic field is on, else they are an error, as in Milvus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import DataFileError
from ..fmt import short_repr, value_text
from ..schema import CollectionSchema, DataType, FieldSchema
from .columns import CHUNK_BYTES, Column, FixedColumn, MetaColumn, NpyFileInfo, StrColumn
from .json_blocks import VectorSpecs
from .json_rows import iter_json_rows
from .json_text import dumps_compact, loads_strict
from .rules import FLOAT16_MAX, META_FIELD, function_output_error, numpy_unsupported

__all__ = ["ChunkSink", "RowSource", "run_rows", "vector_specs"]

_MISSING = object()


def chunk_rows(fields: list[FieldSchema]) -> int:
    widest = 1
    for fs in fields:
        if fs.dtype.is_vector and fs.dim:
            widest = max(widest, int(fs.dim) * 4)
    return int(min(4096, max(16, CHUNK_BYTES // widest)))


def build_columns(
    schema: CollectionSchema, src: str, out: Path | None, chunk: int, *, utf8: bool = False
) -> list[Column]:
    cols: list[Column] = []
    for fs in schema.input_fields:
        if out is None and (numpy_unsupported(fs) is not None or fs.default_value is not None):
            # checked (and written to Parquet) through Arrow: a NumPy column cannot hold nulls, lists or sparse rows
            from .py_column import PyColumn

            cols.append(PyColumn(fs, schema, chunk, src))
            continue
        if fs.dtype in (DataType.VARCHAR, DataType.JSON):
            cols.append(StrColumn(fs, fs.name, chunk, src, out, utf8=utf8))
        else:
            cols.append(FixedColumn(fs, chunk, src, out))
    return cols


class ChunkSink(Protocol):
    """Takes each checked chunk of rows from the columns (``FixedColumn.buf[:k]``, ``StrColumn.last``)."""

    def write(self, columns: list[Column], k: int) -> None: ...


RowSource = Callable[[Callable[[int], None]], Iterator[Any]]
"""``rows_of(on_bytes)``: yields the rows, reporting input bytes read."""


def vector_specs(schema: CollectionSchema) -> VectorSpecs:
    """The float-vector fields the fast block reader may hand over as float32 rows (see ``json_rows``)."""
    specs: dict[str, tuple[int, float | None]] = {}
    for fs in schema.input_fields:
        if fs.nullable or not fs.dim:
            continue
        if fs.dtype in (DataType.FLOAT_VECTOR, DataType.BFLOAT16_VECTOR):
            specs[fs.name] = (int(fs.dim), None)
        elif fs.dtype is DataType.FLOAT16_VECTOR:
            specs[fs.name] = (int(fs.dim), FLOAT16_MAX)
    return specs


def run_rows(
    path: Path | tuple[str, RowSource],
    schema: CollectionSchema,
    out: Path | None,
    on_progress: Callable[[int, int], None] | None = None,
    sink: ChunkSink | None = None,
    *,
    utf8: bool = False,
) -> tuple[int, list[NpyFileInfo]]:
    """Stream every row through the schema's columns; returns (rows, files written).

    ``path`` is a JSON file, or ``(file name, rows_of)`` where ``rows_of(on_bytes)`` yields the rows.
    ``sink`` gets every checked chunk (``out`` is then None: no ``.npy`` is written). ``utf8``: string
    columns stay UTF-8 spills (``StrColumn``), for a Parquet conversion's parallel part.
    """
    if isinstance(path, tuple):
        src, rows_of = path
    else:
        src = path.name
        file_path = path

        vectors = vector_specs(schema)

        def rows_of(on_bytes: Callable[[int], None]) -> Iterator[Any]:
            return iter_json_rows(file_path, on_bytes=on_bytes, vectors=vectors)

    fields = schema.input_fields
    chunk = chunk_rows(fields)
    cols = build_columns(schema, src, out, chunk, utf8=utf8)
    meta = MetaColumn(chunk, src, out, utf8=utf8) if schema.enable_dynamic_field else None
    auto_pk = schema.primary.name if schema.primary.auto_id else None
    outputs = set(schema.function_outputs)
    known = {fs.name for fs in fields}
    defaults = {fs.name: fs.default_value for fs in fields if fs.default_value is not None}
    plan = [(fs.name, col.put, fs.nullable) for fs, col in zip(fields, cols, strict=True)]
    all_cols: list[Column] = [*cols, *([meta] if meta is not None else [])]
    i = j = 0
    bytes_done = [0]

    def on_bytes(n: int) -> None:
        bytes_done[0] = n
        if on_progress is not None:
            on_progress(i, n)

    errstate = np.errstate(over="ignore", invalid="ignore")  # overflow to inf is reported per row below
    errstate.__enter__()
    try:
        try:
            for row in rows_of(on_bytes):
                if type(row) is not dict:
                    raise DataFileError("each row should be a key-value map", file=src, row=i,
                                        expected="a JSON object", got=value_text(row))  # fmt: skip
                present = 0
                for name, put, nullable in plan:
                    v = row.get(name, _MISSING)
                    if v is _MISSING:
                        if name in defaults:
                            v = defaults[name]
                        elif nullable:
                            v = None
                        else:
                            got = f"keys {short_repr(list(row))}"
                            raise DataFileError("value of the field is missing", file=src, row=i, field=name,
                                                expected=f"a value for {name!r}", got=got)  # fmt: skip
                    else:
                        present += 1
                    put(j, i, v)
                if len(row) != present or meta is not None:
                    _extras(row, known, auto_pk, meta, src, i, outputs)
                i += 1
                j += 1
                if j == chunk:
                    for col in all_cols:
                        col.flush(j)
                    if sink is not None:
                        sink.write(all_cols, j)
                    j = 0
        except DataFileError:
            try:  # a float vector of an earlier row may be bad too: it is the first error then
                for col in all_cols:
                    if isinstance(col, FixedColumn):
                        col.settle()
            except DataFileError as earlier:
                raise earlier from None
            raise
        if j:
            for col in all_cols:
                col.flush(j)
            if sink is not None:
                sink.write(all_cols, j)
        files = []
        for col in all_cols:
            if col is meta and not meta.used:
                meta.close()
                continue
            info = col.finish(i)
            if info is not None:
                files.append(info)
        if meta is not None and not meta.used and out is not None:
            for leftover in out.glob(f"{META_FIELD}.*.part"):
                leftover.unlink()
        return i, files
    finally:
        errstate.__exit__(None, None, None)
        for col in all_cols:
            col.close()


def _extras(
    row: dict, known: set[str], auto_pk: str | None, meta: MetaColumn | None, src: str, i: int, outputs: set[str]
) -> None:
    extra: dict[str, Any] = {}
    for key, value in row.items():
        if key in known:
            continue
        if key in outputs:
            raise function_output_error(key, src, i, value_text(value))
        if key == auto_pk:
            raise DataFileError(f"the primary key {key!r} is auto-generated, no need to provide", file=src, row=i,
                                field=key, expected="no value (auto_id is on)", got=value_text(value))  # fmt: skip
        if meta is None:
            raise DataFileError(f"the field {key!r} is not defined in schema", file=src, row=i, field=key,
                                expected=f"only the schema's fields ({', '.join(sorted(known))})",
                                got=f"extra key {key!r}", hint="enable the dynamic field, or drop the key")  # fmt: skip
        if key == META_FIELD:
            inner = value
            if type(inner) is str:
                try:
                    inner = loads_strict(inner)
                except ValueError:
                    inner = None
            if type(inner) is not dict:
                raise DataFileError("'$meta' must be a JSON object", file=src, row=i, field=META_FIELD,
                                    expected="an object or a JSON object string", got=value_text(value))  # fmt: skip
            for k, v in inner.items():
                if k in extra or k in row:
                    raise DataFileError(f"duplicated key {k!r} is not allowed", file=src, row=i, field=META_FIELD,
                                        expected="each dynamic key once", got=f"{k!r} twice")  # fmt: skip
                extra[k] = v
        else:
            if key in extra:
                raise DataFileError(f"duplicated key {key!r} is not allowed", file=src, row=i, field=key,
                                    expected="each dynamic key once", got=f"{key!r} twice")  # fmt: skip
            extra[key] = value
    if meta is not None:
        if extra:
            meta.used = True
        try:
            text = dumps_compact(extra)
        except ValueError as exc:
            raise DataFileError(f"the dynamic keys cannot be stored as JSON ({exc})", file=src, row=i,
                                field=META_FIELD, expected="JSON values (no NaN or Infinity)",
                                got=value_text(extra)) from None  # fmt: skip
        meta.put(0, i, text)
