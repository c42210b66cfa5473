"""NumPy columns back to rows, as the Lite engine's insert takes them: the lite importer's last step.

Strings may come as ``<U`` or ``S`` arrays, JSON and ``$meta`` as JSON text, half-precision vectors as
bytes; each field type is turned into what pymilvus inserts for it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..schema import CollectionSchema, DataType, FieldSchema

__all__ = ["META", "npy_rows", "parquet_arrays"]

META = "$meta"


def _column(fs: FieldSchema | None, arr: np.ndarray, lo: int, hi: int) -> list[Any]:
    part = arr[lo:hi]
    if fs is None or fs.dtype is DataType.JSON:  # $meta or a JSON field: JSON text per row
        return [json.loads(_text(v)) for v in part]
    dt = fs.dtype
    if dt is DataType.VARCHAR:
        return [_text(v) for v in part]
    if dt is DataType.FLOAT_VECTOR:
        return np.asarray(part, dtype=np.float32).tolist()
    if dt is DataType.BINARY_VECTOR:
        return [bytes(np.asarray(r, dtype=np.uint8).tobytes()) for r in part]
    if dt is DataType.FLOAT16_VECTOR:
        return [np.frombuffer(np.ascontiguousarray(r).tobytes(), dtype=np.float16) for r in part]
    if dt is DataType.BFLOAT16_VECTOR:
        return [bytes(np.ascontiguousarray(r).tobytes()) for r in part]
    if dt is DataType.INT8_VECTOR:
        return [np.asarray(r, dtype=np.int8) for r in part]
    return np.asarray(part).tolist()


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return str(v)


def npy_rows(schema: CollectionSchema, arrays: dict[str, np.ndarray], lo: int, hi: int) -> list[dict[str, Any]]:
    """Rows ``lo:hi`` of a NumPy source as the insert call takes them (``$meta`` keys spread into each row)."""
    cols: dict[str, list[Any]] = {}
    for name, arr in arrays.items():
        if name == META:
            continue
        if name not in schema:
            continue  # an extra file naming no field is ignored (the checks warned about it)
        cols[name] = _column(schema[name], arr, lo, hi)
    metas = _column(None, arrays[META], lo, hi) if META in arrays and schema.enable_dynamic_field else None
    out = []
    for i in range(hi - lo):
        row = {name: values[i] for name, values in cols.items()}
        if metas is not None and isinstance(metas[i], dict):
            for k, v in metas[i].items():
                row.setdefault(k, v)
        out.append(row)
    return out


def parquet_arrays(path: str, schema: CollectionSchema) -> tuple[dict[str, np.ndarray], int]:
    """A checked Parquet file as the column arrays :func:`npy_rows` reads (vectors as 2-D arrays)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    arrays: dict[str, np.ndarray] = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        fs = next((f for f in schema.fields if f.name == name), None)
        if fs is not None and fs.dtype.is_vector and fs.dtype is not DataType.SPARSE_FLOAT_VECTOR:
            values = column.flatten().to_numpy(zero_copy_only=False)
            arrays[name] = values.reshape(len(column), -1) if len(column) else values.reshape(0, 0)
        else:
            arrays[name] = np.asarray(column.to_pylist(), dtype=object)
    return arrays, table.num_rows
