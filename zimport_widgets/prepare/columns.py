"""Column writers: one per field, checking each value and writing it straight into the field's ``.npy``.

Fixed-width columns (numbers, bools, vectors) fill a preallocated chunk buffer written into the file
whose header is reserved up front and written in place at the end (``npy_format.header_bytes`` has the
same length for any row count). String columns (VarChar, JSON, ``$meta``) spill UTF-8 and their lengths,
then are rewritten as ``<U{longest}``. Each bad value raises :class:`DataFileError` naming file, row,
field, expected and got.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFileError
from ..fmt import short_repr, value_text
from ..schema import DataType, FieldSchema
from .json_text import dumps_compact, loads_strict
from .npy_format import header_bytes
from .rules import FLOAT32_MAX, INT_RANGES, META_FIELD, npy_dtype_for

__all__ = ["CHUNK_BYTES", "Column", "FixedColumn", "MetaColumn", "NpyFileInfo", "StrColumn", "bfloat16_bits"]

CHUNK_BYTES = 16 << 20  # target size of one in-memory chunk per column
_VECTOR_BATCH = 256  # float vectors converted together (bounded: the lists are kept until then)


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


class Column:
    """Validates one field's values into a chunk buffer and (optionally) writes them out."""

    def __init__(self, fs: FieldSchema | None, name: str, chunk: int, src: str, out: Path | None) -> None:
        self.fs, self.name, self.chunk, self.src = fs, name, chunk, src
        self.path = out / f"{name}.npy" if out is not None else None

    def error(self, row: int, message: str, expected: str, got: str) -> DataFileError:
        return DataFileError(message, file=self.src, row=row, field=self.name, expected=expected, got=got)

    # A plain Column checks presence only (a JSON source's Array, sparse or nullable field, fine there).
    def put(self, j: int, row: int, v: Any) -> None:
        """Check ``v`` (row ``row``) and store it at chunk index ``j``."""

    def flush(self, k: int) -> None:
        """Write the first ``k`` values of the chunk."""

    def finish(self, rows: int) -> NpyFileInfo | None:
        """Complete the file (``rows`` in all); None when nothing is written."""
        return None

    def close(self) -> None:
        """Release open files (after an error too)."""


