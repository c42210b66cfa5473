"""The NumPy half of the checks: file sets, headers as Milvus reads them, names against fields, values.

Headers are read without loading data; values are read in chunks through a memory map.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from ..fmt import short_repr
from ..schema import CollectionSchema, DataType, FieldSchema
from .json_text import loads_strict
from .npy_format import NpyHeader, milvus_view, read_npy_header
from .report import CheckReport
from .rules import META_FIELD, ImportLimits, numpy_form, numpy_unsupported

__all__ = ["check_numpy", "numpy_file_sets"]

_VALUE_CHUNK_BYTES = 32 << 20


def numpy_file_sets(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> dict[Path, dict[str, Path]]:
    """Group the ``.npy`` files of a NumPy source: ``{folder: {field name: file}}``.

    Files given one by one form one set per folder they are in; a folder contributes one set per
    directory (itself and sub-folders) that holds ``.npy`` files.
    """
    items = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    sets: dict[Path, dict[str, Path]] = {}
    for f in items:
        if f.is_file() and f.suffix == ".npy":
            sets.setdefault(f.parent, {})[f.stem] = f
    for d in (p for p in items if p.is_dir()):
        for f in sorted(d.rglob("*.npy")):
            if f.is_file():
                sets.setdefault(f.parent, {})[f.stem] = f
    return sets


def _dtype_code(dtype: np.dtype) -> str:
    if dtype.kind in "US":
        return dtype.kind
    return f"{dtype.kind}{dtype.itemsize}"


def check_numpy(items: list[Path], schema: CollectionSchema | None, report: CheckReport, limits: ImportLimits) -> None:
    sets = numpy_file_sets(items)
    total_rows = 0
    for folder, by_field in sets.items():
        headers: dict[str, NpyHeader] = {}
        bad_headers: set[str] = set()
        for name, path in by_field.items():
            try:
                h = read_npy_header(path)
            except DataFileError as exc:
                report.add_error(exc.message, path, name)
                continue
            if h.dtype.hasobject:
                report.add_error(f"the numpy file dtype '{h.dtype.str}' is not supported (object arrays cannot be "
                              "imported; save with an explicit dtype)", path, name)  # fmt: skip
                continue
            if h.fortran_order and len(h.shape) > 1:  # Milvus reads the bytes in C order: rows would be scrambled
                report.add_error("Fortran-ordered arrays are not supported (Milvus would read the values in the wrong "
                              "order); save a C-ordered array (numpy.ascontiguousarray)", path, name)  # fmt: skip
            misread = _milvus_misreads(h)
            if misread:
                report.add_error(misread, path, name)
                continue
            if h.file_bytes < h.data_offset + h.data_bytes:
                report.add_error(
                    f"the file is truncated: the header promises {h.data_bytes:,} data bytes, "
                    f"found {h.file_bytes - h.data_offset:,}",
                    path,
                    name,
                )
                continue
            if not h.shape:
                report.add_error("a 0-d array; expected one row per entity", path, name)
                continue
            headers[name] = h
        if schema is not None:
            _check_names(folder, by_field, schema, report)
            for name, h in headers.items():
                fs = _field(schema, name)
                before = len(report.errors)
                if name == META_FIELD and schema.enable_dynamic_field:
                    _check_header(h, FieldSchema(META_FIELD, DataType.JSON), report)
                elif fs is not None and not (fs.is_primary and fs.auto_id) and not fs.function_output:
                    _check_header(h, fs, report)
                if len(report.errors) > before:
                    bad_headers.add(name)
        counts = {
            name: h.rows
            for name, h in headers.items()
            if schema is None or name in schema.names or (name == META_FIELD and schema.enable_dynamic_field)
        } or {name: h.rows for name, h in headers.items()}
        if len(set(counts.values())) > 1:
            detail = ", ".join(f"{n}: {c:,}" for n, c in counts.items())
            report.add_error(f"row counts differ between files ({detail}); every file needs the same number of rows",
                          folder)  # fmt: skip
        total_rows += max(counts.values(), default=0)
        if schema is not None and limits.check_values:
            for name, h in headers.items():
                if name in bad_headers:
                    continue
                fs = _field(schema, name)
                if name == META_FIELD:
                    fs = FieldSchema(META_FIELD, DataType.JSON) if schema.enable_dynamic_field else None
                if fs is not None:
                    _check_values(h, fs, report)
    report.row_count = total_rows
    if sets and total_rows == 0 and report.ok:
        report.add_warning("the files hold no rows: the import completes with nothing imported")


def _field(schema: CollectionSchema, name: str) -> FieldSchema | None:
    return next((f for f in schema.fields if f.name == name), None)


def _milvus_misreads(h: NpyHeader) -> str | None:
    """Why Milvus's header parser would refuse or misread a header NumPy reads fine (None if it reads it alike)."""
    view = milvus_view(h.path)
    fix = "re-save the array with numpy.save (or write it with numpy.lib.format)"
    if view.error is not None:
        return f"Milvus cannot parse this .npy header ({view.error}): {fix}"
    try:
        same_dtype = view.descr is not None and np.dtype(view.descr) == h.dtype
    except TypeError:
        same_dtype = False
    if not same_dtype:
        return f"Milvus would read the dtype as {view.descr!r}, NumPy reads {h.dtype.str!r}: {fix}"
    if view.shape != h.shape or view.fortran_order != h.fortran_order:
        return (f"the header is not laid out as numpy.save writes it: Milvus would read shape {view.shape}, "
                f"NumPy reads {h.shape}; {fix}")  # fmt: skip
    return None


