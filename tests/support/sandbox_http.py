"""Talking to a running sandbox over plain HTTP and oss2, as the docs' examples do (no zimport client).

Shared by the sandbox tests of both engines.
"""

from __future__ import annotations

import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import requests

from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

DIM = 8


def post(url: str, body: Any, key: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return requests.post(url, json=body, headers=headers, timeout=30)


def call(sb, base: str, path: str, body: Any = None, *, key: str | None = "", method: str = "POST") -> dict:
    key = sb.api_key if key == "" else key
    if method == "GET":
        resp = requests.get(base + path, params=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    else:
        resp = post(base + path, body, key)
    assert resp.status_code == 200, resp.text
    return resp.json()


def create_body(schema: CollectionSchema) -> dict:
    """A REST v2 collections/create body, written the way the Zilliz docs show it."""
    fields = []
    for f in schema.fields:
        fd: dict[str, Any] = {"fieldName": f.name, "dataType": f.dtype.value}
        if f.is_primary:
            fd["isPrimary"] = True
        params = {k: str(v) for k, v in (("dim", f.dim), ("max_length", f.max_length)) if v}
        if params:
            fd["elementTypeParams"] = params
        fields.append(fd)
    vec = schema.vector_fields[0].name
    return {
        "collectionName": schema.collection_name,
        "schema": {"autoId": False, "enabledDynamicField": schema.enable_dynamic_field, "fields": fields},
        "indexParams": [{"fieldName": vec, "metricType": "COSINE", "indexName": vec,
                         "params": {"index_type": "AUTOINDEX"}}],
    }  # fmt: skip


def create_collection(sb, schema: CollectionSchema) -> str:
    res = call(sb, sb.cluster_endpoint, "/v2/vectordb/collections/create", create_body(schema))
    assert res == {"code": 0, "data": {}}
    return schema.collection_name or ""


def upload(sb, local: Path, prefix: str) -> str:
    """Upload every file under ``local`` to ``prefix`` with oss2; return the folder's object URL."""
    bucket = sb.store.oss2_bucket()
    for f in sorted(local.rglob("*")):
        if f.is_file():
            bucket.put_object_from_file(f"{prefix}/{f.relative_to(local).as_posix()}", str(f))
    return sb.object_url(prefix + "/")


def count(sb, name: str) -> int:
    res = call(sb, sb.cluster_endpoint, "/v2/vectordb/entities/query",
               {"collectionName": name, "filter": "", "outputFields": ["count(*)"]})  # fmt: skip
    assert res["code"] == 0, res
    return res["data"][0]["count(*)"]


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def bulk_writer_round_trip(sandbox, tmp_path, file_type: str) -> None:
    """pymilvus LocalBulkWriter output of ``file_type`` imported with pymilvus bulk_import, read back equal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pymilvus import DataType as MType
        from pymilvus import MilvusClient
        from pymilvus.bulk_writer import (
            BulkFileType,
            LocalBulkWriter,
            bulk_import,
            get_import_progress,
            list_import_jobs,
        )
    name = unique("bw")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", MType.INT64, is_primary=True)
    schema.add_field("vector", MType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("title", MType.VARCHAR, max_length=64)
    schema.add_field("meta", MType.JSON)
    ours = CollectionSchema(
        fields=(FieldSchema("id", DataType.INT64, is_primary=True),
                FieldSchema("vector", DataType.FLOAT_VECTOR, dim=DIM),
                FieldSchema("title", DataType.VARCHAR, max_length=64), FieldSchema("meta", DataType.JSON)),
        enable_dynamic_field=True, collection_name=name,
    )  # fmt: skip
    create_collection(sandbox, ours)
    rng = np.random.default_rng(7)
    kind = getattr(BulkFileType, file_type)
    with LocalBulkWriter(schema=schema, local_path=str(tmp_path / "bw"), file_type=kind) as writer:
        for i in range(500):
            writer.append_row({"id": i, "vector": rng.random(DIM).astype(np.float32).tolist(), "title": f"t{i}",
                               "meta": {"n": i}, "color": "red" if i % 2 else "blue"})  # fmt: skip
        writer.commit()
        batches = writer.batch_files
    suffix = {"NUMPY": ".npy", "PARQUET": ".parquet", "JSON": ".json", "CSV": ".csv", "JSONL": ".jsonl"}[file_type]
    assert batches and all(str(p).endswith(suffix) for p in batches[0])
    folder = Path(batches[0][0]).parent
    url = upload(sandbox, folder, unique("bw-src") + "/1")
    if file_type == "NUMPY":
        assert any(Path(p).name == "$meta.npy" for p in batches[0])
    else:  # one file: the URL names it
        (only,) = batches[0]
        url += Path(only).name

    resp = bulk_import(url=sandbox.controller_url, api_key=sandbox.api_key, cluster_id=sandbox.cluster_id,
                       collection_name=name, object_urls=[[url]], access_key=sandbox.access_key_id,
                       secret_key=sandbox.access_key_secret)  # fmt: skip
    job_id = resp.json()["data"]["jobId"]
    deadline = time.monotonic() + 60
    while True:
        progress = get_import_progress(url=sandbox.controller_url, job_id=job_id, cluster_id=sandbox.cluster_id,
                                       api_key=sandbox.api_key).json()["data"]  # fmt: skip
        assert progress["state"] in ("Pending", "Importing", "Completed"), progress
        if progress["state"] == "Completed":
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert progress["progress"] == 100 and progress["importedRows"] == progress["totalRows"] == 500
    assert progress["reason"] == "" and progress["completeTime"]
    listed = list_import_jobs(url=sandbox.controller_url, cluster_id=sandbox.cluster_id, api_key=sandbox.api_key,
                              collection_name=name).json()["data"]  # fmt: skip
    assert [r["jobId"] for r in listed["records"]] == [job_id] and listed["records"][0]["state"] == "Completed"
    assert count(sandbox, name) == 500
    query = {"collectionName": name, "filter": "id == 3", "outputFields": ["title", "meta", "color"]}
    rows = call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/entities/query", query)["data"]
    assert rows == [{"id": 3, "title": "t3", "meta": {"n": 3}, "color": "red"}]
