"""schema.py: REST v2 describe JSON, pymilvus dicts (incl. a real Milvus Lite describe), inference."""

from __future__ import annotations

import json

import pytest

from zimport_widgets import infer_schema
from zimport_widgets.errors import SchemaError
from zimport_widgets.prepare.samples import sample_schema
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema, load_schema

# The shape of POST /v2/vectordb/collections/describe (Zilliz Cloud / Milvus REST v2).
REST_DESCRIBE = {
    "code": 0,
    "data": {
        "aliases": [],
        "autoId": False,
        "collectionID": 448707763883002014,
        "collectionName": "medium_articles",
        "consistencyLevel": "Bounded",
        "description": "",
        "enableDynamicField": True,
        "fields": [
            {"autoId": False, "description": "", "id": 100, "name": "id", "partitionKey": False,
             "primaryKey": True, "type": "Int64"},
            {"autoId": False, "description": "", "id": 101, "name": "title", "partitionKey": False,
             "primaryKey": False, "type": "VarChar", "params": [{"key": "max_length", "value": "512"}]},
            {"autoId": False, "description": "", "id": 102, "name": "title_vector", "partitionKey": False,
             "primaryKey": False, "type": "FloatVector", "params": [{"key": "dim", "value": "768"}]},
            {"autoId": False, "description": "", "id": 103, "name": "tags", "partitionKey": False,
             "primaryKey": False, "type": "Array", "elementType": "Int64",
             "params": [{"key": "max_capacity", "value": "16"}]},
            {"autoId": False, "description": "", "id": 104, "name": "score", "partitionKey": False,
             "primaryKey": False, "type": "Float", "nullable": True},
        ],
        "indexes": [{"fieldName": "title_vector", "indexName": "title_vector", "metricType": "L2"}],
        "load": "LoadStateLoaded",
        "partitionsNum": 1,
        "properties": [],
        "shardsNum": 1,
    },
}  # fmt: skip


def test_from_rest_describe_answer():
    s = load_schema(REST_DESCRIBE)
    assert s.collection_name == "medium_articles" and s.enable_dynamic_field
    assert s.names == ["id", "title", "title_vector", "tags", "score"]
    assert s.primary.name == "id" and not s.primary.auto_id
    assert s["title"].dtype is DataType.VARCHAR and s["title"].max_length == 512
    assert s["title_vector"].dim == 768
    assert s["tags"].element_type is DataType.INT64 and s["tags"].max_capacity == 16
    assert s["score"].nullable
    # only the data part, and a schema file on disk
    assert load_schema(REST_DESCRIBE["data"]) == s


def test_rest_round_trip_and_file(tmp_path):
    s = sample_schema()
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(s.to_rest()))
    back = load_schema(path)
    assert back == s
    assert back.to_rest()["fields"][2]["params"] == [{"key": "dim", "value": "768"}]


def test_collection_level_auto_id_marks_primary():
    doc = json.loads(json.dumps(REST_DESCRIBE))
    doc["data"]["autoId"] = True
    assert load_schema(doc).primary.auto_id
    assert [f.name for f in load_schema(doc).input_fields] == ["title", "title_vector", "tags", "score"]


def test_from_pymilvus_dict_with_enum_numbers():
    doc = {
        "collection_name": "c",
        "auto_id": True,
        "fields": [
            {"name": "pk", "type": 5, "is_primary": True, "params": {}},
            {"name": "v", "type": 101, "params": {"dim": 4}},
            {"name": "b", "type": 100, "params": {"dim": 16}},
        ],
        "enable_dynamic_field": False,
    }
    s = load_schema(doc)
    assert s.primary.auto_id and s["v"].dtype is DataType.FLOAT_VECTOR and s["b"].dim == 16


def test_from_real_milvus_lite_describe_collection(tmp_path):
    pymilvus = pytest.importorskip("pymilvus")
    from pymilvus import MilvusClient

    client = MilvusClient(str(tmp_path / "lite.db"))
    try:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
        schema.add_field("id", pymilvus.DataType.INT64, is_primary=True)
        schema.add_field("title", pymilvus.DataType.VARCHAR, max_length=512)
        schema.add_field("v", pymilvus.DataType.FLOAT_VECTOR, dim=8)
        schema.add_field("tags", pymilvus.DataType.ARRAY, element_type=pymilvus.DataType.INT64, max_capacity=4)
        schema.add_field("n", pymilvus.DataType.INT32, nullable=True)
        client.create_collection("t", schema=schema)
        described = client.describe_collection("t")
    finally:
        client.close()
    s = load_schema(described)
    assert s.collection_name == "t" and s.enable_dynamic_field
    assert [(f.name, f.dtype) for f in s.fields] == [
        ("id", DataType.INT64), ("title", DataType.VARCHAR), ("v", DataType.FLOAT_VECTOR),
        ("tags", DataType.ARRAY), ("n", DataType.INT32),
    ]  # fmt: skip
    assert s["title"].max_length == 512 and s["v"].dim == 8
    assert s["tags"].element_type is DataType.INT64 and s["tags"].max_capacity == 4
    assert s["n"].nullable and s.primary.name == "id"
    assert load_schema(schema.to_dict()).names == s.names


