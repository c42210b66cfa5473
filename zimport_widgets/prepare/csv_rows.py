"""Reading CSV import files the way Milvus's CSV reader (2.5+) reads them, streaming.

Milvus reads CSV with Go's ``encoding/csv``: a header row of field names, ``,`` between cells (or the
``sep`` import option), RFC 4180 quoting with no bare ``"`` inside an unquoted cell, and every record as
long as the header. Each cell is text: Bool is ``true``/``false`` (also ``1``/``0``, ``t``/``f``), integers
are plain decimal digits, vectors, Array and sparse values are JSON text (``[0.1, 0.2]``, ``{"3": 0.5}``),
JSON fields JSON text; the ``nullkey`` text (default: the empty cell) is null for nullable fields and the
default for fields with one. Columns not in the schema go into ``$meta`` as strings when the dynamic field
is on. Source: milvus ``internal/util/importutilv2/csv`` (``reader.go``, ``row_parser.go``).

Each record becomes a row dict of typed values that the row loop checks like any JSON row, so a cell
that does not parse is reported with file, row, field, expected and got.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import DataFileError
from ..fmt import short_repr
from ..schema import CollectionSchema, DataType, FieldSchema
from .json_blocks import orjson
from .rules import function_output_error

__all__ = ["CSV_SUFFIXES", "iter_csv_rows", "read_csv_header"]

CSV_SUFFIXES = (".csv",)
_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_BOOLS = {
    "1": True,
    "t": True,
    "T": True,
    "TRUE": True,
    "true": True,
    "True": True,
    "0": False,
    "f": False,
    "F": False,
    "FALSE": False,
    "false": False,
    "False": False,
}
_JSON_CELL = (
    DataType.JSON,
    DataType.ARRAY,
    DataType.SPARSE_FLOAT_VECTOR,
    DataType.FLOAT_VECTOR,
    DataType.BINARY_VECTOR,
    DataType.FLOAT16_VECTOR,
    DataType.BFLOAT16_VECTOR,
    DataType.INT8_VECTOR,
)


class _Lines:
    """The text lines handed to :mod:`csv`, keeping the raw text of the current record (for quoting checks)."""

    def __init__(self, fh: io.TextIOBase) -> None:
        self.fh = fh
        self.raw: list[str] = []
        self.line = 0
        self.bytes = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.fh.readline()
        if not line:
            raise StopIteration
        self.line += 1
        self.bytes += len(line)  # characters: close enough to bytes for a progress bar
        self.raw.append(line)
        return line


def _bare_quote(raw: str, sep: str) -> bool:
    """True if the record's raw text has a ``"`` inside an unquoted cell (Go's csv refuses it)."""
    quoted, at_start = False, True
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if at_start:
            at_start = False
            if c == '"':
                quoted = True
                i += 1
                continue
        if quoted:
            if c == '"':
                if i + 1 < n and raw[i + 1] == '"':
                    i += 2
                    continue
                quoted = False
        elif c == '"':
            return True
        elif c == sep:
            at_start = True
        i += 1
    return False


def _open(p: Path) -> tuple[io.TextIOWrapper, bool]:
    fh = open(p, "rb")  # noqa: SIM115 - wrapped and closed by the caller
    bom = fh.read(3) == b"\xef\xbb\xbf"
    if not bom:
        fh.seek(0)
    # strict decoding: an invalid byte is an error, never replaced (newline="" as csv wants)
    return io.TextIOWrapper(fh, encoding="utf-8", errors="strict", newline=""), bom


def read_csv_header(path: str | os.PathLike[str], *, sep: str = ",") -> list[str]:
    """The header row's names (an empty file or a bad header raises :class:`DataFileError`)."""
    p = Path(path)
    text, _ = _open(p)
    with text:
        try:
            header = next(csv.reader(text, delimiter=sep, strict=True), None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataFileError(
                f"the header row does not parse ({exc})", file=p.name, expected="a CSV header of field names"
            ) from None
    if not header:
        raise DataFileError("the file is empty", file=p.name, expected="a CSV header row of field names", got="nothing")
    return header


def iter_csv_rows(
    path: str | os.PathLike[str],
    schema: CollectionSchema,
    *,
    sep: str = ",",
    nullkey: str = "",
    on_bytes: Callable[[int], None] | None = None,
    allow_bom: bool = True,
) -> Iterator[dict[str, Any]]:
    """Yield each record as a row dict of typed values (see the module doc for how cells are read).

    ``allow_bom=False`` (checking a file the server reads as it is) refuses a UTF-8 byte-order mark,
    which Go's reader would keep in the first column's name.
    """
    p = Path(path)
    size = p.stat().st_size
    text, bom = _open(p)
    if bom and not allow_bom:
        text.close()
        raise DataFileError(
            "the file starts with a UTF-8 byte-order mark",
            file=p.name,
            expected="plain UTF-8",
            got="EF BB BF",
            hint="save the CSV as UTF-8 without BOM (or convert it)",
        )
    fields = {fs.name: fs for fs in schema.input_fields}
    auto_pk = schema.primary.name if schema.primary.auto_id else None
    with text:
        lines = _Lines(text)
        reader = csv.reader(lines, delimiter=sep, strict=True)
        row = -1
        try:
            header = next(reader, None)
            if not header:
                raise DataFileError("the file is empty", file=p.name, expected="a CSV header row", got="nothing")
            _check_header(p.name, header, schema, auto_pk)
            parsers = [_cell_parser(fields.get(name), nullkey) for name in header]
            width = len(header)
            lines.raw.clear()
            row = 0
            for record in reader:
                raw = "".join(lines.raw)
                lines.raw.clear()
                if not record:
                    continue
                if len(record) != width:
                    raise DataFileError(
                        "the number of cells in the record differs from the header",
                        file=p.name,
                        row=row,
                        expected=f"{width} cells",
                        got=f"{len(record)} cells (line {lines.line})",
                    )
                if "\r" in raw:  # Go's csv reader drops the \r of a \r\n, in quoted cells too
                    record = [c.replace("\r\n", "\n") for c in record]
                if '"' in raw and _bare_quote(raw, sep):
                    raise DataFileError(
                        f'bare " in an unquoted cell (line {lines.line})',
                        file=p.name,
                        row=row,
                        expected='a quoted cell with "" for each "',
                        got=short_repr(raw.rstrip("\r\n"), 60),
                    )
                out: dict[str, Any] = {}
                for name, cell, parse in zip(header, record, parsers, strict=True):
                    if parse is None:
                        out[name] = cell
                        continue
                    try:
                        value = parse(cell)
                    except _CellError as exc:
                        fs = fields[name]
                        raise DataFileError(
                            "the cell does not parse",
                            file=p.name,
                            row=row,
                            field=name,
                            expected=exc.expected,
                            got=short_repr(cell, 60) if cell else "an empty cell",
                            hint=_hint(fs),
                        ) from None
                    if value is not _ABSENT:
                        out[name] = value
                yield out
                row += 1
                if on_bytes is not None and row % 4096 == 0:
                    on_bytes(min(size, lines.bytes))
        except csv.Error as exc:
            start = lines.line - len(lines.raw) + 1
            raise DataFileError(
                f"bad CSV quoting in the record from line {start} ({exc})",
                file=p.name,
                row=max(row, 0),
                expected="RFC 4180 quoting",
                got=short_repr("".join(lines.raw), 60),
                hint='quote cells holding the separator, a quote or a line break; write " as ""',
            ) from None
        except UnicodeDecodeError as exc:
            raise DataFileError(
                "the file is not valid UTF-8",
                file=p.name,
                row=max(row, 0),
                expected="UTF-8 text",
                got=f"byte {exc.object[exc.start : exc.start + 1]!r} ({exc.reason})",
            ) from None
        if on_bytes is not None:
            on_bytes(size)
        if row <= 0:
            raise DataFileError("the file has no rows", file=p.name, expected="records after the header", got="none")


def _hint(fs: FieldSchema) -> str | None:
    if fs.dtype in _JSON_CELL:
        return 'write vectors, arrays, sparse and JSON values as JSON text in a quoted cell, e.g. "[0.1, 0.2]"'
    return None


def _check_header(name: str, header: list[str], schema: CollectionSchema, auto_pk: str | None) -> None:
    seen: set[str] = set()
    for col in header:
        if col in seen:
            raise DataFileError(
                f"the column {col!r} appears twice in the header",
                file=name,
                field=col,
                expected="each column once",
                got=f"{col!r} twice",
            )
        seen.add(col)
    if auto_pk is not None and auto_pk in seen:
        raise DataFileError(
            f"the primary key {auto_pk!r} is auto-generated, no need to provide",
            file=name,
            field=auto_pk,
            expected="no such column (auto_id is on)",
            got="a column",
        )
    for out in schema.function_outputs:
        if out in seen:
            raise function_output_error(out, name, None, "a column")
    for fs in schema.input_fields:
        if fs.name not in seen and not fs.nullable and fs.default_value is None:
            raise DataFileError(
                "value of the field is missing: no such column",
                file=name,
                field=fs.name,
                expected=f"a column {fs.name!r}",
                got=f"columns {short_repr(header)}",
            )
    if not schema.enable_dynamic_field:
        known = {fs.name for fs in schema.input_fields}
        for col in header:
            if col not in known and col != auto_pk:
                raise DataFileError(
                    f"the field {col!r} is not defined in schema",
                    file=name,
                    field=col,
                    expected=f"only the schema's fields ({', '.join(sorted(known))})",
                    got=f"extra column {col!r}",
                    hint="enable the dynamic field, or drop the column",
                )


class _CellError(Exception):
    def __init__(self, expected: str) -> None:
        self.expected = expected


_ABSENT = object()  # the cell is the null key of a field with a default: the row loop fills the default


def _json_loads() -> Callable[[str], Any]:
    if orjson is not None:
        return orjson.loads
    import json

    return json.loads


def _cell_parser(fs: FieldSchema | None, nullkey: str) -> Callable[[str], Any] | None:
    """A function from a cell's text to the row value for ``fs`` (None: the text as it is, e.g. a dynamic key)."""
    if fs is None:
        return None
    dt = fs.dtype
    loads = _json_loads()
    if dt is DataType.BOOL:

        def typed(cell: str) -> Any:
            try:
                return _BOOLS[cell]
            except KeyError:
                raise _CellError("true or false (Bool)") from None
    elif dt.is_int:

        def typed(cell: str) -> Any:
            if not _INT.match(cell):
                raise _CellError(f"a decimal integer ({dt.value})")
            return int(cell)
    elif dt in (DataType.FLOAT, DataType.DOUBLE):

        def typed(cell: str) -> Any:
            if not _FLOAT.match(cell):
                raise _CellError(f"a finite decimal number ({dt.value})")
            return float(cell)
    elif dt is DataType.VARCHAR:

        def typed(cell: str) -> Any:
            return cell
    elif dt is DataType.JSON:

        def typed(cell: str) -> Any:
            try:
                loads(cell)
            except ValueError:
                raise _CellError("JSON text (JSON field)") from None
            return cell
    elif dt in _JSON_CELL:
        what = "a JSON object" if dt is DataType.SPARSE_FLOAT_VECTOR else "a JSON array"

        def typed(cell: str) -> Any:
            try:
                return loads(cell)
            except ValueError:
                raise _CellError(f"{what} as text ({dt.value})") from None
    else:  # pragma: no cover - every input type is above
        raise AssertionError(dt)

    if not (fs.nullable or fs.default_value is not None):
        return typed

    def nullable(cell: str) -> Any:
        if cell == nullkey:
            return _ABSENT if fs.default_value is not None else None
        return typed(cell)

    return nullable
