"""Parsing one block of JSON rows at C speed: orjson, or simdjson with the float vectors going to float32.

``json_rows`` cuts a file into blocks at guessed row boundaries and hands each block here; a block
these parsers cannot read exactly (see :class:`VectorBlocks`) returns None, and ``json_rows`` reads it
with ijson instead, so rows and errors are always those of a plain streaming parse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

try:  # the fast path: whole blocks of rows at C speed; ijson alone is used without it
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency, but reading works without it
    orjson = None  # type: ignore[assignment]
try:  # float vectors straight from the JSON text into float32, never as Python floats
    import simdjson
except ImportError:  # pragma: no cover - pysimdjson is a dependency, but reading works without it
    simdjson = None  # type: ignore[assignment]

__all__ = ["VectorBlocks", "VectorSpecs", "load_rows", "orjson", "simdjson"]

VectorSpecs = Mapping[str, "tuple[int, float | None]"]
"""Float-vector fields read by the fast block reader: name -> (dim, largest allowed |value| or None)."""


def load_rows(text: bytes) -> list | None:
    if orjson is None:
        return None
    try:
        value = orjson.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


class VectorBlocks:
    """Parses a block of rows with simdjson; float vectors go from its parsed doubles to float32 at once.

    Anything unusual in a block (a vector that is not a flat list of ``dim`` numbers, a value beyond
    float32 or the limit, a duplicate key, an escaped bracket) makes ``load`` fall back to orjson for
    the whole block, so every error is found and worded by the exact path. simdjson flattens nested
    lists into the buffer (objects and non-numbers raise), so the block's ``[`` are counted: every
    one must be a list or a character of a string or key that was seen.
    """

    _ESCAPED_BRACKET = re.compile(rb"\\u005[bB]")
    #: simdjson reads a lone surrogate escape as U+FFFD: such blocks go to orjson, which refuses it
    _SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")

    def __init__(self, vectors: VectorSpecs) -> None:
        self.vectors = {name: spec for name, spec in vectors.items() if spec[0] > 0}
        self.parser = simdjson.Parser()
        self.key_opens: dict[tuple[str, ...], int] = {}  # '[' in each set of row keys seen

    def load(self, text: bytes) -> list | None:
        rows = self._load_fast(text) if self.vectors else None
        return rows if rows is not None else load_rows(text)

    def _load_fast(self, text: bytes) -> list | None:
        if text.find(b"\\") >= 0 and (self._ESCAPED_BRACKET.search(text) or self._SURROGATE.search(text)):
            return None
        try:
            doc = self.parser.parse(text)
        except RuntimeError:  # a proxy of the last block still alive: use a fresh parser
            self.parser = simdjson.Parser()
            return None
        except ValueError:
            return None
        try:
            return self._rows(doc, text)
        except (TypeError, ValueError, RuntimeError):
            return None
        finally:
            del doc

    def _rows(self, doc: Any, text: bytes) -> list | None:
        array_t, object_t, vectors = simdjson.Array, simdjson.Object, self.vectors
        if type(doc) is not array_t:
            return None
        opens = 1  # '[' met: must equal the text's count, so no vector hides a nested list
        key_opens = self.key_opens
        rows: list[dict] = []
        found: dict[str, tuple[list[int], list[Any]]] = {name: ([], []) for name in vectors}
        for obj in doc:
            if type(obj) is not object_t:
                return None
            keys = list(obj.keys())
            row: dict[str, Any] = {}
            for k in keys:
                v: Any = obj[k]
                tv = type(v)
                if tv is str:
                    opens += v.count("[")
                elif tv is array_t:
                    spec = vectors.get(k)
                    if spec is not None:
                        buf = v.as_buffer(of_type="d")  # TypeError unless all numbers (nested lists: see opens)
                        if memoryview(buf).nbytes != 8 * spec[0]:
                            return None
                        at, bufs = found[k]
                        at.append(len(rows))
                        bufs.append(buf)
                        opens += 1
                        row[k] = None
                        continue
                    v = v.as_list()
                    opens += _opens_in(v)
                elif tv is object_t:
                    v = v.as_dict()
                    opens += _opens_in(v)
                row[k] = v
            if len(row) != len(keys):
                return None  # a duplicate key: orjson keeps the last one, simdjson the first
            names = tuple(keys)
            in_keys = key_opens.get(names)
            if in_keys is None:
                in_keys = key_opens[names] = sum(k.count("[") for k in keys)
            opens += in_keys
            rows.append(row)
        if opens != text.count(b"["):
            return None
        for name, (at, bufs) in found.items():
            if not at:
                continue
            dim, limit = vectors[name]
            vecs = np.frombuffer(b"".join(bufs), dtype=np.float64).astype(np.float32).reshape(len(at), dim)
            if not np.isfinite(vecs).all() or (limit is not None and float(np.abs(vecs).max()) > limit):
                return None
            for r, vec in zip(at, vecs, strict=True):
                rows[r][name] = vec
        return rows


def _opens_in(value: Any) -> int:
    """How many ``[`` the JSON text of ``value`` holds (lists, and inside strings and keys)."""
    if type(value) is str:
        return value.count("[")
    if type(value) is list:
        return 1 + sum(_opens_in(v) for v in value)
    if type(value) is dict:
        return sum(_opens_in(k) + _opens_in(v) for k, v in value.items())
    return 0