def test_datatype_parse_spellings():
    assert DataType.parse("FloatVector") is DataType.FLOAT_VECTOR
    assert DataType.parse("FLOAT_VECTOR") is DataType.FLOAT_VECTOR
    assert DataType.parse("DataType.VARCHAR") is DataType.VARCHAR
    assert DataType.parse(21) is DataType.VARCHAR
    with pytest.raises(SchemaError, match="unknown data type"):
        DataType.parse("Decimal")


def test_invalid_schemas():
    with pytest.raises(SchemaError, match="exactly one primary key"):
        CollectionSchema(fields=(FieldSchema("a", DataType.INT64),))
    with pytest.raises(SchemaError, match="needs a dim from 1 to 32768, not None"):
        FieldSchema("v", DataType.FLOAT_VECTOR)
    for dim in (0, -3, 10**12, 32769, True):
        with pytest.raises(SchemaError, match="needs a dim from 1 to 32768"):
            FieldSchema("v", DataType.FLOAT_VECTOR, dim=dim)
    assert FieldSchema("b", DataType.BINARY_VECTOR, dim=32768 * 8).dim == 262144
    for length in (-1, 0, 65536, 10**12):
        with pytest.raises(SchemaError, match="max_length must be from 1 to 65535"):
            FieldSchema("s", DataType.VARCHAR, max_length=length)
    with pytest.raises(SchemaError, match="max_capacity must be from 1 to 4096"):
        FieldSchema("a", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4097)
    for name in ("a\x00b", "1abc", "a-b", "dé", "x" * 256, "\udfff"):
        with pytest.raises(SchemaError, match="not a Milvus field name"):
            FieldSchema(name, DataType.INT64)
    assert FieldSchema("_" + "x" * 254, DataType.INT64).name
    big_dim = [{"key": "dim", "value": "1000000000000"}]
    with pytest.raises(SchemaError, match="from 1 to 32768"):  # read from a REST schema
        load_schema({"fields": [{"name": "id", "type": "Int64", "primaryKey": True},
                                {"name": "v", "type": "FloatVector", "params": big_dim}]})  # fmt: skip
    with pytest.raises(SchemaError, match="multiple of 8"):
        FieldSchema("b", DataType.BINARY_VECTOR, dim=12)
    with pytest.raises(SchemaError, match="appears twice"):
        CollectionSchema(fields=(FieldSchema("a", DataType.INT64, is_primary=True), FieldSchema("a", DataType.BOOL)))
    with pytest.raises(SchemaError, match="non-empty 'fields'"):
        load_schema({"collectionName": "x", "fields": []})


def test_load_schema_file_errors(tmp_path):
    with pytest.raises(SchemaError, match="does not exist"):
        load_schema(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(SchemaError, match="not valid JSON"):
        load_schema(tmp_path / "bad.json")
    with pytest.raises(SchemaError, match="is a folder, not a file"):
        load_schema(tmp_path)
    (tmp_path / "binary.json").write_bytes(b"\x7fELF\xd0\x00\xff")
    with pytest.raises(SchemaError, match="not UTF-8 text"):
        load_schema(tmp_path / "binary.json")


def test_infer_from_rows():
    rows = [
        {"pk": 1, "name": "a" * 70, "vec": [0.1, 2], "score": 1, "meta": {"k": 1}, "flag": False},
        {"pk": 2, "name": "b", "vec": [0.3, 0.4], "score": 2.5, "meta": {}, "flag": True},
    ]
    s = infer_schema(rows)
    types = {f.name: f.dtype for f in s.fields}
    assert types == {
        "pk": DataType.INT64, "name": DataType.VARCHAR, "vec": DataType.FLOAT_VECTOR,
        "score": DataType.DOUBLE, "meta": DataType.JSON, "flag": DataType.BOOL,
    }  # fmt: skip
    assert s.primary.name == "pk"  # a field named id or pk is the primary key
    assert s["name"].max_length == 128 and s["vec"].dim == 2
    assert infer_schema(rows, max_length=1000)["name"].max_length == 1000
    assert infer_schema(rows, primary_key="name").primary.name == "name"


def test_infer_errors():
    with pytest.raises(SchemaError, match="zero rows"):
        infer_schema([])
    with pytest.raises(SchemaError, match="every sample value is null"):
        infer_schema([{"id": 1, "x": None}])
    with pytest.raises(SchemaError, match="list of non-numbers"):
        infer_schema([{"id": 1, "x": ["a"]}])


def test_sample_schema_matches_dataset_doc():
    s = sample_schema()
    assert s.collection_name == "medium_articles" and not s.enable_dynamic_field
    assert s.names == ["id", "title", "title_vector", "link", "reading_time", "publication", "claps", "responses"]
    assert s["title_vector"].dim == 768 and s.primary.name == "id" and not s.primary.auto_id
    assert all(s[n].max_length == 512 for n in ("title", "link", "publication"))
    assert "<table" in s._repr_html_()
