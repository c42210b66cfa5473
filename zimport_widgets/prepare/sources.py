"""Where rows come from: every source a conversion takes, behind one small interface.

:func:`open_source` recognises a JSON import file, JSON Lines, CSV, a Parquet file or folder, a folder of
``<field>.npy`` files, a pandas DataFrame, a pyarrow Table / RecordBatch / RecordBatchReader, or an
iterable of dicts. Row sources (JSON, JSON Lines, CSV, dicts) go through the row loop; columnar ones
(everything else) hand Arrow record batches to :class:`~.arrow_conform.BatchConformer`. Both read a bounded
amount at a time: a DataFrame or Table is sliced, files are streamed.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataFileError
from ..fmt import short_repr
from ..schema import CollectionSchema
from .csv_rows import CSV_SUFFIXES, iter_csv_rows
from .jsonl_rows import JSONL_SUFFIXES, iter_jsonl_rows
from .row_loop import RowSource, vector_specs

__all__ = ["BATCH_ROWS", "Source", "open_source"]

BATCH_ROWS = 8192  # rows per Arrow batch from a DataFrame, a Table or a file (fewer for wide rows)


def batch_rows(schema: CollectionSchema | None) -> int:
    """Rows per batch: :data:`BATCH_ROWS`, or as many as keep a batch of wide vectors to ~16 MiB."""
    from .row_loop import chunk_rows

    return BATCH_ROWS if schema is None else min(BATCH_ROWS, 2 * chunk_rows(schema.input_fields))


_SAMPLE = 100


@dataclass
class Source:
    """One source: ``rows_of`` (row kinds) or ``batches`` (columnar kinds), and how to measure progress."""

    name: str
    kind: str  # json | jsonl | csv | rows | parquet | numpy | dataframe | arrow
    path: Path | None = None
    total: int | None = None  # bytes for files, rows for in-memory sources, None when unknown
    unit: str = "B"
    _rows: Callable[[CollectionSchema], RowSource] | None = field(default=None, repr=False)
    _batches: Callable[[CollectionSchema | None], Iterator[Any]] | None = field(default=None, repr=False)
    _peek: Callable[[int], list[Any]] | None = field(default=None, repr=False)
    rows_total: int | None = None  # a columnar file source's row count (from its metadata), for progress
    sep: str = ","  # CSV: the cell separator

    def progress_bytes(self, rows: int) -> int:
        """Bytes of a columnar file source read after ``rows`` rows (its rows are spread evenly enough)."""
        if not self.total or not self.rows_total:
            return 0
        return min(self.total, self.total * rows // self.rows_total)

    @property
    def columnar(self) -> bool:
        return self._batches is not None

    def rows_of(self, schema: CollectionSchema) -> RowSource:
        assert self._rows is not None
        return self._rows(schema)

    def batches(self, schema: CollectionSchema | None) -> Iterator[Any]:
        """Arrow record batches (columnar kinds); ``schema`` lets a DataFrame's JSON cells become text first."""
        assert self._batches is not None
        return self._batches(schema)

    def sample(self, n: int = _SAMPLE) -> list[Any]:
        """The first ``n`` rows as dicts, for inferring a schema (CSV cells stay text); they are still read later."""
        if self._peek is not None and self._batches is None:
            return self._peek(n)
        if self._peek is not None:
            return [row for b in self._peek(1) for row in b.slice(0, n).to_pylist()]
        if self._batches is not None:
            out: list[Any] = []
            for batch in self.batches(None):
                out.extend(batch.slice(0, n - len(out)).to_pylist())
                if len(out) >= n:
                    break
            return out
        if self.kind == "csv":
            import csv

            assert self.path is not None
            with open(self.path, encoding="utf-8-sig", newline="") as fh:
                reader = csv.DictReader(fh, delimiter=self.sep)
                rows = []
                for i, r in enumerate(itertools.islice(reader, n)):
                    if None in r or None in r.values():  # more or fewer cells than the header
                        raise DataFileError(
                            "the number of cells in the record differs from the header",
                            file=self.name,
                            row=i,
                            expected=f"{len(reader.fieldnames or [])} cells",
                            got="more" if None in r else "fewer",
                        )
                    rows.append({k: _guess_cell(v) for k, v in r.items()})
                return rows
        assert self._rows is not None
        return list(itertools.islice(self._rows(_NO_SCHEMA)(lambda n: None), n))


_NO_SCHEMA: Any = None


