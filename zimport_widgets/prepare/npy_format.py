"""The ``.npy`` header: written only by ``numpy.lib.format``, and read back the way Milvus reads it.

Milvus's NumPy import (2.3 bulk insert and 2.4+ importv2 alike) parses headers with the Go library
``sbinet/npyio``, which does not evaluate the header dict: it cuts ``descr``, ``fortran_order`` and
``shape`` out of the text by position, assuming NumPy's own layout
``{'descr': '<f4', 'fortran_order': False, 'shape': (5979, 768), }``. A header NumPy accepts but laid
out otherwise (no ``, }``, other key order, other spacing) is misread: ``(5979, 768)}`` gives dim 7.
So every header we write comes from ``numpy.lib.format`` (byte-identical to ``numpy.save``), and
:func:`milvus_view` tells what the importer would see in a header someone else wrote.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import DataFileError

__all__ = [
    "MilvusHeaderView",
    "NpyHeader",
    "append_range",
    "data_offset",
    "header_bytes",
    "milvus_view",
    "read_npy_header",
]

_fmt = np.lib.format


def header_bytes(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """The header ``numpy.save`` writes for a C-ordered array of ``dtype`` and ``shape`` (format 1.0, else 2.0).

    NumPy pads the header so that the first axis may grow to 21 digits in place: the length does not
    depend on the row count, which lets a writer reserve it before the rows are known.
    """
    d = {"descr": _fmt.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": tuple(int(s) for s in shape)}
    buf = io.BytesIO()
    try:
        _fmt.write_array_header_1_0(buf, d)
    except ValueError:  # the header does not fit in 64 KiB: numpy.save switches to 2.0 (and warns)
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _fmt.write_array_header_2_0(buf, d)
    return buf.getvalue()


def data_offset(path: str | os.PathLike[str]) -> int:
    """Where the data of a ``.npy`` file (format 1.0 or 2.0) starts."""
    with open(path, "rb") as fh:
        version = _fmt.read_magic(fh)
        if version == (1, 0):
            _fmt.read_array_header_1_0(fh, max_header_size=1 << 20)
        else:
            _fmt.read_array_header_2_0(fh, max_header_size=1 << 20)
        return fh.tell()


@dataclass(frozen=True)
class MilvusHeaderView:
    """A header as Milvus's reader sees it: ``error`` set if it refuses it, else descr/fortran/shape."""

    descr: str | None = None
    fortran_order: bool | None = None
    shape: tuple[int, ...] | None = None
    error: str | None = None


def milvus_view(path: str | os.PathLike[str]) -> MilvusHeaderView:
    """Parse a ``.npy`` header the way ``sbinet/npyio`` (inside Milvus) does, cut by position."""
    with open(path, "rb") as fh:
        head = fh.read(10)
        if len(head) < 10 or head[:6] != _fmt.MAGIC_PREFIX:
            return MilvusHeaderView(error="not a NumPy file (bad magic string)")
        major = head[6]
        if major == 1:
            length = int.from_bytes(head[8:10], "little")
        elif major == 2:
            more = fh.read(2)
            length = int.from_bytes(head[8:10] + more, "little")
        else:
            return MilvusHeaderView(error=f"invalid major version number ({major})")
        buf = fh.read(length)
    cut = buf.rfind(b"\n")
    buf = buf[:cut] if cut >= 0 else buf[:-1]
    descr_key, order_key, shape_key = b"'descr': ", b"'fortran_order': ", b"'shape': "
    b_descr, b_order, b_shape = buf.find(descr_key), buf.find(order_key), buf.find(shape_key)
    end = buf.find(b"}")
    if b_descr < 0 or b_order < 0 or b_shape < 0:
        return MilvusHeaderView(error="invalid dictionary format")
    try:
        descr = _cut(buf, b_descr + len(descr_key) + 1, b_order - 3)
        order = _cut(buf, b_order + len(order_key), b_shape - 2)
        shape_text = _cut(buf, b_shape + len(shape_key), end - 2)
    except ValueError:
        return MilvusHeaderView(error="invalid dictionary format")
    if order not in ("False", "True"):
        return MilvusHeaderView(descr=descr, error=f"invalid 'fortran_order' value ({order})")
    if shape_text == "()":
        return MilvusHeaderView(descr, order == "True", ())
    dims = []
    for tok in shape_text[1:-1].split(","):
        tok = tok.strip()
        if not tok:
            continue
        if not tok.lstrip("+-").isdigit():
            return MilvusHeaderView(descr, order == "True", error=f"invalid shape value {tok!r}")
        dims.append(int(tok))
    return MilvusHeaderView(descr, order == "True", tuple(dims))


