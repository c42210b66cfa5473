"""Pre-flight checks of a local import source (JSON, JSON Lines, CSV, Parquet or NumPy) against the import rules.

``check_import_source(paths, schema)`` finds, on the user's machine, the errors the cloud would raise:
layout (one JSON file per import, NumPy as files or a folder with at most two levels of sub-folders,
size limits, no JSON/NumPy mix), file names against fields, ``.npy`` headers (dtype and shape per
field), equal row counts and values (VarChar length, JSON strings, NaN/Inf in float vectors). NumPy
checks live in ``checks_numpy``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import DataFileError, local_file_errors
from ..fmt import format_bytes
from ..schema import CollectionSchema, SchemaLike, load_schema
from .checks_numpy import check_numpy
from .checks_parquet import check_parquet
from .convert import validate_json_rows
from .csv_rows import iter_csv_rows, read_csv_header
from .json_rows import iter_json_rows
from .jsonl_rows import iter_jsonl_rows
from .report import CheckReport
from .row_loop import run_rows
from .rules import NEWER_SERVER_KINDS, ROW_FILE_KINDS, SOURCE_KINDS, ImportLimits

_SUFFIXES = ", ".join(list(SOURCE_KINDS)[:-1]) + " or " + list(SOURCE_KINDS)[-1]  # ".json, .npy, ... or .csv"

__all__ = ["check_import_source"]


def _iter_dir(root: Path, depth: int, report: CheckReport, limits: ImportLimits) -> Iterable[Path]:
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            rel_depth = depth + 1
            if rel_depth > limits.max_depth:
                report.add_error(
                    f"more than {limits.max_depth} levels of sub-folders (Zilliz accepts a folder with at most "
                    f"{limits.max_depth} levels)",
                    entry,
                )
                continue
            yield from _iter_dir(entry, rel_depth, report, limits)
        elif entry.is_file():
            yield entry


@local_file_errors
def check_import_source(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    schema: SchemaLike | None = None,
    *,
    limits: ImportLimits | None = None,
) -> CheckReport:
    """Check local import files or folders against the import rules (and ``schema``, if given)."""
    limits = limits or ImportLimits()
    if schema is not None and not isinstance(schema, CollectionSchema):
        schema = load_schema(schema)
    items = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    report = CheckReport(kind=None, schema_checked=schema is not None)
    if not items:
        report.add_error("no path given")
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
                report.add_error(f"{len(firsts)} sub-folders; at most {limits.max_subfolders} are allowed", item)
            for f in found:
                rel = f.relative_to(item)
                key = item / rel.parts[0] if len(rel.parts) > 1 else item
                subfolder_bytes[key] = subfolder_bytes.get(key, 0) + f.stat().st_size
        else:
            report.add_error("no such file or folder", item)
    by_kind: dict[str, list[Path]] = {}
    for f in files:
        kind = SOURCE_KINDS.get(f.suffix.lower())
        if kind is not None:
            by_kind.setdefault(kind, []).append(f)
    usable = [f for group in by_kind.values() for f in group]
    named = {item for item in items if item.is_file()}
    report.ignored = [f for f in files if f not in usable and f not in named]
    for f in files:
        if f in named and f not in usable:  # the importer refuses a file it is told to read
            report.add_error(f"not a {_SUFFIXES} file: the import refuses a file of type {f.suffix or '(none)'!r} "
                             "named in its file list", f)  # fmt: skip
    for f in report.ignored:
        report.add_warning(f"not a {_SUFFIXES} file: ignored by the import", f)
    report.files = usable
    report.total_bytes = sum(f.stat().st_size for f in report.files)
    if len(by_kind) > 1:
        counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items()))
        report.add_error(f"source kinds are mixed ({counts}); an import takes one kind")
        report.kind = "mixed"
        return report
    if not by_kind:
        if not report.errors:
            report.add_error(f"no {_SUFFIXES} file found")
        return report
    if report.total_bytes > limits.max_total_bytes:
        report.add_error(
            f"the source holds {format_bytes(report.total_bytes)}; "
            f"at most {format_bytes(limits.max_total_bytes)} per import"
        )
    report.kind = kind = next(iter(by_kind))
    if kind in ROW_FILE_KINDS:
        _check_row_file(kind, by_kind[kind], schema, report, limits)
    elif kind == "parquet":
        check_parquet(by_kind["parquet"], schema, report, limits)
    else:
        report.kind = "numpy"
        for folder, size in subfolder_bytes.items():
            if folder not in items and size > limits.max_subfolder_bytes:
                report.add_error(
                    f"sub-folder holds {format_bytes(size)}; at most {format_bytes(limits.max_subfolder_bytes)} each",
                    folder,
                )
        check_numpy(items, schema, report, limits)
    return report


# --------------------------------------------------------------------------------------------
# JSON
def _check_row_file(
    kind: str, files: list[Path], schema: CollectionSchema | None, report: CheckReport, limits: ImportLimits
) -> None:
    if len(files) > 1:
        report.add_error(f"{len(files)} {kind.upper()} files; a row-based import takes exactly one file "
                         "(start one import per file)")  # fmt: skip
        return
    path = files[0]
    if kind in NEWER_SERVER_KINDS:
        report.add_warning(f"{kind.upper()} files import on {NEWER_SERVER_KINDS[kind]} only: convert to Parquet "
                           "(convert(...)) for Zilliz Cloud and older servers", path)  # fmt: skip
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        report.add_error(
            f"the file holds {format_bytes(size)}; "
            f"at most {format_bytes(limits.max_file_bytes)} per {kind.upper()} file",
            path,
        )
    try:
        if kind == "csv":
            if schema is None:
                read_csv_header(path)
                report.add_warning("CSV cells are text: without a schema only the header is checked", path)
                return
            rows_of = lambda on_bytes: iter_csv_rows(path, schema, allow_bom=False)  # noqa: E731
            report.row_count, _ = run_rows((path.name, rows_of), schema, None)
        elif schema is not None and kind == "json":
            report.row_count = validate_json_rows(path, schema)
        elif schema is not None:
            report.row_count, _ = run_rows((path.name, lambda on_bytes: iter_jsonl_rows(path)), schema, None)
        else:
            n = 0
            rows = iter_json_rows(path) if kind == "json" else iter_jsonl_rows(path)
            for n, row in enumerate(rows, start=1):
                if not isinstance(row, dict):
                    raise DataFileError("each row should be a key-value map", file=path.name, row=n - 1,
                                        expected="a JSON object")  # fmt: skip
            report.row_count = n
    except DataFileError as exc:
        report.add_error(_item_text(exc), path, exc.field)
        return
    if report.row_count == 0:
        report.add_warning("the file has no rows: the import completes with nothing imported", path)


def _item_text(exc: DataFileError) -> str:
    """The error's text without the file/field (the item shows those), keeping the row."""
    return f"row {exc.row}: {exc.what}" if exc.row is not None else exc.what
