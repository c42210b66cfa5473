"""Pre-flight checks of a local import source (JSON or NumPy files) against the Zilliz/Milvus import rules.

``check_import_source(paths, schema)`` finds, on the user's machine, the errors the cloud would raise:
layout (one JSON file per import, NumPy as files or a folder with at most two levels of sub-folders,
size limits, no JSON/NumPy mix), file names against fields, ``.npy`` headers (dtype and shape per
field), equal row counts and values (VarChar length, JSON strings, NaN/Inf in float vectors). NumPy
headers are read without loading data; values are read in chunks through a memory map.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .convert import META_FIELD, validate_json_rows
from .errors import DataFileError, SchemaError, SourceInvalidError
from .npy_format import milvus_view
from .schema import CollectionSchema, DataType, FieldSchema

__all__ = [
    "CheckItem",
    "CheckReport",
    "ImportLimits",
    "NpyHeader",
    "check_import_source",
    "numpy_file_sets",
    "read_npy_header",
]

GiB = 1 << 30
_VALUE_CHUNK_BYTES = 32 << 20


@dataclass(frozen=True)
class ImportLimits:
    """Size and layout limits (defaults: Zilliz Cloud's documented values)."""

    max_subfolder_bytes: int = 10 * GiB
    max_total_bytes: int = 100 * GiB
    max_depth: int = 2
    max_subfolders: int = 100
    max_json_file_bytes: int = 10 * GiB
    check_values: bool = True


@dataclass(frozen=True)
class CheckItem:
    """One finding: ``level`` is ``"error"`` or ``"warning"``."""

    level: str
    message: str
    file: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.field:
            where.append(f"field {self.field!r}")
        return (", ".join(where) + ": " if where else "") + self.message

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "file": self.file, "field": self.field, "message": self.message}


