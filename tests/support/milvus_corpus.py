"""Sources for the real-importer conformance suite: schemas, good rows, and a corpus of bad sources.

Each :class:`Case` builds files in a folder and lists the files to import (what both our checker and
Milvus's bulk insert are given). ``laxer`` names the cases where Milvus 2.3.5 accepts what Milvus 2.4+ /
Zilliz Cloud refuse: there the checker must refuse and 2.3.5 must accept (docs/milvus-versions.md lists
them; a test keeps the two in step).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zimport_widgets.prepare.convert import convert_json_to_numpy
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

F = FieldSchema
D = DataType
ROWS = 40
DIM = 8

#: every scalar type, multibyte VarChar, JSON, a float vector and dynamic keys ($meta)
SCALARS = CollectionSchema(
    fields=(
        F("id", D.INT64, is_primary=True),
        F("flag", D.BOOL),
        F("i8", D.INT8),
        F("i16", D.INT16),
        F("i32", D.INT32),
        F("i64", D.INT64),
        F("f32", D.FLOAT),
        F("f64", D.DOUBLE),
        F("text", D.VARCHAR, max_length=64),
        F("doc", D.JSON),
        F("vec", D.FLOAT_VECTOR, dim=DIM),
    ),
    enable_dynamic_field=True,
    collection_name="scalars",
)
#: auto-id primary key and a binary vector
BINARY = CollectionSchema(
    fields=(
        F("pk", D.INT64, is_primary=True, auto_id=True),
        F("tag", D.VARCHAR, max_length=32),
        F("bits", D.BINARY_VECTOR, dim=16),
    ),
    collection_name="binary",
)
#: a VarChar primary key, no dynamic field
STRKEY = CollectionSchema(
    fields=(F("key", D.VARCHAR, is_primary=True, max_length=40), F("vec", D.FLOAT_VECTOR, dim=DIM)),
    collection_name="strkey",
)
SCHEMAS = {"scalars": SCALARS, "binary": BINARY, "strkey": STRKEY}


def rows_for(schema_key: str, n: int = ROWS, start: int = 0) -> list[dict]:
    rng = np.random.default_rng(start + 7)
    out = []
    for i in range(start, start + n):
        vec = [round(float(x), 4) for x in rng.standard_normal(DIM)]
        if schema_key == "scalars":
            row = {
                "id": i, "flag": i % 3 == 0, "i8": (i % 250) - 125, "i16": -30000 + i, "i32": 2_000_000_000 - i,
                "i64": -(2**62) + i, "f32": i / 8, "f64": i / 3, "text": ("日本語テキスト·é" * (i % 4))[:20] + f"#{i}",
                "doc": {"n": i, "tags": ["a", "ü"], "nested": {"ok": i % 2 == 0}}, "vec": vec,
            }  # fmt: skip
            if i % 2:
                row["colour"] = ["red", "green"][i % 4 // 2]  # a dynamic key, on every other row
                row["score"] = i * 1.5
            out.append(row)
        elif schema_key == "binary":
            out.append({"tag": f"t{i}", "bits": [int(x) for x in rng.integers(0, 256, 2)]})
        else:
            out.append({"key": f"k-{i:04d}-ключ", "vec": vec})
    return out


def write_json(path: Path, rows: list, *, root: str = "rows") -> Path:
    path.write_text(json.dumps({root: rows}, ensure_ascii=False), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list, schema: CollectionSchema) -> Path:
    """Rows as Milvus's CSV reader takes them: a header of the schema's input fields, lists and objects as JSON."""
    import csv

    names = [fs.name for fs in schema.input_fields]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(names)
        for r in rows:
            cells = []
            for name in names:
                v = r[name]
                if isinstance(v, bool):
                    cells.append("true" if v else "false")
                elif isinstance(v, (list, dict)):
                    cells.append(json.dumps(v, ensure_ascii=False))
                else:
                    cells.append(repr(v) if isinstance(v, float) else str(v))
            out.writerow(cells)
    return path


def converted(schema_key: str, folder: Path, n: int = ROWS) -> Path:
    """The converter's NumPy output for ``rows_for(schema_key)`` in ``folder`` (created)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    src = write_json(folder.parent / f"{folder.name}.src.json", rows_for(schema_key, n))
    convert_json_to_numpy(src, folder, SCHEMAS[schema_key], progress=False, workers=1)
    src.unlink()
    return folder


