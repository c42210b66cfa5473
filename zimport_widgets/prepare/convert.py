"""Streaming conversion to per-field NumPy files for Zilliz/Milvus bulk import.

``write_numpy`` takes any :class:`~.sources.Source`: rows (a JSON file read by ``json_rows``: orjson
blocks, float vectors via simdjson straight to float32; JSON Lines, CSV, dicts) through the row loop, or
Arrow batches through ``arrow_conform``; every value is checked against the collection schema and one
``<field>.npy`` per field is written. A large JSON file is split across worker processes (``split``).
``convert_json_to_numpy`` is the JSON-file entry point.
Fixed-width columns go straight into their ``.npy`` (header patched at the end); string columns are
spilled as UTF-8 and rewritten as ``<U{longest}`` at the end. Memory stays flat: one chunk of rows
at a time. Output is built in a temporary folder next to ``out_dir`` and moved into place only on
success; on any error nothing is left behind.
"""

from __future__ import annotations

import html
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFileError, local_file_errors
from ..fmt import format_bytes
from ..progress import ConvertProgress, ProgressArg, Reporter
from ..schema import CollectionSchema, SchemaLike
from .columns import FixedColumn, MetaColumn, NpyFileInfo, StrColumn
from .infer import resolve_schema
from .npy_format import append_range, data_offset, header_bytes
from .row_loop import build_columns, chunk_rows, run_rows
from .rules import META_FIELD, ImportLimits, refuse_numpy_unsupported
from .sources import Source, open_source
from .split import convert_in_parts, parts_for
from .staging import clear_stale_staging, staging_path, swap_into_place

__all__ = [
    "ConvertResult", "convert_json_to_numpy", "cut_into_subfolders", "move_into_place", "prepare_out_dir",
    "validate_json_rows", "write_numpy",
]  # fmt: skip


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
            f" ({len(self.files)} files, {format_bytes(self.total_bytes)}, {self.elapsed:.1f} s)"
        ]
        width = max((len(f.name) for f in self.files), default=4)
        for f in self.files:
            lines.append(f"  {f.name:<{width}}  {f.dtype:<8} {f.shape!s:<16} {format_bytes(f.bytes):>10}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td><code>{html.escape(f.name)}</code></td><td>{html.escape(f.dtype)}</td>"
            f"<td>{html.escape(str(f.shape))}</td><td style='text-align:right'>{format_bytes(f.bytes)}</td></tr>"
            for f in self.files
        )
        return (
            f"<div><p><b>Converted {self.rows:,} rows</b> from <code>{html.escape(self.source.name)}</code> "
            f"into <code>{html.escape(str(self.out_dir))}</code> ({len(self.files)} files, "
            f"{format_bytes(self.total_bytes)}, {self.elapsed:.1f} s)</p><table><thead><tr><th>file</th><th>dtype</th>"
            f"<th>shape</th><th>size</th></tr></thead><tbody>{body}</tbody></table></div>"
        )


def validate_json_rows(path: str | os.PathLike[str], schema: CollectionSchema) -> int:
    """Check every row of a JSON import file against ``schema`` (as the converter does); return the row count.

    Raises :class:`DataFileError` at the first bad value. Nothing is written.
    """
    rows, _ = run_rows(Path(path), schema, None)
    return rows


def prepare_out_dir(out_dir: Path, names: set[str]) -> None:
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


