"""``convert``: any source (JSON, JSON Lines, CSV, Parquet, NumPy folder, DataFrame, Arrow, dicts) to Parquet or NumPy.

The one entry point over the two writers. A JSON file to NumPy keeps its fast parallel path
(:func:`convert_json_to_numpy`); every other pairing runs the source's rows (row loop) or batches
(:class:`~.arrow_conform.BatchConformer`) into the Parquet sink or the NumPy columns. Either way every
value is checked, and the output appears whole or not at all.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError, DataFileError, SchemaError
from ..progress import ConvertProgress, ProgressArg, Reporter
from ..schema import CollectionSchema, SchemaLike, load_schema
from .columns import FixedColumn, MetaColumn, NpyFileInfo, StrColumn
from .convert import ConvertResult, convert_json_to_numpy, move_into_place, prepare_out_dir
from .infer import infer_schema
from .row_loop import build_columns, chunk_rows, run_rows
from .rules import META_FIELD, ROW_GROUP_BYTES, refuse_numpy_unsupported
from .sources import Source, open_source

if TYPE_CHECKING:  # pyarrow is imported when Arrow is used: a JSON -> NumPy run never loads it
    from .parquet_out import ParquetResult

__all__ = ["OUTPUT_FORMATS", "convert", "schema_for"]

OUTPUT_FORMATS = ("parquet", "numpy")


def schema_for(source: Source, schema: SchemaLike | None) -> CollectionSchema:
    """The schema given (model, dict or file), else one inferred from the source's first rows."""
    if schema is None:
        sample = source.sample()
        if not sample:
            raise SchemaError(
                f"{source.name}: cannot infer a schema from a source with no rows",
                hint="pass schema= (e.g. from describe_collection)",
            )
        return infer_schema(sample, max_length=65535)
    if isinstance(schema, CollectionSchema):
        return schema
    return load_schema(schema)


def convert(
    source: Any,
    out: str | os.PathLike[str],
    schema: SchemaLike | None = None,
    *,
    to: Literal["parquet", "numpy"] = "parquet",
    progress: ProgressArg = True,
    row_group_bytes: int = ROW_GROUP_BYTES,
    workers: int | None = None,
    max_file_bytes: int | None = None,
    sep: str = ",",
    nullkey: str = "",
) -> ParquetResult | ConvertResult:
    """Convert ``source`` into import files: one Parquet file (``to="parquet"``, the default) or NumPy files.

    ``source``: a ``.json`` / ``.jsonl`` / ``.ndjson`` / ``.csv`` / ``.tsv`` / ``.parquet`` file, a folder of
    Parquet files or of ``<field>.npy`` files, a pandas DataFrame, a pyarrow Table / RecordBatch /
    RecordBatchReader, or an iterable of dicts. ``schema``: the collection's (model, REST/pymilvus dict or
    file), or None to infer it from the first rows. ``out``: a Parquet file or a folder (``to="parquet"``),
    the folder of ``.npy`` files (``to="numpy"``). CSV: ``sep`` between cells, ``nullkey`` the text of a null
    (as Milvus's CSV import options). ``max_file_bytes``: Parquet output is cut into files of at most this
    size (default: Zilliz's 10 GiB per file). The first bad value raises :class:`DataFileError` (file, row, field,
    expected, got) and nothing is left at ``out``; fields NumPy cannot carry raise
    :class:`UnsupportedFieldError` before anything is read.
    """
    if to not in OUTPUT_FORMATS:
        raise ConfigError(f"unknown output format {to!r}", hint=f"use one of: {', '.join(OUTPUT_FORMATS)}")
    src = open_source(source, sep=sep, nullkey=nullkey)
    if to == "numpy" and src.kind == "json":
        assert src.path is not None
        return convert_json_to_numpy(src.path, out, schema, progress=progress, workers=workers)
    resolved = schema_for(src, schema)
    if to == "parquet":
        from .parquet_out import write_parquet

        return write_parquet(src, out, resolved, progress=progress, row_group_bytes=row_group_bytes, workers=workers,
                             max_file_bytes=max_file_bytes)  # fmt: skip
    return write_numpy(src, out, resolved, progress=progress)


def write_numpy(
    source: Source, out: str | os.PathLike[str], schema: CollectionSchema, *, progress: ProgressArg = True
) -> ConvertResult:
    """Every row of ``source`` checked and written as one ``<field>.npy`` per field into the folder ``out``."""
    started = time.monotonic()
    refuse_numpy_unsupported(schema)
    out_path = Path(out)
    names = {f"{fs.name}.npy" for fs in schema.input_fields} | {f"{META_FIELD}.npy"}
    prepare_out_dir(out_path, names)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.parent / f".{out_path.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    total = source.total
    with Reporter(
        progress,
        total=total,
        desc=f"convert {source.name}",
        unit=source.unit,
        unit_scale=True,
        unit_divisor=1024 if source.unit == "B" else 1000,
    ) as rep:

        def on_progress(rows: int, done: int) -> None:
            rep.update(done, ConvertProgress(rows, done, total or 0, source.name), postfix=f"{rows:,} rows")

        try:
            if source.columnar:
                rows, files = _batches_to_numpy(source, schema, tmp, on_progress)
            else:
                rows, files = run_rows((source.name, source.rows_of(schema)), schema, tmp, on_progress)
            if rows == 0:
                raise DataFileError("the source has no rows", file=source.name, expected="at least one row", got="none")
            moved = move_into_place(tmp, out_path, files)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        end = total if total is not None else rows
        rep.update(end, ConvertProgress(rows, end, end, source.name), postfix=f"{rows:,} rows")
    return ConvertResult(
        source=source.path if source.path is not None else Path(source.name),
        out_dir=out_path,
        rows=rows,
        files=tuple(moved),
        schema=schema,
        elapsed=time.monotonic() - started,
        bytes_read=source.total if source.unit == "B" and source.total else 0,
    )


def _batches_to_numpy(
    source: Source, schema: CollectionSchema, tmp: Path, on_progress: Any
) -> tuple[int, list[NpyFileInfo]]:
    from .arrow_conform import BatchConformer

    conformer = BatchConformer(schema, source.name)
    chunk = chunk_rows(schema.input_fields)
    cols = build_columns(schema, source.name, tmp, chunk)
    meta = MetaColumn(chunk, source.name, tmp) if schema.enable_dynamic_field else None
    all_cols = [*cols, *([meta] if meta is not None else [])]
    rows = 0
    try:
        for batch in source.batches(schema):
            if not batch.num_rows:
                continue
            checked = conformer.conform(batch)
            for col, arr in zip(all_cols, checked.columns, strict=True):
                if isinstance(col, FixedColumn):
                    data = arr.to_numpy(zero_copy_only=False)
                    if col.row_shape:
                        data = arr.flatten().to_numpy(zero_copy_only=False).reshape(len(arr), *col.row_shape)
                    col.write_block(data)
                elif isinstance(col, StrColumn):
                    values = arr.to_pylist()
                    if col is meta and not meta.used:
                        meta.used = any(v != "{}" for v in values)
                    col.values.extend(values)
                    col.flush(len(values))
            rows += batch.num_rows
            on_progress(rows, rows if source.unit == "rows" else source.progress_bytes(rows))
        files = []
        for col in all_cols:
            if col is meta and not meta.used:
                continue
            info = col.finish(rows)
            if info is not None:
                files.append(info)
        return rows, files
    finally:
        for col in all_cols:
            col.close()
        for leftover in tmp.glob(f"{META_FIELD}.*.part"):
            leftover.unlink()