# ---------------------------------------------------------------------------------------------- the corpus
@dataclass(frozen=True)
class Case:
    name: str
    schema: str
    build: Callable[[Path], list[Path]]  # folder -> the files handed to the importer
    laxer: bool = False  # Milvus 2.3.5 accepts it, 2.4+ / Zilliz Cloud refuse it
    accepted: bool = False  # a valid variant (both must accept)
    crashes: bool = False  # the server process dies on it (a panic in npyio): judged on a server of its own


CASES: list[Case] = []


def case(name: str, schema: str = "scalars", *, laxer: bool = False, accepted: bool = False):
    def register(fn: Callable[[Path], list[Path]]) -> Callable[[Path], list[Path]]:
        CASES.append(Case(name, schema, fn, laxer, accepted))
        return fn

    return register


def _npy_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.npy"))


def _numpy_case(
    name: str, schema: str = "scalars", *, laxer: bool = False, accepted: bool = False, crashes: bool = False
):
    """A NumPy case: ``fn(folder)`` mutates the converter's good output in ``folder``."""

    def register(fn: Callable[[Path], None]) -> None:
        def build(folder: Path) -> list[Path]:
            converted(schema, folder)
            extra = fn(folder)
            return _npy_files(folder) + (extra or [])

        CASES.append(Case(name, schema, build, laxer, accepted, crashes))

    return register


def _resave(folder: Path, field: str, arr: np.ndarray, **kw) -> None:
    np.save(folder / f"{field}.npy", arr, **kw)


def _load(folder: Path, field: str) -> np.ndarray:
    return np.load(folder / f"{field}.npy")


def _raw_header(folder: Path, field: str, text: bytes) -> None:
    """Replace a file's header by ``text`` (padded as NumPy pads), keeping the data: a hand-written header."""
    arr = _load(folder, field)
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    header = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text
    (folder / f"{field}.npy").write_bytes(header + np.ascontiguousarray(arr).tobytes())


# -- NumPy: dtypes --------------------------------------------------------------------------------------
for _field, _dtype in [("i64", np.int32), ("id", np.int16), ("i64", np.float64), ("i64", np.bool_),
                       ("i8", np.int64), ("i16", np.int8), ("i32", np.int64), ("f32", np.float64),
                       ("f64", np.float32), ("flag", np.float32), ("flag", np.int8)]:  # fmt: skip

    @_numpy_case(f"npy dtype {np.dtype(_dtype).name} for {_field}")
    def _(folder: Path, _field=_field, _dtype=_dtype) -> None:
        _resave(folder, _field, _load(folder, _field).astype(_dtype))


@_numpy_case("npy integers for VarChar")
def _(folder: Path) -> None:
    _resave(folder, "text", np.arange(ROWS, dtype=np.int64))


@_numpy_case("npy float16 vectors")
def _(folder: Path) -> None:
    _resave(folder, "vec", _load(folder, "vec").astype(np.float16))


@_numpy_case("npy int64 vectors")
def _(folder: Path) -> None:
    _resave(folder, "vec", np.ones((ROWS, DIM), dtype=np.int64))


@_numpy_case("npy object array (pickled)")
def _(folder: Path) -> None:
    _resave(folder, "text", np.array([f"s{i}" for i in range(ROWS)], dtype=object), allow_pickle=True)


# -- NumPy: shapes ----------------------------------------------------------------------------------------
@_numpy_case("npy wrong dim")
def _(folder: Path) -> None:
    _resave(folder, "vec", _load(folder, "vec")[:, : DIM - 1].copy())


@_numpy_case("npy 2-D scalar column")
def _(folder: Path) -> None:
    _resave(folder, "i64", _load(folder, "i64").reshape(ROWS, 1))


@_numpy_case("npy flattened vectors")
def _(folder: Path) -> None:
    _resave(folder, "vec", _load(folder, "vec").reshape(-1))


