"""convert(): every source kind into Parquet and NumPy, the same values out, and each bad input named precisely.

(That Milvus imports what these write and reads every value back equal is tests/integration/test_real_milvus.py.)"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zimport_widgets import convert
from zimport_widgets.errors import DataFileError, UnsupportedFieldError
from zimport_widgets.prepare.rules import arrow_type_name, parquet_types
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

SCHEMA = CollectionSchema(
    (
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("vec", DataType.FLOAT_VECTOR, dim=3),
        FieldSchema("title", DataType.VARCHAR, max_length=12),
        FieldSchema("score", DataType.FLOAT),
        FieldSchema("ok", DataType.BOOL),
        FieldSchema("info", DataType.JSON),
    ),
    enable_dynamic_field=True,
)
ROWS = [
    {"id": i, "vec": [i + 0.5, -1.0, 2.0], "title": f"t{i}é", "score": i / 4, "ok": i % 2 == 0, "info": {"n": i}}
    for i in range(50)
]


def _frame(rows=ROWS):
    return pd.DataFrame(rows)


def _jsonl(path, rows=ROWS):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def _csv(path, rows=ROWS, extra=""):
    lines = ["id,vec,title,score,ok,info" + (",tag" if extra else "")]
    for r in rows:
        info = json.dumps(r["info"]).replace('"', '""')
        cells = [str(r["id"]), f'"{json.dumps(r["vec"])}"', r["title"], repr(r["score"]), str(r["ok"]).lower()]
        lines.append(",".join([*cells, f'"{info}"', *([extra] if extra else [])]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read_back(result):
    table = pq.read_table(result.path)
    return table.to_pylist()


def _same_as_rows(got, rows=ROWS):
    assert len(got) == len(rows)
    for g, r in zip(got, rows, strict=True):
        assert g["id"] == r["id"] and g["title"] == r["title"] and g["ok"] == r["ok"]
        assert g["vec"] == pytest.approx(r["vec"]) and g["score"] == pytest.approx(r["score"])
        assert json.loads(g["info"]) == r["info"]


@pytest.mark.parametrize("kind", ["dataframe", "table", "reader", "jsonl", "csv", "dicts", "generator", "json"])
def test_every_source_kind_writes_the_same_parquet(tmp_path, kind):
    sources = {
        "dataframe": lambda: _frame(),
        "table": lambda: pa.Table.from_pandas(_frame().assign(info=[json.dumps(r["info"]) for r in ROWS])),
        "reader": lambda: pa.Table.from_pylist([dict(r, info=json.dumps(r["info"])) for r in ROWS]).to_reader(
            max_chunksize=7
        ),
        "jsonl": lambda: _jsonl(tmp_path / "rows.jsonl"),
        "csv": lambda: _csv(tmp_path / "rows.csv"),
        "dicts": lambda: list(ROWS),
        "generator": lambda: (dict(r) for r in ROWS),
        "json": lambda: (tmp_path / "rows.json").write_text(json.dumps({"rows": ROWS})) and tmp_path / "rows.json",
    }
    result = convert(sources[kind](), tmp_path / "out" / "x.parquet", SCHEMA, progress=False)
    assert result.rows == len(ROWS)
    table = pq.read_table(result.path)
    assert table.column_names == [*SCHEMA.names, "$meta"]
    for fs in SCHEMA.fields:
        assert arrow_type_name(table.schema.field(fs.name).type) in parquet_types(fs)
    _same_as_rows(table.to_pylist())


@pytest.mark.parametrize("kind", ["dataframe", "jsonl", "csv"])
def test_every_source_kind_writes_numpy_too(tmp_path, kind):
    src = {"dataframe": _frame, "jsonl": lambda: _jsonl(tmp_path / "r.jsonl"), "csv": lambda: _csv(tmp_path / "r.csv")}
    result = convert(src[kind](), tmp_path / "npy", SCHEMA, to="numpy", progress=False)
    names = sorted(f.name for f in result.files)
    assert names == sorted(f"{n}.npy" for n in SCHEMA.names)  # no $meta.npy: no row has a dynamic key
    vec = np.load(tmp_path / "npy" / "vec.npy")
    assert vec.dtype == np.float32 and vec.shape == (50, 3) and vec[7].tolist() == [7.5, -1.0, 2.0]
    assert np.load(tmp_path / "npy" / "title.npy")[3] == "t3é"
    # and the NumPy folder is itself a source: back to Parquet, the same values
    again = convert(tmp_path / "npy", tmp_path / "back.parquet", SCHEMA, progress=False)
    _same_as_rows(_read_back(again))


def test_schema_is_inferred_from_the_first_rows_of_any_source(tmp_path):
    for src in (_frame(), _jsonl(tmp_path / "r.jsonl"), _csv(tmp_path / "r.csv")):
        out = tmp_path / f"inferred-{type(src).__name__}-{getattr(src, 'suffix', '')}.parquet"
        result = convert(src, out, progress=False)
        types = {fs.name: fs.dtype for fs in result.schema.fields}
        assert types["id"] is DataType.INT64 and types["vec"] is DataType.FLOAT_VECTOR
        assert result.schema.primary.name == "id" and result.rows == 50


def test_dynamic_keys_go_to_meta_from_columns_and_csv_keeps_them_text(tmp_path):
    df = _frame().assign(tag=[f"k{i}" for i in range(50)], n=list(range(50)))
    got = _read_back(convert(df, tmp_path / "a.parquet", SCHEMA, progress=False))
    assert json.loads(got[4]["$meta"]) == {"tag": "k4", "n": 4}
    got = _read_back(convert(_csv(tmp_path / "r.csv", extra="7"), tmp_path / "b.parquet", SCHEMA, progress=False))
    assert json.loads(got[0]["$meta"]) == {"tag": "7"}  # Milvus's CSV reader keeps dynamic cells as strings
    closed = CollectionSchema(SCHEMA.fields)
    with pytest.raises(DataFileError, match="'tag' is not defined in schema"):
        convert(df, tmp_path / "c.parquet", closed, progress=False)


NULLABLE = CollectionSchema(
    (
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("vec", DataType.FLOAT_VECTOR, dim=2),
        FieldSchema("tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_length=5, max_capacity=3),
        FieldSchema("nums", DataType.ARRAY, element_type=DataType.INT16, max_capacity=4),
        FieldSchema("sparse", DataType.SPARSE_FLOAT_VECTOR),
        FieldSchema("n", DataType.INT32, nullable=True),
        FieldSchema("d", DataType.DOUBLE, default_value=1.5),
    )
)
NROWS = [
    {"id": 1, "vec": [1, 2], "tags": ["a", "b"], "nums": [1, -2], "sparse": {"3": 0.5}, "n": None},
    {"id": 2, "vec": [3, 4], "tags": [], "nums": [], "sparse": {"indices": [1, 9], "values": [2, 0.25]}, "n": 7,
     "d": None},
    {"id": 3, "vec": [5, 6], "tags": ["c"], "nums": [7], "sparse": {"0": 1.0}, "n": 3, "d": 2.5},
]  # fmt: skip


@pytest.mark.parametrize("kind", ["json", "dicts", "dataframe"])
def test_parquet_carries_arrays_sparse_nullable_and_defaults(tmp_path, kind):
    src = {
        "json": lambda: (tmp_path / "r.json").write_text(json.dumps({"rows": NROWS})) and tmp_path / "r.json",
        "dicts": lambda: NROWS,
        "dataframe": lambda: pd.DataFrame(NROWS),
    }[kind]()
    got = _read_back(convert(src, tmp_path / "x.parquet", NULLABLE, progress=False))
    assert [g["tags"] for g in got] == [["a", "b"], [], ["c"]] and [g["nums"] for g in got] == [[1, -2], [], [7]]
    assert [json.loads(g["sparse"]) for g in got] == [{"3": 0.5}, {"1": 2.0, "9": 0.25}, {"0": 1.0}]
    assert [g["n"] for g in got] == [None, 7, 3]
    assert [g["d"] for g in got] == [1.5, 1.5, 2.5]  # missing and null both take the default
    table = pq.read_table(tmp_path / "x.parquet")
    assert table.schema.field("n").nullable and not table.schema.field("id").nullable


def test_numpy_refuses_what_it_cannot_carry_before_writing(tmp_path):
    with pytest.raises(UnsupportedFieldError, match="tags"):
        convert(NROWS, tmp_path / "npy", NULLABLE, to="numpy", progress=False)
    assert not (tmp_path / "npy").exists()


def _bad_frame(**changes):
    rows = [dict(r) for r in ROWS]
    for key, (row, value) in changes.items():
        rows[row][key] = value
    return pd.DataFrame(rows)


BAD_COLUMNAR = [
    (_bad_frame(vec=(9, [1.0, 2.0])), 9, "vec", "vector length differs from dim"),
    (_bad_frame(vec=(4, [1.0, float("nan"), 2.0])), 4, "vec", "null (or NaN) inside a list at element 1"),
    (_bad_frame(vec=(4, np.array([1.0, np.inf, 2.0]))), 4, "vec", "NaN or Inf in vector at element 1"),
    (_bad_frame(vec=(5, [1.0, 1e39, 2.0])), 5, "vec", "number out of range at element 1"),
    (_bad_frame(title=(11, "x" * 13)), 11, "title", "string longer than max_length"),
    (_bad_frame(title=(12, "é" * 7)), 12, "title", "14 bytes"),  # 7 characters, 14 UTF-8 bytes: bytes count
    (_bad_frame(score=(3, 1e39)), 3, "score", "number out of range"),
    (_bad_frame(score=(8, None)), 8, "score", "null in a field that is not nullable"),
    (_bad_frame(id=(6, 2.5)), 6, "id", "not an integer"),
    (_bad_frame(id=(40, None)), 40, "id", "null in a field that is not nullable"),
    (_bad_frame(info=(2, "{not json")), 2, "info", "does not parse"),
    (_frame().assign(ok=[1] * 50), None, "ok", "wrong column type"),
    (_frame().drop(columns=["title"]), None, "title", "no such column"),
]


@pytest.mark.parametrize(("frame", "row", "field", "text"), BAD_COLUMNAR)
def test_a_bad_cell_in_a_dataframe_names_row_field_expected_got(tmp_path, frame, row, field, text):
    with pytest.raises(DataFileError) as info:
        convert(frame, tmp_path / "out" / "x.parquet", SCHEMA, progress=False)
    err = info.value
    assert (err.row, err.field) == (row, field) and text in str(err) and err.expected, str(err)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())  # nothing half-written


def test_rows_are_counted_across_batches(tmp_path):
    rows = [dict(ROWS[i % 50], id=i) for i in range(20_000)]
    rows[17_500]["vec"] = [1.0, 2.0]
    with pytest.raises(DataFileError) as info:
        convert(pd.DataFrame(rows), tmp_path / "x.parquet", SCHEMA, progress=False)
    assert info.value.row == 17_500


BAD_CSV = [
    ('1,"[1,2,3]",t,0.5,true,{}\n2,"[1,2,3]",t,0.5,yes,{}\n', 1, "ok", "true or false"),
    ('1,"[1,2,3]",t,0.5,true,{}\n2x,"[1,2,3]",t,0.5,true,{}\n', 1, "id", "a decimal integer"),
    ('1,"[1,2,3]",t,0.5,true,{}\n2,"[1,2]",t,0.5,true,{}\n', 1, "vec", "vector length differs from dim"),
    ("1,[1,2,3],t,0.5,true,{}\n", 0, None, "differs from the header"),  # the unquoted commas split the vector
    ('1,"[1,2,3]",t"x,0.5,true,{}\n', 0, None, 'bare "'),
    ('1,"[1,2,3]","t"x,0.5,true,{}\n', 0, None, "bad CSV quoting"),
    ('1,"[1,2,3]",t,0.5,true,"{}\n', 0, None, "bad CSV quoting"),  # an unterminated quote
    ('1,"[1,2,3]",t,NaN,true,{}\n', 0, "score", "a finite decimal number"),
    ('1,"[1,2,3]",t,0.5,true,{oops}\n', 0, "info", "JSON text"),
    ('1,"[1,2,3]",t,0.5,true,{},9\n', 0, None, "differs from the header"),
]


@pytest.mark.parametrize(("body", "row", "field", "text"), BAD_CSV)
def test_bad_csv_gets_one_precise_error(tmp_path, body, row, field, text):
    src = tmp_path / "bad.csv"
    src.write_text("id,vec,title,score,ok,info\n" + body, encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        convert(src, tmp_path / "out.parquet", SCHEMA, progress=False)
    err = info.value
    assert err.file == "bad.csv" and (err.row, err.field) == (row, field) and text in str(err), str(err)
    assert not (tmp_path / "out.parquet").exists()


def test_csv_header_problems_and_invalid_utf8(tmp_path):
    src = tmp_path / "h.csv"
    src.write_text('id,vec,title,score,ok\n1,"[1,2,3]",t,0.5,true\n')
    with pytest.raises(DataFileError, match=r"'info'.*no such column"):
        convert(src, tmp_path / "o.parquet", SCHEMA, progress=False)
    src.write_bytes(b'id,vec,title,score,ok,info\n1,"[1,2,3]",t\xff,0.5,true,{}\n')
    with pytest.raises(DataFileError, match="not valid UTF-8"):
        convert(src, tmp_path / "o.parquet", SCHEMA, progress=False)


def test_csv_null_key_means_null_or_default(tmp_path):
    src = tmp_path / "n.csv"
    src.write_text('id,vec,tags,nums,sparse,n,d\n1,"[1,2]","[""a""]",[],"{""1"": 0.5}",NULL,NULL\n')
    got = _read_back(convert(src, tmp_path / "o.parquet", NULLABLE, progress=False, nullkey="NULL"))
    assert got[0]["n"] is None and got[0]["d"] == 1.5 and got[0]["tags"] == ["a"]


GOOD_LINE = json.dumps(ROWS[0])
BAD_JSONL = [
    (GOOD_LINE + '\n{"id": 1,}\n', 1, "line 2 is not valid JSON"),
    (GOOD_LINE + '\n\n{"id": 1', 1, "line 3 ends early"),
    (GOOD_LINE + "\n[1, 2]\n", 1, "each row should be a key-value map"),
    (GOOD_LINE + "\n" + GOOD_LINE.replace("[0.5,", "[NaN,"), 1, "not valid JSON"),
]


@pytest.mark.parametrize(("body", "row", "text"), BAD_JSONL)
def test_bad_jsonl_names_the_row_and_line(tmp_path, body, row, text):
    src = tmp_path / "bad.jsonl"
    src.write_text(body)
    with pytest.raises(DataFileError) as info:
        convert(src, tmp_path / "o.parquet", SCHEMA, progress=False)
    assert info.value.row == row and text in str(info.value), str(info.value)


def test_unknown_sources_and_mixed_folders_are_refused(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(DataFileError, match=r"unknown source file type '\.xlsx'"):
        convert(tmp_path / "x.xlsx", tmp_path / "o.parquet", SCHEMA, progress=False)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    np.save(mixed / "id.npy", np.arange(3))
    pq.write_table(pa.table({"id": [1]}), mixed / "a.parquet")
    with pytest.raises(DataFileError, match="source kinds are mixed"):
        convert(mixed, tmp_path / "o.parquet", SCHEMA, progress=False)
    with pytest.raises(DataFileError, match="cannot read rows from this object"):
        convert(42, tmp_path / "o.parquet", SCHEMA, progress=False)
    (tmp_path / "trunc.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(DataFileError, match="cannot be read"):
        convert(tmp_path / "trunc.parquet", tmp_path / "o.parquet", SCHEMA, progress=False)


VECTORS = CollectionSchema(
    (
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("f16", DataType.FLOAT16_VECTOR, dim=4),
        FieldSchema("bf16", DataType.BFLOAT16_VECTOR, dim=4),
        FieldSchema("i8", DataType.INT8_VECTOR, dim=4),
        FieldSchema("bits", DataType.BINARY_VECTOR, dim=16),
    )
)


@pytest.mark.parametrize("kind", ["dicts", "dataframe"])
def test_half_int8_and_binary_vectors_are_written_as_the_importer_reads_them(tmp_path, kind):
    rows = [{"id": i, "f16": [0.5, -1.0, 2.0, i], "bf16": [1.5, 0.0, -2.0, i], "i8": [-128, 0, 127, i],
             "bits": [i, 255]} for i in range(3)]  # fmt: skip
    src = rows if kind == "dicts" else pd.DataFrame(rows)
    got = pq.read_table(convert(src, tmp_path / "v.parquet", VECTORS, progress=False).path).to_pylist()
    for g, r in zip(got, rows, strict=True):  # list<uint8>: the 2 bytes per dim of float16 / bfloat16
        assert np.frombuffer(bytes(g["f16"]), dtype=np.float16).tolist() == r["f16"]
        bf16 = np.frombuffer(bytes(g["bf16"]), dtype=np.uint16).astype(np.uint32) << 16
        assert bf16.view(np.float32).tolist() == r["bf16"]
        assert g["i8"] == r["i8"] and g["bits"] == r["bits"]
    bad = [dict(rows[0], f16=[1e6, 0, 0, 0])]
    with pytest.raises(DataFileError, match="float16 range"):
        convert(bad if kind == "dicts" else pd.DataFrame(bad), tmp_path / "b.parquet", VECTORS, progress=False)
    bad = [dict(rows[0], i8=[128, 0, 0, 0])]
    with pytest.raises(DataFileError, match="out of range"):
        convert(bad if kind == "dicts" else pd.DataFrame(bad), tmp_path / "c.parquet", VECTORS, progress=False)


def test_a_broken_numpy_folder_source_names_the_file(tmp_path):
    folder = tmp_path / "npy"
    convert(ROWS, folder, SCHEMA, to="numpy", progress=False)
    data = (folder / "vec.npy").read_bytes()
    (folder / "vec.npy").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(DataFileError) as info:
        convert(folder, tmp_path / "o.parquet", SCHEMA, progress=False)
    assert info.value.file == "vec.npy", str(info.value)
    np.save(folder / "vec.npy", np.zeros((49, 3), dtype=np.float32))  # one row short
    with pytest.raises(DataFileError, match="different row counts"):
        convert(folder, tmp_path / "o.parquet", SCHEMA, progress=False)
    assert not (tmp_path / "o.parquet").exists()


def _schema(*fields, dynamic=False):
    return CollectionSchema((FieldSchema("id", DataType.INT64, is_primary=True), *fields), enable_dynamic_field=dynamic)


NAN, INF = float("nan"), float("inf")
NEVER_CHANGED = [  # values pyarrow or Python's json would change or let through: each is refused, with its field
    ({"a": [2.7, 3]}, FieldSchema("a", DataType.ARRAY, element_type=DataType.INT32, max_capacity=4), "element 0"),
    ({"a": [True]}, FieldSchema("a", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4), "element 0"),
    ({"x": 1.5}, FieldSchema("x", DataType.INT64, nullable=True), "an integer"),
    ({"v": [True, False]}, FieldSchema("v", DataType.FLOAT_VECTOR, dim=2, nullable=True), "element 0"),
    ({"x": NAN}, FieldSchema("x", DataType.FLOAT), "NaN or Inf"),
    ({"x": INF}, FieldSchema("x", DataType.DOUBLE), "NaN or Inf"),
    ({"x": 2**1100}, FieldSchema("x", DataType.DOUBLE), "out of range"),
    ({"j": {"a": INF}}, FieldSchema("j", DataType.JSON), "cannot be stored as JSON"),
    ({"j": '{"a": NaN}'}, FieldSchema("j", DataType.JSON), "NaN is not JSON"),
    ({"s": "a\ud800"}, FieldSchema("s", DataType.VARCHAR, max_length=10), "not valid Unicode"),
]


@pytest.mark.parametrize(
    ("to", "value", "field", "text"),
    [(to, *case) for case in NEVER_CHANGED for to in ("parquet", "numpy")
     if to == "parquet" or not (case[1].nullable or case[1].dtype is DataType.ARRAY)],  # NumPy refuses those fields
)  # fmt: skip
def test_values_are_never_coerced_or_let_through(tmp_path, to, value, field, text):
    schema = _schema(field)
    with pytest.raises(DataFileError) as info:
        convert([{"id": 1, **value}], tmp_path / ("o.parquet" if to == "parquet" else "npy"), schema,
                to=to, progress=False)  # fmt: skip
    assert info.value.field == field.name and text in str(info.value), str(info.value)


def test_nan_in_dynamic_keys_and_dataframe_json_cells_is_refused(tmp_path):
    with pytest.raises(DataFileError, match=r"\$meta.*cannot be stored as JSON"):
        convert([{"id": 1, "k": NAN}], tmp_path / "a.parquet", _schema(dynamic=True), progress=False)
    frame = pd.DataFrame({"id": [1, 2], "j": [{"a": 1}, {"a": NAN}]})
    with pytest.raises(DataFileError) as info:
        convert(frame, tmp_path / "b.parquet", _schema(FieldSchema("j", DataType.JSON)), progress=False)
    assert (info.value.row, info.value.field) == (1, "j")


def test_arrow_numbers_are_range_checked_without_pyarrow_errors(tmp_path):
    cases = [
        (pd.DataFrame({"id": [1], "x": [1e300]}), DataType.INT64, "integer out of range"),
        (pa.table({"id": [1], "x": pa.array([2**64 - 1], pa.uint64())}), DataType.INT64, "integer out of range"),
        (pa.table({"id": [1], "x": [2.0**63]}), DataType.INT64, "integer out of range"),
        (pa.table({"id": [1], "x": pa.array(np.array([1.5], dtype=np.float16))}), DataType.INT32, "not an integer"),
    ]
    for src, dt, text in cases:
        with pytest.raises(DataFileError, match=text):
            convert(src, tmp_path / "o.parquet", _schema(FieldSchema("x", dt)), progress=False)
    got = convert(pa.table({"id": [1], "x": [2**53 + 1]}), tmp_path / "d.parquet",
                  _schema(FieldSchema("x", DataType.DOUBLE)), progress=False)  # fmt: skip
    assert pq.read_table(got.path).column("x").to_pylist() == [float(2**53)]  # the importer's own rounding


def test_a_reused_numpy_folder_keeps_no_stale_meta(tmp_path):
    schema = _schema(FieldSchema("s", DataType.VARCHAR, max_length=8), dynamic=True)
    convert([{"id": i, "s": "x", "k": i} for i in range(5)], tmp_path / "npy", schema, to="numpy", progress=False)
    assert (tmp_path / "npy" / "$meta.npy").exists()
    convert([{"id": i, "s": "y"} for i in range(3)], tmp_path / "npy", schema, to="numpy", progress=False)
    assert sorted(p.name for p in (tmp_path / "npy").iterdir()) == ["id.npy", "s.npy"]


def test_tsv_is_inferred_with_its_separator_and_crlf_in_quoted_cells_is_read_as_go_reads_it(tmp_path):
    (tmp_path / "t.tsv").write_text("id\tname\n1\tx\n")
    result = convert(tmp_path / "t.tsv", tmp_path / "t.parquet", progress=False)
    assert [f.name for f in result.schema.fields] == ["id", "name"]
    (tmp_path / "c.csv").write_bytes(b'id,name\r\n1,"a\r\nb"\r\n')
    got = _read_back(convert(tmp_path / "c.csv", tmp_path / "c.parquet", progress=False))
    assert got[0]["name"] == "a\nb"


def test_a_dataframe_column_of_mixed_types_names_row_and_field(tmp_path):
    values = ["a"] * 9500
    values[9000] = 5
    frame = pd.DataFrame({"id": range(9500), "t": values})
    with pytest.raises(DataFileError) as info:
        convert(frame, tmp_path / "o.parquet", _schema(FieldSchema("t", DataType.VARCHAR, max_length=8)),
                progress=False)  # fmt: skip
    assert (info.value.row, info.value.field) == (9000, "t")
