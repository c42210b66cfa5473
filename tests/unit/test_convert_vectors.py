"""The fast float-vector reader (simdjson → float32 per block) and the value rules around vectors.

Every surprise in a block must fall back to the exact path, so results and errors are the same
with and without the fast reader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from zimport_widgets.errors import DataFileError
from zimport_widgets.prepare import json_rows
from zimport_widgets.prepare.checks import check_import_source
from zimport_widgets.prepare.convert import convert_json_to_numpy
from zimport_widgets.prepare.json_rows import iter_json_rows
from zimport_widgets.prepare.row_loop import vector_specs
from zimport_widgets.prepare.samples import iter_sample_rows, sample_schema, write_sample_json
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

F = FieldSchema
D = DataType
SCHEMA = CollectionSchema(
    fields=(F("id", D.INT64, is_primary=True), F("s", D.VARCHAR, max_length=64), F("v", D.FLOAT_VECTOR, dim=3))
)


def _row(i: int, v: object = None, s: str = "ok") -> dict:
    return {"id": i, "s": s, "v": v if v is not None else [0.5 * i, -1.25, 3.0]}


def _convert(src: Path, schema: CollectionSchema = SCHEMA, workers: int = 1) -> dict[str, np.ndarray] | tuple:
    out = src.parent / "out"
    shutil.rmtree(out, ignore_errors=True)
    try:
        res = convert_json_to_numpy(src, out, schema, progress=False, workers=workers)
    except DataFileError as exc:
        assert not out.exists()
        return (str(exc), exc.file, exc.row, exc.field)
    return {f.field: np.load(f.path) for f in res.files}


def _fast_and_exact(monkeypatch, fn):
    """``fn()`` with the fast vector reader, then with it switched off (simdjson missing)."""
    fast = fn()
    monkeypatch.setattr(json_rows, "simdjson", None)
    exact = fn()
    return fast, exact


def _same(a, b) -> None:
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b
        return
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype
        np.testing.assert_array_equal(a[k], b[k])


def _write_text(tmp_path: Path, text: str) -> Path:
    src = tmp_path / "data.json"
    src.write_text(text, encoding="utf-8")
    return src


def test_fast_reader_gives_float32_rows_and_is_used(tmp_path, small_blocks):
    rows = [_row(i) for i in range(200)]
    src = _write_text(tmp_path, json.dumps({"rows": rows}))
    got = list(iter_json_rows(src, vectors=vector_specs(SCHEMA)))
    assert all(type(r["v"]) is np.ndarray and r["v"].dtype == np.float32 for r in got)
    assert [r["v"].tolist() for r in got] == [r["v"] for r in rows]
    assert [{k: v for k, v in r.items() if k != "v"} for r in got] == [{"id": r["id"], "s": r["s"]} for r in rows]
    plain = list(iter_json_rows(src))  # without vectors= the rows are plain JSON values
    assert plain == rows


def test_fast_reader_matches_exact_path_on_sample(tmp_path, monkeypatch, small_blocks):
    src = write_sample_json(tmp_path / "data.json", 60)
    fast, exact = _fast_and_exact(monkeypatch, lambda: _convert(src, sample_schema()))
    _same(fast, exact)
    rows = list(iter_sample_rows(60))
    np.testing.assert_array_equal(fast["title_vector"], np.array([r["title_vector"] for r in rows], np.float32))


def test_fast_reader_in_worker_processes(tmp_path, monkeypatch):
    monkeypatch.setattr("zimport_widgets.prepare.split._WINDOW", 1 << 16)
    src = write_sample_json(tmp_path / "data.json", 300)
    split = _convert(src, sample_schema(), workers=2)
    one = _convert(src, sample_schema(), workers=1)
    _same(split, one)


@pytest.mark.parametrize(
    "text",
    [
        '{"rows": [ROWS, {"id": 7, "s": "\\"v\\": [1, [2]]", "v": [1, 2, 3]}]}',  # the key inside a string
        '{"rows": [ROWS, {"id": 7, "s": "[[[", "v": [1, 2, 3]}]}',  # brackets inside strings
        '{"rows": [ROWS, {"id": 7, "s": "\\u005b", "v": [1, 2, 3]}]}',  # an escaped bracket
        '{"rows": [ROWS, {"id": 7, "s": "x", "v": [1, 2, 3], "v": [4, 5, 6]}]}',  # duplicate key: the last wins
        '{"rows": [ROWS, {"id": 7, "v": [1e-45, 3.4028235e38, -0.0], "s": "x"}]}',  # float32 edges, key order
        '[ROWS, {"id": 7, "s": "x", "v": [1, 2, 3]}]',  # bare list root
    ],
)
def test_unusual_but_valid_blocks_match_exact_path(tmp_path, monkeypatch, small_blocks, text):
    rows = ", ".join(json.dumps(_row(i)) for i in range(100))
    src = _write_text(tmp_path, text.replace("ROWS", rows))
    fast, exact = _fast_and_exact(monkeypatch, lambda: _convert(src))
    assert not isinstance(fast, tuple), fast
    _same(fast, exact)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("[0.5, [1.0], 2.0]", ("wrong type at element 1", "list")),  # nested list: simdjson would flatten it
        ("[0.5, [1.0, 2.0]]", ("vector length differs from dim",)),  # flattened it has the right length
        ("[0.5, 1.0, []]", ("wrong type at element 2",)),
        ("[0.5, true, 2.0]", ("wrong type at element 1", "boolean True")),
        ("[false, 1.0, 2.0]", ("wrong type at element 0", "boolean False")),
        ('[0.5, "1", 2.0]', ("wrong type at element 1", "string '1'")),
        ("[0.5, null, 2.0]", ("wrong type at element 1", "null")),
        ('[0.5, {"a": 1}, 2.0]', ("wrong type at element 1",)),
        ("[0.5, 1.0]", ("vector length differs from dim", "2 values")),
        ("[0.5, 1e39, 2.0]", ("NaN or Inf in vector at element 1",)),
        ('"0.5, 1, 2"', ("wrong type",)),
        ("{}", ("wrong type",)),
    ],
)
def test_bad_vectors_give_exact_errors(tmp_path, monkeypatch, small_blocks, bad, words):
    rows = [json.dumps(_row(i)) for i in range(120)]
    rows[97] = rows[97].replace("[48.5, -1.25, 3.0]", bad)
    src = _write_text(tmp_path, '{"rows": [' + ", ".join(rows) + "]}")
    fast, exact = _fast_and_exact(monkeypatch, lambda: _convert(src))
    assert fast == exact
    text, file, row, field = fast
    assert (file, row, field) == ("data.json", 97, "v")
    assert "row 97" in text and "'v'" in text and "data.json" in text
    for w in words:
        assert w in text, (w, text)


def test_bool_in_float_vector_is_an_error_in_every_path(tmp_path):
    # regression: true/false used to be taken as 1.0/0.0
    rows = [_row(i) for i in range(40)]
    rows[33]["v"] = [0.5, 1.0, True]
    src = _write_text(tmp_path, json.dumps({"rows": rows}))
    text, file, row, field = _convert(src)
    assert (file, row, field) == ("data.json", 33, "v")
    assert "wrong type at element 2" in text and "expected a list of 3 numbers" in text and "boolean True" in text
    report = check_import_source([src], SCHEMA)
    assert not report.ok and any("row 33" in e and "boolean True" in e for e in map(str, report.errors))


def test_bool_among_equal_floats_is_found_first(tmp_path):
    rows = [_row(i, [1.0, 0.0, 1.0]) for i in range(10)]
    rows[6]["v"] = [1.0, 0.0, False]
    rows[8]["v"] = [1.0, 1e39, 0.0]
    text, *_rest, row, field = _convert(_write_text(tmp_path, json.dumps({"rows": rows})))
    assert (row, field) == (6, "v") and "element 2" in text and "boolean False" in text


@pytest.mark.parametrize(
    ("fs", "vector"),
    [
        (F("v", D.INT8_VECTOR, dim=3), [1, True, -3]),
        (F("v", D.BINARY_VECTOR, dim=16), [255, False]),
    ],
)
def test_bool_in_integer_vectors(tmp_path, fs, vector):
    schema = CollectionSchema(fields=(F("id", D.INT64, is_primary=True), fs))
    rows = [{"id": 0, "v": [1, 2, 3][: len(vector)]}, {"id": 1, "v": vector}]
    text, file, row, field = _convert(_write_text(tmp_path, json.dumps({"rows": rows})), schema)
    assert (file, row, field) == ("data.json", 1, "v")
    assert "wrong type at element 1" in text and "boolean" in text


def test_float16_vector_range_checked_on_fast_path(tmp_path, monkeypatch, small_blocks):
    schema = CollectionSchema(fields=(F("id", D.INT64, is_primary=True), F("v", D.FLOAT16_VECTOR, dim=2)))
    rows = [{"id": i, "v": [65504.0, -0.5 * i]} for i in range(100)]
    src = _write_text(tmp_path, json.dumps({"rows": rows}))
    fast, exact = _fast_and_exact(monkeypatch, lambda: _convert(src, schema))
    _same(fast, exact)
    monkeypatch.undo()
    rows[70]["v"] = [70000.0, 1.0]
    src = _write_text(tmp_path, json.dumps({"rows": rows}))
    fast, exact = _fast_and_exact(monkeypatch, lambda: _convert(src, schema))
    assert fast == exact and fast[2] == 70 and "float16 range" in fast[0]


# ---------------------------------------------------------------------------------------------- root keys
@pytest.mark.parametrize(
    ("tail", "key"),
    [(', "extra": 1}', "extra"), (', "rows": []}', "rows"), (', "meta": {"a": [1, 2]}}', "meta")],
)
@pytest.mark.parametrize("workers", [1, 2])
def test_second_root_key_is_an_error(tmp_path, monkeypatch, tail, key, workers):
    monkeypatch.setattr("zimport_widgets.prepare.split._WINDOW", 1 << 16)
    monkeypatch.setattr("zimport_widgets.prepare.split.PARALLEL_MIN_BYTES", 0)
    rows = [_row(i) for i in range(300)]
    text = json.dumps({"rows": rows})
    src = _write_text(tmp_path, text[:-1] + tail)
    msg, file, row, _field = _convert(src, workers=workers)
    assert file == "data.json" and row is None
    assert f"second key {key!r}" in msg and "only the key 'rows'" in msg
    report = check_import_source([src], SCHEMA)
    assert not report.ok and any(f"second key {key!r}" in str(e) for e in report.errors)


def test_key_before_rows_is_an_error(tmp_path):
    src = _write_text(tmp_path, '{"meta": 1, "rows": [' + json.dumps(_row(0)) + "]}")
    msg, *_ = _convert(src)
    assert "root key should be 'rows'" in msg and "'meta'" in msg


def test_single_rows_key_with_trailing_whitespace_is_fine(tmp_path):
    src = _write_text(tmp_path, json.dumps({"rows": [_row(0), _row(1)]}) + "\n\n  ")
    out = _convert(src)
    assert not isinstance(out, tuple) and out["id"].tolist() == [0, 1]


def test_root_key_is_case_insensitive_and_still_single(tmp_path):
    src = _write_text(tmp_path, json.dumps({"Rows": [_row(0), _row(1)]}))
    out = _convert(src)
    assert not isinstance(out, tuple) and out["id"].tolist() == [0, 1]
    src = _write_text(tmp_path, json.dumps({"Rows": [_row(0)], "x": 1}))
    msg, *_ = _convert(src)
    assert "second key 'x' next to 'Rows'" in msg


# ---------------------------------------------------------------------------------------------- scalars
@pytest.mark.parametrize(
    ("fs", "value", "words"),
    [
        (F("x", D.FLOAT), True, ("a number (Float)", "boolean True")),
        (F("x", D.DOUBLE), False, ("a number (Double)", "boolean False")),
        (F("x", D.VARCHAR, max_length=9), True, ("a string", "boolean True")),
        (F("x", D.BOOL), 1, ("true or false", "integer 1")),
        (F("x", D.BOOL), "true", ("true or false", "string 'true'")),
    ],
)
def test_bool_and_number_are_not_interchangeable_in_scalars(tmp_path, fs, value, words):
    schema = CollectionSchema(fields=(F("id", D.INT64, is_primary=True), fs))
    rows = [{"id": 0, "x": {D.BOOL: True, D.VARCHAR: "a"}.get(fs.dtype, 1.5)}, {"id": 1, "x": value}]
    msg, file, row, field = _convert(_write_text(tmp_path, json.dumps({"rows": rows})), schema)
    assert (file, row, field) == ("data.json", 1, "x")
    assert "wrong type" in msg
    for w in words:
        assert w in msg, (w, msg)
