"""Function-output fields (BM25's sparse vector): read from the schema, never written, refused when supplied."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zimport_widgets import check_import_source, convert
from zimport_widgets.errors import DataFileError, SchemaError
from zimport_widgets.schema import CollectionSchema, load_schema

REST = {
    "collectionName": "docs",
    "fields": [
        {"name": "id", "type": "Int64", "primaryKey": True},
        {"name": "text", "type": "VarChar", "params": [{"key": "max_length", "value": "200"}]},
        {"name": "sparse", "type": "SparseFloatVector"},
        {"name": "dense", "type": "FloatVector", "params": [{"key": "dim", "value": "2"}]},
    ],
    "functions": [{"name": "bm25", "type": "BM25", "inputFieldNames": ["text"], "outputFieldNames": ["sparse"]}],
}
PYMILVUS = {
    "collection_name": "docs",
    "fields": [
        {"name": "id", "type": 5, "is_primary": True},
        {"name": "text", "type": 21, "params": {"max_length": 200}},
        {"name": "sparse", "type": 104, "is_function_output": True},
        {"name": "dense", "type": 101, "params": {"dim": 2}},
    ],
    "functions": [{"name": "bm25", "type": 1, "input_field_names": ["text"], "output_field_names": ["sparse"]}],
}
ROWS = [{"id": i, "text": f"doc {i}", "dense": [0.5, i]} for i in range(5)]


@pytest.mark.parametrize("doc", [REST, PYMILVUS], ids=["rest", "pymilvus"])
def test_function_outputs_come_from_either_schema_shape_and_survive_a_round_trip(doc):
    schema = load_schema(doc)
    assert schema.function_outputs == ["sparse"] and [f.name for f in schema.input_fields] == ["id", "text", "dense"]
    assert CollectionSchema.from_rest(schema.to_rest()).function_outputs == ["sparse"]
    with pytest.raises(SchemaError, match="outputs to no field"):
        load_schema({**REST, "functions": [{"outputFieldNames": ["nope"]}]})


@pytest.mark.parametrize("to", ["parquet", "numpy"])
def test_files_for_a_bm25_collection_leave_the_output_out_and_check_clean(tmp_path, to):
    schema = load_schema(REST)
    out = tmp_path / ("o.parquet" if to == "parquet" else "npy")
    result = convert(ROWS, out, schema, to=to, progress=False)
    if to == "parquet":
        assert pq.read_table(result.path).column_names == ["id", "text", "dense"]
        files = [result.path]
    else:
        files = [f.path for f in result.files]
        assert sorted(p.name for p in files) == ["dense.npy", "id.npy", "text.npy"]
    report = check_import_source(files, schema)
    assert report.ok, report


def test_supplying_a_function_output_is_refused_everywhere(tmp_path):
    schema = load_schema(REST)
    message = "not allowed to provide data for function output field 'sparse'"
    bad_rows = [dict(r, sparse={"1": 0.5}) for r in ROWS]
    with pytest.raises(DataFileError, match=message) as info:
        convert(bad_rows, tmp_path / "a.parquet", schema, progress=False)
    assert info.value.row == 0 and info.value.field == "sparse"
    with pytest.raises(DataFileError, match=message):
        convert(
            pd.DataFrame(bad_rows).assign(sparse=['{"1": 0.5}'] * 5), tmp_path / "b.parquet", schema, progress=False
        )
    csv = tmp_path / "c.csv"
    csv.write_text('id,text,dense,sparse\n1,t,"[1,2]","{""1"": 0.5}"\n')
    with pytest.raises(DataFileError, match=message):
        convert(csv, tmp_path / "c.parquet", schema, progress=False)
    table = pa.table({"id": [1], "text": ["t"], "dense": [[1.0, 2.0]], "sparse": [json.dumps({"1": 0.5})]})
    pq.write_table(table, tmp_path / "d.parquet")
    report = check_import_source(tmp_path / "d.parquet", schema)
    assert not report.ok and any(message in e.message for e in report.errors), report
    npy = tmp_path / "npy"
    convert(ROWS, npy, schema, to="numpy", progress=False)
    np.save(npy / "sparse.npy", np.array(['{"1": 0.5}'] * 5))
    report = check_import_source(npy, schema)
    assert not report.ok and any(message in e.message for e in report.errors), report
