"""JSON text as Milvus reads it: strict JSON only (no ``NaN`` / ``Infinity``), valid UTF-8, compact when we write it.

Python's ``json`` module writes and accepts ``NaN`` and ``Infinity`` and keeps lone surrogates; Milvus's
parser refuses all three, so every JSON value we check or write goes through these two functions, which
raise :class:`ValueError` (callers turn it into a :class:`DataFileError` naming row and field).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .rules import MAX_JSON_DEPTH

__all__ = ["bracket_depth", "check_depth", "dumps_compact", "loads_strict"]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` that refuses ``NaN``, ``Infinity``, text that is not valid Unicode and nesting
    deeper than :data:`~.rules.MAX_JSON_DEPTH`."""
    if isinstance(text, str) and not text.isascii():
        text.encode("utf-8")  # a lone surrogate: UnicodeEncodeError (a ValueError)
    if len(text) > 2 * MAX_JSON_DEPTH and _text_depth(text) > MAX_JSON_DEPTH:
        raise ValueError(_too_deep())
    return json.loads(text, parse_constant=_no_constant)


def dumps_compact(value: Any) -> str:
    """Compact JSON text (UTF-8 kept as is); ``NaN``/``Infinity``, a lone surrogate or nesting deeper than
    :data:`~.rules.MAX_JSON_DEPTH` raise ``ValueError``."""
    check_depth(value)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if not text.isascii():
        text.encode("utf-8")
    return text


def check_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise ``ValueError`` if lists/dicts in ``value`` nest deeper than ``limit`` (walked without recursion)."""
    if not isinstance(value, (list, dict)):
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ValueError(_too_deep(limit))
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, (list, dict)))


def _text_depth(text: str | bytes) -> int:
    """The deepest ``[``/``{`` nesting of JSON text (outside strings), counted without parsing."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return bracket_depth(data)


def bracket_depth(data: bytes) -> int:
    """Deepest bracket nesting of JSON bytes, strings skipped (NumPy, no per-byte Python work)."""
    b = np.frombuffer(data, np.uint8)
    if not len(b):
        return 0
    quote = b == 34
    backslash = b == 92
    if backslash.any():  # a quote after an odd run of backslashes is escaped
        idx = np.arange(len(b))
        last_other = np.maximum.accumulate(np.where(backslash, -1, idx))
        run = np.zeros(len(b), np.int64)
        run[1:] = idx[:-1] - last_other[:-1]
        quote &= run % 2 == 0
    outside = np.cumsum(quote) % 2 == 0
    step = ((b == 91) | (b == 123)).astype(np.int64) - ((b == 93) | (b == 125))
    step[~outside] = 0
    return int(np.cumsum(step).max(initial=0))


def _too_deep(limit: int = MAX_JSON_DEPTH) -> str:
    return f"lists/objects nested deeper than {limit} levels"
