"""The import rules, in one table: what each field type looks like in a NumPy or a Parquet file, and the limits.

The converter writes with :func:`npy_dtype_for`, the checker accepts with :func:`numpy_form`, and both
refuse the same fields with :func:`numpy_unsupported` — so what we write and what we accept can never
drift apart. Sources: the import API reference §3-§4 and Milvus ``internal/util/importutilv2/numpy``
(checked against a real Milvus server by ``tests/integration/test_real_milvus.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import DataFileError, UnsupportedFieldError
from ..schema import CollectionSchema, DataType, FieldSchema

__all__ = [
    "FLOAT16_MAX",
    "FLOAT32_MAX",
    "INT_RANGES",
    "META_FIELD",
    "NEWER_SERVER_KINDS",
    "PARQUET_TYPES",
    "ROW_FILE_KINDS",
    "ROW_GROUP_BYTES",
    "SOURCE_KINDS",
    "VECTOR_WIDTH",
    "ImportLimits",
    "NumpyForm",
    "arrow_type_name",
    "function_output_error",
    "npy_dtype_for",
    "numpy_form",
    "numpy_unsupported",
    "parquet_types",
    "parquet_write_type",
    "refuse_numpy_unsupported",
]

GiB = 1 << 30
#: File types an import reads, by suffix (anything else in a folder is ignored, as the cloud does).
SOURCE_KINDS = {
    ".json": "json", ".npy": "numpy", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
}  # fmt: skip
#: Kinds read row by row from one file: an import takes each file as one entry (JSON: one file per import).
ROW_FILE_KINDS = ("json", "jsonl", "csv")
#: Kinds only newer servers import directly (convert them to Parquet for Zilliz Cloud and Milvus before 2.5/2.6).
NEWER_SERVER_KINDS = {"csv": "Milvus 2.5+", "jsonl": "Milvus 2.6+ (PR #44717)"}
#: Parquet row groups we write: ~8 MiB buffered, then written (bounded memory, few row groups to read).
ROW_GROUP_BYTES = 8 << 20
#: The file (and key) of the dynamic field's values.
META_FIELD = "$meta"
#: The deepest nesting of lists/objects a JSON value (a JSON field, ``$meta``, a whole row) may have.
#: The project's bound, so that no reader or encoder recurses or allocates without end (Go's
#: encoding/json, which Milvus uses, stops at 10,000; orjson at 1,024; deep values are never real data).
MAX_JSON_DEPTH = 128
INT_RANGES = {
    DataType.INT8: (-(1 << 7), (1 << 7) - 1),
    DataType.INT16: (-(1 << 15), (1 << 15) - 1),
    DataType.INT32: (-(1 << 31), (1 << 31) - 1),
    DataType.INT64: (-(1 << 63), (1 << 63) - 1),
}
FLOAT32_MAX = float(np.finfo(np.float32).max)
FLOAT16_MAX = 65504.0


@dataclass(frozen=True)
class ImportLimits:
    """Size and layout limits (defaults: Zilliz Cloud's documented values).

    ``max_subfolder_bytes`` / ``max_total_bytes`` / ``max_depth`` / ``max_subfolders`` bound a NumPy folder;
    ``max_file_bytes`` one file of the other kinds; ``max_files`` / ``max_import_bytes`` one import request
    (an :class:`~zimport_widgets.ImportPlan` cuts a larger source into several).
    """

    max_subfolder_bytes: int = 10 * GiB
    max_total_bytes: int = 100 * GiB
    max_depth: int = 2
    max_subfolders: int = 100
    max_file_bytes: int = 10 * GiB  # one JSON, JSON Lines, CSV or Parquet file (Milvus itself: 16 GiB)
    max_files: int = 1000  # files (or NumPy sub-folders) in one import request (Milvus itself: 1,024)
    max_import_bytes: int = 1 << 40  # all the files of one import request: 1 TiB
    check_values: bool = True


@dataclass(frozen=True)
class NumpyForm:
    """How one field type is stored in a ``<field>.npy``.

    ``write`` is the dtype the converter writes (strings: a ``<U1`` placeholder, widened to the longest
    value); ``accept`` the dtype codes (kind + item size, or just ``U``/``S``) the importer takes;
    ``width(dim)`` the values per row of a vector (None: one value per row); ``text`` what a message
    says is expected (``{w}`` is the width).
    """

    write: str
    accept: frozenset[str]
    text: str
    width: Callable[[int], int] | None = None

    @property
    def ndim(self) -> int:
        return 1 if self.width is None else 2


def _form(write: str, accept: set[str], text: str, width: Callable[[int], int] | None = None) -> NumpyForm:
    return NumpyForm(write, frozenset(accept), text, width)


#: Values per row of a vector field, from its dim (NumPy and Parquet alike).
VECTOR_WIDTH = {
    DataType.FLOAT_VECTOR: lambda dim: dim,
    DataType.INT8_VECTOR: lambda dim: dim,
    DataType.BINARY_VECTOR: lambda dim: dim // 8,
    DataType.FLOAT16_VECTOR: lambda dim: dim * 2,
    DataType.BFLOAT16_VECTOR: lambda dim: dim * 2,
}

_STRING = _form("<U1", {"U", "S"}, "a string dtype (<U or S)")
_HALF = _form("|u1", {"u1"}, "uint8 of shape (rows, {w})", VECTOR_WIDTH[DataType.FLOAT16_VECTOR])

#: The one DataType → NumPy table.
NUMPY_FORMS: dict[DataType, NumpyForm] = {
    DataType.INT8: _form("<i1", {"i1"}, "int8"),
    DataType.INT16: _form("<i2", {"i2"}, "int16"),
    DataType.INT32: _form("<i4", {"i4"}, "int32"),
    DataType.INT64: _form("<i8", {"i8"}, "int64"),
    DataType.FLOAT: _form("<f4", {"f4"}, "float32"),
    DataType.DOUBLE: _form("<f8", {"f8"}, "float64"),
    DataType.BOOL: _form("|b1", {"b1"}, "bool"),
    DataType.VARCHAR: _STRING,
    DataType.JSON: _STRING,
    DataType.FLOAT_VECTOR: _form(
        "<f4", {"f4", "f8"}, "float32 or float64 of shape (rows, {w})", VECTOR_WIDTH[DataType.FLOAT_VECTOR]
    ),
    DataType.BINARY_VECTOR: _form("|u1", {"u1"}, "uint8 of shape (rows, {w})", VECTOR_WIDTH[DataType.BINARY_VECTOR]),
    DataType.FLOAT16_VECTOR: _HALF,
    DataType.BFLOAT16_VECTOR: _HALF,
    DataType.INT8_VECTOR: _form("|i1", {"i1"}, "int8 of shape (rows, {w})", VECTOR_WIDTH[DataType.INT8_VECTOR]),
}


_INTS = ("int8", "int16", "int32", "int64")
#: The one DataType -> Parquet (Arrow) table: the column types the importer converts from, by
#: :func:`arrow_type_name`. Integers may be narrower than the field and Double takes float32, not the
#: other way round; strings are ``string`` (not ``large_string``), vectors ``list<...>`` (not fixed-size).
#: The scalar, VarChar, JSON and FloatVector rows are confirmed on the real server (the ``parquet`` cases of
#: tests/support/milvus_corpus.py); the other vectors and sparse follow the 2.4 readers, not yet confirmed.
PARQUET_TYPES: dict[DataType, frozenset[str]] = {
    DataType.BOOL: frozenset({"bool"}),
    DataType.INT8: frozenset(_INTS[:1]),
    DataType.INT16: frozenset(_INTS[:2]),
    DataType.INT32: frozenset(_INTS[:3]),
    DataType.INT64: frozenset(_INTS),
    DataType.FLOAT: frozenset({"float"}),
    DataType.DOUBLE: frozenset({"float", "double"}),
    DataType.VARCHAR: frozenset({"string"}),
    DataType.JSON: frozenset({"string"}),
    DataType.FLOAT_VECTOR: frozenset({"list<float>", "list<double>"}),
    DataType.BINARY_VECTOR: frozenset({"list<uint8>"}),
    DataType.FLOAT16_VECTOR: frozenset({"list<uint8>"}),
    DataType.BFLOAT16_VECTOR: frozenset({"list<uint8>"}),
    DataType.INT8_VECTOR: frozenset({"list<int8>"}),
    DataType.SPARSE_FLOAT_VECTOR: frozenset({"string"}),
}


def arrow_type_name(arrow_type: object) -> str:
    """``int64``, ``string``, ``list<float>`` …: an Arrow type without its list item's field name."""
    import pyarrow.types as t

    for prefix, test in (
        ("list", t.is_list),
        ("large_list", t.is_large_list),
        ("fixed_size_list", t.is_fixed_size_list),
    ):
        if test(arrow_type):
            return f"{prefix}<{arrow_type_name(arrow_type.value_type)}>"  # type: ignore[attr-defined]
    return str(arrow_type)


def parquet_types(fs: FieldSchema) -> frozenset[str]:
    """The Arrow column types a Parquet file may hold for ``fs`` (an Array field: lists of its element)."""
    if fs.dtype is DataType.ARRAY and fs.element_type is not None:
        return frozenset(f"list<{name}>" for name in PARQUET_TYPES.get(fs.element_type, frozenset()))
    return PARQUET_TYPES.get(fs.dtype, frozenset())


_WRITE_SCALARS = {
    DataType.BOOL: "bool", DataType.INT8: "int8", DataType.INT16: "int16", DataType.INT32: "int32",
    DataType.INT64: "int64", DataType.FLOAT: "float32", DataType.DOUBLE: "float64", DataType.VARCHAR: "string",
    DataType.JSON: "string", DataType.SPARSE_FLOAT_VECTOR: "string",
}  # fmt: skip
_WRITE_VECTORS = {
    DataType.FLOAT_VECTOR: "float32", DataType.BINARY_VECTOR: "uint8", DataType.FLOAT16_VECTOR: "uint8",
    DataType.BFLOAT16_VECTOR: "uint8", DataType.INT8_VECTOR: "int8",
}  # fmt: skip


def parquet_write_type(fs: FieldSchema) -> object:
    """The Arrow type our Parquet writers give ``fs``'s column: one of :func:`parquet_types` (asserted).

    Vectors are ``list<...>`` of their NumPy element (Float16/BFloat16: 2 bytes per dim), Array a list of its
    element's type, sparse vectors and JSON the JSON text.
    """
    import pyarrow as pa

    if fs.dtype is DataType.ARRAY:
        assert fs.element_type is not None
        arrow: object = pa.list_(pa.type_for_alias(_WRITE_SCALARS[fs.element_type]))
    elif fs.dtype in _WRITE_VECTORS:
        arrow = pa.list_(pa.type_for_alias(_WRITE_VECTORS[fs.dtype]))
    else:
        arrow = pa.type_for_alias(_WRITE_SCALARS[fs.dtype])
    assert arrow_type_name(arrow) in parquet_types(fs), (fs, arrow)  # what we write is what the importer reads
    return arrow


def numpy_unsupported(fs: FieldSchema) -> str | None:
    """Why NumPy import cannot carry ``fs`` (None when it can): nullable, Array and sparse fields."""
    if fs.nullable:
        return "it is nullable (Milvus rejects nullable fields in NumPy files)"
    if fs.dtype is DataType.ARRAY:
        return "it is an Array field"
    if fs.dtype is DataType.SPARSE_FLOAT_VECTOR:
        return "it is a SparseFloatVector field"
    if fs.dtype not in NUMPY_FORMS:
        return f"type {fs.dtype.value} has no NumPy form"
    if len(fs.name.encode("utf-8")) + len(".npy") > 255:  # NAME_MAX of every Linux file system
        return f"its name is {len(fs.name)} characters: {fs.name[:8]}….npy is too long for a file name"
    return None


def refuse_numpy_unsupported(schema: CollectionSchema) -> None:
    """Raise :class:`UnsupportedFieldError` for the first input field a NumPy-shaped column cannot carry."""
    for fs in schema.input_fields:
        why = numpy_unsupported(fs)
        if why is not None:
            raise UnsupportedFieldError(fs.name, why)


def numpy_form(fs: FieldSchema) -> tuple[NumpyForm, int | None, str]:
    """(the field's form, values per row or None, the expected text) — raises for unsupported fields."""
    why = numpy_unsupported(fs)
    if why is not None:
        raise UnsupportedFieldError(fs.name, why)
    form = NUMPY_FORMS[fs.dtype]
    width = form.width(int(fs.dim or 0)) if form.width is not None else None
    return form, width, form.text.format(w=width)


def npy_dtype_for(fs: FieldSchema) -> tuple[np.dtype, tuple[int, ...]]:
    """The ``.npy`` dtype and per-row shape the converter writes for a field (strings: ``<U1`` placeholder)."""
    form, width, _ = numpy_form(fs)
    return np.dtype(form.write), (() if width is None else (width,))


def function_output_error(name: str, src: str, row: int | None, got: str) -> DataFileError:
    """Milvus's refusal of data for a field a function (BM25) computes."""
    return DataFileError(f"not allowed to provide data for function output field {name!r}", file=src, row=row,
                         field=name, expected="no value (a function computes this field)", got=got)  # fmt: skip