def _cut(buf: bytes, lo: int, hi: int) -> str:
    """``buf[lo:hi]`` as Go slicing would take it (a range out of order is an error, not empty)."""
    if lo < 0 or hi < lo or hi > len(buf):
        raise ValueError("slice out of range")
    return buf[lo:hi].decode("latin1")


@dataclass(frozen=True)
class NpyHeader:
    """The parsed header of a ``.npy`` file."""

    path: Path
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    version: tuple[int, int]
    data_offset: int
    file_bytes: int

    @property
    def rows(self) -> int:
        return int(self.shape[0]) if self.shape else 1

    @property
    def data_bytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize if self.dtype.itemsize else 0


def read_npy_header(path: str | os.PathLike[str]) -> NpyHeader:
    """Read a ``.npy`` header (no data). Raises :class:`DataFileError` if it is not a valid NumPy v1/v2 file."""
    p = Path(path)
    size = p.stat().st_size
    with open(p, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
        except ValueError as exc:
            raise DataFileError(f"not a NumPy .npy file ({exc})", file=str(p)) from None
        if version not in ((1, 0), (2, 0)):
            raise DataFileError(f"NumPy format version {version[0]}.{version[1]} is not supported",
                                file=str(p), expected="format version 1.0 or 2.0")  # fmt: skip
        try:
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=1 << 16)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=1 << 16)
        except ValueError as exc:
            raise DataFileError(f"the .npy header is unreadable ({exc})", file=str(p),
                                expected="a header under 64 KiB") from None  # fmt: skip
        offset = fh.tell()
    dims = tuple(int(s) for s in shape)
    if any(d < 0 for d in dims):
        raise DataFileError("the .npy header has a negative dimension", file=str(p),
                            expected="a shape of sizes >= 0", got=f"shape {dims}")  # fmt: skip
    if math.prod(dims) * max(1, dtype.itemsize) >= 1 << 63:
        raise DataFileError("the .npy header's shape is larger than any file can hold", file=str(p),
                            expected="a shape matching the file's size", got=f"shape {dims}")  # fmt: skip
    return NpyHeader(p, dtype, dims, bool(fortran), version, offset, size)


def append_range(path: str | os.PathLike[str], start: int, count: int, dst: BinaryIO) -> None:
    """Bytes ``start .. start + count`` of ``path`` appended to the end of ``dst``, in the kernel where it can.

    ``copy_file_range`` moves the data without passing it through this process; elsewhere (or on a file
    system that refuses it) the rest is copied in 8 MiB reads.
    """
    dst.flush()
    copied = 0
    with open(path, "rb") as src:
        copy = getattr(os, "copy_file_range", None)
        if copy is not None:
            try:
                while copied < count:
                    n = copy(src.fileno(), dst.fileno(), count - copied, start + copied)
                    if n == 0:
                        break
                    copied += n
            except OSError:
                pass
        dst.seek(0, os.SEEK_END)  # the kernel moved the file position past what it copied
        src.seek(start + copied)
        while copied < count:
            chunk = src.read(min(8 << 20, count - copied))
            if not chunk:
                raise OSError(f"{path}: ends {count - copied} bytes early")
            dst.write(chunk)
            copied += len(chunk)
