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
from .json_text import DepthScan
from .rules import MAX_JSON_DEPTH

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
                for pfx, event, value in ijson.parse(_Guard(fh), buf_size=1 << 14):
                    if pfx == "" and event == "map_key":
                        key = value
                        break
                    if pfx == "" and event == "end_map":
                        break
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                raise _json_error(path, exc, 0) from None
            except _Unsafe as bad:
                m = _ROWS_HEAD.match(head)
                try:
                    guess = str(json.loads(b'"' + (m.group(1) if m and m.group(1) else b"rows") + b'"')) + ".item"
                except ValueError:
                    guess = "rows.item"
                row, where = _locate(fh, guess, stop=bad.offset)
                raise DataFileError(bad.problem, file=path.name, row=row, field=where, expected=bad.expected,
                                    got=bad.got) from None  # fmt: skip
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


def _json_error(path: Path, exc: Exception, row: int, *, field: str | None = None) -> DataFileError:
    err = _json_error_text(path, exc, row, field)
    err.structural = True  # type: ignore[attr-defined]  # a syntax problem, not a value problem
    return err


def _json_error_text(path: Path, exc: Exception, row: int, field: str | None = None) -> DataFileError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        return DataFileError("the text is not valid UTF-8", file=path.name, row=row, field=field,
                             expected="UTF-8 text", got=f"the bytes {exc.object[exc.start:exc.end]!r}")  # fmt: skip
    if "overflow" in str(exc):
        return DataFileError("a number is too large", file=path.name, row=row, field=field,
                             expected="numbers within 64-bit range", got=text)  # fmt: skip
    if "premature EOF" in str(exc) or "Incomplete JSON" in str(exc):
        return DataFileError("the JSON ends early (the file is truncated)", file=path.name, row=row, field=field,
                             expected="a complete JSON document", got=text)  # fmt: skip
    return DataFileError("malformed JSON", file=path.name, row=row, field=field, expected="valid JSON", got=text,
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
        for pfx, event, value in ijson.parse(_Guard(fh)):
            if pfx == "" and event == "map_key":
                if seen:
                    raise DataFileError(f"the root object holds a second key {value!r} next to {rows_key!r}",
                                        file=name, expected=f"only the key {rows_key!r} at the root",
                                        got=f"key {value!r}", hint="move the extra data out of the file")  # fmt: skip
                seen = True
    except (ijson.JSONError, _Unsafe) as exc:  # pragma: no cover - the same stream parsed fine just before
        raise DataFileError(str(exc), file=name) from None


def read_first_key(path: Path, prefix: str) -> str | None:
    """The first key of the first row (read with ijson events, stops right there)."""
    try:
        with open(path, "rb") as fh:
            for pfx, event, value in ijson.parse(_Guard(fh), buf_size=1 << 14):
                if pfx == prefix and event == "map_key":
                    return str(value)
                if pfx == prefix and event == "end_map":
                    return None
    except (ijson.JSONError, UnicodeDecodeError, _Unsafe):
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

    Errors number rows from ``row_offset`` (the rows before this stream's first one) and name the field
    (and element) they sit in. ijson reads through a :class:`_Guard`: its C backend would turn a lone
    surrogate escape into ``?`` and build values of any depth (memory grows with depth squared), so
    both are refused before it sees them.
    """
    n = 0
    overflow: Exception | None = None
    guard = _Guard(fh)
    items = ijson.items(guard, prefix, use_float=True, buf_size=1 << 18)
    while True:
        try:
            row = next(items)
        except StopIteration:
            break
        except _Unsafe as bad:
            row_at, where = _locate(fh, prefix, stop=bad.offset)
            raise DataFileError(bad.problem, file=name, row=row_offset + row_at, field=where,
                                expected=bad.expected, got=bad.got) from None  # fmt: skip
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            if "overflow" not in str(exc) or _slow_backend(items):
                err = _json_error(Path(name), overflow or exc, row_offset + n)
                row_at, where = _locate(fh, prefix, stop=guard.offset)  # no further than ijson read
                if where is not None and row_at >= n:
                    err = _json_error(Path(name), overflow or exc, row_offset + row_at, field=where)
                raise err from None
            overflow = exc
            # yajl stops at numbers beyond 64 bits; the pure-Python backend reads them, so the
            # value checks can name the field. Re-read from the start and skip the rows done.
            guard.seek(0)
            items = ijson.get_backend("python").items(guard, prefix, use_float=True)
            for _ in range(n):
                next(items)
            continue
        yield row
        n += 1
        if on_bytes is not None and not n & 255:
            on_bytes(fh.tell())
    return n


class _Unsafe(Exception):
    """Raised by :class:`_Guard` at ``offset`` (bytes into the stream) before ijson reads a dangerous value."""

    def __init__(self, offset: int, problem: str, expected: str, got: str) -> None:
        self.offset, self.problem, self.expected, self.got = offset, problem, expected, got
        super().__init__(problem)


#: ``\uD800``-``\uDFFF`` escapes (with the backslashes before them, to tell ``\\uD800`` apart).
_SURROGATE = re.compile(rb"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")
_LOW = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


class _Guard:
    """A stream as ijson reads it, scanned on the way: lone surrogate escapes and nesting deeper than
    :data:`~.rules.MAX_JSON_DEPTH` (+ the rows' own container levels) raise :class:`_Unsafe`.

    The scan keeps its state between reads (inside a string or not, a pending backslash, the depth,
    the last bytes of an escape cut by the read), so what it sees is exactly the byte stream.
    """

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.seek(0)

    def seek(self, pos: int, whence: int = 0) -> int:
        self.fh.seek(pos, whence)
        self.offset, self.carry, self.pending = 0, b"", False
        self.scan = DepthScan(MAX_JSON_DEPTH + 3)  # + the rows list, the row object and {"rows": ...}
        return 0

    def tell(self) -> int:
        return int(self.fh.tell())

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        if data:
            self._surrogates(data, final=False)
            self._depth(data)
            self.offset += len(data)
        elif self.carry:
            self._surrogates(b"", final=True)
        return data

    def _surrogates(self, data: bytes, *, final: bool) -> None:
        if not self.carry and data.find(b"\\") < 0:
            return
        text, base = self.carry + data, self.offset - len(self.carry)
        judged = 0 if self.pending else len(self.carry)  # matches inside the carry were judged last time
        self.carry, self.pending = b"", False
        high_end = -1  # where the last real high-surrogate escape ended (its pair must start right there)
        for m in _SURROGATE.finditer(text):
            if len(m.group(1)) % 2 == 0:
                high_end = -1
                continue  # an escaped backslash, then a plain "u"
            high = m.group(2)[1:2].lower() in b"89ab"
            escape_at = m.end() - 6  # the backslash that starts this escape
            if high:
                rest = text[m.end() : m.end() + 6]
                if not final and len(rest) < 6 and b"\\u"[: len(rest)] == rest[:2]:
                    self.carry, self.pending = text[m.start() :], True  # its pair may start in the next read
                    return
                if _LOW.match(text, m.end()):
                    high_end = m.end()
                    continue
            elif high_end == escape_at:
                high_end = -1
                continue  # the low half of a pair
            if m.end() <= judged:
                continue
            code = m.group(2).decode().upper()
            raise _Unsafe(base + m.start(), "a lone surrogate escape is not Unicode text",
                          "a \\uD800-\\uDBFF escape followed by a \\uDC00-\\uDFFF one",
                          f"\\u{code} alone")  # fmt: skip
        if not final:  # an escape, or the run of backslashes before one, may be cut by the end of this read
            cut = max(0, len(text) - 12)
            run_start = cut
            while run_start > 0 and text[run_start - 1] == 92:
                run_start -= 1
            # keep the escape's parity: the backslashes before the cut, less an even number of them
            self.carry = text[cut - (cut - run_start) % 2 :]

    def _depth(self, data: bytes) -> None:
        at = self.scan.feed(data)
        if at is not None:
            raise _Unsafe(self.offset + at, f"lists/objects nested deeper than {MAX_JSON_DEPTH} levels",
                          f"at most {MAX_JSON_DEPTH} levels", "deeper nesting")  # fmt: skip


class _Truncated:
    """The first ``stop`` bytes of a stream (then it ends: ijson reports incomplete JSON there)."""

    def __init__(self, fh: Any, stop: int) -> None:
        self.fh, self.left = fh, stop

    def seek(self, pos: int, whence: int = 0) -> int:
        return 0  # already at the start (the guard resets its own state)

    def tell(self) -> int:
        return 0

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.fh.read(self.left if n is None or n < 0 else min(n, self.left))
        self.left -= len(data)
        return bytes(data)


_VALUE_EVENTS = ("start_map", "start_array", "string", "number", "boolean", "null")


def _locate(fh: Any, prefix: str, *, stop: int | None = None) -> tuple[int, str | None]:
    """Where a parse of ``fh`` (from its start, up to byte ``stop``) breaks off: (row index, field).

    The field is the row key whose value the parse was in, with the element index for a list
    (``vec[1]``). Read with ijson events only: no value is built.
    """
    fh.seek(0)
    source = _Guard(fh if stop is None else _Truncated(fh, stop))
    row, field = -1, None
    count, in_list, open_element = 0, False, False  # elements of the field's list seen; one still open
    field_prefix = item_prefix = ""
    try:
        for pfx, event, value in ijson.parse(source, use_float=True, buf_size=1 << 14):
            if pfx == prefix:
                if event in _VALUE_EVENTS:
                    row, field, in_list = row + 1, None, False
                elif event == "map_key":
                    field, in_list = str(value), False
                    field_prefix, item_prefix = f"{prefix}.{field}", f"{prefix}.{field}.item"
            elif field is not None and pfx == field_prefix and event == "start_array":
                in_list, count, open_element = True, 0, False
            elif in_list and pfx == field_prefix and event == "end_array":
                in_list = False
            elif in_list and pfx == item_prefix:
                if event in _VALUE_EVENTS:
                    count += 1
                    open_element = event.startswith("start_")
                elif event.startswith("end_"):
                    open_element = False
    except (ijson.JSONError, UnicodeDecodeError, ValueError, _Unsafe):
        pass
    where = field
    if field is not None and in_list:
        where = f"{field}[{count - 1 if open_element else count}]"
    return max(row, 0), where


def _slow_backend(items: Any) -> bool:
    return "python" in type(items).__module__ or type(items).__name__ == "generator"


def _check_rows_container(path: Path, fh: BinaryIO, prefix: str, n: int) -> None:
    if n:
        return
    # zero rows: either an empty list (fine) or 'rows' is not a list at all
    fh.seek(0)
    parent = prefix[: -len(".item")] if prefix != "item" else ""
    try:
        for pfx, event, _ in ijson.parse(_Guard(fh), buf_size=1 << 14):
            if pfx == parent and event in ("start_array", "start_map", "string", "number", "boolean", "null"):
                if event != "start_array":
                    got = event.replace("start_map", "object")
                    raise DataFileError("the rows are not a JSON list", file=path.name,
                                        expected="a list of row objects", got=got)  # fmt: skip
                return
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise _json_error(path, exc, 0) from None
    except _Unsafe as bad:
        raise DataFileError(bad.problem, file=path.name, expected=bad.expected, got=bad.got) from None
