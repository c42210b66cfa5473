"""Columnar sources (DataFrames, Arrow tables, Parquet, NumPy folders) checked and cast to what we write.

:func:`conform_batch` takes one Arrow record batch and returns the batch our Parquet writer writes: one
column per input field (plus ``$meta`` for a dynamic collection) in the type ``rules.parquet_write_type``
gives it. Checks run on whole columns with Arrow compute kernels (no Python loop per value except for
JSON text, sparse vectors and dynamic keys); the first bad value raises :class:`DataFileError` with file,
row (counted from the start of the source), field, expected and got. Values are only converted where that
is exact (narrower integers, integral floats for integer fields) or the format's own rule (float64 to
float32 vectors, floats to Float16/BFloat16 bytes); anything else is refused, never changed silently.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataFileError
from ..fmt import short_repr, value_text
from ..schema import CollectionSchema, DataType, FieldSchema
from .json_text import dumps_compact, loads_strict
from .rules import (
    FLOAT16_MAX,
    FLOAT32_MAX,
    INT_RANGES,
    META_FIELD,
    VECTOR_WIDTH,
    arrow_type_name,
    function_output_error,
    parquet_write_type,
)

__all__ = ["BatchConformer", "sparse_text", "writer_schema"]

_SPARSE_MAX_INDEX = (1 << 32) - 2


def writer_schema(schema: CollectionSchema) -> pa.Schema:
    """The Arrow schema of the files we write for ``schema`` (``$meta`` last when the dynamic field is on)."""
    fields = [pa.field(fs.name, parquet_write_type(fs), nullable=fs.nullable) for fs in schema.input_fields]
    if schema.enable_dynamic_field:
        fields.append(pa.field(META_FIELD, pa.string(), nullable=False))
    return pa.schema(fields)


class BatchConformer:
    """Checks and casts the record batches of one source (``src`` names it in errors)."""

    def __init__(self, schema: CollectionSchema, src: str) -> None:
        self.schema, self.src = schema, src
        self.out_schema = writer_schema(schema)
        self.fields = schema.input_fields
        self.known = {fs.name for fs in self.fields}
        self.auto_pk = schema.primary.name if schema.primary.auto_id else None
        self.outputs = set(schema.function_outputs)
        self.row0 = 0

    def error(self, i: int | None, field: str | None, message: str, expected: str, got: str) -> DataFileError:
        return DataFileError(
            message, file=self.src, row=None if i is None else self.row0 + i, field=field, expected=expected, got=got
        )

    def conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch in :attr:`out_schema`; raises for the first bad value. Rows are counted across calls."""
        names = batch.schema.names
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise self.error(None, dup, f"the column {dup!r} appears twice", "each column once", f"{dup!r} twice")
        extras = [n for n in names if n not in self.known]
        for name in extras:
            if name in self.outputs:
                raise function_output_error(name, self.src, None, "a column")
            if name == self.auto_pk:
                raise self.error(
                    None,
                    name,
                    f"the primary key {name!r} is auto-generated, no need to provide",
                    "no such column (auto_id is on)",
                    "a column",
                )
            if not self.schema.enable_dynamic_field:
                raise DataFileError(
                    f"the field {name!r} is not defined in schema",
                    file=self.src,
                    field=name,
                    expected=f"only the schema's fields ({', '.join(sorted(self.known))})",
                    got=f"extra column {name!r}",
                    hint="enable the dynamic field, or drop the column",
                )
        n = batch.num_rows
        arrays = []
        for fs in self.fields:
            if fs.name in names:
                arrays.append(self.column(fs, batch.column(fs.name)))
            elif fs.default_value is not None:
                arrays.append(pa.array([fs.default_value] * n, type=parquet_write_type(fs)))
            elif fs.nullable:
                arrays.append(pa.nulls(n, type=parquet_write_type(fs)))
            else:
                raise DataFileError(
                    "value of the field is missing: no such column",
                    file=self.src,
                    field=fs.name,
                    expected=f"a column {fs.name!r}",
                    got=f"columns {short_repr(names)}",
                )
        if self.schema.enable_dynamic_field:
            arrays.append(self._meta(batch, extras))
        out = pa.RecordBatch.from_arrays(arrays, schema=self.out_schema)
        self.row0 += n
        return out

    # -- one column ------------------------------------------------------------------------
    def column(self, fs: FieldSchema, arr: Any) -> pa.Array:
        """One column checked and cast to the field's written type (rows counted from :attr:`row0`)."""
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if arr.null_count and fs.default_value is None and not fs.nullable:
            i = _first(arr.is_null())
            raise self.error(i, fs.name, "null in a field that is not nullable", _expected(fs), "null")
        out = self._values(fs, arr)
        if out.null_count and fs.default_value is not None:
            out = pc.fill_null(out, pa.scalar(fs.default_value, type=out.type))
        return out

    def _values(self, fs: FieldSchema, arr: pa.Array) -> pa.Array:
        dt, t = fs.dtype, arr.type
        target = parquet_write_type(fs)
        if dt is DataType.BOOL:
            if not pa.types.is_boolean(t):
                raise self._wrong(fs, arr, "true or false (Bool)")
            return arr
        if dt.is_int:
            return self._ints(fs, arr, target)
        if dt in (DataType.FLOAT, DataType.DOUBLE):
            return self._floats(fs, arr, target)
        if dt is DataType.VARCHAR:
            return self._strings(fs, arr)
        if dt is DataType.JSON:
            return self._json(fs, arr)
        if dt is DataType.SPARSE_FLOAT_VECTOR:
            return self._sparse(fs, arr)
        if dt is DataType.ARRAY:
            return self._array(fs, arr, target)
        return self._vector(fs, arr, target)

    def _wrong(self, fs: FieldSchema, arr: pa.Array, expected: str) -> DataFileError:
        return self.error(None, fs.name, "wrong column type", expected, f"a {arrow_type_name(arr.type)} column")

    def _ints(self, fs: FieldSchema, arr: pa.Array, target: pa.DataType) -> pa.Array:
        lo, hi = INT_RANGES[fs.dtype]
        expected = f"integers ({fs.dtype.value} in [{lo}, {hi}])"
        t = arr.type
        if not (pa.types.is_floating(t) or pa.types.is_integer(t)):
            raise self._wrong(fs, arr, expected)
        if pa.types.is_float16(t):
            arr, t = arr.cast(pa.float32()), pa.float32()  # exact; compute kernels have no float16
        values = pc.fill_null(arr, 0).to_numpy(zero_copy_only=False)  # numbers compared by value, any type
        if pa.types.is_floating(t):  # pandas makes an integer column with missing values float64: exact only
            with np.errstate(invalid="ignore"):
                bad = values != np.floor(values)  # NaN too
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise self.error(i, fs.name, "not an integer", expected, value_text(arr[i].as_py()))
            out = (values < lo) | (values >= float(hi) + 1)  # hi + 1 is a power of two: exact as a float
        elif pa.types.is_unsigned_integer(t):
            out = values > np.uint64(hi)
        else:
            out = (values < lo) | (values > hi)
        if out.any():
            i = int(np.flatnonzero(out)[0])
            raise self.error(i, fs.name, "integer out of range", expected, value_text(arr[i].as_py()))
        return arr.cast(target, safe=False) if t != target else arr

    def _floats(self, fs: FieldSchema, arr: pa.Array, target: pa.DataType) -> pa.Array:
        t = arr.type
        expected = f"finite numbers ({fs.dtype.value})"
        if pa.types.is_integer(t):  # rounded to the nearest float, as the importer's own parsing does
            values = pc.fill_null(arr, 0).to_numpy(zero_copy_only=False)
            if fs.dtype is DataType.FLOAT and (np.abs(values.astype(np.float64)) > FLOAT32_MAX).any():
                i = int(np.flatnonzero(np.abs(values.astype(np.float64)) > FLOAT32_MAX)[0])
                raise self.error(i, fs.name, "number out of range", f"Float within ±{FLOAT32_MAX:.6g}",
                                 value_text(arr[i].as_py()))  # fmt: skip
            return arr.cast(target, safe=False)
        if not pa.types.is_floating(t):
            raise self._wrong(fs, arr, expected)
        finite = pc.is_finite(arr)
        if not pc.all(finite).as_py():
            i = _first(pc.invert(pc.fill_null(finite, True)))
            raise self.error(i, fs.name, "NaN or Inf", expected, value_text(arr[i].as_py()))
        if fs.dtype is DataType.FLOAT and t == pa.float64() and len(arr) - arr.null_count:
            mm = pc.min_max(pc.abs(arr))
            if mm["max"].as_py() > FLOAT32_MAX:
                i = _first(pc.greater(pc.abs(arr), FLOAT32_MAX))
                raise self.error(
                    i, fs.name, "number out of range", f"Float within ±{FLOAT32_MAX:.6g}", value_text(arr[i].as_py())
                )
        return arr.cast(target, safe=False) if t != target else arr

    def _strings(self, fs: FieldSchema, arr: pa.Array) -> pa.Array:
        ml = fs.max_length or 65535
        expected = f"strings of at most {ml} bytes (VarChar max_length {ml})"
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            raise self._wrong(fs, arr, expected)
        lengths = pc.binary_length(arr)
        if len(arr) - arr.null_count and pc.max(lengths).as_py() > ml:
            i = _first(pc.greater(lengths, ml))
            v = arr[i].as_py()
            raise self.error(
                i,
                fs.name,
                "string longer than max_length",
                expected,
                f"{len(v.encode('utf-8'))} bytes: {short_repr(v, 40)}",
            )
        return arr.cast(pa.string()) if arr.type != pa.string() else arr

    def _json(self, fs: FieldSchema, arr: pa.Array) -> pa.Array:
        expected = "JSON text, or objects (JSON field)"
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            for i, v in enumerate(arr.to_pylist()):
                if v is not None:
                    try:
                        loads_strict(v)
                    except ValueError as exc:
                        raise self.error(
                            i, fs.name, f"the JSON text does not parse ({exc})", expected, value_text(v)
                        ) from None
            return arr.cast(pa.string()) if arr.type != pa.string() else arr
        if not (pa.types.is_struct(arr.type) or pa.types.is_map(arr.type)):
            raise self._wrong(fs, arr, expected)
        texts = []
        for i, v in enumerate(arr.to_pylist()):
            texts.append(None if v is None else self._dumps(i, fs.name, dict(v) if isinstance(v, list) else v))
        return pa.array(texts, type=pa.string())

    def _dumps(self, i: int, field: str, value: Any) -> str:
        try:
            return dumps_compact(value)
        except (TypeError, ValueError) as exc:
            raise self.error(
                i, field, f"the value cannot be stored as JSON ({exc})", "JSON values", value_text(value)
            ) from None

    def _sparse(self, fs: FieldSchema, arr: pa.Array) -> pa.Array:
        expected = 'a sparse vector: {"index": value, ...} or {"indices": [...], "values": [...]}'
        strings = pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
        if not (strings or pa.types.is_struct(arr.type) or pa.types.is_map(arr.type)):
            raise self._wrong(fs, arr, expected)
        texts: list[str | None] = []
        for i, v in enumerate(arr.to_pylist()):
            if v is None:
                texts.append(None)
                continue
            if strings:
                try:
                    v = loads_strict(v)
                except ValueError:
                    raise self.error(
                        i, fs.name, "the sparse vector text does not parse", expected, value_text(v)
                    ) from None
            elif isinstance(v, list):  # a map column: (key, value) pairs
                v = dict(v)
            texts.append(sparse_text(v, self._fail(i, fs.name, expected, v)))
        return pa.array(texts, type=pa.string())

    def _fail(self, i: int, field: str, expected: str, v: Any) -> Callable[[str], DataFileError]:
        return lambda why: self.error(i, field, why, expected, value_text(v))

    def _list_parts(self, fs: FieldSchema, arr: pa.Array, expected: str) -> tuple[pa.Array, pa.Array]:
        """(values of non-null rows, per-row lengths with 0 for nulls) of a list-like column."""
        t = arr.type
        if pa.types.is_fixed_size_list(t) or pa.types.is_large_list(t):
            arr = arr.cast(pa.list_(t.value_type))
        elif not pa.types.is_list(t):
            raise self._wrong(fs, arr, expected)
        lengths = pc.fill_null(pc.list_value_length(arr), 0)
        values = arr.flatten()
        if values.null_count:
            k = _first(values.is_null())
            ends = np.cumsum(lengths.to_numpy(zero_copy_only=False))
            i = int(np.searchsorted(ends, k, side="right"))
            at = k - (int(ends[i - 1]) if i else 0)
            # pandas stores NaN as missing, so a NaN in a DataFrame's list arrives here as a null
            raise self.error(i, fs.name, f"null (or NaN) inside a list at element {at}", expected, "null")
        return values, lengths

    def _rebuild(self, arr: pa.Array, values: pa.Array, lengths: pa.Array) -> pa.Array:
        offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
        np.cumsum(lengths.to_numpy(zero_copy_only=False), out=offsets[1:])
        mask = arr.is_null() if arr.null_count else None
        return pa.ListArray.from_arrays(pa.array(offsets), values, mask=mask)

    def _vector(self, fs: FieldSchema, arr: pa.Array, target: pa.DataType) -> pa.Array:
        dt, dim = fs.dtype, int(fs.dim or 0)
        width = VECTOR_WIDTH[dt](dim)
        half = dt in (DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR)
        if dt is DataType.FLOAT_VECTOR or half:
            expected = f"lists of {dim} finite numbers ({dt.value}, dim {dim})"
        elif dt is DataType.BINARY_VECTOR:
            expected = f"lists of {width} integers 0..255 (BinaryVector dim {dim} packed into bytes)"
        else:
            expected = f"lists of {dim} integers -128..127 (Int8Vector, dim {dim})"
        if dt is DataType.BINARY_VECTOR and (pa.types.is_binary(arr.type) or pa.types.is_fixed_size_binary(arr.type)):
            arr = _bytes_to_lists(arr)
        values, lengths = self._list_parts(fs, arr, expected)
        vt = values.type
        raw_half = half and pa.types.is_uint8(vt)  # already the 2 bytes per dim the importer reads
        want = width if (raw_half or not half) else dim
        np_lengths = lengths.to_numpy(zero_copy_only=False)
        valid = ~arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else None
        wrong = (np_lengths != want) if valid is None else ((np_lengths != want) & valid)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise self.error(
                i, fs.name, "vector length differs from dim", expected, f"a list of {int(np_lengths[i])} values"
            )
        if dt is DataType.FLOAT_VECTOR or (half and not raw_half):
            if not (pa.types.is_floating(vt) or pa.types.is_integer(vt)):
                raise self._wrong(fs, arr, expected)
            raw = values.to_numpy(zero_copy_only=False)
            with np.errstate(over="ignore", invalid="ignore"):
                data32 = raw.astype(np.float32)
            bad = ~np.isfinite(data32)  # NaN, Inf, and numbers beyond float32 (they became Inf)
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                what = "number out of range" if np.isfinite(raw[k]) else "NaN or Inf in vector"
                raise self.error(
                    self._row_of(k, np_lengths),
                    fs.name,
                    f"{what} at element {k % want}",
                    "finite float32 numbers",
                    value_text(values[k].as_py()),
                )
            if dt is DataType.FLOAT16_VECTOR:
                with np.errstate(over="ignore"):
                    h = data32.astype(np.float16)
                if not np.isfinite(h).all():
                    k = int(np.flatnonzero(~np.isfinite(h))[0])
                    raise self.error(
                        self._row_of(k, np_lengths),
                        fs.name,
                        f"value out of float16 range at element {k % want}",
                        f"numbers within ±{FLOAT16_MAX:g}",
                        repr(float(data32[k])),
                    )
                out_values = pa.array(h.view(np.uint8))
                lengths = pc.multiply(lengths, 2)
            elif dt is DataType.BFLOAT16_VECTOR:
                from .columns import bfloat16_bits

                out_values = pa.array(bfloat16_bits(data32).view(np.uint8))
                lengths = pc.multiply(lengths, 2)
            else:
                out_values = pa.array(data32)
            return self._rebuild(arr, out_values.cast(target.value_type), lengths.cast(pa.int32()))
        if not pa.types.is_integer(vt):
            raise self._wrong(fs, arr, expected)
        lo, hi = (0, 255) if (dt is DataType.BINARY_VECTOR or raw_half) else (-128, 127)
        if len(values):
            mm = pc.min_max(values)
            if mm["min"].as_py() < lo or mm["max"].as_py() > hi:
                k = _first(pc.or_(pc.less(values, lo), pc.greater(values, hi)))
                raise self.error(
                    self._row_of(k, np_lengths),
                    fs.name,
                    f"value out of range at element {k % want}",
                    expected,
                    value_text(values[k].as_py()),
                )
        return self._rebuild(arr, values.cast(target.value_type, safe=False), lengths.cast(pa.int32()))

    @staticmethod
    def _row_of(k: int, lengths: np.ndarray) -> int:
        return int(np.searchsorted(np.cumsum(lengths), k, side="right"))

    def _array(self, fs: FieldSchema, arr: pa.Array, target: pa.DataType) -> pa.Array:
        assert fs.element_type is not None
        cap = fs.max_capacity or 4096
        elem = FieldSchema(fs.name, fs.element_type, max_length=fs.max_length)
        expected = f"lists of at most {cap} {fs.element_type.value} values (Array max_capacity {cap})"
        values, lengths = self._list_parts(fs, arr, expected)
        np_lengths = lengths.to_numpy(zero_copy_only=False)
        if (np_lengths > cap).any():
            i = int(np.flatnonzero(np_lengths > cap)[0])
            raise self.error(
                i, fs.name, "more elements than max_capacity", expected, f"a list of {int(np_lengths[i])} values"
            )
        row0, self.row0 = self.row0, 0  # element errors first count elements, then name the row
        try:
            out_values = self._values(elem, values)
        except DataFileError as exc:
            if exc.row is None:
                raise self._wrong(fs, arr, expected) from None
            i = self._row_of(exc.row, np_lengths)
            self.row0 = row0
            at = exc.row - int(np_lengths[:i].sum())
            raise self.error(i, fs.name, f"element {at}: {exc.detail}", expected, exc.got or "") from None
        finally:
            self.row0 = row0
        return self._rebuild(arr, out_values.cast(target.value_type), lengths.cast(pa.int32()))

    # -- the dynamic field -------------------------------------------------------------------
    def _meta(self, batch: pa.RecordBatch, extras: list[str]) -> pa.Array:
        n = batch.num_rows
        if not extras:
            return pa.array(["{}"] * n, type=pa.string())
        cols = {name: batch.column(name).to_pylist() for name in extras}
        given = cols.pop(META_FIELD, None)
        texts = []
        for i in range(n):
            row: dict[str, Any] = {}
            if given is not None and given[i] is not None:
                inner = given[i]
                if isinstance(inner, str):
                    try:
                        inner = loads_strict(inner)
                    except ValueError:
                        inner = None
                if not isinstance(inner, dict):
                    raise self.error(
                        i,
                        META_FIELD,
                        "'$meta' must be a JSON object",
                        "an object or a JSON object string",
                        value_text(given[i]),
                    )
                row.update(inner)
            for name, values in cols.items():
                if name in row:
                    raise self.error(
                        i,
                        META_FIELD,
                        f"duplicated key {name!r} is not allowed",
                        "each dynamic key once",
                        f"{name!r} twice",
                    )
                v = values[i]
                if v is not None:
                    row[name] = v
            texts.append(self._dumps(i, META_FIELD, row))
        return pa.array(texts, type=pa.string())


