"""The Parquet half of the checks: each file readable, its columns against the fields, nulls, vector lengths.

A Parquet file is one import group (as a JSON file is). The footer gives the columns and row counts;
values are read one column of one row group at a time, never the whole file.
What is checked: a file that is not Parquet, a missing column, a column for an auto-id primary key or
naming no field (unless it is ``$meta`` with the dynamic field on), a column type outside
``rules.PARQUET_TYPES``, vectors of another length than the dim, JSON text that does not parse (each
confirmed by the ``parquet`` cases of the real-importer corpus); and, following Milvus 2.4+ where 2.3.5 is
laxer, nulls in a non-nullable field (a corpus case) and VarChar longer than ``max_length`` in UTF-8 bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..fmt import format_bytes
from ..schema import CollectionSchema, DataType, FieldSchema
from .json_text import loads_strict
from .report import CheckReport
from .rules import META_FIELD, VECTOR_WIDTH, ImportLimits, arrow_type_name, parquet_types

__all__ = ["check_parquet"]


def check_parquet(
    files: list[Path], schema: CollectionSchema | None, report: CheckReport, limits: ImportLimits
) -> None:
    """Check each Parquet file; sets ``report.row_count`` to the rows of the readable files."""
    import pyarrow.parquet as pq

    rows = 0
    for path in files:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            report.add_error(
                f"the file holds {format_bytes(size)}; at most {format_bytes(limits.max_file_bytes)} per file",
                path,
            )
        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for a file that is not Parquet
            report.add_error(f"not a readable Parquet file ({type(exc).__name__}: {str(exc)[:120]})", path)
            continue
        rows += pf.metadata.num_rows
        if schema is not None:
            _check_columns(path, pf, schema, report)
    report.row_count = rows
    if files and rows == 0 and report.ok:
        report.add_warning("the files hold no rows: the import completes with nothing imported")


def _check_columns(path: Path, pf: Any, schema: CollectionSchema, report: CheckReport) -> None:
    arrow_schema = pf.schema_arrow
    present = {f.name: f for f in arrow_schema}
    for fs in schema.fields:
        if fs.function_output:  # computed by the server: only its presence is an error (below)
            continue
        if fs.is_primary and fs.auto_id:
            if fs.name in present:
                report.add_error(f"the primary key {fs.name!r} is auto-generated, no need to provide it", path, fs.name)
            continue
        if fs.name not in present:
            if not (fs.nullable or fs.default_value is not None):
                report.add_error(f"no column for field {fs.name!r}", path, fs.name)
            continue
        got = arrow_type_name(present[fs.name].type)
        accepted = parquet_types(fs)
        if got not in accepted:
            wanted = ", ".join(sorted(accepted)) or "(no Parquet form)"
            report.add_error(f"column type {got} does not fit the {fs.describe()} field (expected {wanted})",
                             path, fs.name)  # fmt: skip
            continue
        _check_values(path, pf, fs, report)
    for name in present:
        if name == META_FIELD and schema.enable_dynamic_field:
            if arrow_type_name(present[name].type) != "string":
                report.add_error(f"column type {present[name].type} for {META_FIELD}: expected string (JSON objects)",
                                 path, name)  # fmt: skip
            else:
                _check_values(path, pf, FieldSchema(META_FIELD, DataType.JSON), report)
            continue
        if name in schema.function_outputs:
            report.add_error(f"not allowed to provide data for function output field {name!r} (a function computes "
                             "it): drop the column", path, name)  # fmt: skip
            continue
        if name in schema:
            continue
        what = "the dynamic field is off" if name == META_FIELD else "it names no field of the collection"
        report.add_error(f"extra column {name!r}: {what}", path, name)


def _check_values(path: Path, pf: Any, fs: FieldSchema, report: CheckReport) -> None:
    """Nulls, vector lengths, JSON text and VarChar bytes, one column of one row group at a time."""
    per_dim = VECTOR_WIDTH.get(fs.dtype)
    width = per_dim(int(fs.dim or 0)) if per_dim is not None else None
    offset = 0
    for g in range(pf.num_row_groups):
        column = pf.read_row_group(g, columns=[fs.name]).column(0)
        problem = _column_problem(column, fs, width)
        if problem is not None:
            row, message = problem
            report.add_error(f"row {offset + row}: {message}", path, fs.name)
            return
        offset += len(column)


def _column_problem(column: Any, fs: FieldSchema, width: int | None) -> tuple[int, str] | None:
    """(row in the row group, what is wrong) for the first bad value of ``column``, or None."""
    import pyarrow.compute as pc

    def first(mask: Any) -> int | None:
        return int(pc.index(mask, True).as_py()) if pc.any(mask).as_py() else None

    if not fs.nullable and column.null_count:
        row = first(pc.is_null(column))
        if row is not None:
            return row, "null in a field that is not nullable"
    if width is not None:
        lengths = pc.list_value_length(column)
        row = first(pc.not_equal(lengths, width))
        if row is not None:
            return row, f"vector of {lengths[row].as_py()} values, expected {width} for {fs.describe()}"
    if fs.dtype is DataType.VARCHAR:
        limit = fs.max_length or 65535
        sizes = pc.binary_length(column)
        row = first(pc.greater(sizes, limit))
        if row is not None:
            return row, f"string of {sizes[row].as_py()} bytes is longer than max_length {limit}"
    if fs.dtype is DataType.JSON:
        for row, text in enumerate(column.to_pylist()):
            if text is None:
                continue
            try:
                value = loads_strict(text)
            except ValueError as exc:
                return row, f"not valid JSON ({exc}): {text[:40]!r}"
            if fs.name == META_FIELD and not isinstance(value, dict):
                return row, f"$meta must hold JSON objects, got {text[:40]!r}"
    return None