class FixedColumn(Column):
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
        self.put = self._make_put()  # type: ignore[method-assign,assignment]

    def _make_put(self) -> Callable[[int, int, Any], None]:
        buf, dt, err = self.buf, self.kind, self.error
        if dt.is_int:
            lo, hi = INT_RANGES[dt]
            name = dt.value

            def put_int(j: int, row: int, v: Any) -> None:
                if type(v) is not int:
                    if type(v) is float and v.is_integer() and abs(v) >= 2.0**63:  # orjson reads huge ints so
                        raise err(row, "integer out of range", f"{name} in [{lo}, {hi}]", f"integer {v:.6g}")
                    raise err(row, "wrong type", f"an integer ({name})", value_text(v))
                if v < lo or v > hi:
                    raise err(row, "integer out of range", f"{name} in [{lo}, {hi}]", value_text(v))
                buf[j] = v

            return put_int
        if dt is DataType.FLOAT or dt is DataType.DOUBLE:
            name = dt.value
            limit = FLOAT32_MAX if dt is DataType.FLOAT else sys.float_info.max

            def put_float(j: int, row: int, v: Any) -> None:
                t = type(v)
                if t is float:
                    if not -limit <= v <= limit:  # also false for NaN (Milvus refuses NaN and Inf)
                        if v != v or v in (math.inf, -math.inf):
                            raise err(row, "NaN or Inf", f"a finite number ({name})", value_text(v))
                        raise err(row, "number out of range", f"{name} within ±{limit:.6g}", value_text(v))
                elif t is int:
                    if not -limit <= v <= limit:  # exact: Python compares an int and a float by value
                        raise err(row, "number out of range", f"{name} within ±{limit:.6g}", value_text(v))
                else:
                    raise err(row, "wrong type", f"a number ({name})", value_text(v))
                buf[j] = v

            return put_float
        if dt is DataType.BOOL:

            def put_bool(j: int, row: int, v: Any) -> None:
                if type(v) is not bool:
                    raise err(row, "wrong type", "true or false (Bool)", value_text(v))
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
                    raise err(row, "wrong type", expected, value_text(v))
                if len(v) != dim:
                    raise err(row, "vector length differs from dim", expected, f"a list of {len(v)} values")
                try:
                    sum(v)  # a C loop: raises for a string, null, list or object among the numbers
                except (TypeError, OverflowError):
                    bad = next((k for k, x in enumerate(v) if type(x) not in (float, int)), None)
                    if bad is None:  # an integer too large for a float
                        bad = next((k for k, x in enumerate(v) if type(x) is int and _too_big(x)), 0)
                        raise err(row, f"number out of range at element {bad}", expected, value_text(v[bad])) from None
                    raise err(row, f"wrong type at element {bad}", expected, value_text(v[bad])) from None
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
                raise err(row, "wrong type", expected, value_text(v))
            if len(v) != width:
                raise err(row, "vector length differs from dim", expected, f"a list of {len(v)} values")
            arr = np.array(v)
            if arr.dtype.kind not in "iu" or arr.ndim != 1 or (arr.size and _bool_among(v, arr)):
                bad = next((k for k, x in enumerate(v) if type(x) is not int), 0)
                raise err(row, f"wrong type at element {bad}", expected, value_text(v[bad]))
            if arr.size and (arr.min() < lo or arr.max() > hi):
                bad = int(np.flatnonzero((arr < lo) | (arr > hi))[0])
                raise err(row, f"value out of range at element {bad}", expected, value_text(v[bad]))
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
            r, at = next((r, i) for r, v in enumerate(pending) for i, x in enumerate(v) if _too_big(x))
            raise self.error(row0 + r, f"number out of range at element {at}", self.expected,
                             value_text(pending[r][at])) from None  # fmt: skip
        finite = np.isfinite(target)
        bad: tuple[int, int] | None = None
        if not finite.all():
            rows, cols = np.nonzero(~finite)
            bad = (int(rows[0]), int(cols[0]))
        boolean = _first_bool(pending, target, bad[0] if bad is not None else k - 1)
        if boolean is not None and (bad is None or boolean <= bad):
            r, c = boolean
            raise self.error(row0 + r, f"wrong type at element {c}", self.expected, value_text(pending[r][c]))
        if bad is not None:
            r, c = bad
            raise self.error(row0 + r, f"NaN or Inf in vector at element {c}",
                             "finite float32 numbers", value_text(pending[r][c]))  # fmt: skip
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
            self.buf[:k] = bfloat16_bits(self.vbuf[:k]).view(np.uint8)
        if self.fh is not None:
            self.fh.write(self.buf[:k].data)  # no copy: a 12 MiB copy per chunk fragments the heap

    def write_block(self, data: np.ndarray) -> None:
        """Rows checked elsewhere (a columnar source, already in this column's dtype): written as they are."""
        if self.fh is not None:
            self.fh.write(np.ascontiguousarray(data, dtype=self.dtype).data)

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


