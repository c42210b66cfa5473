"""Streaming JSON → per-field NumPy conversion for Zilliz/Milvus bulk import.

``convert_json_to_numpy`` reads ``{"rows": [...]}`` (or a bare list) row by row (``json_rows``:
orjson blocks, float vectors via simdjson straight to float32, ijson where needed), checks every
value against the collection schema and writes one ``<field>.npy`` per field. Large files are
split across worker processes (``convert_split``).
Fixed-width columns go straight into their ``.npy`` (header patched at the end); string columns are
spilled as UTF-8 and rewritten as ``<U{longest}`` at the end. Memory stays flat: one chunk of rows
at a time. Output is built in a temporary folder next to ``out_dir`` and moved into place only on
success; on any error nothing is left behind.
"""

from __future__ import annotations

import html
import json
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataFileError, SchemaError, UnsupportedFieldError
from .json_rows import VectorSpecs, _got, _short, iter_json_rows
from .npy_format import header_bytes
from .progress import ConvertProgress, ProgressArg, Reporter
from .schema import CollectionSchema, DataType, FieldSchema

__all__ = [
    "META_FIELD",
    "ConvertResult",
    "NpyFileInfo",
    "convert_json_to_numpy",
    "infer_schema_from_json",
    "iter_json_rows",
    "npy_dtype_for",
    "validate_json_rows",
]

META_FIELD = "$meta"
_CHUNK_BYTES = 16 << 20  # target size of one in-memory chunk per column
_INFER_ROWS = 100
_PARALLEL_MIN_BYTES = 64 << 20
_AUTO_WORKERS = 2  # ~70 MiB each: two keep the whole conversion under 256 MiB
_VECTOR_BATCH = 256  # float vectors converted together (bounded: the lists are kept until then)
_INT_RANGES = {
    DataType.INT8: (-(1 << 7), (1 << 7) - 1),
    DataType.INT16: (-(1 << 15), (1 << 15) - 1),
    DataType.INT32: (-(1 << 31), (1 << 31) - 1),
    DataType.INT64: (-(1 << 63), (1 << 63) - 1),
}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


# --------------------------------------------------------------------------------------------
# results
@dataclass(frozen=True)
class NpyFileInfo:
    """One written ``.npy`` file."""

    name: str
    path: Path
    dtype: str
    shape: tuple[int, ...]
    bytes: int

    @property
    def field(self) -> str:
        return self.name[:-4] if self.name.endswith(".npy") else self.name


@dataclass(frozen=True)
class ConvertResult:
    """What :func:`convert_json_to_numpy` wrote."""

    source: Path
    out_dir: Path
    rows: int
    files: tuple[NpyFileInfo, ...]
    schema: CollectionSchema
    elapsed: float = 0.0
    bytes_read: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def __repr__(self) -> str:
        lines = [
            f"ConvertResult: {self.rows:,} rows from {self.source.name} -> {self.out_dir}"
            f" ({len(self.files)} files, {_human(self.total_bytes)}, {self.elapsed:.1f} s)"
        ]
        width = max((len(f.name) for f in self.files), default=4)
        for f in self.files:
            lines.append(f"  {f.name:<{width}}  {f.dtype:<8} {f.shape!s:<16} {_human(f.bytes):>10}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td><code>{html.escape(f.name)}</code></td><td>{html.escape(f.dtype)}</td>"
            f"<td>{html.escape(str(f.shape))}</td><td style='text-align:right'>{_human(f.bytes)}</td></tr>"
            for f in self.files
        )
        return (
            f"<div><p><b>Converted {self.rows:,} rows</b> from <code>{html.escape(self.source.name)}</code> "
            f"into <code>{html.escape(str(self.out_dir))}</code> ({len(self.files)} files, "
            f"{_human(self.total_bytes)}, {self.elapsed:.1f} s)</p><table><thead><tr><th>file</th><th>dtype</th>"
            f"<th>shape</th><th>size</th></tr></thead><tbody>{body}</tbody></table></div>"
        )


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


