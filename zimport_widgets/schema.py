"""A small collection-schema model, built from the REST describe JSON, pymilvus dicts or sample rows."""

from __future__ import annotations

import enum
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Union

from .errors import SchemaError
from .fmt import short_repr

__all__ = ["CollectionSchema", "DataType", "FieldSchema", "SchemaLike", "load_schema"]


class DataType(enum.Enum):
    """Milvus data types; the value is the REST v2 spelling, ``code`` the pymilvus enum number."""

    BOOL = "Bool"
    INT8 = "Int8"
    INT16 = "Int16"
    INT32 = "Int32"
    INT64 = "Int64"
    FLOAT = "Float"
    DOUBLE = "Double"
    VARCHAR = "VarChar"
    JSON = "JSON"
    ARRAY = "Array"
    FLOAT_VECTOR = "FloatVector"
    BINARY_VECTOR = "BinaryVector"
    FLOAT16_VECTOR = "Float16Vector"
    BFLOAT16_VECTOR = "BFloat16Vector"
    SPARSE_FLOAT_VECTOR = "SparseFloatVector"
    INT8_VECTOR = "Int8Vector"

    @property
    def code(self) -> int:
        return _CODES[self]

    @property
    def is_vector(self) -> bool:
        return self.name.endswith("_VECTOR")

    @property
    def is_int(self) -> bool:
        return self in (DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64)

    @classmethod
    def parse(cls, value: Any) -> DataType:
        """Accept a REST name (``"FloatVector"``), a pymilvus enum/name (``FLOAT_VECTOR``) or its number."""
        if isinstance(value, DataType):
            return value
        if isinstance(value, bool):
            raise SchemaError(f"unknown data type {value!r}")
        if isinstance(value, int):
            for dt, code in _CODES.items():
                if code == value:
                    return dt
            if value == 20:  # pymilvus STRING
                return DataType.VARCHAR
            raise SchemaError(f"unknown data type number {value}")
        name = getattr(value, "name", value)
        if not isinstance(name, str):
            raise SchemaError(f"unknown data type {value!r}")
        key = name.replace("DataType.", "").replace("_", "").lower()
        for dt in cls:
            if key in (dt.value.lower(), dt.name.replace("_", "").lower()):
                return dt
        if key == "string":
            return DataType.VARCHAR
        raise SchemaError(f"unknown data type {name!r}", hint=f"use one of: {', '.join(dt.value for dt in DataType)}")


_CODES = {
    DataType.BOOL: 1, DataType.INT8: 2, DataType.INT16: 3, DataType.INT32: 4, DataType.INT64: 5,
    DataType.FLOAT: 10, DataType.DOUBLE: 11, DataType.VARCHAR: 21, DataType.ARRAY: 22, DataType.JSON: 23,
    DataType.BINARY_VECTOR: 100, DataType.FLOAT_VECTOR: 101, DataType.FLOAT16_VECTOR: 102,
    DataType.BFLOAT16_VECTOR: 103, DataType.SPARSE_FLOAT_VECTOR: 104, DataType.INT8_VECTOR: 105,
}  # fmt: skip