def open_source(source: Any, *, sep: str = ",", nullkey: str = "") -> Source:
    """A :class:`Source` for ``source`` (a path, a DataFrame, an Arrow table or reader, or dicts)."""
    if isinstance(source, (str, os.PathLike)):
        return _path_source(Path(source), sep, nullkey)
    mod = type(source).__module__.split(".")[0]
    if mod == "pandas" and type(source).__name__ == "DataFrame":
        return _frame_source(source)
    if mod == "pyarrow":
        return _arrow_source(source)
    if isinstance(source, (Mapping, bytes, bytearray)):
        raise DataFileError(
            "a single row or bytes is not a source", expected="rows (an iterable of dicts)", got=type(source).__name__
        )
    if isinstance(source, Iterable):
        return _rows_source(source)
    raise DataFileError(
        "cannot read rows from this object",
        expected="a file or folder path, a DataFrame, a pyarrow Table or RecordBatchReader, or an iterable of dicts",
        got=type(source).__name__,
    )


class _Peekable:
    """A one-shot iterator whose first items can be looked at (to infer a schema) and still be read."""

    def __init__(self, it: Iterator[Any]) -> None:
        self.it = it
        self.head: list[Any] = []

    def peek(self, n: int) -> list[Any]:
        self.head.extend(itertools.islice(self.it, n - len(self.head)))
        return self.head[:n]

    def __iter__(self) -> Iterator[Any]:
        head, self.head = self.head, []
        return itertools.chain(head, self.it)


def _rows_source(source: Iterable[Any]) -> Source:
    once = iter(source) is source  # a generator or iterator: read once, peeked items kept
    peekable = _Peekable(iter(source)) if once else None

    def rows_of(schema: CollectionSchema) -> RowSource:
        return lambda on_bytes: iter(peekable) if peekable is not None else iter(source)

    total = len(source) if isinstance(source, Sized) else None
    src = Source("rows", "rows", total=total, unit="rows", _rows=rows_of)
    if peekable is not None:
        src._peek = peekable.peek
    return src


def _path_source(p: Path, sep: str, nullkey: str) -> Source:
    if not p.exists():
        raise DataFileError("the source does not exist", file=str(p), hint="check the path")
    if p.is_dir():
        return _folder_source(p)
    suffix = p.suffix.lower()
    size = p.stat().st_size
    if suffix == ".json":
        from .json_rows import iter_json_rows

        def json_rows(schema: CollectionSchema) -> RowSource:
            vectors = vector_specs(schema) if schema is not None else None
            return lambda on_bytes: iter_json_rows(p, on_bytes=on_bytes, vectors=vectors)

        return Source(p.name, "json", p, size, _rows=json_rows)
    if suffix in JSONL_SUFFIXES:
        return Source(
            p.name, "jsonl", p, size, _rows=lambda schema: lambda on_bytes: iter_jsonl_rows(p, on_bytes=on_bytes)
        )
    if suffix in CSV_SUFFIXES or suffix == ".tsv":
        cell_sep = "\t" if suffix == ".tsv" and sep == "," else sep

        def csv_rows(schema: CollectionSchema) -> RowSource:
            return lambda on_bytes: iter_csv_rows(p, schema, sep=cell_sep, nullkey=nullkey, on_bytes=on_bytes)

        return Source(p.name, "csv", p, size, _rows=csv_rows, sep=cell_sep)
    if suffix == ".parquet":
        return _parquet_source(p.name, [p])
    if suffix == ".npy":
        raise DataFileError(
            "a single .npy file is one field only",
            file=p.name,
            expected="the folder holding one <field>.npy per field",
            got="one .npy file",
        )
    raise DataFileError(
        f"unknown source file type {suffix or '(no suffix)'!r}",
        file=p.name,
        expected=".json, .jsonl, .ndjson, .csv, .tsv, .parquet or a folder of them",
        got=suffix or p.name,
    )


def _folder_source(p: Path) -> Source:
    files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
    parquet = [f for f in files if f.suffix.lower() == ".parquet"]
    npy = [f for f in files if f.suffix.lower() == ".npy"]
    if parquet and npy:
        raise DataFileError(
            "source kinds are mixed (.parquet and .npy) in one folder",
            file=p.name,
            expected="one kind of file",
            got=f"{len(parquet)} .parquet, {len(npy)} .npy",
        )
    if parquet:
        return _parquet_source(p.name, parquet)
    if npy:
        return _numpy_source(p, [npy])
    subs = sorted(
        (d for d in p.iterdir() if d.is_dir() and not d.name.startswith(".")),
        key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name),
    )
    groups = [sorted(f for f in d.iterdir() if f.suffix.lower() == ".npy") for d in subs]
    if groups and all(groups):  # sub-folders 1/, 2/ ... each a NumPy file set
        return _numpy_source(p, groups)
    raise DataFileError(
        "the folder has no .parquet or .npy files",
        file=p.name,
        expected="Parquet files, or one <field>.npy per field",
        got=", ".join(f.name for f in files[:5]) or "an empty folder",
    )


