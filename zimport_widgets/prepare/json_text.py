"""JSON text as Milvus reads it: strict JSON only (no ``NaN`` / ``Infinity``), valid UTF-8, compact when we write it.

Python's ``json`` module writes and accepts ``NaN`` and ``Infinity`` and keeps lone surrogates; Milvus's
parser refuses all three, so every JSON value we check or write goes through these two functions, which
raise :class:`ValueError` (callers turn it into a :class:`DataFileError` naming row and field).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps_compact", "loads_strict"]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` that refuses ``NaN``, ``Infinity`` and text that is not valid Unicode."""
    if isinstance(text, str) and not text.isascii():
        text.encode("utf-8")  # a lone surrogate: UnicodeEncodeError (a ValueError)
    return json.loads(text, parse_constant=_no_constant)


def dumps_compact(value: Any) -> str:
    """Compact JSON text (UTF-8 kept as is); ``NaN``/``Infinity`` or a lone surrogate raise ``ValueError``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if not text.isascii():
        text.encode("utf-8")
    return text