#: Milvus's own limits (proxy ``maxNameLength``, ``maxDimension``, ``maxVarCharLength``, ``maxArrayCapacity``:
#: the defaults Zilliz Cloud keeps); a schema outside them is refused here, before any file is written.
MAX_NAME_LENGTH = 255
MAX_DIM = 32768
MAX_VARCHAR_LENGTH = 65535
MAX_ARRAY_CAPACITY = 4096
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class FieldSchema:
    """One collection field."""

    name: str
    dtype: DataType
    is_primary: bool = False
    auto_id: bool = False
    dim: int | None = None
    max_length: int | None = None
    element_type: DataType | None = None
    max_capacity: int | None = None
    nullable: bool = False
    default_value: Any = None
    description: str = ""
    #: The output of a collection function (e.g. BM25's sparse vector): the server computes it, a file must not hold it.
    function_output: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            raise SchemaError("a field has no name")
        if self.name != "$meta" and not (len(self.name) <= MAX_NAME_LENGTH and _FIELD_NAME.match(self.name)):
            raise SchemaError(
                f"field {short_repr(self.name)}: not a Milvus field name (a letter or _ first, then letters, digits "
                f"and _, at most {MAX_NAME_LENGTH} characters)"
            )
        name = self.name
        if self.dtype.is_vector and self.dtype is not DataType.SPARSE_FLOAT_VECTOR:
            top = MAX_DIM * 8 if self.dtype is DataType.BINARY_VECTOR else MAX_DIM
            if not _is_int(self.dim) or not 0 < self.dim <= top:  # type: ignore[operator]
                raise SchemaError(f"field {name!r}: a {self.dtype.value} field needs a dim from 1 to {top}, "
                                  f"not {self.dim!r}")  # fmt: skip
        if self.dtype is DataType.BINARY_VECTOR and self.dim and self.dim % 8:
            raise SchemaError(f"field {name!r}: a BinaryVector dim must be a multiple of 8, got {self.dim}")
        if self.max_length is not None and (
            not _is_int(self.max_length) or not 0 < self.max_length <= MAX_VARCHAR_LENGTH
        ):
            raise SchemaError(f"field {name!r}: max_length must be from 1 to {MAX_VARCHAR_LENGTH} (bytes), "
                              f"not {self.max_length!r}")  # fmt: skip
        if self.dtype is DataType.ARRAY and self.element_type is None:
            raise SchemaError(f"field {name!r}: an Array field needs an element type")
        if self.max_capacity is not None and (
            not _is_int(self.max_capacity) or not 0 < self.max_capacity <= MAX_ARRAY_CAPACITY
        ):
            raise SchemaError(f"field {name!r}: max_capacity must be from 1 to {MAX_ARRAY_CAPACITY}, "
                              f"not {self.max_capacity!r}")  # fmt: skip

    def describe(self) -> str:
        """Short human text like ``FloatVector(dim=768)``."""
        extra = []
        if self.dim:
            extra.append(f"dim={self.dim}")
        if self.max_length:
            extra.append(f"max_length={self.max_length}")
        if self.element_type:
            extra.append(f"element_type={self.element_type.value}")
        return f"{self.dtype.value}({', '.join(extra)})" if extra else self.dtype.value

    def to_rest(self) -> dict[str, Any]:
        """The field as the REST v2 ``collections/create`` / ``describe`` JSON shows it."""
        out: dict[str, Any] = {
            "name": self.name, "type": self.dtype.value, "primaryKey": self.is_primary,
            "autoId": self.auto_id, "partitionKey": False, "description": self.description,
        }  # fmt: skip
        params = []
        if self.dim:
            params.append({"key": "dim", "value": str(self.dim)})
        if self.max_length:
            params.append({"key": "max_length", "value": str(self.max_length)})
        if self.max_capacity:
            params.append({"key": "max_capacity", "value": str(self.max_capacity)})
        if params:
            out["params"] = params
        if self.element_type:
            out["elementType"] = self.element_type.value
        if self.nullable:
            out["nullable"] = True
        if self.function_output:
            out["isFunctionOutput"] = True
        return out