def _parquet_source(name: str, paths: list[Path]) -> Source:
    import pyarrow.parquet as pq

    def batches(schema: CollectionSchema | None) -> Iterator[Any]:
        for path in paths:
            try:
                pf = pq.ParquetFile(path)
            except Exception as exc:
                raise DataFileError(
                    f"the Parquet file cannot be read ({exc})", file=path.name, expected="a complete Parquet file"
                ) from None
            with pf:
                yield from pf.iter_batches(batch_size=batch_rows(schema))

    total = sum(path.stat().st_size for path in paths)
    try:
        rows_total = sum(pq.ParquetFile(path).metadata.num_rows for path in paths)
    except Exception:
        rows_total = None
    where = paths[0] if len(paths) == 1 else paths[0].parent
    return Source(name, "parquet", where, total, "B", _batches=batches, rows_total=rows_total)


def _numpy_source(folder: Path, groups: list[list[Path]]) -> Source:
    """A NumPy folder (or its sub-folders ``1/``, ``2/`` ..., in order) read in batches with plain reads.

    Reads, not a memory map: mapped pages would count as this process's memory, growing with the files.
    """
    import numpy as np
    import pyarrow as pa

    from .npy_format import read_npy_header

    def batches(schema: CollectionSchema | None) -> Iterator[Any]:
        for files in groups:
            yield from _group_batches(np, pa, read_npy_header, files, batch_rows(schema))

    files = [f for g in groups for f in g]
    total = sum(f.stat().st_size for f in files)
    try:
        rows_total = sum(read_npy_header(g[0]).rows for g in groups)
    except DataFileError:
        rows_total = None  # reported when read
    return Source(folder.name, "numpy", folder, total, "B", _batches=batches, rows_total=rows_total)


def _group_batches(np: Any, pa: Any, read_header: Any, files: list[Path], step: int) -> Iterator[Any]:
    headers = {}
    for f in files:
        h = read_header(f)
        if h.fortran_order or len(h.shape) not in (1, 2) or h.dtype.hasobject:
            raise DataFileError(
                "the array is not a C-order 1-D or 2-D array of plain values",
                file=f.name,
                expected="what numpy.save writes for a column",
                got=f"shape {h.shape}, {h.dtype}",
            )
        width = h.shape[1] if len(h.shape) == 2 else 1
        if h.data_offset + h.rows * width * h.dtype.itemsize > h.file_bytes:
            raise DataFileError(
                "the .npy file is shorter than its header says (truncated)",
                file=f.name,
                expected=f"{h.rows} rows",
                got=f"{h.file_bytes} bytes",
            )
        headers[f.stem] = (h, width)
    counts = {h.rows for h, _ in headers.values()}
    if len(counts) > 1:
        raise DataFileError(
            "the .npy files hold different row counts",
            file=files[0].parent.name,
            expected="one row count",
            got=", ".join(f"{k}: {h.rows}" for k, (h, _) in headers.items()),
        )
    rows = counts.pop() if counts else 0
    handles = {name: open(h.path, "rb") for name, (h, _) in headers.items()}  # noqa: SIM115 - closed below
    try:
        for name, (h, _) in headers.items():
            handles[name].seek(h.data_offset)
        for start in range(0, rows, step):
            n = min(step, rows - start)
            cols = {}
            for name, (h, width) in headers.items():
                data = np.fromfile(handles[name], dtype=h.dtype, count=n * width)
                cols[name] = _npy_column(pa, np, name, data.reshape(n, width) if len(h.shape) == 2 else data)
            yield pa.RecordBatch.from_pydict(cols)
    finally:
        for fh in handles.values():
            fh.close()


def _npy_column(pa: Any, np: Any, name: str, a: Any) -> Any:
    if a.dtype.kind == "U":
        return pa.array(a.tolist(), type=pa.string())
    if a.dtype.kind == "S":
        try:
            return pa.array([bytes(x).decode("utf-8") for x in a], type=pa.string())
        except UnicodeDecodeError as exc:
            raise DataFileError(
                "a string is not valid UTF-8", file=f"{name}.npy", expected="UTF-8 text", got=str(exc)
            ) from None
    a = np.ascontiguousarray(a)
    if a.ndim == 2:
        return pa.FixedSizeListArray.from_arrays(pa.array(a.reshape(-1)), a.shape[1])
    if a.ndim != 1:
        raise DataFileError(
            "the array has more than two dimensions",
            file=f"{name}.npy",
            expected="(rows,) or (rows, width)",
            got=str(a.shape),
        )
    return pa.array(a)


