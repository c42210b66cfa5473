"""``convert``: any source (JSON, JSON Lines, CSV, Parquet, NumPy folder, DataFrame, Arrow, dicts) to Parquet or NumPy.

The one entry point over the two writers (:func:`~.parquet_out.write_arrow_files`, :func:`~.convert.write_numpy`);
either way every value is checked, a large JSON file is parsed in parallel, and the output appears whole or
not at all.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError, SchemaError, local_file_errors
from ..progress import ProgressArg
from ..schema import CollectionSchema, SchemaLike, load_schema
from .convert import ConvertResult, write_numpy
from .infer import infer_schema
from .rules import ROW_GROUP_BYTES
from .sources import Source, open_source

if TYPE_CHECKING:  # pyarrow is imported when Arrow is used: a JSON -> NumPy run never loads it
    from .parquet_out import ParquetResult

__all__ = ["OUTPUT_FORMATS", "convert", "schema_for"]

OUTPUT_FORMATS = ("parquet", "numpy", "json")


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


@local_file_errors
def convert(
    source: Any,
    out: str | os.PathLike[str],
    schema: SchemaLike | None = None,
    *,
    to: Literal["parquet", "numpy", "json"] = "parquet",
    progress: ProgressArg = True,
    row_group_bytes: int = ROW_GROUP_BYTES,
    workers: int | None = None,
    max_file_bytes: int | None = None,
    sep: str = ",",
    nullkey: str = "",
) -> ParquetResult | ConvertResult:
    """Convert ``source`` into import files: Parquet (``to="parquet"``, the default), NumPy or JSON (``to="json"``).

    ``source``: a ``.json`` / ``.jsonl`` / ``.ndjson`` / ``.csv`` / ``.tsv`` / ``.parquet`` file, a folder of
    Parquet files or of ``<field>.npy`` files, a pandas DataFrame, a pyarrow Table / RecordBatch /
    RecordBatchReader, or an iterable of dicts. ``schema``: the collection's (model, REST/pymilvus dict or
    file), or None to infer it from the first rows. ``out``: a Parquet file or a folder (``to="parquet"``),
    the folder of ``.npy`` files (``to="numpy"``). CSV: ``sep`` between cells, ``nullkey`` the text of a null
    (as Milvus's CSV import options). ``max_file_bytes``: Parquet output is cut into files of at most this
    size, NumPy output into sub-folders ``1/``, ``2/`` ... (default: Zilliz's 10 GiB per file / sub-folder).
    The first bad value raises :class:`DataFileError` (file, row, field,
    expected, got) and nothing is left at ``out``; fields NumPy cannot carry raise
    :class:`UnsupportedFieldError` before anything is read.
    """
    if to not in OUTPUT_FORMATS:
        raise ConfigError(f"unknown output format {to!r}", hint=f"use one of: {', '.join(OUTPUT_FORMATS)}")
    src = open_source(source, sep=sep, nullkey=nullkey)
    resolved = schema_for(src, schema)
    if to in ("parquet", "json"):
        from .parquet_out import write_arrow_files

        return write_arrow_files(
            src, out, resolved, progress=progress, row_group_bytes=row_group_bytes, workers=workers,
            max_file_bytes=max_file_bytes, fmt=to,
        )  # fmt: skip
    return write_numpy(src, out, resolved, progress=progress, workers=workers, max_subfolder_bytes=max_file_bytes)