@dataclass(frozen=True)
class CollectionSchema:
    """A collection's fields (in order) and whether its dynamic field is on."""

    fields: tuple[FieldSchema, ...]
    enable_dynamic_field: bool = False
    collection_name: str | None = None
    description: str = ""
    _by_name: dict[str, FieldSchema] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        seen: dict[str, FieldSchema] = {}
        for f in self.fields:
            if f.name in seen:
                raise SchemaError(f"field {f.name!r} appears twice in the schema")
            seen[f.name] = f
        primaries = [f for f in self.fields if f.is_primary]
        if len(primaries) != 1:
            raise SchemaError(
                f"a collection needs exactly one primary key field, found {len(primaries)}"
                + (f" ({', '.join(f.name for f in primaries)})" if primaries else "")
            )
        if primaries[0].dtype not in (DataType.INT64, DataType.VARCHAR):
            raise SchemaError(f"primary key {primaries[0].name!r} must be Int64 or VarChar")
        object.__setattr__(self, "_by_name", seen)

    # -- lookups -------------------------------------------------------------------------
    def __getitem__(self, name: str) -> FieldSchema:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def primary(self) -> FieldSchema:
        return next(f for f in self.fields if f.is_primary)

    @property
    def input_fields(self) -> list[FieldSchema]:
        """Fields a data file must carry: every field but an auto-id primary key and function outputs."""
        return [f for f in self.fields if not (f.is_primary and f.auto_id) and not f.function_output]

    @property
    def function_outputs(self) -> list[str]:
        """Names of the fields a function (BM25) fills: a data file must not provide them."""
        return [f.name for f in self.fields if f.function_output]

    @property
    def vector_fields(self) -> list[FieldSchema]:
        return [f for f in self.fields if f.dtype.is_vector]

    def with_name(self, name: str) -> CollectionSchema:
        return replace(self, collection_name=name)

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_rest(cls, doc: Mapping[str, Any]) -> CollectionSchema:
        """From the REST v2 ``collections/describe`` JSON (the whole answer or its ``data``)."""
        if "data" in doc and isinstance(doc["data"], Mapping) and "fields" in doc["data"]:
            doc = doc["data"]
        if "schema" in doc and isinstance(doc["schema"], Mapping) and "fields" in doc["schema"]:
            outer = doc
            doc = {**doc["schema"], **{k: v for k, v in outer.items() if k != "schema"}}
        fields_doc = doc.get("fields")
        if not isinstance(fields_doc, list) or not fields_doc:
            raise SchemaError("a REST describe-collection document needs a non-empty 'fields' list")
        fields = []
        for i, fd in enumerate(fields_doc):
            if not isinstance(fd, Mapping):
                raise SchemaError(f"fields[{i}] is not an object")
            name = fd.get("name") or fd.get("fieldName")
            type_name = fd.get("type") or fd.get("dataType")
            if not name or not type_name:
                raise SchemaError(f"fields[{i}] needs 'name' and 'type'")
            params = _params(fd.get("params") or fd.get("elementTypeParams") or {})
            elem = fd.get("elementType") or fd.get("elementDataType")
            fields.append(
                FieldSchema(
                    name=name,
                    dtype=DataType.parse(type_name),
                    is_primary=bool(fd.get("primaryKey") or fd.get("isPrimary")),
                    auto_id=bool(fd.get("autoId", fd.get("autoID", False))),
                    dim=_int(params.get("dim")),
                    max_length=_int(params.get("max_length")),
                    element_type=DataType.parse(elem) if elem else None,
                    max_capacity=_int(params.get("max_capacity")),
                    nullable=bool(fd.get("nullable", False)),
                    default_value=fd.get("defaultValue"),
                    description=fd.get("description") or "",
                    function_output=bool(fd.get("isFunctionOutput", False)),
                )
            )
        fields = _mark_function_outputs(fields, doc.get("functions"), "outputFieldNames")
        auto = doc.get("autoId", doc.get("autoID"))
        if auto:
            fields = [replace(f, auto_id=True) if f.is_primary else f for f in fields]
        return cls(
            fields=tuple(fields),
            enable_dynamic_field=bool(doc.get("enableDynamicField", False)),
            collection_name=doc.get("collectionName"),
            description=doc.get("description") or "",
        )

    @classmethod
    def from_pymilvus(cls, doc: Mapping[str, Any]) -> CollectionSchema:
        """From ``MilvusClient.describe_collection()`` or ``CollectionSchema.to_dict()``."""
        fields = []
        for fd in doc.get("fields", []):
            params = dict(fd.get("params") or {})
            elem = fd.get("element_type")
            fields.append(
                FieldSchema(
                    name=fd["name"],
                    dtype=DataType.parse(fd["type"]),
                    is_primary=bool(fd.get("is_primary", False)),
                    auto_id=bool(fd.get("auto_id", False)),
                    dim=_int(params.get("dim")),
                    max_length=_int(params.get("max_length")),
                    element_type=DataType.parse(elem) if elem else None,
                    max_capacity=_int(params.get("max_capacity")),
                    nullable=bool(fd.get("nullable", False)),
                    default_value=fd.get("default_value"),
                    description=fd.get("description") or "",
                    function_output=bool(fd.get("is_function_output", False)),
                )
            )
        if not fields:
            raise SchemaError("a pymilvus schema dict needs a non-empty 'fields' list")
        fields = _mark_function_outputs(fields, doc.get("functions"), "output_field_names")
        if doc.get("auto_id"):
            fields = [replace(f, auto_id=True) if f.is_primary else f for f in fields]
        return cls(
            fields=tuple(fields),
            enable_dynamic_field=bool(doc.get("enable_dynamic_field", False)),
            collection_name=doc.get("collection_name"),
            description=doc.get("description") or "",
        )

    # -- serialisation -----------------------------------------------------------------------
    def to_rest(self) -> dict[str, Any]:
        """The REST v2 describe-collection shape (also a valid ``collections/create`` schema)."""
        out: dict[str, Any] = {
            "autoId": self.primary.auto_id,
            "enableDynamicField": self.enable_dynamic_field,
            "fields": [f.to_rest() for f in self.fields],
            "description": self.description,
        }
        if self.collection_name:
            out["collectionName"] = self.collection_name
        return out

    def to_create_json(self) -> dict[str, Any]:
        """The ``schema`` object of a REST v2 ``collections/create`` request (``fieldName``/``dataType``/...).

        Another shape than :meth:`to_rest` (what ``describe`` answers): the create request names its keys
        differently and nests the type parameters in ``elementTypeParams``.
        """
        fields = []
        for f in self.fields:
            fd: dict[str, Any] = {"fieldName": f.name, "dataType": f.dtype.value}
            if f.is_primary:
                fd["isPrimary"] = True
                if f.auto_id:
                    fd["autoID"] = True
            params: dict[str, Any] = {}
            if f.dim:
                params["dim"] = int(f.dim)
            if f.max_length:
                params["max_length"] = int(f.max_length)
            if f.max_capacity:
                params["max_capacity"] = int(f.max_capacity)
            if params:
                fd["elementTypeParams"] = params
            if f.element_type is not None:
                fd["elementDataType"] = f.element_type.value
            if f.nullable:
                fd["nullable"] = True
            if f.description:
                fd["description"] = f.description
            fields.append(fd)
        return {"autoID": self.primary.auto_id, "enableDynamicField": self.enable_dynamic_field, "fields": fields}

    def __repr__(self) -> str:
        name = f" {self.collection_name!r}" if self.collection_name else ""
        lines = [f"CollectionSchema{name} (dynamic field {'on' if self.enable_dynamic_field else 'off'}):"]
        width = max(len(f.name) for f in self.fields)
        for f in self.fields:
            flags = " primary key" + (", auto id" if f.auto_id else "") if f.is_primary else ""
            lines.append(f"  {f.name:<{width}}  {f.describe()}{flags}" + (", nullable" if f.nullable else ""))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{f.name}</code></td><td>{f.describe()}</td>"
            f"<td>{'PK' + (' auto-id' if f.auto_id else '') if f.is_primary else ''}</td></tr>"
            for f in self.fields
        )
        title = f"Schema of <b>{self.collection_name}</b>" if self.collection_name else "Collection schema"
        dyn = "on" if self.enable_dynamic_field else "off"
        return (
            f"<div><p>{title} (dynamic field {dyn})</p><table><thead><tr><th>field</th><th>type</th>"
            f"<th></th></tr></thead><tbody>{rows}</tbody></table></div>"
        )