# --------------------------------------------------------------------------------------------
# dtype mapping
def npy_dtype_for(fs: FieldSchema) -> tuple[np.dtype, tuple[int, ...]]:
    """The ``.npy`` dtype and per-row shape written for a field (strings: ``<U1`` placeholder)."""
    _check_supported(fs)
    dt = fs.dtype
    if dt.is_int:
        return np.dtype(f"<i{_INT_SIZES[dt]}"), ()
    simple = {DataType.FLOAT: "<f4", DataType.DOUBLE: "<f8", DataType.BOOL: "|b1"}
    if dt in simple:
        return np.dtype(simple[dt]), ()
    if dt in (DataType.VARCHAR, DataType.JSON):
        return np.dtype("<U1"), ()
    dim = int(fs.dim or 0)
    if dt is DataType.FLOAT_VECTOR:
        return np.dtype("<f4"), (dim,)
    if dt is DataType.BINARY_VECTOR:
        return np.dtype("|u1"), (dim // 8,)
    if dt in (DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR):
        return np.dtype("|u1"), (dim * 2,)
    if dt is DataType.INT8_VECTOR:
        return np.dtype("|i1"), (dim,)
    raise UnsupportedFieldError(fs.name, f"type {dt.value} is not supported")


_INT_SIZES = {DataType.INT8: 1, DataType.INT16: 2, DataType.INT32: 4, DataType.INT64: 8}


def _check_supported(fs: FieldSchema) -> None:
    if fs.nullable:
        raise UnsupportedFieldError(fs.name, "it is nullable (Milvus rejects nullable fields in NumPy files)")
    if fs.dtype is DataType.ARRAY:
        raise UnsupportedFieldError(fs.name, "it is an Array field")
    if fs.dtype is DataType.SPARSE_FLOAT_VECTOR:
        raise UnsupportedFieldError(fs.name, "it is a SparseFloatVector field")


def infer_schema_from_json(path: str | os.PathLike[str], *, rows: int = _INFER_ROWS, **kwargs: Any) -> CollectionSchema:
    """Infer a schema from the first ``rows`` rows of a JSON import file (see ``CollectionSchema.infer``)."""
    sample = []
    p = Path(path)
    for i, row in enumerate(iter_json_rows(p)):
        if not isinstance(row, Mapping):
            raise DataFileError("each row should be a key-value map", file=p.name, row=i,
                                expected="a JSON object", got=_got(row))  # fmt: skip
        sample.append(row)
        if len(sample) >= rows:
            break
    if not sample:
        raise SchemaError(f"{p.name}: cannot infer a schema from a file with no rows",
                          hint="pass schema= (e.g. from describe_collection)")  # fmt: skip
    kwargs.setdefault("max_length", 65535)
    return CollectionSchema.infer(sample, **kwargs)


# --------------------------------------------------------------------------------------------
# column writers
class _Column:
    """Validates one field's values into a chunk buffer and (optionally) writes them out."""

    def __init__(self, fs: FieldSchema | None, name: str, chunk: int, src: str, out: Path | None) -> None:
        self.fs, self.name, self.chunk, self.src = fs, name, chunk, src
        self.path = out / f"{name}.npy" if out is not None else None

    def error(self, row: int, message: str, expected: str, got: str) -> DataFileError:
        return DataFileError(message, file=self.src, row=row, field=self.name, expected=expected, got=got)


class _FixedColumn(_Column):
    """Numbers, bools and vectors: a preallocated chunk buffer written straight into the .npy."""

    def __init__(self, fs: FieldSchema, chunk: int, src: str, out: Path | None) -> None:
        super().__init__(fs, fs.name, chunk, src, out)
        self.dtype, self.row_shape = npy_dtype_for(fs)
        dt = fs.dtype
        self.kind = dt
        self.buf = np.zeros((chunk, *self.row_shape), dtype=self.dtype)
        self.width = self.row_shape[0] if self.row_shape else 0
        if dt is DataType.FLOAT16_VECTOR or dt is DataType.BFLOAT16_VECTOR:
            self.vbuf = np.zeros((chunk, int(fs.dim or 0)), dtype=np.float32)
        self.pending: list[list] = []  # float vectors not yet converted (a batch is converted at once)
        self.pending_at = (0, 0)  # (chunk index, row) of the first pending vector
        self.fh = None
        self.header_len = 0
        if self.path is not None:
            self.fh = open(self.path, "wb")  # noqa: SIM115 - closed in finish()/close()
            self.header_len = len(header_bytes(self.dtype, (0, *self.row_shape)))  # the same for any row count
            self.fh.write(b"\0" * self.header_len)
        self.put = self._make_put()

    def _make_put(self) -> Callable[[int, int, Any], None]:
        buf, dt, err = self.buf, self.kind, self.error
        if dt.is_int:
            lo, hi = _INT_RANGES[dt]
            name = dt.value

            def put_int(j: int, row: int, v: Any) -> None:
                if type(v) is not int:
                    if type(v) is float and v.is_integer() and abs(v) >= 2.0**63:  # orjson reads huge ints so
                        raise err(row, "integer out of range", f"{name} in [{lo}, {hi}]", f"integer {v:.6g}")
                    raise err(row, "wrong type", f"an integer ({name})", _got(v))
                if v < lo or v > hi:
                    raise err(row, "integer out of range", f"{name} in [{lo}, {hi}]", _got(v))
                buf[j] = v

            return put_int
        if dt is DataType.FLOAT or dt is DataType.DOUBLE:
            name = dt.value
            limit = _FLOAT32_MAX if dt is DataType.FLOAT else math.inf

            def put_float(j: int, row: int, v: Any) -> None:
                t = type(v)
                if t is not float and t is not int:
                    raise err(row, "wrong type", f"a number ({name})", _got(v))
                if abs(v) > limit:
                    raise err(row, "number out of range", f"{name} within ±{limit:.6g}", _got(v))
                buf[j] = v

            return put_float
        if dt is DataType.BOOL:

            def put_bool(j: int, row: int, v: Any) -> None:
                if type(v) is not bool:
                    raise err(row, "wrong type", "true or false (Bool)", _got(v))
                buf[j] = v

            return put_bool
        return self._make_put_vector()

    def _make_put_vector(self) -> Callable[[int, int, Any], None]:
        dt, err, fs = self.kind, self.error, self.fs
        assert fs is not None
        dim = int(fs.dim or 0)
        if dt is DataType.FLOAT_VECTOR or dt in (DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR):
            expected = f"a list of {dim} numbers ({dt.value}, dim {dim})"
            self.expected = expected
            pending = self.pending
            target = self.vbuf if self._half else self.buf
            ndarray = np.ndarray

            def put_fvec(j: int, row: int, v: Any) -> None:
                if type(v) is ndarray:  # from the fast block reader: float32, dim long, finite, in range
                    if pending:
                        self.settle()
                    target[j] = v
                    return
                if type(v) is not list:
                    raise err(row, "wrong type", expected, _got(v))
                if len(v) != dim:
                    raise err(row, "vector length differs from dim", expected, f"a list of {len(v)} values")
                try:
                    sum(v)  # a C loop: raises for a string, null, list or object among the numbers
                except (TypeError, OverflowError):
                    bad = next((k for k, x in enumerate(v) if type(x) not in (float, int)), None)
                    if bad is None:  # an integer too large for a float
                        bad = next((k for k, x in enumerate(v) if type(x) is int and _too_big(x)), 0)
                        raise err(row, f"number out of range at element {bad}", expected, _got(v[bad])) from None
                    raise err(row, f"wrong type at element {bad}", expected, _got(v[bad])) from None
                if not pending:
                    self.pending_at = (j, row)
                pending.append(v)
                if len(pending) >= _VECTOR_BATCH:
                    self.settle()

            return put_fvec
        if dt is DataType.BINARY_VECTOR:
            width = dim // 8
            expected = f"a list of {width} integers 0..255 (BinaryVector dim {dim} packed into bytes)"
            lo, hi = 0, 255
        else:  # INT8_VECTOR
            width = dim
            expected = f"a list of {width} integers -128..127 (Int8Vector, dim {dim})"
            lo, hi = -128, 127
        buf = self.buf

        def put_ivec(j: int, row: int, v: Any) -> None:
            if type(v) is not list:
                raise err(row, "wrong type", expected, _got(v))
            if len(v) != width:
                raise err(row, "vector length differs from dim", expected, f"a list of {len(v)} values")
            arr = np.array(v)
            if arr.dtype.kind not in "iu" or arr.ndim != 1 or (arr.size and _bool_among(v, arr)):
                bad = next((k for k, x in enumerate(v) if type(x) is not int), 0)
                raise err(row, f"wrong type at element {bad}", expected, _got(v[bad]))
            if arr.size and (arr.min() < lo or arr.max() > hi):
                bad = int(np.flatnonzero((arr < lo) | (arr > hi))[0])
                raise err(row, f"value out of range at element {bad}", expected, _got(v[bad]))
            buf[j] = arr

        return put_ivec

    def settle(self) -> None:
        """Convert and check the pending float vectors (raises for the first bad one)."""
        pending = self.pending
        if not pending:
            return
        j0, row0 = self.pending_at
        k = len(pending)
        target = (self.vbuf if self._half else self.buf)[j0 : j0 + k]
        try:
            target[:] = pending  # numbers only (checked in put): straight to float32
        except OverflowError:  # a list of integers only, one too large for a float
            r, bad = next((r, i) for r, v in enumerate(pending) for i, x in enumerate(v) if _too_big(x))
            raise self.error(row0 + r, f"number out of range at element {bad}", self.expected,
                             _got(pending[r][bad])) from None  # fmt: skip
        finite = np.isfinite(target)
        bad = None if finite.all() else tuple(int(x[0]) for x in np.nonzero(~finite))
        boolean = _first_bool(pending, target, bad[0] if bad is not None else k - 1)
        if boolean is not None and (bad is None or boolean <= bad):
            r, c = boolean
            raise self.error(row0 + r, f"wrong type at element {c}", self.expected, _got(pending[r][c]))
        if bad is not None:
            r, c = bad
            raise self.error(row0 + r, f"NaN or Inf in vector at element {c}",
                             "finite float32 numbers", _got(pending[r][c]))  # fmt: skip
        if self.kind is DataType.FLOAT16_VECTOR:
            with np.errstate(over="ignore"):
                half = target.astype(np.float16)
            if not np.isfinite(half).all():
                r, c = (int(x[0]) for x in np.nonzero(~np.isfinite(half)))
                raise self.error(row0 + r, f"value out of float16 range at element {c}",
                                 "numbers within ±65504", repr(float(target[r, c])))  # fmt: skip
        pending.clear()

    @property
    def _half(self) -> bool:
        return self.kind is DataType.FLOAT16_VECTOR or self.kind is DataType.BFLOAT16_VECTOR

    def flush(self, k: int) -> None:
        self.settle()
        if self.kind is DataType.FLOAT16_VECTOR:
            self.buf[:k] = self.vbuf[:k].astype(np.float16).view(np.uint8)
        elif self.kind is DataType.BFLOAT16_VECTOR:
            self.buf[:k] = _to_bfloat16(self.vbuf[:k]).view(np.uint8)
        if self.fh is not None:
            self.fh.write(self.buf[:k].data)  # no copy: a 12 MiB copy per chunk fragments the heap

    def finish(self, rows: int) -> NpyFileInfo | None:
        if self.fh is None or self.path is None:
            return None
        shape = (rows, *self.row_shape)
        header = header_bytes(self.dtype, shape)
        if len(header) != self.header_len:  # only if NumPy stopped padding for growth: move the data
            self.fh.close()
            self.fh = None
            _replace_header(self.path, self.header_len, header)
        else:
            self.fh.seek(0)
            self.fh.write(header)
            self.fh.close()
            self.fh = None
        return NpyFileInfo(self.path.name, self.path, self.dtype.str, shape, self.path.stat().st_size)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def _replace_header(path: Path, old_len: int, header: bytes) -> None:
    """Rewrite ``path`` with ``header`` in place of its first ``old_len`` bytes (through a temporary file)."""
    tmp = path.with_suffix(".hdr.part")
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        dst.write(header)
        src.seek(old_len)
        shutil.copyfileobj(src, dst, 8 << 20)
    os.replace(tmp, path)


def _bool_among(values: list, arr: np.ndarray) -> bool:
    """True if ``values`` (read as integers ``arr``) holds a ``true``/``false`` (NumPy takes them as 1/0)."""
    at = np.flatnonzero((arr == 0) | (arr == 1))
    return bool(at.size) and any(type(values[c]) is bool for c in at.tolist())


def _first_bool(values: list[list], converted: np.ndarray, last_row: int) -> tuple[int, int] | None:
    """(row, element) of the first ``true``/``false`` in ``values[:last_row + 1]`` (NumPy took them as 1/0).

    Only elements equal to 0 or 1 after conversion are looked at, so this costs next to nothing.
    """
    head = converted[: last_row + 1]
    candidates = (head == 0) | (head == 1)
    for r in np.flatnonzero(candidates.any(axis=1)).tolist():
        row = values[r]
        for c in np.flatnonzero(candidates[r]).tolist():
            if type(row[c]) is bool:
                return r, c
    return None


def _too_big(x: int) -> bool:
    try:
        float(x)
    except OverflowError:
        return True
    return False


def _to_bfloat16(a: np.ndarray) -> np.ndarray:
    """float32 → bfloat16 bits (round to nearest even), as uint16."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


class _StrColumn(_Column):
    """VARCHAR, JSON and ``$meta``: spilled as UTF-8 (+ lengths), rewritten as ``<U{longest}`` at the end."""

    def __init__(self, fs: FieldSchema | None, name: str, chunk: int, src: str, out: Path | None) -> None:
        super().__init__(fs, name, chunk, src, out)
        self.values: list[str] = []
        self.longest = 0
        self.chunks: list[tuple[int, int]] = []  # (rows, UTF-8 bytes) of each spilled chunk
        self.blob = self.lens = None
        if self.path is not None:
            self.blob = open(self.path.with_suffix(".utf8.part"), "wb")  # noqa: SIM115 - closed in finish()
            self.lens = open(self.path.with_suffix(".lens.part"), "wb")  # noqa: SIM115
        self.put = self._make_put()

    def _make_put(self) -> Callable[[int, int, Any], None]:
        values, err = self.values, self.error
        if self.fs is None:  # $meta: already a JSON object string
            return lambda j, row, v: values.append(v)
        if self.fs.dtype is DataType.VARCHAR:
            ml = self.fs.max_length or 65535
            expected = f"a string of at most {ml} bytes (VarChar max_length {ml})"

            def put_str(j: int, row: int, v: Any) -> None:
                if type(v) is not str:
                    raise err(row, "wrong type", expected, _got(v))
                n = len(v)
                if n * 4 > ml and (n > ml or len(v.encode("utf-8")) > ml):
                    raise err(row, "string longer than max_length", expected,
                              f"{len(v.encode('utf-8'))} bytes: {_short(v, 40)}")  # fmt: skip
                values.append(v)

            return put_str

        expected = "a JSON object, or a string holding JSON (JSON field)"

        def put_json(j: int, row: int, v: Any) -> None:
            if type(v) is dict:
                values.append(json.dumps(v, ensure_ascii=False, separators=(",", ":")))
            elif type(v) is str:
                try:
                    json.loads(v)
                except ValueError as exc:
                    raise err(row, f"the JSON string does not parse ({exc})", expected, _got(v)) from None
                values.append(v)
            else:  # Milvus's JSON reader takes an object or a string only: a list or a number is refused
                raise err(row, "wrong type", expected, _got(v))

        return put_json

    def flush(self, k: int) -> None:
        vals = self.values
        longest = max(map(len, vals), default=0)
        if longest > self.longest:
            self.longest = longest
        if self.blob is not None and self.lens is not None:
            data = "".join(vals).encode("utf-8")
            self.blob.write(data)
            self.lens.write(np.fromiter(map(len, vals), dtype=np.int64, count=len(vals)).tobytes())
            self.chunks.append((len(vals), len(data)))
        vals.clear()

    def finish(self, rows: int) -> NpyFileInfo | None:
        if self.path is None or self.blob is None or self.lens is None:
            return None
        self.blob.close()
        self.lens.close()
        width = max(1, self.longest)
        dtype = np.dtype(f"<U{width}")
        blob_path, lens_path = self.path.with_suffix(".utf8.part"), self.path.with_suffix(".lens.part")
        per_batch = max(1, _CHUNK_BYTES // (4 * width))
        with open(self.path, "wb") as out, open(blob_path, "rb") as blob, open(lens_path, "rb") as lens:
            out.write(header_bytes(dtype, (rows,)))
            for nrows, nbytes in self.chunks:
                text = blob.read(nbytes).decode("utf-8")
                lengths = np.frombuffer(lens.read(8 * nrows), dtype=np.int64)
                offsets = np.concatenate(([0], np.cumsum(lengths))).tolist()
                for b in range(0, nrows, per_batch):
                    part = [text[offsets[i] : offsets[i + 1]] for i in range(b, min(b + per_batch, nrows))]
                    out.write(np.array(part, dtype=dtype).data)
        blob_path.unlink()
        lens_path.unlink()
        return NpyFileInfo(self.path.name, self.path, dtype.str, (rows,), self.path.stat().st_size)

    def close(self) -> None:
        for fh in (self.blob, self.lens):
            if fh is not None:
                fh.close()


# --------------------------------------------------------------------------------------------
# the row loop
_MISSING = object()


class _MetaColumn(_StrColumn):
    def __init__(self, chunk: int, src: str, out: Path | None) -> None:
        super().__init__(None, META_FIELD, chunk, src, out)
        self.used = False


def _chunk_rows(fields: list[FieldSchema]) -> int:
    widest = 1
    for fs in fields:
        if fs.dtype.is_vector and fs.dim:
            widest = max(widest, int(fs.dim) * 4)
    return int(min(4096, max(16, _CHUNK_BYTES // widest)))


def _build_columns(schema: CollectionSchema, src: str, out: Path | None, chunk: int) -> list[_Column]:
    cols: list[_Column] = []
    for fs in schema.input_fields:
        if out is None and (fs.nullable or fs.dtype in (DataType.ARRAY, DataType.SPARSE_FLOAT_VECTOR)):
            # checking a JSON source for JSON import: these types are fine there; check presence only
            col = _Column(fs, fs.name, chunk, src, None)
            col.put = lambda j, row, v: None  # type: ignore[attr-defined]
            col.flush = lambda k: None  # type: ignore[attr-defined]
            col.finish = lambda rows: None  # type: ignore[attr-defined]
            col.close = lambda: None  # type: ignore[attr-defined]
            cols.append(col)
            continue
        if fs.dtype in (DataType.VARCHAR, DataType.JSON):
            col = _StrColumn(fs, fs.name, chunk, src, out)
        else:
            col = _FixedColumn(fs, chunk, src, out)
        cols.append(col)
    return cols


RowSource = Callable[[Callable[[int], None]], Iterator[Any]]
_FLOAT16_MAX = 65504.0


def vector_specs(schema: CollectionSchema) -> VectorSpecs:
    """The float-vector fields the fast block reader may hand over as float32 rows (see ``json_rows``)."""
    specs: dict[str, tuple[int, float | None]] = {}
    for fs in schema.input_fields:
        if fs.nullable or not fs.dim:
            continue
        if fs.dtype in (DataType.FLOAT_VECTOR, DataType.BFLOAT16_VECTOR):
            specs[fs.name] = (int(fs.dim), None)
        elif fs.dtype is DataType.FLOAT16_VECTOR:
            specs[fs.name] = (int(fs.dim), _FLOAT16_MAX)
    return specs


def _run_rows(
    path: Path | tuple[str, RowSource],
    schema: CollectionSchema,
    out: Path | None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[int, list[NpyFileInfo]]:
    """Stream every row through the schema's columns; returns (rows, files written).

    ``path`` is a JSON file, or ``(file name, rows_of)`` where ``rows_of(on_bytes)`` yields the rows.
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
    chunk = _chunk_rows(fields)
    cols = _build_columns(schema, src, out, chunk)
    meta = _MetaColumn(chunk, src, out) if schema.enable_dynamic_field else None
    auto_pk = schema.primary.name if schema.primary.auto_id else None
    known = {fs.name for fs in fields}
    defaults = {fs.name: fs.default_value for fs in fields if fs.default_value is not None}
    plan = [(fs.name, col.put, fs.nullable) for fs, col in zip(fields, cols, strict=True)]
    all_cols: list[_Column] = [*cols, *([meta] if meta is not None else [])]
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
                                        expected="a JSON object", got=_got(row))  # fmt: skip
                present = 0
                for name, put, nullable in plan:
                    v = row.get(name, _MISSING)
                    if v is _MISSING:
                        if name in defaults:
                            v = defaults[name]
                        elif nullable:
                            v = None
                        else:
                            got = f"keys {_short(list(row))}"
                            raise DataFileError("value of the field is missing", file=src, row=i, field=name,
                                                expected=f"a value for {name!r}", got=got)  # fmt: skip
                    else:
                        present += 1
                    put(j, i, v)
                if len(row) != present or meta is not None:
                    _extras(row, known, auto_pk, meta, src, i)
                i += 1
                j += 1
                if j == chunk:
                    for col in all_cols:
                        col.flush(j)
                    j = 0
        except DataFileError:
            try:  # a float vector of an earlier row may be bad too: it is the first error then
                for col in all_cols:
                    if isinstance(col, _FixedColumn):
                        col.settle()
            except DataFileError as earlier:
                raise earlier from None
            raise
        if j:
            for col in all_cols:
                col.flush(j)
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