def _check_names(folder: Path, by_field: dict[str, Path], schema: CollectionSchema, report: CheckReport) -> None:
    for fs in schema.fields:
        if fs.function_output:  # computed by the server: only its presence is an error (below)
            continue
        why = numpy_unsupported(fs)
        if why is not None:
            report.add_error(f"NumPy import cannot carry this field ({why}); import this collection from a JSON "
                          "file instead", folder, fs.name)  # fmt: skip
            continue
        if fs.is_primary and fs.auto_id:
            if fs.name in by_field:
                report.add_error(f"the primary key {fs.name!r} is auto-generated, no need to provide "
                              f"{fs.name}.npy", by_field[fs.name], fs.name)  # fmt: skip
            continue
        if fs.name not in by_field:
            report.add_error(f"no file for field {fs.name!r} ({fs.name}.npy is missing)", folder, fs.name)
    for name, path in by_field.items():
        if name in schema.function_outputs:
            report.add_error(f"not allowed to provide data for function output field {name!r} (a function computes "
                             f"it): remove {name}.npy", path, name)  # fmt: skip
            continue
        if name in schema or (name == META_FIELD and schema.enable_dynamic_field):
            continue
        lower = {n.lower(): n for n in schema.names}
        near = f" (did you mean {lower[name.lower()]}.npy? names are case-sensitive)" if name.lower() in lower else ""
        what = "the dynamic field is off" if name == META_FIELD else "it names no field of the collection"
        report.add_error(f"extra file: {what}; Zilliz rejects a file count different from the field count "
                      f"(error 47036){near}", path, name)  # fmt: skip


def _check_header(h: NpyHeader, fs: FieldSchema, report: CheckReport) -> None:
    form, width, text = numpy_form(fs)
    ndim = form.ndim
    got = _dtype_code(h.dtype)
    if got not in form.accept:
        report.add_error(
            f"dtype {h.dtype.name} ({h.dtype.str}) does not match the {fs.describe()} field: expected {text}",
            h.path,
            fs.name,
        )
        return
    if len(h.shape) != ndim:
        report.add_error(
            f"shape {h.shape} has {len(h.shape)} dimension(s); expected {ndim}-D ({text})", h.path, fs.name
        )
        return
    if width is not None and h.shape[1] != width:
        report.add_error(f"shape {h.shape}: {h.shape[1]} values per row, expected {width} for {fs.describe()}",
                      h.path, fs.name)  # fmt: skip


