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

__all__ = ["DepthScan", "bracket_depth", "dumps_compact", "loads_strict"]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` that refuses ``NaN``, ``Infinity``, text that is not valid Unicode and nesting
    deeper than :data:`~.rules.MAX_JSON_DEPTH`."""
    if isinstance(text, str) and not text.isascii():
        text.encode("utf-8")  # a lone surrogate: UnicodeEncodeError (a ValueError)
    if _may_be_deep(text) and _text_depth(text) > MAX_JSON_DEPTH:
        raise ValueError(_too_deep())
    return json.loads(text, parse_constant=_no_constant)


def dumps_compact(value: Any) -> str:
    """Compact JSON text (UTF-8 kept as is); ``NaN``/``Infinity``, a lone surrogate or nesting deeper than
    :data:`~.rules.MAX_JSON_DEPTH` raise ``ValueError``."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except RecursionError:
        raise ValueError(_too_deep()) from None
    if _may_be_deep(text) and _text_depth(text) > MAX_JSON_DEPTH:  # counted on the text: C speed
        raise ValueError(_too_deep())
    if not text.isascii():
        text.encode("utf-8")
    return text


def _may_be_deep(text: str | bytes) -> bool:
    """Cheap bound first: text with no more than ``MAX_JSON_DEPTH`` opening brackets cannot nest deeper."""
    if len(text) <= 2 * MAX_JSON_DEPTH:
        return False
    if isinstance(text, str):
        return text.count("[") + text.count("{") > MAX_JSON_DEPTH
    return text.count(b"[") + text.count(b"{") > MAX_JSON_DEPTH


def _text_depth(text: str | bytes) -> int:
    """The deepest ``[``/``{`` nesting of JSON text (outside strings), counted without parsing."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return bracket_depth(data)


def bracket_depth(data: bytes) -> int:
    """Deepest bracket nesting of JSON bytes, strings skipped (no per-byte Python work, memory ~2x the text)."""
    scan = DepthScan(None)
    scan.feed(data)
    return scan.top


_OPEN, _CLOSE, _QUOTE, _BACKSLASH = 1, 2, 3, 4
_SPECIAL = bytes(
    _OPEN if c in b"[{" else _CLOSE if c in b"]}" else _QUOTE if c == 34 else _BACKSLASH if c == 92 else 0
    for c in range(256)
)


class DepthScan:
    """Bracket depth of a JSON byte stream fed in pieces (strings and escaped quotes skipped).

    Only the special bytes matter: they are mapped to small codes (``bytes.translate``, C speed) and the
    work is done on the positions of the few that are not 0. The state between pieces: the depth, inside
    a string or not, the backslashes at the end of the last piece. ``top`` is the deepest level seen.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.depth = self.top = 0
        self.in_string = False
        self.backslashes = 0

    def feed(self, data: bytes) -> int | None:
        """Take the next piece; the index in it where the depth first passes ``limit``, else None."""
        t = np.frombuffer(data.translate(_SPECIAL), np.uint8)
        at = np.flatnonzero(t)
        if not len(at):
            self.backslashes = 0
            return None
        code = t[at]
        quote = code == _QUOTE
        bs = code == _BACKSLASH
        if bs.any() or self.backslashes:
            n = len(at)
            prev_bs = np.zeros(n, bool)  # the special byte just before is a backslash right next to it
            prev_bs[1:] = bs[:-1] & (at[1:] == at[:-1] + 1)
            breaks = np.where(~prev_bs, np.arange(n), 0)
            np.maximum.accumulate(breaks, out=breaks)
            run = np.arange(n) - breaks  # backslashes right before each special byte
            if self.backslashes and at[0] == 0:  # a run from the last piece continues into this one
                lead = (breaks == 0) & (at == np.arange(n))
                run = run + np.where(lead, self.backslashes, 0)
            quote &= run % 2 == 0
            ends_with_backslash = bool(bs[-1]) and int(at[-1]) == len(data) - 1
            self.backslashes = int(run[-1]) + 1 if ends_with_backslash else 0
        else:
            self.backslashes = 0
        toggles = np.cumsum(quote, dtype=np.int64)
        outside = (toggles + self.in_string) % 2 == 0
        step = np.where(outside & (code == _OPEN), 1, np.where(outside & (code == _CLOSE), -1, 0))
        depth = self.depth + np.cumsum(step)
        top = int(depth.max())
        self.top = max(self.top, top)
        if self.limit is not None and top > self.limit:
            return int(at[int(np.argmax(depth > self.limit))])
        self.depth = int(depth[-1])
        self.in_string = bool((int(toggles[-1]) + self.in_string) % 2)
        return None


def _too_deep(limit: int = MAX_JSON_DEPTH) -> str:
    return f"lists/objects nested deeper than {limit} levels"