def _first(mask: Any) -> int:
    """Index of the first true value of a boolean Arrow array."""
    return int(pc.index(pc.fill_null(mask, False), True).as_py())


def _expected(fs: FieldSchema) -> str:
    return f"a value ({fs.describe()}, not nullable)"


def _bytes_to_lists(arr: pa.Array) -> pa.Array:
    as_list = [None if b is None else list(b) for b in arr.to_pylist()]
    return pa.array(as_list, type=pa.list_(pa.uint8()))


def _sparse_pairs(v: Any, fail: Callable[[str], DataFileError]) -> dict[str, float]:
    """A sparse vector as ``{"index": value}`` with the importer's rules checked (indices < 2**32-1, finite)."""
    if not isinstance(v, dict):
        raise fail("wrong type")
    if set(v) == {"indices", "values"}:
        idx, vals = v["indices"], v["values"]
        if not isinstance(idx, list) or not isinstance(vals, list) or len(idx) != len(vals):
            raise fail("indices and values must be lists of the same length")
        pairs = list(zip(idx, vals, strict=True))
    else:
        pairs = list(v.items())
    out: dict[str, float] = {}
    for key, value in pairs:
        try:
            index = int(key) if not isinstance(key, bool) else None
        except (TypeError, ValueError):
            index = None
        if index is None or str(index) != str(key).strip() or not 0 <= index <= _SPARSE_MAX_INDEX:
            raise fail(f"index {key!r} is not an integer in [0, {_SPARSE_MAX_INDEX}]")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise fail(f"value {value!r} at index {index} is not a finite number")
        if str(index) in out:
            raise fail(f"index {index} appears twice")
        out[str(index)] = float(value)
    return out


def sparse_text(v: Any, fail: Callable[[str], DataFileError]) -> str:
    """A sparse vector (dict, or indices/values) as the JSON text we write, checked (``fail(why)`` raises)."""
    return dumps_compact(_sparse_pairs(v, fail))
