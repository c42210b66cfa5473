"""Reading JSON Lines (``.jsonl`` / ``.ndjson``): one JSON object per line, streaming.

Newer Milvus imports JSON Lines directly (PR #44717); for older servers and Zilliz Cloud we convert them.
Blank lines are skipped; each other line must be one complete JSON value (a row is checked to be an
object by the row loop). Errors name the row (0-based, blank lines not counted) and the line (1-based).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import DataFileError
from ..fmt import short_repr
from .json_blocks import orjson

__all__ = ["JSONL_SUFFIXES", "iter_jsonl_rows"]

JSONL_SUFFIXES = (".jsonl", ".ndjson")
_BLOCK = 1 << 20


def _loads() -> Callable[[bytes], Any]:
    if orjson is not None:
        return orjson.loads
    return json.loads


def iter_jsonl_rows(path: str | os.PathLike[str], *, on_bytes: Callable[[int], None] | None = None) -> Iterator[Any]:
    """Yield each line's JSON value; malformed or truncated lines raise :class:`DataFileError`."""
    p = Path(path)
    loads = _loads()
    row = 0
    line_no = 0
    done = 0
    with open(p, "rb") as fh:
        rest = b""
        while True:
            block = fh.read(_BLOCK)
            data = rest + block
            if not block:
                lines, rest = ([data] if data else []), b""
            else:
                lines = data.split(b"\n")
                rest = lines.pop()
            for raw in lines:
                line_no += 1
                done += len(raw) + 1
                if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                try:
                    value = loads(raw)
                except ValueError as exc:
                    raise _line_error(p, raw, exc, row, line_no, last=not block) from None
                yield value
                row += 1
            if on_bytes is not None:
                on_bytes(min(done, p.stat().st_size))
            if not block:
                break
    if row == 0:
        raise DataFileError("the file has no rows", file=p.name, expected="one JSON object per line", got="no lines")


def _line_error(p: Path, raw: bytes, exc: Exception, row: int, line_no: int, *, last: bool) -> DataFileError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        shown = short_repr(raw.decode("utf-8"), 60)
    except UnicodeDecodeError:
        return DataFileError(
            f"line {line_no} is not valid UTF-8", file=p.name, row=row, expected="UTF-8 text", got=text
        )
    if last and ("EOF" in text or "unexpected end" in text.lower() or raw.rstrip()[-1:] not in (b"}", b"]")):
        return DataFileError(
            f"line {line_no} ends early (the file is truncated)",
            file=p.name,
            row=row,
            expected="a complete JSON object",
            got=shown,
        )
    return DataFileError(
        f"line {line_no} is not valid JSON ({text})",
        file=p.name,
        row=row,
        expected="one JSON object per line",
        got=shown,
        hint="NaN/Infinity, single quotes and trailing commas are not JSON",
    )
