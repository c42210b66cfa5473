"""Reading the rows of a JSON import file (``{"rows": [...]}`` or a bare list), streaming and fast.

Blocks of about 1 MiB are cut at a guessed row boundary (``}, {"<first key>":``) and parsed whole by
orjson. A guess inside a string or a nested object makes the block fail to parse; then ijson's C
backend reads on from the last good boundary, so the rows, the errors and their row numbers are
always exactly those of a plain streaming parse. Memory holds one block of rows at a time.

When the caller names its float-vector fields (``vectors=``), blocks are parsed by simdjson
instead and each block's vectors go from simdjson's parsed doubles to one float32 array, never
through Python floats; a block with anything unusual in it is read by orjson as above.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from ..errors import DataFileError
from ..fmt import short_repr
from .json_blocks import VectorBlocks, VectorSpecs, load_rows, orjson, simdjson

__all__ = [
    "ROW_CUT",
    "fast_rows",
    "find_rows_start",
    "iter_json_rows",
    "open_rows",
    "read_first_key",
    "row_cut_pattern",
]


def open_rows(path: Path) -> tuple[BinaryIO, str]:
    """Open ``path`` and find the ijson prefix of its rows (``rows.item`` or ``item``)."""
    fh = open(path, "rb")  # noqa: SIM115 - handed to the caller
    try:
        head = fh.read(1 << 16)
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not text:
            raise DataFileError("the file is empty", file=path.name, expected='{"rows": [...]} or [...]')
        first = text[:1]
        if first == b"[":
            prefix = "item"
        elif first == b"{":
            fh.seek(0)
            key = None
            try:
                for pfx, event, value in ijson.parse(fh):
                    if pfx == "" and event == "map_key":
                        key = value
                        break
                    if pfx == "" and event == "end_map":
                        break
            except ijson.JSONError as exc:
                raise _json_error(path, exc, 0) from None
            if key is None:
                raise DataFileError("the root object has no 'rows' key", file=path.name,
                                    expected="{\"rows\": [...]}", got="{}")  # fmt: skip
            if key.lower() != "rows":
                raise DataFileError(f"the root key should be 'rows', but got {key!r}", file=path.name,
                                    expected="'rows'", got=repr(key))  # fmt: skip
            prefix = f"{key}.item"
        else:
            got = short_repr(text[:20].decode(errors="replace"))
            raise DataFileError("the content should start with '{' or '['", file=path.name,
                                expected="{\"rows\": [...]} or [...]", got=got)  # fmt: skip
        fh.seek(0)
        return fh, prefix
    except BaseException:
        fh.close()
        raise


def _json_error(path: Path, exc: Exception, row: int) -> DataFileError:
    err = _json_error_text(path, exc, row)
    err.structural = True  # type: ignore[attr-defined]  # a syntax problem, not a value problem
    return err


def _json_error_text(path: Path, exc: Exception, row: int) -> DataFileError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "overflow" in str(exc):
        return DataFileError("a number is too large", file=path.name, row=row,
                             expected="numbers within 64-bit range", got=text)  # fmt: skip
    if "premature EOF" in str(exc) or "Incomplete JSON" in str(exc):
        return DataFileError("the JSON ends early (the file is truncated)", file=path.name, row=row,
                             expected="a complete JSON document", got=text)  # fmt: skip
    return DataFileError("malformed JSON", file=path.name, row=row, expected="valid JSON", got=text,
                         hint="fix the file near this row (NaN/Infinity, single quotes and trailing commas "
                         "are not JSON)")  # fmt: skip


def iter_json_rows(
    path: str | os.PathLike[str],
    *,
    on_bytes: Callable[[int], None] | None = None,
    vectors: VectorSpecs | None = None,
) -> Iterator[Any]:
    """Yield the rows of a JSON import file one at a time (floats as ``float``), streaming.

    Malformed or truncated JSON raises :class:`DataFileError` naming the row index where parsing
    stopped. ``on_bytes(n)`` is called now and then with the bytes read so far. ``vectors``: float
    vector fields that may come as float32 NumPy rows (already checked: dim long, finite, within the
    limit) instead of lists; any other value of such a field still comes as parsed.
    """
    p = Path(path)
    fh, prefix = open_rows(p)
    try:
        start = find_rows_start(fh, prefix) if orjson is not None else None
        if start is None:
            fh.seek(0)
            n = yield from _iter_items(fh, prefix, p.name, on_bytes)
            _check_root_keys(fh, prefix, p.name)
        else:
            n = yield from fast_rows(p, prefix, start, p.stat().st_size, closing=True, on_bytes=on_bytes,
                                      first_key=read_first_key(p, prefix), vectors=vectors)  # fmt: skip
        _check_rows_container(p, fh, prefix, n)
    finally:
        fh.close()


ROW_CUT = re.compile(rb"\}\s*,\s*\{")  # a guess at a boundary between two rows
_ROWS_HEAD = re.compile(rb'(?:\xef\xbb\xbf)?\s*(?:\[|\{\s*"((?:[^"\\]|\\.)*)"\s*:\s*\[)')
_BLOCK = 1 << 20  # JSON bytes per orjson call: ~100 medium rows; bigger blocks only cost memory
_MAX_BLOCK = 256 << 20


def find_rows_start(fh: BinaryIO, prefix: str) -> int | None:
    """Byte offset just after the ``[`` that opens the rows list, or None if it cannot be found simply."""
    fh.seek(0)
    m = _ROWS_HEAD.match(fh.read(1 << 16))
    fh.seek(0)
    if m is None:
        return None
    if prefix == "item":
        return m.end() if m.group(1) is None else None
    if m.group(1) is None:
        return None
    try:
        key = json.loads(b'"' + m.group(1) + b'"')
    except ValueError:
        return None
    return m.end() if f"{key}.item" == prefix else None


class _RangeReader:
    """Reads ``head + file[start:end] + tail`` as one stream; ``tell()`` counts file bytes consumed."""

    def __init__(self, path: Path, start: int, end: int, head: bytes, tail: bytes) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.start, self.end, self.head, self.tail = start, end, head, tail
        self.seek(0)

    def seek(self, pos: int, whence: int = 0) -> int:
        if pos != 0 or whence != 0:
            raise OSError("only seek(0) is supported")
        self._fh.seek(self.start)
        self._pos = self.start
        self._head_left, self._tail_left = self.head, self.tail
        return 0

    def tell(self) -> int:
        return self._pos - self.start

    def read(self, n: int = -1) -> bytes:
        n = n if n is not None and n >= 0 else 1 << 62
        out = b""
        if self._head_left:
            out, self._head_left = self._head_left[:n], self._head_left[n:]
            n -= len(out)
        if n and self._pos < self.end:
            data = self._fh.read(min(n, self.end - self._pos))
            self._pos += len(data)
            out += data
            n -= len(data)
        if n and self._pos >= self.end and self._tail_left:
            piece, self._tail_left = self._tail_left[:n], self._tail_left[n:]
            out += piece
        return out

    def close(self) -> None:
        self._fh.close()


def fast_rows(
    path: Path,
    prefix: str,
    start: int,
    end: int,
    *,
    closing: bool,
    on_bytes: Callable[[int], None] | None = None,
    base: int = 0,
    row_offset: int = 0,
    first_key: str | None = None,
    vectors: VectorSpecs | None = None,
) -> Generator[Any, None, int]:
    """Yield the rows in ``file[start:end]`` (the content of the rows list), parsing blocks with orjson.

    A block ends at the last ``}, {`` in it. If that guess is not a real row boundary (or the JSON is
    bad), the block fails to parse as a whole and ijson takes over from the block's start, so rows,
    errors and row numbers are exactly those of a plain ijson pass. ``closing``: the range runs to
    the end of the file, i.e. also holds the closing ``]`` (and ``}``). Returns the row count.
    ``vectors``: see :func:`iter_json_rows`.
    """
    load = load_rows if not vectors or simdjson is None or orjson is None else VectorBlocks(vectors).load
    obj_root = prefix != "item"
    head = b"[" if not obj_root else b"{" + json.dumps(prefix[: -len(".item")]).encode() + b": ["
    n = 0
    pos = start
    buf = b""
    # '}, {"<first key>":' once the first key is known: nested objects rarely start with it
    key_cut = row_cut_pattern(first_key) if first_key is not None else None
    with open(path, "rb") as fh:
        fh.seek(pos)
        while True:
            chunk = fh.read(min(_BLOCK, end - pos - len(buf)))
            buf += chunk
            rows = None
            if pos + len(buf) >= end:
                body = buf.rstrip()
                if closing and obj_root:
                    body = body[:-1].rstrip() if body.endswith(b"}") else b""
                if closing and not body.endswith(b"]"):
                    break  # not the plain shape: let ijson judge it
                rows = load(b"[" + body if closing else b"[" + body + b"]")
                if rows is None:
                    break
                for row in rows:
                    yield row
                n += len(rows)
                if on_bytes is not None:
                    on_bytes(end - base)
                return n
            cuts = _find_cut_candidates(buf, key_cut)
            if not cuts:
                if len(buf) > _MAX_BLOCK:
                    break
                continue
            for cut in cuts[-1:-4:-1]:  # a guess inside a string fails to parse: try an earlier one
                comma = cut.start() + cut.group().index(b",")
                rows = load(b"[" + buf[:comma] + b"]")
                if rows is not None:
                    break
            if rows is None:
                break
            if key_cut is None and rows and isinstance(rows[0], dict) and rows[0]:
                key_cut = row_cut_pattern(next(iter(rows[0])))
            for row in rows:
                yield row
            n += len(rows)
            brace = cut.start() + cut.group().index(b"{")
            pos += brace
            buf = buf[brace:]
            if on_bytes is not None:
                on_bytes(pos - base)
    # ijson from the last good boundary to the end of the range: the exact rows, errors and numbering
    reader = _RangeReader(path, pos, end, head, b"" if closing else (b"]}" if obj_root else b"]"))
    try:

        def shifted(nbytes: int) -> None:
            if on_bytes is not None:
                on_bytes(pos - base + nbytes)

        n += yield from _iter_items(reader, prefix, path.name, shifted, row_offset=row_offset + n)
        if closing:
            _check_root_keys(reader, prefix, path.name)
    finally:
        reader.close()
    return n


def _check_root_keys(fh: Any, prefix: str, name: str) -> None:
    """Raise if the root object holds a key besides the rows (Milvus's reader wants ``{"rows": [...]}`` only).

    Only reached when the file did not end right after the rows list; ``fh`` is a seekable stream
    already parsed once without error.
    """
    if prefix == "item":
        return
    rows_key = prefix[: -len(".item")]
    fh.seek(0)
    seen = False
    try:
        for pfx, event, value in ijson.parse(fh):
            if pfx == "" and event == "map_key":
                if seen:
                    raise DataFileError(f"the root object holds a second key {value!r} next to {rows_key!r}",
                                        file=name, expected=f"only the key {rows_key!r} at the root",
                                        got=f"key {value!r}", hint="move the extra data out of the file")  # fmt: skip
                seen = True
    except ijson.JSONError as exc:  # pragma: no cover - the same stream parsed fine just before
        raise _json_error(Path(name), exc, 0) from None


def read_first_key(path: Path, prefix: str) -> str | None:
    """The first key of the first row (read with ijson events, stops right there)."""
    try:
        with open(path, "rb") as fh:
            for pfx, event, value in ijson.parse(fh):
                if pfx == prefix and event == "map_key":
                    return str(value)
                if pfx == prefix and event == "end_map":
                    return None
    except ijson.JSONError:
        return None
    return None


def row_cut_pattern(first_key: str) -> re.Pattern[bytes]:
    """A stricter row-boundary guess: ``}, {`` followed by the rows' first key (nested objects rarely match)."""
    key = json.dumps(first_key, ensure_ascii=False).encode("utf-8")
    return re.compile(rb"\}\s*,\s*\{\s*" + re.escape(key) + rb"\s*:")


def _find_cut_candidates(buf: bytes, key_cut: re.Pattern[bytes] | None) -> list[re.Match[bytes]]:
    """Row-boundary guesses near the end of ``buf`` (the last ones last)."""
    tail = max(0, len(buf) - (64 << 10))
    for pattern in (key_cut, ROW_CUT):
        if pattern is None:
            continue
        found = list(pattern.finditer(buf, tail)) or list(pattern.finditer(buf))
        if found:
            return found
    return []


def _iter_items(
    fh: Any, prefix: str, name: str, on_bytes: Callable[[int], None] | None = None, *, row_offset: int = 0
) -> Generator[Any, None, int]:
    """Yield the items at ``prefix`` of an open (seekable) stream; return how many.

    Errors number rows from ``row_offset`` (the rows before this stream's first one).
    """
    n = 0
    overflow: Exception | None = None
    items = ijson.items(fh, prefix, use_float=True, buf_size=1 << 18)
    while True:
        try:
            row = next(items)
        except StopIteration:
            break
        except ijson.JSONError as exc:
            if "overflow" not in str(exc) or _slow_backend(items):
                raise _json_error(Path(name), overflow or exc, row_offset + n) from None
            overflow = exc
            # yajl stops at numbers beyond 64 bits; the pure-Python backend reads them, so the
            # value checks can name the field. Re-read from the start and skip the rows done.
            fh.seek(0)
            items = ijson.get_backend("python").items(fh, prefix, use_float=True)
            for _ in range(n):
                next(items)
            continue
        yield row
        n += 1
        if on_bytes is not None and not n & 255:
            on_bytes(fh.tell())
    return n


def _slow_backend(items: Any) -> bool:
    return "python" in type(items).__module__ or type(items).__name__ == "generator"


def _check_rows_container(path: Path, fh: BinaryIO, prefix: str, n: int) -> None:
    if n:
        return
    # zero rows: either an empty list (fine) or 'rows' is not a list at all
    fh.seek(0)
    parent = prefix[: -len(".item")] if prefix != "item" else ""
    try:
        for pfx, event, _ in ijson.parse(fh):
            if pfx == parent and event in ("start_array", "start_map", "string", "number", "boolean", "null"):
                if event != "start_array":
                    got = event.replace("start_map", "object")
                    raise DataFileError("the rows are not a JSON list", file=path.name,
                                        expected="a list of row objects", got=got)  # fmt: skip
                return
    except ijson.JSONError as exc:
        raise _json_error(path, exc, 0) from None