def _extras(row: dict, known: set[str], auto_pk: str | None, meta: _MetaColumn | None, src: str, i: int) -> None:
    extra: dict[str, Any] = {}
    for key, value in row.items():
        if key in known:
            continue
        if key == auto_pk:
            raise DataFileError(f"the primary key {key!r} is auto-generated, no need to provide", file=src, row=i,
                                field=key, expected="no value (auto_id is on)", got=_got(value))  # fmt: skip
        if meta is None:
            raise DataFileError(f"the field {key!r} is not defined in schema", file=src, row=i, field=key,
                                expected=f"only the schema's fields ({', '.join(sorted(known))})",
                                got=f"extra key {key!r}", hint="enable the dynamic field, or drop the key")  # fmt: skip
        if key == META_FIELD:
            inner = value
            if type(inner) is str:
                try:
                    inner = json.loads(inner)
                except ValueError:
                    inner = None
            if type(inner) is not dict:
                raise DataFileError("'$meta' must be a JSON object", file=src, row=i, field=META_FIELD,
                                    expected="an object or a JSON object string", got=_got(value))  # fmt: skip
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
        meta.put(0, i, json.dumps(extra, ensure_ascii=False, separators=(",", ":")))


def validate_json_rows(path: str | os.PathLike[str], schema: CollectionSchema) -> int:
    """Check every row of a JSON import file against ``schema`` (as the converter does); return the row count.

    Raises :class:`DataFileError` at the first bad value. Nothing is written.
    """
    rows, _ = _run_rows(Path(path), schema, None)
    return rows


