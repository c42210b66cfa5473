"""Guess a collection schema from sample rows, for a first look at a file with no collection yet.

The guess is a starting point (strings get a power-of-two VarChar length, numbers lists a FloatVector):
import into a collection created from a schema you checked, or from ``describe_collection``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import DataFileError, SchemaError, local_file_errors
from ..fmt import short_repr, value_text
from ..schema import CollectionSchema, DataType, FieldSchema, SchemaLike, load_schema
from .json_rows import iter_json_rows

__all__ = ["infer_schema", "infer_schema_from_json", "resolve_schema"]

_INFER_ROWS = 100


def infer_schema(
    rows: Iterable[Mapping[str, Any]],
    *,
    primary_key: str | None = None,
    enable_dynamic_field: bool = False,
    max_length: int | None = None,
) -> CollectionSchema:
    """Guess a schema from sample rows (keys of the first row, in order).

    Ints → Int64, floats → Double, bools → Bool, strings → VarChar (max_length: the longest seen,
    rounded up to a power of two, at least 64; or ``max_length``), lists of numbers → FloatVector
    (dim = length), objects → JSON. The primary key is ``primary_key``, else ``id``/``pk`` if present,
    else the first Int64/VarChar field.
    """
    rows = list(rows)
    if not rows:
        raise SchemaError("cannot infer a schema from zero rows")
    if not isinstance(rows[0], Mapping):
        raise SchemaError("cannot infer a schema: rows must be JSON objects")
    names = list(rows[0].keys())
    fields: list[FieldSchema] = []
    for name in names:
        values = [r.get(name) for r in rows if isinstance(r, Mapping) and r.get(name) is not None]
        if not values:
            raise SchemaError(f"cannot infer the type of field {name!r}: every sample value is null")
        try:
            fields.append(_infer_field(name, values, max_length))
        except SchemaError as exc:
            raise SchemaError(
                f"the key {short_repr(name)} of the first row cannot be a field: {exc.message}",
                hint="rename the key in the source, or give a schema (--schema) with dynamic fields on, "
                "so that it goes into $meta",
            ) from None
    pk = primary_key
    if pk is None:
        pk = next((n for n in ("id", "pk") if n in names), None)
    if pk is None:
        pk = next((f.name for f in fields if f.dtype in (DataType.INT64, DataType.VARCHAR)), None)
    if pk is None or pk not in names:
        raise SchemaError("cannot infer the primary key", hint="pass primary_key= naming an Int64 or VarChar field")
    fields = [replace(f, is_primary=True) if f.name == pk else f for f in fields]
    return CollectionSchema(fields=tuple(fields), enable_dynamic_field=enable_dynamic_field)


@local_file_errors
def infer_schema_from_json(path: str | os.PathLike[str], *, rows: int = _INFER_ROWS, **kwargs: Any) -> CollectionSchema:
    """Infer a schema from the first ``rows`` rows of a JSON import file (see :func:`infer_schema`)."""
    sample = []
    p = Path(path)
    for i, row in enumerate(iter_json_rows(p)):
        if not isinstance(row, Mapping):
            raise DataFileError("each row should be a key-value map", file=p.name, row=i,
                                expected="a JSON object", got=value_text(row))  # fmt: skip
        sample.append(row)
        if len(sample) >= rows:
            break
    if not sample:
        raise SchemaError(f"{p.name}: cannot infer a schema from a file with no rows",
                          hint="pass schema= (e.g. from describe_collection)")  # fmt: skip
    kwargs.setdefault("max_length", 65535)
    return infer_schema(sample, **kwargs)


def _infer_field(name: str, values: list[Any], max_length: int | None) -> FieldSchema:
    first = values[0]
    if isinstance(first, bool):
        return FieldSchema(name, DataType.BOOL)
    if isinstance(first, int):
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return FieldSchema(name, DataType.INT64)
        return FieldSchema(name, DataType.DOUBLE)
    if isinstance(first, float):
        return FieldSchema(name, DataType.DOUBLE)
    if isinstance(first, str):
        longest = max(len(v) for v in values if isinstance(v, str))
        ml = max_length or max(64, 1 << max(0, math.ceil(math.log2(max(longest, 1)))))
        return FieldSchema(name, DataType.VARCHAR, max_length=min(ml, 65535))
    if isinstance(first, list):
        if first and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in first):
            return FieldSchema(name, DataType.FLOAT_VECTOR, dim=len(first))
        raise SchemaError(
            f"cannot infer the type of field {name!r} from a list of non-numbers",
            hint="pass a schema (e.g. from describe_collection) that says how to store it",
        )
    if isinstance(first, dict):
        return FieldSchema(name, DataType.JSON)
    raise SchemaError(f"cannot infer the type of field {name!r} from {type(first).__name__}")


def resolve_schema(src: Path, schema: SchemaLike | None) -> CollectionSchema:
    """The schema a converter uses: the one given (model, dict or file), else one inferred from ``src``."""
    if schema is None:
        return infer_schema_from_json(src)
    if isinstance(schema, CollectionSchema):
        return schema
    return load_schema(schema)