@dataclass
class CheckReport:
    """What :func:`check_import_source` found."""

    kind: str | None
    items: list[CheckItem] = field(default_factory=list)
    row_count: int | None = None
    files: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    total_bytes: int = 0
    schema_checked: bool = False

    @property
    def errors(self) -> list[CheckItem]:
        return [i for i in self.items if i.level == "error"]

    @property
    def warnings(self) -> list[CheckItem]:
        return [i for i in self.items if i.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def summary(self) -> str:
        kind = {"numpy": "NumPy", "json": "JSON"}.get(self.kind or "", "unknown")
        rows = f"{self.row_count:,} rows" if self.row_count is not None else "rows unknown"
        verdict = "valid" if self.ok else "INVALID"
        return (
            f"{verdict}: {kind} source, {len(self.files)} file(s), {rows}, "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
            + ("" if self.schema_checked else " (no schema: field names and dtypes not checked)")
        )

    def raise_for_errors(self) -> CheckReport:
        """Raise :class:`SourceInvalidError` if there is any error; return self otherwise."""
        if self.errors:
            raise SourceInvalidError(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "kind": self.kind,
            "row_count": self.row_count,
            "summary": self.summary,
            "files": [str(p) for p in self.files],
            "ignored": [str(p) for p in self.ignored],
            "total_bytes": self.total_bytes,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
        }

    def __repr__(self) -> str:
        lines = [f"CheckReport: {self.summary}"]
        lines += [f"  error: {i}" for i in self.errors]
        lines += [f"  warning: {i}" for i in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.ok else "#c62828"
        rows = "".join(
            f"<tr><td style='color:{'#c62828' if i.level == 'error' else '#ef6c00'}'>{i.level}</td>"
            f"<td>{html.escape(i.file or '')}</td><td>{html.escape(i.field or '')}</td>"
            f"<td>{html.escape(i.message)}</td></tr>"
            for i in self.items
        )
        table = (
            f"<table><thead><tr><th>level</th><th>file</th><th>field</th><th>message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            if rows
            else ""
        )
        return f"<div><p style='color:{colour}'><b>{html.escape(self.summary)}</b></p>{table}</div>"

    # internal
    def _error(self, message: str, file: str | os.PathLike[str] | None = None, field: str | None = None) -> None:
        self.items.append(CheckItem("error", message, _name(file), field))

    def _warn(self, message: str, file: str | os.PathLike[str] | None = None, field: str | None = None) -> None:
        self.items.append(CheckItem("warning", message, _name(file), field))


def _name(file: str | os.PathLike[str] | None) -> str | None:
    return None if file is None else os.fspath(file)


# --------------------------------------------------------------------------------------------
# .npy headers
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
    return NpyHeader(p, dtype, tuple(int(s) for s in shape), bool(fortran), version, offset, size)


# --------------------------------------------------------------------------------------------
# layout
def _iter_dir(root: Path, depth: int, report: CheckReport, limits: ImportLimits) -> Iterable[Path]:
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            rel_depth = depth + 1
            if rel_depth > limits.max_depth:
                report._error(
                    f"more than {limits.max_depth} levels of sub-folders (Zilliz accepts a folder with at most "
                    f"{limits.max_depth} levels)",
                    entry,
                )
                continue
            yield from _iter_dir(entry, rel_depth, report, limits)
        elif entry.is_file():
            yield entry


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


def check_import_source(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    schema: CollectionSchema | None = None,
    *,
    limits: ImportLimits | None = None,
) -> CheckReport:
    """Check local import files or folders against the import rules (and ``schema``, if given)."""
    limits = limits or ImportLimits()
    if schema is not None and not isinstance(schema, CollectionSchema):
        from .schema import load_schema

        schema = load_schema(schema)
    items = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    report = CheckReport(kind=None, schema_checked=schema is not None)
    if not items:
        report._error("no path given")
        return report
    files: list[Path] = []
    subfolder_bytes: dict[Path, int] = {}
    for item in items:
        if item.is_file():
            files.append(item)
        elif item.is_dir():
            found = list(_iter_dir(item, 0, report, limits))
            files.extend(found)
            firsts = {f.relative_to(item).parts[0] for f in found if len(f.relative_to(item).parts) > 1}
            if len(firsts) > limits.max_subfolders:
                report._error(f"{len(firsts)} sub-folders; at most {limits.max_subfolders} are allowed", item)
            for f in found:
                rel = f.relative_to(item)
                key = item / rel.parts[0] if len(rel.parts) > 1 else item
                subfolder_bytes[key] = subfolder_bytes.get(key, 0) + f.stat().st_size
        else:
            report._error("no such file or folder", item)
    jsons = [f for f in files if f.suffix.lower() == ".json"]
    npys = [f for f in files if f.suffix.lower() == ".npy"]
    named = {item for item in items if item.is_file()}
    report.ignored = [f for f in files if f not in jsons and f not in npys and f not in named]
    for f in files:
        if f in named and f not in jsons and f not in npys:  # the importer refuses a file it is told to read
            report._error(f"not a .json or .npy file: the import refuses a file of type {f.suffix or '(none)'!r} "
                          "named in its file list", f)  # fmt: skip
    for f in report.ignored:
        report._warn("not a .json or .npy file: ignored by the import", f)
    report.files = jsons + npys
    report.total_bytes = sum(f.stat().st_size for f in report.files)
    if jsons and npys:
        report._error(
            f"JSON and NumPy files are mixed ({len(jsons)} .json, {len(npys)} .npy); an import takes one kind"
        )
        report.kind = "mixed"
        return report
    if not jsons and not npys:
        if not report.errors:
            report._error("no .json or .npy file found")
        return report
    if report.total_bytes > limits.max_total_bytes:
        report._error(f"the source holds {_gib(report.total_bytes)}; at most {_gib(limits.max_total_bytes)} per import")
    if jsons:
        report.kind = "json"
        _check_json(jsons, schema, report, limits)
    else:
        report.kind = "numpy"
        for folder, size in subfolder_bytes.items():
            if folder not in items and size > limits.max_subfolder_bytes:
                report._error(f"sub-folder holds {_gib(size)}; at most {_gib(limits.max_subfolder_bytes)} each", folder)
        _check_numpy(items, schema, report, limits)
    return report


def _gib(n: int) -> str:
    return f"{n / GiB:.2f} GiB" if n >= GiB else f"{n:,} bytes"


# --------------------------------------------------------------------------------------------
# JSON
def _check_json(files: list[Path], schema: CollectionSchema | None, report: CheckReport, limits: ImportLimits) -> None:
    if len(files) > 1:
        report._error(f"{len(files)} JSON files; a JSON import takes exactly one file (start one import per file)")
        return
    path = files[0]
    size = path.stat().st_size
    if size > limits.max_json_file_bytes:
        report._error(f"the file holds {_gib(size)}; at most {_gib(limits.max_json_file_bytes)} per JSON file", path)
    try:
        if schema is not None:
            report.row_count = validate_json_rows(path, schema)
        else:
            from .json_rows import iter_json_rows

            n = 0
            for n, row in enumerate(iter_json_rows(path), start=1):
                if not isinstance(row, dict):
                    raise DataFileError("each row should be a key-value map", file=path.name, row=n - 1,
                                        expected="a JSON object")  # fmt: skip
            report.row_count = n
    except DataFileError as exc:
        report._error(_item_text(exc), path, exc.field)
        return
    if report.row_count == 0:
        report._warn("the file has no rows: the import completes with nothing imported", path)


def _item_text(exc: DataFileError) -> str:
    """The error's text without the file/field (the item shows those), keeping the row."""
    return f"row {exc.row}: {exc.what}" if exc.row is not None else exc.what


# --------------------------------------------------------------------------------------------
# NumPy
_INT_DESCR = {DataType.INT8: "i1", DataType.INT16: "i2", DataType.INT32: "i4", DataType.INT64: "i8"}


def _expected(fs: FieldSchema) -> tuple[set[str], int, int | None, str]:
    """(accepted dtype codes kind+size, ndim, width of dim 1 or None, human text) for a field."""
    dt = fs.dtype
    dim = int(fs.dim or 0)
    if dt.is_int:
        code = _INT_DESCR[dt]
        return {code}, 1, None, f"int{int(code[1]) * 8}"
    if dt is DataType.FLOAT:
        return {"f4"}, 1, None, "float32"
    if dt is DataType.DOUBLE:
        return {"f8"}, 1, None, "float64"
    if dt is DataType.BOOL:
        return {"b1"}, 1, None, "bool"
    if dt in (DataType.VARCHAR, DataType.JSON):
        return {"U", "S"}, 1, None, "a string dtype (<U or S)"
    if dt is DataType.FLOAT_VECTOR:
        return {"f4", "f8"}, 2, dim, f"float32 or float64 of shape (rows, {dim})"
    if dt is DataType.BINARY_VECTOR:
        return {"u1"}, 2, dim // 8, f"uint8 of shape (rows, {dim // 8})"
    if dt in (DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR):
        return {"u1"}, 2, dim * 2, f"uint8 of shape (rows, {dim * 2})"
    if dt is DataType.INT8_VECTOR:
        return {"i1"}, 2, dim, f"int8 of shape (rows, {dim})"
    raise SchemaError(f"field {fs.name!r}: type {dt.value} has no NumPy form")


def _dtype_code(dtype: np.dtype) -> str:
    if dtype.kind in "US":
        return dtype.kind
    return f"{dtype.kind}{dtype.itemsize}"


def _check_numpy(items: list[Path], schema: CollectionSchema | None, report: CheckReport, limits: ImportLimits) -> None:
    sets = numpy_file_sets(items)
    total_rows = 0
    for folder, by_field in sets.items():
        headers: dict[str, NpyHeader] = {}
        bad_headers: set[str] = set()
        for name, path in by_field.items():
            try:
                h = read_npy_header(path)
            except DataFileError as exc:
                report._error(exc.message, path, name)
                continue
            if h.dtype.hasobject:
                report._error(f"the numpy file dtype '{h.dtype.str}' is not supported (object arrays cannot be "
                              "imported; save with an explicit dtype)", path, name)  # fmt: skip
                continue
            if h.fortran_order and len(h.shape) > 1:  # Milvus reads the bytes in C order: rows would be scrambled
                report._error("Fortran-ordered arrays are not supported (Milvus would read the values in the wrong "
                              "order); save a C-ordered array (numpy.ascontiguousarray)", path, name)  # fmt: skip
            misread = _milvus_misreads(h)
            if misread:
                report._error(misread, path, name)
                continue
            if h.file_bytes < h.data_offset + h.data_bytes:
                report._error(
                    f"the file is truncated: the header promises {h.data_bytes:,} data bytes, "
                    f"found {h.file_bytes - h.data_offset:,}",
                    path,
                    name,
                )
                continue
            if not h.shape:
                report._error("a 0-d array; expected one row per entity", path, name)
                continue
            headers[name] = h
        if schema is not None:
            _check_names(folder, by_field, schema, report)
            for name, h in headers.items():
                fs = _field(schema, name)
                before = len(report.errors)
                if name == META_FIELD and schema.enable_dynamic_field:
                    _check_header(h, FieldSchema(META_FIELD, DataType.JSON), report)
                elif fs is not None and not (fs.is_primary and fs.auto_id):
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
            report._error(f"row counts differ between files ({detail}); every file needs the same number of rows",
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
        report._warn("the files hold no rows: the import completes with nothing imported")


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
        if fs.nullable or fs.dtype in (DataType.ARRAY, DataType.SPARSE_FLOAT_VECTOR):
            why = "nullable" if fs.nullable else f"a {fs.dtype.value} field"
            report._error(f"the field is {why}: NumPy import cannot carry it; import this collection from a JSON "
                          "file instead", folder, fs.name)  # fmt: skip
            continue
        if fs.is_primary and fs.auto_id:
            if fs.name in by_field:
                report._error(f"the primary key {fs.name!r} is auto-generated, no need to provide "
                              f"{fs.name}.npy", by_field[fs.name], fs.name)  # fmt: skip
            continue
        if fs.name not in by_field:
            report._error(f"no file for field {fs.name!r} ({fs.name}.npy is missing)", folder, fs.name)
    for name, path in by_field.items():
        if name in schema or (name == META_FIELD and schema.enable_dynamic_field):
            continue
        lower = {n.lower(): n for n in schema.names}
        near = f" (did you mean {lower[name.lower()]}.npy? names are case-sensitive)" if name.lower() in lower else ""
        what = "the dynamic field is off" if name == META_FIELD else "it names no field of the collection"
        report._error(f"extra file: {what}; Zilliz rejects a file count different from the field count "
                      f"(error 47036){near}", path, name)  # fmt: skip


def _check_header(h: NpyHeader, fs: FieldSchema, report: CheckReport) -> None:
    codes, ndim, width, text = _expected(fs)
    got = _dtype_code(h.dtype)
    if got not in codes:
        report._error(
            f"dtype {h.dtype.name} ({h.dtype.str}) does not match the {fs.describe()} field: expected {text}",
            h.path,
            fs.name,
        )
        return
    if len(h.shape) != ndim:
        report._error(f"shape {h.shape} has {len(h.shape)} dimension(s); expected {ndim}-D ({text})", h.path, fs.name)
        return
    if width is not None and h.shape[1] != width:
        report._error(f"shape {h.shape}: {h.shape[1]} values per row, expected {width} for {fs.describe()}",
                      h.path, fs.name)  # fmt: skip


def _check_values(h: NpyHeader, fs: FieldSchema, report: CheckReport) -> None:
    if h.rows == 0 or h.data_bytes == 0:
        return
    arr = np.load(h.path, mmap_mode="r")
    row_bytes = max(1, h.data_bytes // max(1, h.rows))
    step = max(1, _VALUE_CHUNK_BYTES // row_bytes)
    dt = fs.dtype
    for start in range(0, h.rows, step):
        block = np.asarray(arr[start : start + step])
        if dt is DataType.FLOAT_VECTOR:
            bad = ~np.isfinite(block)
            if bad.any():
                r, c = (int(x[0]) for x in np.nonzero(bad))
                report._error(f"row {start + r}: NaN or Inf in vector at element {c} ({block[r, c]!r})",
                              h.path, fs.name)  # fmt: skip
                return
        elif dt is DataType.VARCHAR:
            ml = fs.max_length or 65535
            lens = np.char.str_len(block)
            suspect = np.flatnonzero(lens * (4 if block.dtype.kind == "U" else 1) > ml)
            for r in suspect.tolist():
                value = block[r]
                nbytes = len(value.encode("utf-8")) if isinstance(value, str) else len(value)
                if nbytes > ml:
                    report._error(f"row {start + r}: string of {nbytes} bytes is longer than max_length {ml}",
                                  h.path, fs.name)  # fmt: skip
                    return
        elif dt is DataType.JSON:
            for r, value in enumerate(block.tolist()):
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                try:
                    parsed = json.loads(text)
                except ValueError as exc:
                    report._error(f"row {start + r}: not valid JSON ({exc}): {text[:40]!r}", h.path, fs.name)
                    return
                if fs.name == META_FIELD and not isinstance(parsed, dict):
                    report._error(f"row {start + r}: $meta must hold JSON objects, got {text[:40]!r}", h.path, fs.name)
                    return
