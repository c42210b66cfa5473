"""A row-loop column for what NumPy cannot carry: nullable, default-valued, Array and sparse fields.

The chunk's Python values become one Arrow array (sparse vectors and JSON as JSON text), which the
columnar checks of :mod:`arrow_conform` then check and cast, so a JSON row and a DataFrame cell are
judged by the same rules. ``last`` holds the checked array of the chunk just flushed (for the Parquet sink).
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from ..errors import DataFileError
from ..fmt import value_text
from ..schema import CollectionSchema, DataType, FieldSchema
from .arrow_conform import BatchConformer, sparse_text
from .columns import Column
from .json_text import dumps_compact, loads_strict

__all__ = ["PyColumn"]

_INPUT = {
    DataType.BOOL: pa.bool_(),
    DataType.FLOAT: pa.float64(),
    DataType.DOUBLE: pa.float64(),
    DataType.VARCHAR: pa.string(),
    DataType.JSON: pa.string(),
    DataType.SPARSE_FLOAT_VECTOR: pa.string(),  # checked and written as JSON text in put()
}


def _input_type(dt: DataType, element: DataType | None = None) -> pa.DataType:
    """The Arrow type Python values of ``dt`` are read into before the checks (wide, so nothing is cut)."""
    if dt is DataType.ARRAY:
        assert element is not None
        return pa.list_(_input_type(element))
    if dt.is_int:
        return pa.int64()
    if dt in (DataType.BINARY_VECTOR, DataType.INT8_VECTOR):
        return pa.list_(pa.int64())
    if dt.is_vector and dt is not DataType.SPARSE_FLOAT_VECTOR:
        return pa.list_(pa.float64())
    return _INPUT[dt]


def _scalar_problem(dt: DataType, v: Any) -> str | None:
    """What a value of ``dt`` should have been (None: it is one). Never lets pyarrow coerce: 2.7 is no integer."""
    t = type(v)
    if dt is DataType.BOOL:
        return None if t is bool else "true or false"
    if dt.is_int:
        return None if t is int and -(1 << 63) <= v < (1 << 63) else "an integer"
    if dt is DataType.FLOAT or dt is DataType.DOUBLE:
        if t is int:
            return None
        return None if t is float and math.isfinite(v) else "a finite number"
    if dt is DataType.VARCHAR:
        if t is not str:
            return "a string"
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return "valid Unicode text"
        return None
    return None


def _problem(dt: DataType, element: DataType | None, v: Any) -> tuple[str, str] | None:
    """(where, expected) when ``v`` is not a value of the field (lists: the first bad element)."""
    if dt is DataType.ARRAY or (dt.is_vector and dt is not DataType.SPARSE_FLOAT_VECTOR):
        if type(v) is not list:
            return "", "a list"
        item = element if dt is DataType.ARRAY else (DataType.INT64 if dt in _INT_VECTORS else DataType.DOUBLE)
        assert item is not None
        for i, x in enumerate(v):
            expected = _scalar_problem(item, x)
            if expected is not None:
                return f" at element {i}", f"a list of values, each {expected}"
        return None
    expected = _scalar_problem(dt, v)
    return None if expected is None else ("", expected)


_INT_VECTORS = (DataType.BINARY_VECTOR, DataType.INT8_VECTOR)


class PyColumn(Column):
    """Collects a chunk's values; ``flush`` checks them as a column and keeps the Arrow array in ``last``."""

    def __init__(self, fs: FieldSchema, schema: CollectionSchema, chunk: int, src: str) -> None:
        super().__init__(fs, fs.name, chunk, src, None)
        self.field = fs  # Column.fs is optional ($meta has none); this column always has one
        self.values: list[Any] = []
        self.first_row = 0
        self.checker = BatchConformer(schema, src)
        self.last: pa.Array | None = None
        self.input_type = _input_type(fs.dtype, fs.element_type)

    def put(self, j: int, row: int, v: Any) -> None:
        if j == 0:
            self.first_row = row
        fs = self.field
        if v is None:
            if not fs.nullable and fs.default_value is None:
                raise self.error(row, "null in a field that is not nullable", f"a value ({fs.describe()})", "null")
        elif fs.dtype is DataType.JSON:
            if type(v) is dict:
                try:
                    v = dumps_compact(v)
                except ValueError as exc:
                    raise self.error(row, f"the value cannot be stored as JSON ({exc})", "JSON values",
                                     value_text(v)) from None  # fmt: skip
            elif type(v) is str:
                try:
                    loads_strict(v)
                except ValueError as exc:
                    raise self.error(
                        row,
                        f"the JSON string does not parse ({exc})",
                        "a JSON object, or a string holding JSON (JSON field)",
                        value_text(v),
                    ) from None
            else:
                raise self.error(
                    row, "wrong type", "a JSON object, or a string holding JSON (JSON field)", value_text(v)
                )
        elif fs.dtype is DataType.SPARSE_FLOAT_VECTOR:
            v = sparse_text(
                v, lambda why: self.error(row, why, 'a sparse vector: {"index": value, ...}', value_text(v))
            )
        else:
            problem = _problem(fs.dtype, fs.element_type, v)
            if problem is not None:
                raise self.error(row, f"wrong type{problem[0]}", f"{problem[1]} ({fs.describe()})", value_text(v))
        self.values.append(v)

    def flush(self, k: int) -> None:
        values = self.values
        try:
            arr = pa.array(values, type=self.input_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError, ValueError):
            raise self._locate(values) from None
        self.checker.row0 = self.first_row
        self.last = self.checker.column(self.field, arr)
        values.clear()

    def _locate(self, values: list[Any]) -> DataFileError:
        """The error for the first value pyarrow could not read as the field's type."""
        for i, v in enumerate(values):
            try:
                pa.array([v], type=self.input_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError, ValueError):
                return self.error(self.first_row + i, "wrong type", f"a {self.field.describe()} value", value_text(v))
        return self.error(self.first_row, "wrong type", f"{self.field.describe()} values", "values pyarrow cannot read")