def bfloat16_bits(a: np.ndarray) -> np.ndarray:
    """float32 → bfloat16 bits (round to nearest even), as uint16."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


class StrColumn(Column):
    """VARCHAR, JSON and ``$meta``: spilled as UTF-8 (+ lengths), rewritten as ``<U{longest}`` at the end.

    ``utf8=True`` (a parallel part of a Parquet conversion): the lengths are UTF-8 byte counts and the spill
    is the result (``<name>.utf8.part`` + ``<name>.lens.part``), which Arrow takes as offsets and data as is.
    """

    def __init__(
        self, fs: FieldSchema | None, name: str, chunk: int, src: str, out: Path | None, *, utf8: bool = False
    ) -> None:
        super().__init__(fs, name, chunk, src, out)
        self.utf8 = utf8
        self.values: list[str] = []
        self.last: list[str] = []
        self.longest = 0
        self.chunks: list[tuple[int, int]] = []  # (rows, UTF-8 bytes) of each spilled chunk
        self.blob = self.lens = None
        if self.path is not None:
            self.blob = open(self.path.with_suffix(".utf8.part"), "wb")  # noqa: SIM115 - closed in finish()
            self.lens = open(self.path.with_suffix(".lens.part"), "wb")  # noqa: SIM115
        self.put = self._make_put()  # type: ignore[method-assign,assignment]

    def _make_put(self) -> Callable[[int, int, Any], None]:
        values, err = self.values, self.error
        npy = not self.utf8 and self.path is not None  # a .npy file is the result: <U drops trailing NULs
        if self.fs is None:  # $meta: already a JSON object string
            return lambda j, row, v: values.append(v)
        if self.fs.dtype is DataType.VARCHAR:
            ml = self.fs.max_length or 65535
            expected = f"a string of at most {ml} bytes (VarChar max_length {ml})"

            def put_str(j: int, row: int, v: Any) -> None:
                if type(v) is not str:
                    raise err(row, "wrong type", expected, value_text(v))
                if not v.isascii():
                    try:
                        v.encode("utf-8")
                    except UnicodeEncodeError as exc:  # a lone surrogate: no UTF-8 for it, never replaced
                        raise err(row, f"not valid Unicode ({exc.reason} at character {exc.start})", expected,
                                  value_text(v)) from None  # fmt: skip
                n = len(v)
                if n * 4 > ml and (n > ml or len(v.encode("utf-8")) > ml):
                    raise err(row, "string longer than max_length", expected,
                              f"{len(v.encode('utf-8'))} bytes: {short_repr(v, 40)}")  # fmt: skip
                if npy and v.endswith("\x00"):
                    e = err(row, "a string ending in NUL characters cannot be kept in a .npy file (NumPy drops "
                                 "trailing NULs)", "a string that does not end in \\x00", value_text(v))  # fmt: skip
                    e.hint = "write Parquet instead (to='parquet', zimport convert --to parquet): it keeps every byte"
                    raise e
                values.append(v)

            return put_str

        expected = "a JSON object, or a string holding JSON (JSON field)"

        def put_json(j: int, row: int, v: Any) -> None:
            if type(v) is dict:
                try:
                    values.append(dumps_compact(v))
                except ValueError as exc:
                    raise err(row, f"the value cannot be stored as JSON ({exc})", expected, value_text(v)) from None
            elif type(v) is str:
                try:
                    loads_strict(v)
                except ValueError as exc:
                    raise err(row, f"the JSON string does not parse ({exc})", expected, value_text(v)) from None
                values.append(v)
            else:  # Milvus's JSON reader takes an object or a string only: a list or a number is refused
                raise err(row, "wrong type", expected, value_text(v))

        return put_json

    def flush(self, k: int) -> None:
        vals = self.values
        self.last = list(vals)  # the chunk just flushed, for a sink that writes it elsewhere (Parquet)
        longest = max(map(len, vals), default=0)
        if longest > self.longest:
            self.longest = longest
        if self.blob is not None and self.lens is not None:
            if self.utf8:
                encoded = [v.encode("utf-8") for v in vals]
                data = b"".join(encoded)
                lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
            else:
                data = "".join(vals).encode("utf-8")
                lengths = np.fromiter(map(len, vals), dtype=np.int64, count=len(vals))
            self.blob.write(data)
            self.lens.write(lengths.tobytes())
            self.chunks.append((len(vals), len(data)))
        vals.clear()

    def finish(self, rows: int) -> NpyFileInfo | None:
        if self.path is None or self.blob is None or self.lens is None:
            return None
        self.blob.close()
        self.lens.close()
        if self.utf8:
            spill = self.path.with_suffix(".utf8.part")
            return NpyFileInfo(self.path.name, spill, "utf8", (rows,), spill.stat().st_size)
        width = max(1, self.longest)
        dtype = np.dtype(f"<U{width}")
        blob_path, lens_path = self.path.with_suffix(".utf8.part"), self.path.with_suffix(".lens.part")
        per_batch = max(1, CHUNK_BYTES // (4 * width))
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


class MetaColumn(StrColumn):
    """The dynamic field's values (``$meta``): JSON object strings; ``used`` once a row has a dynamic key."""

    def __init__(self, chunk: int, src: str, out: Path | None, *, utf8: bool = False) -> None:
        super().__init__(None, META_FIELD, chunk, src, out, utf8=utf8)
        self.used = False