def _mark_function_outputs(fields: list[FieldSchema], functions: Any, key: str) -> list[FieldSchema]:
    """Fields named as a function's output (``functions[*][key]``) marked ``function_output``."""
    if not isinstance(functions, list):
        return fields
    outputs = {str(n) for fn in functions if isinstance(fn, Mapping) for n in (fn.get(key) or [])}
    unknown = outputs - {f.name for f in fields}
    if unknown:
        raise SchemaError(f"a function outputs to no field of the schema: {', '.join(sorted(unknown))}")
    return [replace(f, function_output=True) if f.name in outputs else f for f in fields]


#: What the functions that take a schema accept: the model, a REST/pymilvus schema dict, or a schema file.
SchemaLike = Union[CollectionSchema, Mapping[str, Any], str, "os.PathLike[str]"]


def load_schema(source: str | os.PathLike[str] | Mapping[str, Any]) -> CollectionSchema:
    """A schema from a REST describe JSON file or dict, or a pymilvus dict."""
    if isinstance(source, Mapping):
        doc = source
    else:
        try:
            with open(source, encoding="utf-8") as fh:
                doc = json.load(fh)
        except FileNotFoundError:
            raise SchemaError(f"schema file {os.fspath(source)} does not exist") from None
        except IsADirectoryError:
            raise SchemaError(f"schema file {os.fspath(source)} is a folder, not a file") from None
        except UnicodeDecodeError:
            raise SchemaError(f"schema file {os.fspath(source)} is not UTF-8 text (a JSON schema expected)") from None
        except json.JSONDecodeError as exc:
            raise SchemaError(f"schema file {os.fspath(source)} is not valid JSON: {exc}") from None
        except RecursionError:
            raise SchemaError(f"schema file {os.fspath(source)} nests too deeply to be a schema") from None
        except OSError as exc:
            raise SchemaError(f"schema file {os.fspath(source)} cannot be read: {exc.strerror or exc}") from None
    if not isinstance(doc, Mapping):
        raise SchemaError("a schema must be a JSON object")
    body = doc.get("data", doc) if isinstance(doc.get("data"), Mapping) else doc
    flds = body.get("fields") or (body.get("schema") or {}).get("fields") or []
    if (flds and isinstance(flds[0], Mapping) and "is_primary" in flds[0]) or "enable_dynamic_field" in body:
        return CollectionSchema.from_pymilvus(body)
    return CollectionSchema.from_rest(doc)


def _params(raw: Any) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    out: dict[str, Any] = {}
    for p in raw or []:
        if isinstance(p, Mapping) and "key" in p:
            out[p["key"]] = p.get("value")
    return out


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SchemaError(f"expected an integer parameter, got {value!r}") from None