@_numpy_case("npy 3-D vectors")
def _(folder: Path) -> None:
    _resave(folder, "vec", _load(folder, "vec").reshape(ROWS, 2, DIM // 2))


@_numpy_case("npy 0-d array")
def _(folder: Path) -> None:
    _resave(folder, "i32", np.array(5, dtype=np.int32))


@_numpy_case("npy unequal row counts")
def _(folder: Path) -> None:
    _resave(folder, "i16", _load(folder, "i16")[:-1].copy())


@_numpy_case("npy vectors one row short")
def _(folder: Path) -> None:
    _resave(folder, "vec", _load(folder, "vec")[:-1].copy())


# -- NumPy: headers ---------------------------------------------------------------------------------------
@_numpy_case("npy header without ', }' (vector)")
def _(folder: Path) -> None:
    _raw_header(folder, "vec", f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({ROWS}, {DIM})}}".encode())


@_numpy_case("npy header without ', }' (1-D)")
def _(folder: Path) -> None:
    _raw_header(folder, "i64", f"{{'descr': '<i8', 'fortran_order': False, 'shape': ({ROWS},)}}".encode())


@_numpy_case("npy header keys in another order", crashes=True)
def _(folder: Path) -> None:
    _raw_header(folder, "i64", f"{{'shape': ({ROWS},), 'fortran_order': False, 'descr': '<i8', }}".encode())


@_numpy_case("npy header without spaces")
def _(folder: Path) -> None:
    _raw_header(folder, "i32", f"{{'descr':'<i4','fortran_order':False,'shape':({ROWS},),}}".encode())


@_numpy_case("npy format 3.0")
def _(folder: Path) -> None:
    with open(folder / "i64.npy", "r+b") as fh:
        arr = np.load(fh)
        fh.seek(0)
        np.lib.format.write_array(fh, arr, version=(3, 0))


@_numpy_case("npy not a NumPy file")
def _(folder: Path) -> None:
    (folder / "i32.npy").write_bytes(b"this is not numpy data at all" * 10)


@_numpy_case("npy empty file")
def _(folder: Path) -> None:
    (folder / "f64.npy").write_bytes(b"")


@_numpy_case("npy truncated int64 data")
def _(folder: Path) -> None:
    p = folder / "i64.npy"
    p.write_bytes(p.read_bytes()[:-20])


@_numpy_case("npy truncated vector data")
def _(folder: Path) -> None:
    p = folder / "vec.npy"
    p.write_bytes(p.read_bytes()[: -DIM * 4 - 3])


@_numpy_case("npy truncated <U strings", laxer=True)
def _(folder: Path) -> None:
    p = folder / "text.npy"
    p.write_bytes(p.read_bytes()[:-8])


@_numpy_case("npy Fortran-ordered vectors", laxer=True)
def _(folder: Path) -> None:
    _resave(folder, "vec", np.asfortranarray(_load(folder, "vec")))


# -- NumPy: names and files -------------------------------------------------------------------------------
@_numpy_case("npy missing field file")
def _(folder: Path) -> None:
    (folder / "f32.npy").unlink()


@_numpy_case("npy extra file naming no field")
def _(folder: Path) -> None:
    np.save(folder / "surplus.npy", np.arange(ROWS))


@_numpy_case("npy case-different name")
def _(folder: Path) -> None:
    (folder / "text.npy").rename(folder / "Text.npy")


@_numpy_case("npy unsupported file listed")
def _(folder: Path) -> list[Path]:
    notes = folder / "notes.txt"
    notes.write_text("not data")
    return [notes]


@_numpy_case("npy csv file listed")
def _(folder: Path) -> list[Path]:
    notes = folder / "extra.csv"
    notes.write_text("a,b\n1,2\n")
    return [notes]


@_numpy_case("npy auto-id primary key provided", schema="binary")
def _(folder: Path) -> None:
    np.save(folder / "pk.npy", np.arange(ROWS, dtype=np.int64))


@_numpy_case("npy binary vector wrong width", schema="binary")
def _(folder: Path) -> None:
    _resave(folder, "bits", np.zeros((ROWS, 3), dtype=np.uint8))


@_numpy_case("npy binary vector as bool", schema="binary")
def _(folder: Path) -> None:
    _resave(folder, "bits", np.zeros((ROWS, 2), dtype=np.bool_))


@_numpy_case("npy binary vector as int8", schema="binary")
def _(folder: Path) -> None:
    _resave(folder, "bits", np.zeros((ROWS, 2), dtype=np.int8))


@_numpy_case("npy $meta with the dynamic field off", schema="strkey")
def _(folder: Path) -> None:
    np.save(folder / "$meta.npy", np.array(["{}"] * ROWS))


# -- NumPy: values ----------------------------------------------------------------------------------------
@_numpy_case("npy NaN in a vector")
def _(folder: Path) -> None:
    v = _load(folder, "vec")
    v[5, 2] = np.nan
    _resave(folder, "vec", v)


@_numpy_case("npy Inf in a vector")
def _(folder: Path) -> None:
    v = _load(folder, "vec")
    v[ROWS - 1, 0] = -np.inf
    _resave(folder, "vec", v)


@_numpy_case("npy JSON field not JSON")
def _(folder: Path) -> None:
    docs = _load(folder, "doc").astype(object)
    docs[3] = "{not json"
    _resave(folder, "doc", np.array(docs.tolist()))


@_numpy_case("npy $meta not JSON")
def _(folder: Path) -> None:
    meta = _load(folder, "$meta").astype(object)
    meta[1] = "nope{"
    _resave(folder, "$meta", np.array(meta.tolist()))


@_numpy_case("npy $meta holding a list", laxer=True)
def _(folder: Path) -> None:
    meta = _load(folder, "$meta").astype(object)
    meta[2] = "[1, 2]"
    _resave(folder, "$meta", np.array(meta.tolist()))


@_numpy_case("npy VarChar over max_length", laxer=True)
def _(folder: Path) -> None:
    texts = _load(folder, "text").astype(object)
    texts[4] = "x" * 65
    _resave(folder, "text", np.array(texts.tolist()))


@_numpy_case("npy VarChar over max_length in UTF-8 bytes only", laxer=True)
def _(folder: Path) -> None:
    texts = _load(folder, "text").astype(object)
    texts[4] = "é" * 40  # 40 characters, 80 bytes: max_length counts bytes
    _resave(folder, "text", np.array(texts.tolist()))


@_numpy_case("npy JSON field holding a list", accepted=True)
def _(folder: Path) -> None:
    docs = _load(folder, "doc").astype(object)
    docs[6] = "[1, 2, 3]"
    _resave(folder, "doc", np.array(docs.tolist()))


# -- NumPy: accepted variants -----------------------------------------------------------------------------
@_numpy_case("npy float64 vectors", accepted=True)
def _(folder: Path) -> None:
    _resave(folder, "vec", _load(folder, "vec").astype(np.float64))


@_numpy_case("npy |S strings for VarChar", accepted=True)
def _(folder: Path) -> None:
    _resave(folder, "text", np.array([f"plain-{i}".encode() for i in range(ROWS)]))


@_numpy_case("npy big-endian ints", accepted=True)
def _(folder: Path) -> None:
    _resave(folder, "i64", _load(folder, "i64").astype(">i8"))


@_numpy_case("npy format 2.0", accepted=True)
def _(folder: Path) -> None:
    with open(folder / "i32.npy", "r+b") as fh:
        arr = np.load(fh)
        fh.seek(0)
        np.lib.format.write_array(fh, arr, version=(2, 0))


@_numpy_case("npy 1-D with the Fortran flag", accepted=True)
def _(folder: Path) -> None:
    _raw_header(folder, "i64", f"{{'descr': '<i8', 'fortran_order': True, 'shape': ({ROWS},), }}".encode())


@case("npy zero rows", accepted=True)
def _(folder: Path) -> list[Path]:
    folder.mkdir()
    from zimport_widgets.prepare.rules import npy_dtype_for

    for fs in SCALARS.input_fields:
        dtype, shape = npy_dtype_for(fs)
        np.save(folder / f"{fs.name}.npy", np.zeros((0, *shape), dtype=dtype if dtype.kind != "U" else "<U4"))
    return _npy_files(folder)


# -- JSON --------------------------------------------------------------------------------------------------
def _json_case(name: str, schema: str = "scalars", *, laxer: bool = False, accepted: bool = False):
    """A JSON case: ``fn(rows)`` mutates the good rows (or returns the whole document to write)."""

    def register(fn: Callable[[list[dict]], object]) -> None:
        def build(folder: Path) -> list[Path]:
            folder.mkdir()
            rows = rows_for(schema)
            doc = fn(rows)
            path = folder / "rows.json"
            if isinstance(doc, (bytes, str)):
                path.write_bytes(doc.encode() if isinstance(doc, str) else doc)
            else:
                path.write_text(json.dumps({"rows": rows} if doc is None else doc, ensure_ascii=False))
            return [path]

        CASES.append(Case(name, schema, build, laxer, accepted))

    return register


def _set(i: int, key: str, value: object) -> Callable[[list[dict]], None]:
    def fn(rows: list[dict]) -> None:
        rows[i][key] = value

    return fn


for _name, _i, _key, _value in [
    ("string for Int64", 3, "i64", "12"), ("float for Int64", 5, "i64", 1.5), ("Int8 out of range", 7, "i8", 300),
    ("Int16 out of range", 1, "i16", 70000), ("string for Bool", 2, "flag", "true"), ("number for Bool", 4, "flag", 1),
    ("null for Int32", 6, "i32", None), ("number for VarChar", 8, "text", 42), ("list for VarChar", 8, "text", ["a"]),
    ("vector of wrong dim", 9, "vec", [0.1] * (DIM + 1)), ("vector with a string", 10, "vec", [0.1] * 7 + ["x"]),
    ("vector null", 11, "vec", None), ("vector as an object", 12, "vec", {"a": 1}),
    ("JSON field a list", 13, "doc", [1, 2]), ("JSON field a number", 14, "doc", 5),
    ("JSON field a bool", 15, "doc", True), ("JSON field an unparsable string", 16, "doc", "{oops"),
    ("JSON field null", 17, "doc", None), ("Float beyond float32", 18, "f32", 1e39),
    ("Bool as null", 19, "flag", None),
]:  # fmt: skip
    _json_case(f"json {_name}")(_set(_i, _key, _value))


@_json_case("json missing field")
def _(rows: list[dict]) -> None:
    del rows[20]["f64"]


@_json_case("json row not an object")
def _(rows: list[dict]) -> object:
    return {"rows": [*rows[:3], [1, 2, 3], *rows[3:]]}


@_json_case("json rows not a list")
def _(rows: list[dict]) -> object:
    return {"rows": {"0": rows[0]}}


@_json_case("json malformed (cut off)")
def _(rows: list[dict]) -> object:
    return json.dumps({"rows": rows})[:-40]


@_json_case("json empty file")
def _(rows: list[dict]) -> object:
    return b""


@_json_case("json extra key with the dynamic field off", schema="strkey")
def _(rows: list[dict]) -> None:
    rows[2]["surplus"] = 1


@_json_case("json auto-id primary key provided", schema="binary")
def _(rows: list[dict]) -> None:
    rows[0]["pk"] = 5


@_json_case("json binary vector byte 256", schema="binary")
def _(rows: list[dict]) -> None:
    rows[3]["bits"] = [0, 256]


@_json_case("json binary vector wrong width", schema="binary")
def _(rows: list[dict]) -> None:
    rows[3]["bits"] = [0, 1, 2]


@_json_case("json VarChar primary key a number", schema="strkey")
def _(rows: list[dict]) -> None:
    rows[1]["key"] = 17


@_json_case("json VarChar over max_length", laxer=True)
def _(rows: list[dict]) -> None:
    rows[5]["text"] = "y" * 65


@_json_case("json $meta key also in the row", laxer=True)
def _(rows: list[dict]) -> None:
    rows[1]["$meta"] = {"colour": "blue"}  # row 1 has a dynamic 'colour' key already


@_json_case("json $meta not an object")
def _(rows: list[dict]) -> None:
    rows[2]["$meta"] = [1, 2]


@_json_case("json a bare list of rows", accepted=True)
def _(rows: list[dict]) -> object:
    return rows


@_json_case("json JSON field as a JSON string", accepted=True)
def _(rows: list[dict]) -> None:
    rows[0]["doc"] = json.dumps({"as": "string"})


@_json_case("json zero rows", accepted=True)
def _(rows: list[dict]) -> object:
    return {"rows": []}


@case("json two files in one import")
def _(folder: Path) -> list[Path]:
    folder.mkdir()
    return [
        write_json(folder / "a.json", rows_for("scalars", 5)),
        write_json(folder / "b.json", rows_for("scalars", 5)),
    ]


@case("json and NumPy mixed")
def _(folder: Path) -> list[Path]:
    converted("scalars", folder)
    return [*_npy_files(folder), write_json(folder / "rows.json", rows_for("scalars", 5))]


# ---------------------------------------------------------------------------------------------- Parquet
#: The Arrow column types of the SCALARS schema as the importer wants them (rules.PARQUET_TYPES).
_ARROW = {
    "id": "int64", "flag": "bool", "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64", "f32": "float32",
    "f64": "float64", "text": "string", "doc": "string", "vec": "list<float32>", "$meta": "string",
}  # fmt: skip


def _arrow_type(name: str):
    import pyarrow as pa

    if name.startswith(("list<", "fixed8<")):
        inner = getattr(pa, name[name.index("<") + 1 : -1])()
        return pa.list_(inner, 8) if name.startswith("fixed8<") else pa.list_(inner)
    named = {"bool": pa.bool_(), "string": pa.string(), "large_string": pa.large_string()}
    return named.get(name) or getattr(pa, name)()


def write_parquet(
    path: Path,
    rows: list[dict],
    *,
    types: dict | None = None,
    drop: tuple = (),
    extra: dict | None = None,
    mutate: dict | None = None,
    row_group_size: int | None = None,
) -> Path:
    """SCALARS rows as a Parquet file: JSON fields and ``$meta`` (the rows' dynamic keys) as JSON text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {}
    for name, type_name in {**_ARROW, **(types or {})}.items():
        if name in drop:
            continue
        if name == "doc":
            values = [json.dumps(r["doc"], ensure_ascii=False) for r in rows]
        elif name == "$meta":
            values = [json.dumps({k: v for k, v in r.items() if k not in _ARROW}) for r in rows]
        else:
            values = [r[name] for r in rows]
        if mutate and name in mutate:
            values = mutate[name](values)
        columns[name] = pa.array(values, type=_arrow_type(type_name))
    for name, values in (extra or {}).items():
        columns[name] = pa.array(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def _parquet_case(name: str, *, laxer: bool = False, accepted: bool = False, **kw: object) -> None:
    def build(folder: Path) -> list[Path]:
        return [write_parquet(folder / "rows.parquet", rows_for("scalars", 20), **kw)]  # type: ignore[arg-type]

    CASES.append(Case(name, "scalars", build, laxer, accepted))


def _at(row: int, value: object):
    return lambda values: [value if i == row else v for i, v in enumerate(values)]


_parquet_case("parquet as written", accepted=True)
_parquet_case(
    "parquet narrower ints",
    accepted=True,
    types={"id": "int16", "i16": "int8"},
    mutate={"i16": lambda v: [x % 100 for x in v]},
)
_parquet_case("parquet float32 for double", accepted=True, types={"f64": "float32"})
_parquet_case("parquet float64 vectors", accepted=True, types={"vec": "list<float64>"})
_parquet_case("parquet without $meta", accepted=True, drop=("$meta",))
_parquet_case("parquet several row groups", accepted=True, row_group_size=7)
_parquet_case("parquet int64 for int8", types={"i8": "int64"})
_parquet_case("parquet float64 for float", types={"f32": "float64"})
_parquet_case("parquet fixed-size list vectors", types={"vec": "fixed8<float32>"})
_parquet_case("parquet large_string for varchar", types={"text": "large_string"})
_parquet_case("parquet string for int32", types={"i32": "string"}, mutate={"i32": lambda v: [str(x) for x in v]})
_parquet_case("parquet int for bool", types={"flag": "int64"}, mutate={"flag": lambda v: [int(x) for x in v]})
_parquet_case("parquet missing column", drop=("i16",))
_parquet_case("parquet extra column", extra={"nope": list(range(20))})
_parquet_case("parquet short vector", mutate={"vec": _at(5, [0.5] * 7)})
_parquet_case("parquet JSON text that does not parse", mutate={"doc": _at(2, "{bad")})
_parquet_case("parquet null in a non-nullable int", laxer=True, mutate={"i32": _at(3, None)})


@case("parquet file that is not Parquet")
def _(folder: Path) -> list[Path]:
    folder.mkdir()
    (folder / "rows.parquet").write_bytes(b"PAR1 not really a parquet file")
    return [folder / "rows.parquet"]


def build(case: Case, root: Path) -> list[Path]:
    folder = root / case.name.replace(" ", "_").replace("/", "_").replace("$", "S").replace("'", "")
    if folder.exists():
        shutil.rmtree(folder)
    return case.build(folder)