def _frame_source(df: Any) -> Source:
    import pyarrow as pa

    def batches(schema: CollectionSchema | None) -> Iterator[Any]:
        text_fields = set()
        if schema is not None:
            from ..schema import DataType

            text_fields = {
                fs.name for fs in schema.input_fields if fs.dtype in (DataType.JSON, DataType.SPARSE_FLOAT_VECTOR)
            }
        step = batch_rows(schema)
        for start in range(0, len(df), step):
            part = df.iloc[start : start + step]
            part = _json_cells(part, text_fields, start)
            if len(set(part.columns)) != len(part.columns):
                dup = next(c for c in part.columns if list(part.columns).count(c) > 1)
                raise DataFileError(
                    f"the column {dup!r} appears twice",
                    file="DataFrame",
                    field=str(dup),
                    expected="each column once",
                    got=f"{dup!r} twice",
                )
            try:
                table = pa.Table.from_pandas(part, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError, TypeError):
                raise _mixed_column(pa, part, start) from None
            yield from table.to_batches()

    return Source("DataFrame", "dataframe", None, len(df), "rows", _batches=batches)


def _mixed_column(pa: Any, part: Any, row0: int) -> DataFileError:
    """The error for the first column (and row) of a DataFrame slice that Arrow cannot read as one type."""
    for name in part.columns:
        try:
            pa.array(part[name], from_pandas=True)
            continue
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError, TypeError) as exc:
            reason = str(exc).splitlines()[0][:100]
        values = part[name].tolist()
        first = next((type(v) for v in values if v is not None), None)
        at = next((i for i, v in enumerate(values) if v is not None and type(v) is not first), 0)
        return DataFileError(
            f"the column holds values of different types ({reason})",
            file="DataFrame",
            row=row0 + at,
            field=str(name),
            expected=f"{getattr(first, '__name__', 'one type')} values like the rows before",
            got=short_repr(values[at]),
        )
    return DataFileError("the DataFrame cannot be read as Arrow columns", file="DataFrame", row=row0)


def _json_cells(part: Any, names: set[str], row0: int) -> Any:
    """JSON and sparse cells that hold dicts become JSON text (Arrow would make structs, adding keys)."""
    from .json_text import dumps_compact

    todo = [n for n in names if n in part.columns and part[n].dtype == object]
    if not todo:
        return part
    part = part.copy()
    for n in todo:
        texts = []
        for i, v in enumerate(part[n].tolist()):
            try:
                texts.append(dumps_compact(v) if isinstance(v, dict) else v)
            except ValueError as exc:
                raise DataFileError(
                    f"the value cannot be stored as JSON ({exc})",
                    file="DataFrame",
                    row=row0 + i,
                    field=n,
                    expected="JSON values (no NaN or Infinity)",
                    got=short_repr(v),
                ) from None
        part[n] = texts
    return part


def _arrow_source(obj: Any) -> Source:
    import pyarrow as pa

    if isinstance(obj, pa.Table):

        def table_batches(schema: CollectionSchema | None) -> Iterator[Any]:
            return iter(obj.to_batches(max_chunksize=batch_rows(schema)))

        return Source("Table", "arrow", None, obj.num_rows, "rows", _batches=table_batches)
    if isinstance(obj, pa.RecordBatch):
        return _arrow_source(pa.Table.from_batches([obj]))
    if isinstance(obj, pa.RecordBatchReader):
        peekable = _Peekable(iter(obj))
        src = Source("RecordBatchReader", "arrow", None, None, "rows", _batches=lambda schema: iter(peekable))
        src._peek = peekable.peek
        return src
    raise DataFileError(
        "cannot read rows from this pyarrow object",
        expected="a Table, RecordBatch or RecordBatchReader",
        got=type(obj).__name__,
    )


def _guess_cell(cell: str) -> Any:
    """A CSV cell as the value it most likely holds, for schema inference only (numbers, JSON, booleans)."""
    import json

    if cell in ("true", "false", "True", "False"):
        return cell in ("true", "True")
    for parse in (int, float):
        try:
            return parse(cell)
        except ValueError:
            pass
    if cell[:1] in ("[", "{"):
        try:
            return json.loads(cell)
        except ValueError:
            pass
    return cell
