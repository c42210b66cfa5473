"""convert_split: parallel conversion gives exactly the sequential result, errors and all."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zimport_widgets.errors import DataFileError
from zimport_widgets.prepare import split as convert_split
from zimport_widgets.prepare.convert import convert_json_to_numpy
from zimport_widgets.prepare.json_rows import _RangeReader
from zimport_widgets.prepare.samples import sample_schema, write_sample_json
from zimport_widgets.prepare.split import find_cuts
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

SCHEMA = CollectionSchema(
    fields=(
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("s", DataType.VARCHAR, max_length=200),
        FieldSchema("v", DataType.FLOAT_VECTOR, dim=3),
    ),
    enable_dynamic_field=True,
)


def _rows(n: int, tricky: bool = False) -> list[dict]:
    rows = []
    for i in range(n):
        row = {"id": i, "s": 'x}, {"id": 1' if tricky and i % 3 else f"s{i}", "v": [i, 0.5, -1.0]}
        if i > n * 3 // 4:
            row["s"] = "long " * 30  # the widest strings only in the last part
            row["extra"] = {"k": i}  # dynamic keys only in the last part
        rows.append(row)
    return rows


def _files(out):
    return {p.name: np.load(p) for p in sorted(out.iterdir())}


@pytest.mark.parametrize(("workers", "tricky"), [(2, False), (3, False), (2, True)])
def test_parallel_equals_sequential(tmp_path, monkeypatch, workers, tricky):
    # tricky: strings hold '}, {' so a cut guess lands inside a string; the part before it cannot
    # parse and the whole file is converted sequentially instead
    joins = []
    real_join = convert_split._join_parts
    monkeypatch.setattr(convert_split, "_join_parts", lambda *a: joins.append(1) or real_join(*a))
    src = tmp_path / "d.json"
    src.write_text(json.dumps({"rows": _rows(400, tricky)}, indent=1))
    if tricky:
        data = src.read_bytes()
        inside = data.index(b'x}, {\\"id', len(data) // 2) + 1  # a '}, {' inside a string
        monkeypatch.setattr(convert_split, "find_cuts", lambda *a, **k: [(inside + 1, inside + 3)])
    seq = convert_json_to_numpy(src, tmp_path / "seq", SCHEMA, progress=False, workers=1)
    events = []
    par = convert_json_to_numpy(src, tmp_path / "par", SCHEMA, progress=events.append, workers=workers)
    assert par.rows == seq.rows == 400
    a, b = _files(seq.out_dir), _files(par.out_dir)
    assert list(a) == list(b) == ["$meta.npy", "id.npy", "s.npy", "v.npy"]
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name], b[name])
    assert [f.name for f in par.files] == [f.name for f in seq.files]
    assert events[-1].rows_done == 400
    assert joins == ([] if tricky else [1])
    assert not [p for p in tmp_path.rglob("*") if ".part" in p.name or p.name.endswith(".pkl")]


def test_sample_in_parts_list_root(tmp_path):
    src = write_sample_json(tmp_path / "s.json", 120, dim=8)
    rows = json.loads(src.read_text())["rows"]
    (tmp_path / "list.json").write_text(json.dumps(rows))
    res = convert_json_to_numpy(tmp_path / "list.json", tmp_path / "out", sample_schema(dim=8), progress=False,
                                workers=2)  # fmt: skip
    assert res.rows == 120
    np.testing.assert_array_equal(np.load(res.out_dir / "id.npy"), np.arange(120))


def test_value_error_in_later_part_is_numbered_file_wide(tmp_path):
    rows = _rows(400)
    rows[390]["v"] = [1.0]
    src = tmp_path / "d.json"
    src.write_text(json.dumps({"rows": rows}))
    errors = []
    for workers in (1, 2):
        with pytest.raises(DataFileError) as info:
            convert_json_to_numpy(src, tmp_path / f"out{workers}", SCHEMA, progress=False, workers=workers)
        errors.append(str(info.value))
        assert info.value.row == 390 and info.value.field == "v"
        assert not (tmp_path / f"out{workers}").exists()
    assert errors[0] == errors[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json"]


def test_syntax_error_falls_back_to_sequential_error(tmp_path):
    text = json.dumps({"rows": _rows(400)})
    src = tmp_path / "d.json"
    src.write_text(text.replace('{"id": 300,', '{"id": 300,,'))
    with pytest.raises(DataFileError) as seq:
        convert_json_to_numpy(src, tmp_path / "a", SCHEMA, progress=False, workers=1)
    with pytest.raises(DataFileError) as par:
        convert_json_to_numpy(src, tmp_path / "b", SCHEMA, progress=False, workers=2)
    assert str(seq.value) == str(par.value) and "malformed JSON" in str(par.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json"]


def test_find_cuts_and_range_reader(tmp_path):
    src = tmp_path / "d.json"
    src.write_bytes(b'{"rows": [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}]}')
    cuts = find_cuts(src, 2)
    assert len(cuts) == 1
    comma, brace = cuts[0]
    data = src.read_bytes()
    assert data[comma : comma + 1] == b"," and data[brace : brace + 1] == b"{"
    left = _RangeReader(src, 0, comma, b"", b"]}")
    right = _RangeReader(src, brace, len(data), b'{"rows": [', b"")
    try:
        joined = json.loads(left.read(7) + left.read()), json.loads(right.read())
        assert [len(x["rows"]) for x in joined] in ([2, 2], [3, 1], [1, 3])
        left.seek(0)
        assert json.loads(left.read()) == joined[0]
    finally:
        left.close()
        right.close()


def test_progress_callback_error_stops_parallel_conversion(tmp_path):
    from zimport_widgets.errors import ProgressCallbackError

    src = tmp_path / "d.json"
    src.write_text(json.dumps({"rows": _rows(3000)}))
    calls = []

    def cancel(event):
        calls.append(event)
        raise KeyError("cancelled")

    with pytest.raises(ProgressCallbackError, match="cancelled"):
        convert_json_to_numpy(src, tmp_path / "out", SCHEMA, progress=cancel, workers=2)
    assert len(calls) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json"]


# ---------------------------------------------------------------------------------------------- Parquet in parts
@pytest.mark.parametrize(("workers", "tricky"), [(2, False), (3, False), (2, True)])
def test_parquet_in_parts_equals_one_process(tmp_path, monkeypatch, workers, tricky):
    import pyarrow.parquet as pq

    from zimport_widgets.prepare.parquet_out import convert_json_to_parquet

    src = tmp_path / "d.json"
    src.write_text(json.dumps({"rows": _rows(3000, tricky)}, indent=1))
    if tricky:
        data = src.read_bytes()
        inside = data.index(b'x}, {\\"id', len(data) // 2) + 1  # a '}, {' inside a string
        monkeypatch.setattr(convert_split, "find_cuts", lambda *a, **k: [(inside + 1, inside + 3)])
    appended = []
    real = convert_split.parquet_in_parts
    monkeypatch.setattr("zimport_widgets.prepare.parquet_out.parquet_in_parts",
                        lambda *a, **k: appended.append(r := real(*a, **k)) or r)  # fmt: skip
    one = convert_json_to_parquet(src, tmp_path / "one.parquet", SCHEMA, progress=False, workers=1)
    events = []
    par = convert_json_to_parquet(src, tmp_path / "par.parquet", SCHEMA, progress=events.append, workers=workers)
    assert appended == [None if tricky else 3000]  # tricky: a cut inside a string, so one process after all
    assert par.rows == one.rows == 3000
    assert pq.read_table(par.path).equals(pq.read_table(one.path))
    assert events[-1].rows_done == 3000 and events[-1].bytes_done == events[-1].bytes_total
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json", "one.parquet", "par.parquet"]  # no scratch left


def test_parquet_in_parts_numbers_a_late_error_file_wide(tmp_path):
    from zimport_widgets.prepare.parquet_out import convert_json_to_parquet

    rows = _rows(3000)
    rows[2900]["v"] = [1.0, 2.0]
    src = tmp_path / "d.json"
    src.write_text(json.dumps({"rows": rows}))
    with pytest.raises(DataFileError) as info:
        convert_json_to_parquet(src, tmp_path / "o.parquet", SCHEMA, progress=False, workers=2)
    assert (info.value.row, info.value.field) == (2900, "v")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json"]