def _check_values(h: NpyHeader, fs: FieldSchema, report: CheckReport) -> None:
    if h.rows == 0 or h.data_bytes == 0:
        return
    row_bytes = max(1, h.data_bytes // max(1, h.rows))
    step = max(1, _VALUE_CHUNK_BYTES // row_bytes)
    dt = fs.dtype
    for start, block in _blocks(h, step):
        if dt is DataType.FLOAT_VECTOR:
            bad = ~np.isfinite(block)
            if bad.any():
                r, c = (int(x[0]) for x in np.nonzero(bad))
                report.add_error(f"row {start + r}: NaN or Inf in vector at element {c} ({block[r, c]!r})",
                              h.path, fs.name)  # fmt: skip
                return
        elif dt is DataType.VARCHAR:
            if _bad_text(block, start, h, fs, report):
                return
            ml = fs.max_length or 65535
            lens = np.char.str_len(block)
            suspect = np.flatnonzero(lens * (4 if block.dtype.kind == "U" else 1) > ml)
            for r in suspect.tolist():
                value = block[r]
                nbytes = len(value.encode("utf-8")) if isinstance(value, str) else len(value)
                if nbytes > ml:
                    report.add_error(f"row {start + r}: string of {nbytes} bytes is longer than max_length {ml}",
                                  h.path, fs.name)  # fmt: skip
                    return
        elif dt is DataType.JSON:
            if _bad_text(block, start, h, fs, report):
                return
            for r, value in enumerate(block.tolist()):
                text = value.decode("utf-8") if isinstance(value, bytes) else value
                try:
                    parsed = loads_strict(text)
                except ValueError as exc:
                    report.add_error(f"row {start + r}: not valid JSON ({exc}): {text[:40]!r}", h.path, fs.name)
                    return
                if fs.name == META_FIELD and not isinstance(parsed, dict):
                    report.add_error(
                        f"row {start + r}: $meta must hold JSON objects, got {text[:40]!r}", h.path, fs.name
                    )
                    return


def _bad_text(block: np.ndarray, start: int, h: NpyHeader, fs: FieldSchema, report: CheckReport) -> bool:
    """Report the first string Milvus cannot read as UTF-8 text: bytes that are not UTF-8 (``|S``), or a
    lone surrogate code point (``<U``, stored as UTF-32)."""
    if block.dtype.kind == "U":
        order = ">" if block.dtype.byteorder == ">" else "<"
        codes = np.ascontiguousarray(block).view(np.dtype(f"{order}u4")).reshape(len(block), -1)
        bad = np.flatnonzero(((codes >= 0xD800) & (codes <= 0xDFFF)).any(axis=1))
        if len(bad):
            r = int(bad[0])
            report.add_error(f"row {start + r}: a lone surrogate code point is not Unicode text "
                             f"({short_repr(block[r])})", h.path, fs.name)  # fmt: skip
            return True
        return False
    if block.dtype.kind == "S":
        for r, value in enumerate(block.tolist()):
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as exc:
                report.add_error(f"row {start + r}: the bytes are not UTF-8 text "
                                 f"({value[max(0, exc.start - 8) : exc.end + 8]!r})", h.path, fs.name)  # fmt: skip
                return True
    return False


def _blocks(h: NpyHeader, step: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(first row, rows)`` of ``step`` rows at a time, read with plain reads: a memory map of a large file
    would count its pages as resident (a 2 GiB file took 2.1 GB); this stays at one block."""
    row_shape = h.shape[1:]
    row_bytes = h.dtype.itemsize * math.prod(row_shape)
    buf = bytearray(min(step, h.rows) * row_bytes)  # one buffer for every block: a block lives one step only
    with open(h.path, "rb") as f:
        f.seek(h.data_offset)
        for start in range(0, h.rows, step):
            n = min(step, h.rows - start)
            view = memoryview(buf)[: n * row_bytes]
            if f.readinto(view) < n * row_bytes:
                return  # a truncated file: reported by the header checks
            yield start, np.frombuffer(view, dtype=h.dtype).reshape((n, *row_shape))