# --------------------------------------------------------------------------------------------
# public entry point
def _resolve_schema(src: Path, schema: Any) -> CollectionSchema:
    if schema is None:
        return infer_schema_from_json(src)
    if isinstance(schema, CollectionSchema):
        return schema
    from .schema import load_schema

    return load_schema(schema)


def _prepare_out_dir(out_dir: Path, names: set[str]) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise DataFileError("the output path exists and is not a folder", file=str(out_dir),
                            hint="choose a folder path for the .npy files")  # fmt: skip
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in names)
        if foreign:
            raise DataFileError(
                f"the output folder already holds other files: {', '.join(foreign[:5])}",
                file=str(out_dir),
                hint="convert into an empty (or new) folder: extra .npy files would break the import",
            )


def convert_json_to_numpy(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    schema: CollectionSchema | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    progress: ProgressArg = True,
    workers: int | None = None,
) -> ConvertResult:
    """Convert a JSON import file into one ``<field>.npy`` per schema field, streaming.

    ``schema`` is a :class:`CollectionSchema`, a REST/pymilvus schema dict or schema file, or None to
    infer it from the first rows. Every value is checked; the first bad one raises
    :class:`DataFileError` naming file, row, field, expected and got, and nothing is left in
    ``out_dir``. Fields NumPy import cannot carry (Array, sparse, nullable) raise
    :class:`UnsupportedFieldError` before any reading. ``workers``: processes for a large file
    (default: 2 for files of 64 MiB and more on a multi-core machine; 1 = no worker processes).
    """
    started = time.monotonic()
    src_path = Path(src)
    out_path = Path(out_dir)
    if not src_path.is_file():
        raise DataFileError("the source file does not exist", file=str(src_path), hint="check the path")
    resolved = _resolve_schema(src_path, schema)
    for fs in resolved.input_fields:
        _check_supported(fs)
    names = {f"{fs.name}.npy" for fs in resolved.input_fields} | {f"{META_FIELD}.npy"}
    _prepare_out_dir(out_path, names)
    total = src_path.stat().st_size
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.parent / f".{out_path.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    with Reporter(progress, total=total, desc=f"convert {src_path.name}", unit="B", unit_scale=True,
                  unit_divisor=1024) as rep:  # fmt: skip

        def on_progress(rows: int, done: int) -> None:
            rep.update(done, ConvertProgress(rows, done, total, src_path.name), postfix=f"{rows:,} rows")

        try:
            if workers is None:
                workers = min(os.cpu_count() or 1, _AUTO_WORKERS) if total >= _PARALLEL_MIN_BYTES else 1
            split = None
            if workers > 1:
                from .convert_split import convert_in_parts

                split = convert_in_parts(src_path, resolved, tmp, workers, on_progress)
            rows, files = split if split is not None else _run_rows(src_path, resolved, tmp, on_progress)
            if rows == 0:
                raise DataFileError("the file has no rows", file=src_path.name, expected="at least one row", got="[]")
            moved = _move_into_place(tmp, out_path, files)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        rep.update(total, ConvertProgress(rows, total, total, src_path.name), postfix=f"{rows:,} rows")
    return ConvertResult(
        source=src_path,
        out_dir=out_path,
        rows=rows,
        files=tuple(moved),
        schema=resolved,
        elapsed=time.monotonic() - started,
        bytes_read=total,
    )


def _move_into_place(tmp: Path, out: Path, files: list[NpyFileInfo]) -> list[NpyFileInfo]:
    if not out.exists():
        os.replace(tmp, out)
    else:
        for f in files:
            os.replace(f.path, out / f.name)
        shutil.rmtree(tmp, ignore_errors=True)
    return [NpyFileInfo(f.name, out / f.name, f.dtype, f.shape, f.bytes) for f in files]