@local_file_errors
def convert_json_to_numpy(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    schema: SchemaLike | None = None,
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
    src_path = Path(src)
    if not src_path.is_file():
        raise DataFileError("the source file does not exist", file=str(src_path), hint="check the path")
    resolved = resolve_schema(src_path, schema)
    return write_numpy(open_source(src_path), out_dir, resolved, progress=progress, workers=workers)


def write_numpy(
    source: Source,
    out: str | os.PathLike[str],
    schema: CollectionSchema,
    *,
    progress: ProgressArg = True,
    workers: int | None = None,
    max_subfolder_bytes: int | None = None,
) -> ConvertResult:
    """Every row of ``source`` checked and written as one ``<field>.npy`` per field into the folder ``out``.

    A set larger than ``max_subfolder_bytes`` (default: ``ImportLimits().max_subfolder_bytes``, Zilliz's 10 GiB)
    is cut by rows into sub-folders ``1/``, ``2/`` ..., each a complete file set.

    A large JSON file is converted in parts by ``workers`` processes (``split``; default: 2 from 64 MiB on a
    multi-core machine), with the same files, row numbers and errors as one process.
    """
    started = time.monotonic()
    refuse_numpy_unsupported(schema)
    out_path = Path(out)
    names = {f"{fs.name}.npy" for fs in schema.input_fields} | {f"{META_FIELD}.npy"}
    prepare_out_dir(out_path, names)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_staging(out_path)  # what a killed run left
    tmp = staging_path(out_path)
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
            parts = parts_for(source.kind, source.total, workers)
            split = None
            if parts > 1:
                assert source.path is not None
                split = convert_in_parts(source.path, schema, tmp, parts, on_progress)
            if split is not None:
                rows, files = split
            elif source.columnar:
                rows, files = _batches_to_numpy(source, schema, tmp, on_progress)
            else:
                rows, files = run_rows((source.name, source.rows_of(schema)), schema, tmp, on_progress)
            if rows == 0:
                raise DataFileError("the source has no rows", file=source.name, expected="at least one row", got="none")
            limit = max_subfolder_bytes if max_subfolder_bytes is not None else ImportLimits().max_subfolder_bytes
            files = cut_into_subfolders(tmp, files, rows, limit)
            moved = move_into_place(tmp, out_path, files)  # the whole set at once: no earlier file stays
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


def move_into_place(tmp: Path, out: Path, files: list[NpyFileInfo]) -> list[NpyFileInfo]:
    """The files built in ``tmp`` (directly or in sub-folders ``1/``, ``2/`` ...) moved to their place in ``out``."""
    rel = [f.path.relative_to(tmp) for f in files]
    swap_into_place(tmp, out)
    return [NpyFileInfo(f.name, out / r, f.dtype, f.shape, f.bytes) for f, r in zip(files, rel, strict=True)]


def cut_into_subfolders(folder: Path, files: list[NpyFileInfo], rows: int, limit: int) -> list[NpyFileInfo]:
    """The ``.npy`` set in ``folder`` cut by rows into sub-folders ``1/``, ``2/`` ... of at most ``limit`` bytes.

    Zilliz takes at most 10 GiB per NumPy sub-folder; one import reads all the sub-folders of a folder URL.
    Nothing happens when the set is within ``limit``. Row slices are copied in the kernel (``append_range``).
    """
    if sum(f.bytes for f in files) <= limit:
        return files
    row_bytes = [np.dtype(f.dtype).itemsize * int(np.prod(f.shape[1:], dtype=np.int64)) for f in files]
    headers = sum(len(header_bytes(np.dtype(f.dtype), (rows, *f.shape[1:]))) for f in files)
    step = (limit - headers) // sum(row_bytes)
    if step < 1:
        raise DataFileError(f"one row takes {format_bytes(sum(row_bytes))}: more than a sub-folder may hold",
                            expected=f"at most {format_bytes(limit)} per NumPy sub-folder")  # fmt: skip
    out: list[NpyFileInfo] = []
    for k, first in enumerate(range(0, rows, step), start=1):
        n = min(step, rows - first)
        sub = folder / str(k)
        sub.mkdir()
        for f, width in zip(files, row_bytes, strict=True):
            shape = (n, *f.shape[1:])
            target = sub / f.name
            with open(target, "wb") as dst:
                dst.write(header_bytes(np.dtype(f.dtype), shape))
                append_range(f.path, data_offset(f.path) + first * width, n * width, dst)
            out.append(NpyFileInfo(f.name, target, f.dtype, shape, target.stat().st_size))
    for f in files:
        f.path.unlink()
    return out


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
