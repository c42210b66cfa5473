"""Streaming JSON → per-field NumPy conversion for Zilliz/Milvus bulk import.

``convert_json_to_numpy`` reads ``{"rows": [...]}`` (or a bare list) row by row (``json_rows``:
orjson blocks, float vectors via simdjson straight to float32, ijson where needed), checks every
value against the collection schema and writes one ``<field>.npy`` per field. Large files are
split across worker processes (``split``).
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
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataFileError
from ..fmt import format_bytes
from ..progress import ConvertProgress, ProgressArg, Reporter
from ..schema import CollectionSchema, SchemaLike
from .columns import NpyFileInfo
from .infer import resolve_schema
from .row_loop import run_rows
from .rules import META_FIELD, refuse_numpy_unsupported
from .split import AUTO_WORKERS, PARALLEL_MIN_BYTES, convert_in_parts

__all__ = ["ConvertResult", "convert_json_to_numpy", "move_into_place", "prepare_out_dir", "validate_json_rows"]


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
    started = time.monotonic()
    src_path = Path(src)
    out_path = Path(out_dir)
    if not src_path.is_file():
        raise DataFileError("the source file does not exist", file=str(src_path), hint="check the path")
    resolved = resolve_schema(src_path, schema)
    refuse_numpy_unsupported(resolved)
    names = {f"{fs.name}.npy" for fs in resolved.input_fields} | {f"{META_FIELD}.npy"}
    prepare_out_dir(out_path, names)
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
                workers = min(os.cpu_count() or 1, AUTO_WORKERS) if total >= PARALLEL_MIN_BYTES else 1
            split = None
            if workers > 1:
                split = convert_in_parts(src_path, resolved, tmp, workers, on_progress)
            rows, files = split if split is not None else run_rows(src_path, resolved, tmp, on_progress)
            if rows == 0:
                raise DataFileError("the file has no rows", file=src_path.name, expected="at least one row", got="[]")
            moved = move_into_place(tmp, out_path, files)
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


def move_into_place(tmp: Path, out: Path, files: list[NpyFileInfo]) -> list[NpyFileInfo]:
    if not out.exists():
        os.replace(tmp, out)
    else:
        for f in files:
            os.replace(f.path, out / f.name)
        shutil.rmtree(tmp, ignore_errors=True)
    return [NpyFileInfo(f.name, out / f.name, f.dtype, f.shape, f.bytes) for f in files]
