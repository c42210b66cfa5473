"""convert_json_to_numpy: every dtype path, every bad input, round trip, atomic output, progress, reprs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from zimport_widgets.errors import DataFileError, UnsupportedFieldError
from zimport_widgets.prepare.checks import check_import_source
from zimport_widgets.prepare.convert import ConvertResult, convert_json_to_numpy
from zimport_widgets.prepare.json_rows import iter_json_rows
from zimport_widgets.prepare.samples import iter_sample_rows, sample_schema, write_sample_json
from zimport_widgets.progress import ConvertProgress
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

F = FieldSchema
D = DataType


def _write(tmp_path: Path, rows, *, name: str = "data.json", root: str | None = "rows") -> Path:
    path = tmp_path / name
    doc = {root: rows} if root else rows
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _schema(*fields: FieldSchema, dynamic: bool = False) -> CollectionSchema:
    return CollectionSchema(fields=(F("id", D.INT64, is_primary=True), *fields), enable_dynamic_field=dynamic)


def _convert_one(tmp_path: Path, fs: FieldSchema, values: list, **kw) -> np.ndarray:
    rows = [{"id": i, fs.name: v} for i, v in enumerate(values)]
    src = _write(tmp_path, rows)
    res = convert_json_to_numpy(src, tmp_path / "out", _schema(fs, **kw), progress=False)
    return np.load(res.out_dir / f"{fs.name}.npy")


# ---------------------------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize(
    ("dtype", "np_dtype", "values"),
    [
        (D.INT8, np.int8, [-128, 0, 127]),
        (D.INT16, np.int16, [-32768, 5, 32767]),
        (D.INT32, np.int32, [-(2**31), 7, 2**31 - 1]),
        (D.INT64, np.int64, [-(2**63), 9, 2**63 - 1]),
        (D.FLOAT, np.float32, [1.5, -2, 3.25]),
        (D.DOUBLE, np.float64, [1e300, -2, 0.1]),
        (D.BOOL, np.bool_, [True, False, True]),
    ],
)
def test_scalar_dtypes(tmp_path, dtype, np_dtype, values):
    arr = _convert_one(tmp_path, F("x", dtype), values)
    assert arr.dtype == np.dtype(np_dtype)
    assert arr.shape == (3,)
    assert arr.tolist() == np.array(values, dtype=np_dtype).tolist()


def test_varchar_is_fixed_unicode_of_longest(tmp_path):
    values = ["a", "", "héllo wörld ✓", "x" * 40]
    arr = _convert_one(tmp_path, F("s", D.VARCHAR, max_length=64), values)
    assert arr.dtype == np.dtype("<U40")
    assert arr.tolist() == values


def test_json_field_is_json_strings(tmp_path):
    values = [{"a": 1, "b": [1, 2]}, "[1, 2, 3]", {"ü": "ß"}]
    arr = _convert_one(tmp_path, F("j", D.JSON), values)
    assert arr.dtype.kind == "U"
    assert [json.loads(s) for s in arr.tolist()] == [{"a": 1, "b": [1, 2]}, [1, 2, 3], {"ü": "ß"}]


def test_float_vector_float32_2d(tmp_path):
    vecs = [[0.5, -1.0, 2.0, 3], [1e-5, 0, 0, 7.25]]
    arr = _convert_one(tmp_path, F("v", D.FLOAT_VECTOR, dim=4), vecs)
    assert arr.dtype == np.float32 and arr.shape == (2, 4)
    np.testing.assert_array_equal(arr, np.array(vecs, dtype=np.float32))


def test_binary_vector_uint8_dim_over_8(tmp_path):
    vecs = [[0, 255], [17, 128]]
    arr = _convert_one(tmp_path, F("b", D.BINARY_VECTOR, dim=16), vecs)
    assert arr.dtype == np.uint8 and arr.shape == (2, 2)
    assert arr.tolist() == vecs


def test_float16_vector_bytes(tmp_path):
    vecs = [[0.5, -1.0, 2.0], [65504.0, 0.0, 1e-3]]
    arr = _convert_one(tmp_path, F("h", D.FLOAT16_VECTOR, dim=3), vecs)
    assert arr.dtype == np.uint8 and arr.shape == (2, 6)
    np.testing.assert_array_equal(arr.view(np.float16), np.array(vecs, dtype=np.float16))


def test_bfloat16_vector_bytes(tmp_path):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    vecs = [[0.5, -1.0, 3.14159], [1e30, 0.0, -7.7]]
    arr = _convert_one(tmp_path, F("h", D.BFLOAT16_VECTOR, dim=3), vecs)
    assert arr.dtype == np.uint8 and arr.shape == (2, 6)
    expected = np.array(vecs, dtype=np.float32).astype(ml_dtypes.bfloat16)
    np.testing.assert_array_equal(arr.view(np.uint16), expected.view(np.uint16))


def test_int8_vector(tmp_path):
    arr = _convert_one(tmp_path, F("q", D.INT8_VECTOR, dim=2), [[-128, 127], [0, 5]])
    assert arr.dtype == np.int8 and arr.tolist() == [[-128, 127], [0, 5]]


def test_auto_id_primary_key_gets_no_file(tmp_path):
    schema = CollectionSchema(fields=(F("pk", D.INT64, is_primary=True, auto_id=True), F("x", D.INT32)))
    src = _write(tmp_path, [{"x": 1}, {"x": 2}])
    res = convert_json_to_numpy(src, tmp_path / "out", schema, progress=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.npy"]
    assert res.rows == 2


def test_dynamic_field_goes_to_meta(tmp_path):
    rows = [{"id": 0, "x": 1, "color": "red"}, {"id": 1, "x": 2}, {"id": 2, "x": 3, "$meta": {"size": 4}}]
    src = _write(tmp_path, rows)
    res = convert_json_to_numpy(src, tmp_path / "out", _schema(F("x", D.INT64), dynamic=True), progress=False)
    meta = np.load(res.out_dir / "$meta.npy")
    assert meta.dtype.kind == "U"
    assert [json.loads(s) for s in meta.tolist()] == [{"color": "red"}, {}, {"size": 4}]
    assert check_import_source(res.out_dir, res.schema).ok


def test_dynamic_on_without_extra_keys_writes_no_meta(tmp_path):
    src = _write(tmp_path, [{"id": 0, "x": 1}])
    res = convert_json_to_numpy(src, tmp_path / "out", _schema(F("x", D.INT64), dynamic=True), progress=False)
    assert sorted(f.name for f in res.files) == ["id.npy", "x.npy"]
    assert not list((tmp_path / "out").glob("*.part"))


def test_bare_list_root_and_inferred_schema(tmp_path):
    rows = [{"id": i, "name": f"n{i}", "v": [float(i), 1.0], "score": 0.5, "ok": True} for i in range(3)]
    src = _write(tmp_path, rows, root=None)
    res = convert_json_to_numpy(src, tmp_path / "out", progress=False)
    types = {f.name: f.dtype for f in res.schema.fields}
    assert types == {"id": D.INT64, "name": D.VARCHAR, "v": D.FLOAT_VECTOR, "score": D.DOUBLE, "ok": D.BOOL}
    assert res.schema.primary.name == "id"
    assert np.load(res.out_dir / "v.npy").shape == (3, 2)


def test_schema_given_as_rest_dict(tmp_path):
    src = write_sample_json(tmp_path / "s.json", 5)
    res = convert_json_to_numpy(src, tmp_path / "out", sample_schema().to_rest(), progress=False)
    assert res.rows == 5 and len(res.files) == 8


def test_chunking_across_many_rows(tmp_path):
    # more rows than one chunk (4096) so flush/append/header-patch paths run several times
    n = 9000
    rows = [{"id": i, "s": "x" * (i % 7), "v": [i, -i]} for i in range(n)]
    src = _write(tmp_path, rows)
    schema = _schema(F("s", D.VARCHAR, max_length=16), F("v", D.FLOAT_VECTOR, dim=2))
    res = convert_json_to_numpy(src, tmp_path / "out", schema, progress=False)
    assert np.load(res.out_dir / "id.npy").tolist() == list(range(n))
    assert np.load(res.out_dir / "s.npy").tolist() == ["x" * (i % 7) for i in range(n)]
    np.testing.assert_array_equal(np.load(res.out_dir / "v.npy")[:, 1], -np.arange(n, dtype=np.float32))


# ---------------------------------------------------------------------------------------------- round trip
def test_sample_round_trip_and_passes_checker(tmp_path):
    src = write_sample_json(tmp_path / "sample.json", 300)
    res = convert_json_to_numpy(src, tmp_path / "np", sample_schema(), progress=False)
    rows = list(iter_sample_rows(300))
    assert res.rows == 300
    assert [f.name for f in res.files] == [f"{n}.npy" for n in sample_schema().names]
    for info in res.files:
        arr = np.load(info.path)
        assert arr.dtype.str == info.dtype and arr.shape == info.shape
        assert info.bytes == info.path.stat().st_size
        values = [r[info.field] for r in rows]
        if info.field == "title_vector":
            np.testing.assert_array_equal(arr, np.array(values, dtype=np.float32))
        else:
            assert arr.tolist() == values
    report = check_import_source(res.out_dir, sample_schema())
    assert report.ok, report
    assert report.row_count == 300


def test_result_reprs(tmp_path):
    src = write_sample_json(tmp_path / "s.json", 3)
    res = convert_json_to_numpy(src, tmp_path / "out", sample_schema(), progress=False)
    assert isinstance(res, ConvertResult)
    text = repr(res)
    assert "3 rows" in text and "title_vector.npy" in text and "(3, 768)" in text and "<f4" in text
    page = res._repr_html_()
    assert "<table" in page and "title_vector.npy" in page and "&lt;f4" in page


def test_progress_callback_gets_convert_events(tmp_path):
    src = write_sample_json(tmp_path / "s.json", 600)
    events: list[ConvertProgress] = []
    convert_json_to_numpy(src, tmp_path / "out", sample_schema(), progress=events.append)
    assert events and all(isinstance(e, ConvertProgress) for e in events)
    assert events[-1].rows_done == 600 and events[-1].bytes_done == events[-1].bytes_total == src.stat().st_size
    assert [e.bytes_done for e in events] == sorted(e.bytes_done for e in events)


# ---------------------------------------------------------------------------------------------- bad input
def _bad(tmp_path: Path, rows, schema: CollectionSchema, **kw) -> DataFileError:
    src = _write(tmp_path, rows, **kw)
    out = tmp_path / "out"
    with pytest.raises(DataFileError) as info:
        convert_json_to_numpy(src, out, schema, progress=False)
    assert not out.exists(), "nothing may be left on error"
    assert [p.name for p in tmp_path.iterdir()] == [src.name], "no temp folder may remain"
    return info.value


def _assert_names(err: DataFileError, row: int | None, field: str | None, *words: str) -> None:
    text = str(err)
    assert "data.json" in text
    assert err.file == "data.json"
    if row is not None:
        assert err.row == row and f"row {row}" in text
    if field is not None:
        assert err.field == field and repr(field) in text
    for w in words:
        assert w in text, (w, text)


GOOD = {"id": 0, "n": 1, "s": "ok", "v": [0.0, 1.0]}
SCHEMA = _schema(F("n", D.INT16), F("s", D.VARCHAR, max_length=8), F("v", D.FLOAT_VECTOR, dim=2))


def _rows(bad_row: dict) -> list[dict]:
    return [dict(GOOD, id=0), dict(GOOD, id=1), {**GOOD, "id": 2, **bad_row}]


def test_missing_field(tmp_path):
    rows = _rows({})
    del rows[2]["s"]
    err = _bad(tmp_path, rows, SCHEMA)
    _assert_names(err, 2, "s", "missing")


def test_unknown_key_without_dynamic_field(tmp_path):
    err = _bad(tmp_path, _rows({"extra": 5}), SCHEMA)
    _assert_names(err, 2, "extra", "not defined in schema")


@pytest.mark.parametrize(
    ("bad", "field", "got"),
    [
        ({"n": "7"}, "n", "string '7'"),
        ({"n": 1.5}, "n", "number 1.5"),
        ({"n": True}, "n", "boolean True"),
        ({"n": None}, "n", "null"),
        ({"s": 5}, "s", "integer 5"),
        ({"v": "0,1"}, "v", "string"),
        ({"v": [0.0, "x"]}, "v", "string 'x'"),
        ({"v": [0.0, None]}, "v", "null"),
        ({"v": [0.0, "1.5"]}, "v", "string '1.5'"),
        ({"v": [[0.0], 1.0]}, "v", "list [0.0]"),
    ],
)
def test_wrong_type(tmp_path, bad, field, got):
    err = _bad(tmp_path, _rows(bad), SCHEMA)
    _assert_names(err, 2, field, "wrong type", got, "expected")


def test_int_overflow(tmp_path):
    err = _bad(tmp_path, _rows({"n": 40000}), SCHEMA)
    _assert_names(err, 2, "n", "out of range", "Int16", "40000")


def test_int64_overflow(tmp_path):
    schema = _schema(F("big", D.INT64))
    err = _bad(tmp_path, [{"id": 0, "big": 2**63}], schema)
    _assert_names(err, 0, "big", "out of range", str(2**63))


def test_float32_overflow(tmp_path):
    err = _bad(tmp_path, [{"id": 0, "f": 1e39}], _schema(F("f", D.FLOAT)))
    _assert_names(err, 0, "f", "out of range")


def test_vector_length_differs_from_dim(tmp_path):
    err = _bad(tmp_path, _rows({"v": [1.0, 2.0, 3.0]}), SCHEMA)
    _assert_names(err, 2, "v", "dim", "3 values", "2 numbers")


@pytest.mark.parametrize("value", ["1e39", "1e400", "-1e400"])
def test_inf_in_vector(tmp_path, value):
    # 1e39 overflows float32; 1e400 overflows float64 (JSON itself has no NaN/Infinity)
    good = json.dumps(GOOD)
    bad = good.replace("[0.0, 1.0]", f"[0.0, {value}]").replace('"id": 0', '"id": 2')
    err = _raw(tmp_path, '{"rows": [' + good + ", " + good + ", " + bad + "]}")
    if value == "1e400":  # the parser itself stops at it
        _assert_names(err, 2, None, "too large", "overflow")
    else:
        _assert_names(err, 2, "v", "NaN or Inf", "element 1")


def test_nan_literal_is_malformed_json(tmp_path):
    src = tmp_path / "data.json"
    src.write_text('{"rows": [{"id": 0, "n": 1, "s": "a", "v": [0.0, NaN]}]}')
    with pytest.raises(DataFileError) as info:
        convert_json_to_numpy(src, tmp_path / "out", SCHEMA, progress=False)
    _assert_names(info.value, 0, None, "malformed JSON")
    assert "NaN" in str(info.value)


def test_varchar_longer_than_max_length(tmp_path):
    err = _bad(tmp_path, _rows({"s": "123456789"}), SCHEMA)
    _assert_names(err, 2, "s", "longer than max_length", "9 bytes", "at most 8 bytes")


def test_varchar_max_length_counts_utf8_bytes(tmp_path):
    err = _bad(tmp_path, _rows({"s": "ééééé"}), SCHEMA)  # 5 chars, 10 bytes
    _assert_names(err, 2, "s", "10 bytes")


def test_bad_json_string_in_json_field(tmp_path):
    err = _bad(tmp_path, [{"id": 0, "j": "{not json"}], _schema(F("j", D.JSON)))
    _assert_names(err, 0, "j", "does not parse")


def test_binary_vector_value_out_of_range(tmp_path):
    err = _bad(tmp_path, [{"id": 0, "b": [1, 256]}], _schema(F("b", D.BINARY_VECTOR, dim=16)))
    _assert_names(err, 0, "b", "out of range", "element 1", "256")


def test_row_not_an_object(tmp_path):
    err = _bad(tmp_path, [dict(GOOD), [1, 2]], SCHEMA)
    _assert_names(err, 1, None, "key-value map", "list")


def test_auto_id_value_provided(tmp_path):
    schema = CollectionSchema(fields=(F("pk", D.INT64, is_primary=True, auto_id=True), F("x", D.INT32)))
    err = _bad(tmp_path, [{"x": 1}, {"pk": 5, "x": 2}], schema)
    _assert_names(err, 1, "pk", "auto-generated")


def test_duplicate_dynamic_key(tmp_path):
    rows = [{"id": 0, "x": 1, "a": 1, "$meta": {"a": 2}}]
    err = _bad(tmp_path, rows, _schema(F("x", D.INT64), dynamic=True))
    _assert_names(err, 0, "$meta", "duplicated key 'a'")


def _raw(tmp_path: Path, text: str) -> DataFileError:
    src = tmp_path / "data.json"
    src.write_text(text)
    out = tmp_path / "out"
    with pytest.raises(DataFileError) as info:
        convert_json_to_numpy(src, out, SCHEMA, progress=False)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]
    return info.value


def test_malformed_json(tmp_path):
    good = json.dumps(GOOD)
    err = _raw(tmp_path, '{"rows": [' + good + ", " + good + ', {"id": 2, "n": 1,, }]}')
    _assert_names(err, 2, None, "malformed JSON")


def test_truncated_json(tmp_path):
    good = json.dumps(GOOD)
    err = _raw(tmp_path, '{"rows": [' + good + ", " + good + ', {"id": 2, "n": 1, "s": "o')
    _assert_names(err, 2, None, "truncated")


def test_truncated_mid_sample_file(tmp_path):
    src = write_sample_json(tmp_path / "full.json", 50)
    data = src.read_bytes()
    (tmp_path / "data.json").write_bytes(data[: len(data) * 2 // 3])
    src.unlink()
    with pytest.raises(DataFileError) as info:
        convert_json_to_numpy(tmp_path / "data.json", tmp_path / "out", sample_schema(), progress=False)
    assert "truncated" in str(info.value) and 30 <= info.value.row <= 34
    assert not (tmp_path / "out").exists()


def test_wrong_root_key(tmp_path):
    err = _raw(tmp_path, '{"data": [' + json.dumps(GOOD) + "]}")
    _assert_names(err, None, None, "root key should be 'rows'", "'data'")


def test_rows_not_a_list(tmp_path):
    err = _raw(tmp_path, '{"rows": {"id": 0}}')
    _assert_names(err, None, None, "not a JSON list")


def test_content_not_object_or_list(tmp_path):
    err = _raw(tmp_path, '"hello"')
    _assert_names(err, None, None, "should start with '{' or '['")


def test_empty_file_and_no_rows(tmp_path):
    err = _raw(tmp_path, "")
    _assert_names(err, None, None, "empty")
    err = _raw(tmp_path, '{"rows": []}')
    _assert_names(err, None, None, "no rows")


def test_error_late_in_big_file_leaves_nothing(tmp_path):
    rows = [dict(GOOD, id=i) for i in range(6000)]
    rows[5500]["v"] = [1.0]
    err = _bad(tmp_path, rows, SCHEMA)
    _assert_names(err, 5500, "v", "dim")


@pytest.mark.parametrize(
    "fs",
    [
        F("a", D.ARRAY, element_type=D.INT64, max_capacity=4),
        F("sp", D.SPARSE_FLOAT_VECTOR),
        F("n", D.INT64, nullable=True),
    ],
)
def test_unsupported_fields_suggest_json_import(tmp_path, fs):
    src = _write(tmp_path, [{"id": 0}])
    with pytest.raises(UnsupportedFieldError) as info:
        convert_json_to_numpy(src, tmp_path / "out", _schema(fs), progress=False)
    text = str(info.value)
    assert repr(fs.name) in text and "NumPy import cannot carry" in text and "JSON" in text
    assert not (tmp_path / "out").exists()


def test_out_dir_with_foreign_files_is_refused(tmp_path):
    src = write_sample_json(tmp_path / "s.json", 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old_field.npy").write_bytes(b"x")
    with pytest.raises(DataFileError, match=r"already holds other files: old_field\.npy"):
        convert_json_to_numpy(src, out, sample_schema(), progress=False)


def test_reconvert_into_same_folder_replaces_files(tmp_path):
    out = tmp_path / "out"
    convert_json_to_numpy(write_sample_json(tmp_path / "a.json", 2), out, sample_schema(), progress=False)
    res = convert_json_to_numpy(write_sample_json(tmp_path / "b.json", 4), out, sample_schema(), progress=False)
    assert res.rows == 4 and np.load(out / "id.npy").tolist() == [0, 1, 2, 3]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_iter_json_rows_streams_both_roots(tmp_path):
    a = _write(tmp_path, [{"x": 1}, {"x": 2.5}], name="a.json")
    b = _write(tmp_path, [{"x": 1}, {"x": 2.5}], name="b.json", root=None)
    assert list(iter_json_rows(a)) == list(iter_json_rows(b)) == [{"x": 1}, {"x": 2.5}]
    assert type(next(iter(iter_json_rows(a)))["x"]) is int


# ---------------------------------------------------------------------------------------------- fast path
def _both_paths(monkeypatch, convert_module, fn):
    """Run ``fn()`` with the orjson block reader and with ijson alone; return both outcomes."""
    fast = fn()
    monkeypatch.setattr(convert_module, "orjson", None)
    slow = fn()
    return fast, slow


def test_block_reader_matches_ijson_on_many_blocks(tmp_path, monkeypatch, small_blocks):
    tricky = [{"id": i, "s": 'a}, {"id": 9' if i % 2 else "b" * (i % 50), "v": [i, 1.5]} for i in range(300)]
    src = _write(tmp_path, tricky)
    rows_fast, rows_slow = _both_paths(monkeypatch, small_blocks, lambda: list(iter_json_rows(src)))
    assert rows_fast == rows_slow == tricky
    sample = write_sample_json(tmp_path / "sample.json", 40)  # rows of ~10 KB: bigger than one block
    rows_fast, rows_slow = _both_paths(monkeypatch, small_blocks, lambda: list(iter_json_rows(sample)))
    assert rows_fast == rows_slow == list(iter_sample_rows(40))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace('{"id": 250, "n": 1', '{"id": 250, "n": 1,,'),  # syntax error in a late block
        lambda t: t.replace('{"id": 250, "n": 1', '{"id": 250, "n": 99999'),  # value error
        lambda t: t.replace('{"id": 250, "n": 1', '{"id": 250, "n": 123456789012345678901234567890'),  # big int
        lambda t: t[: len(t) - 200],  # truncated
        lambda t: t + ' "trailing"',  # garbage after the document
    ],
)
def test_block_reader_errors_match_ijson(tmp_path, monkeypatch, small_blocks, mutate):
    rows = [dict(GOOD, id=i) for i in range(300)]
    (tmp_path / "data.json").write_text(mutate(json.dumps({"rows": rows})))

    def run():
        shutil.rmtree(tmp_path / "out", ignore_errors=True)
        with pytest.raises(DataFileError) as info:
            convert_json_to_numpy(tmp_path / "data.json", tmp_path / "out", SCHEMA, progress=False, workers=1)
        return str(info.value), info.value.row, info.value.field

    fast, slow = _both_paths(monkeypatch, small_blocks, run)
    assert fast[1] is not None and fast[1] >= 240
    if "1234567890123456789012" in slow[0]:  # orjson reads integers beyond 64 bits as floats
        assert fast[1:] == slow[1:] and "integer out of range" in fast[0] and "integer out of range" in slow[0]
    else:
        assert fast == slow


def test_block_reader_list_root_and_empty(tmp_path, monkeypatch, small_blocks):
    rows = [dict(GOOD, id=i) for i in range(200)]
    src = _write(tmp_path, rows, root=None)
    res = convert_json_to_numpy(src, tmp_path / "out", SCHEMA, progress=False, workers=1)
    assert np.load(res.out_dir / "id.npy").tolist() == list(range(200))
    empty = _write(tmp_path, [], name="empty.json")
    assert list(iter_json_rows(empty)) == []


def test_first_error_wins_across_columns(tmp_path):
    # vectors are converted in batches; an earlier bad vector must still be the error reported
    good = json.dumps(GOOD)
    rows = [good.replace('"id": 0', f'"id": {i}') for i in range(30)]
    rows[10] = rows[10].replace("[0.0, 1.0]", "[0.0, 1e39]")  # Inf in float32, row 10
    rows[20] = rows[20].replace('"s": "ok", ', "")  # missing field, row 20
    err = _raw(tmp_path, '{"rows": [' + ", ".join(rows) + "]}")
    _assert_names(err, 10, "v", "NaN or Inf")
    rows[10] = rows[10].replace("[0.0, 1e39]", '[0.0, "1"]')  # wrong type, row 10
    err = _raw(tmp_path, '{"rows": [' + ", ".join(rows) + "]}")
    _assert_names(err, 10, "v", "wrong type at element 1", "string '1'")


def test_block_reader_skips_nested_boundaries_without_fallback(tmp_path, monkeypatch, small_blocks):
    # JSON fields holding lists of objects ('}, {' inside rows), pretty-printed like pymilvus writes JSON
    rows = [{"id": i, "j": {"l": [{"a": i}, {"b": [1, 2]}, {"c": {"d": "}, {"}}]}, "n": i % 100} for i in range(300)]
    src = tmp_path / "nested.json"
    src.write_text(json.dumps({"rows": rows}, indent=2))
    calls = []
    real = small_blocks._iter_items
    monkeypatch.setattr(small_blocks, "_iter_items", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert list(iter_json_rows(src)) == rows
    assert calls == [], "row boundaries should be found by the first key, without falling back to ijson"
    schema = _schema(F("j", D.JSON), F("n", D.INT8))
    res = convert_json_to_numpy(src, tmp_path / "out", schema, progress=False, workers=1)
    assert [json.loads(s) for s in np.load(res.out_dir / "j.npy").tolist()] == [r["j"] for r in rows]


def test_vector_integer_beyond_float_range(tmp_path):
    text = json.dumps({"rows": [dict(GOOD)]}).replace("[0.0, 1.0]", "[0.0, 1" + "0" * 400 + "]")
    err = _raw(tmp_path, text)
    _assert_names(err, 0, "v", "number out of range at element 1")


def test_int_only_vector_with_huge_integer(tmp_path):
    text = json.dumps({"rows": [dict(GOOD), dict(GOOD, id=1)]}).replace("[0.0, 1.0]}]", "[0, 1" + "0" * 400 + "]}]")
    err = _raw(tmp_path, text)
    _assert_names(err, 1, "v", "number out of range at element 1")
