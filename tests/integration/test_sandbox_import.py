"""The sandbox's import controller and cluster data plane, over real HTTP on 127.0.0.1.

Third-party clients run unmodified: curl (the import docs' own commands, host replaced), pymilvus's
``bulk_writer`` (LocalBulkWriter NumPy files + bulk_import/get_import_progress/list_import_jobs) and oss2.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import oss2
import pytest
import requests

from tests.support.sandbox_http import (
    DIM,
    bulk_writer_round_trip,
    call,
    count,
    create_body,
    create_collection,
    post,
    unique,
    upload,
)
from zimport_widgets.prepare.convert import convert_json_to_numpy
from zimport_widgets.prepare.samples import sample_schema, write_sample_json
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

V1_CREATE, V1_GET, V1_LIST = "/v1/vector/collections/import", "/v1/vector/collections/import/get", \
    "/v1/vector/collections/import/list"  # fmt: skip
V2 = "/v2/vectordb/jobs/import/"


# -- helpers --------------------------------------------------------------------------------------------
def tiny_schema(name: str, *, dynamic: bool = False) -> CollectionSchema:
    return CollectionSchema(
        fields=(
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("vec", DataType.FLOAT_VECTOR, dim=DIM),
            FieldSchema("title", DataType.VARCHAR, max_length=64),
            FieldSchema("claps", DataType.INT64),
        ),
        enable_dynamic_field=dynamic,
        collection_name=name,
    )


def write_numpy(folder: Path, n: int, *, start: int = 0, claps_dtype: str = "int64") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(start)
    np.save(folder / "id.npy", np.arange(start, start + n, dtype=np.int64))
    np.save(folder / "vec.npy", rng.random((n, DIM), dtype=np.float32))
    np.save(folder / "title.npy", np.array([f"title {i}" for i in range(start, start + n)]))
    np.save(folder / "claps.npy", np.arange(n).astype(claps_dtype))
    return folder


def describe_job(sb, job_id: str) -> dict:
    res = call(sb, sb.controller_url, V2 + "describe", {"jobId": job_id, "clusterId": sb.cluster_id})
    assert res["code"] == 0, res
    return res["data"]


def wait_job(sb, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        data = describe_job(sb, job_id)
        if data["state"] in ("Completed", "Failed"):
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.05)


def v1_body(sb, name: str, url: str, **over: Any) -> dict:
    body = {"clusterId": sb.cluster_id, "collectionName": name, "objectUrl": url,
            "accessKey": sb.access_key_id, "secretKey": sb.access_key_secret}  # fmt: skip
    body.update(over)
    return body


@pytest.fixture(scope="module")
def tiny(sandbox, tmp_path_factory):
    """A collection and an uploaded 120-row NumPy folder for it: (name, folder URL, prefix)."""
    name = create_collection(sandbox, tiny_schema(unique("tiny")))
    prefix = unique("tiny-src")
    url = upload(sandbox, write_numpy(tmp_path_factory.mktemp("tiny") / "np", 120), prefix)
    return name, url, prefix


# -- the import docs' own curl commands ---------------------------------------------------------------------
DOC_IMPORT = """\
export CLOUD_REGION="gcp-us-west1"
export API_KEY=""
export ACCESS_KEY=""
export SECRET_KEY=""

curl --location --request POST "https://controller.api.${CLOUD_REGION}.zillizcloud.com/v1/vector/collections/import" \\
--header "Authorization: Bearer ${API_KEY}" \\
--data-raw '{
    "clusterId": "inxx-xxxxxxxxxxxxxxx",
    "collectionName": "medium_articles",
    "objectUrl": "gs://docs-demo/1af78216-xxxx-xxxx-xxxx-2b0a73c566ed/1.parquet",
    "accessKey": "${ACCESS_KEY}",
    "secretKey": "${SECRET_KEY}"
}'
"""
DOC_GET = """\
export CLOUD_REGION="gcp-us-west1"
export JOB_ID="job-xxxxxxxxxxxxxxxxxxxxxx"
export CLUSTER_ID="inxx-xxxxxxxxxxxxxxx"
export API_KEY=""

curl --location --request GET "https://controller.api.${CLOUD_REGION}.zillizcloud.com/v1/vector/collections/\
import/get?jobId=${JOB_ID}&clusterId=${CLUSTER_ID}" \\
--header "Authorization: Bearer ${API_KEY}"
"""
DOC_HOST = "https://controller.api.${CLOUD_REGION}.zillizcloud.com"


def _fill(script: str, sb, values: dict[str, str], body: dict[str, str] | None = None) -> str:
    """The doc's script with the host replaced and the placeholders a reader fills in filled in."""
    script = script.replace(DOC_HOST, sb.controller_url)
    for name, value in values.items():
        script = script.replace(f'export {name}=""', f"export {name}={shlex.quote(value)}")
        script = script.replace(f'export {name}="{_DOC_VALUES.get(name, "")}"', f"export {name}={shlex.quote(value)}")
    for old, new in (body or {}).items():
        script = script.replace(old, new)
    return script


_DOC_VALUES = {"JOB_ID": "job-xxxxxxxxxxxxxxxxxxxxxx", "CLUSTER_ID": "inxx-xxxxxxxxxxxxxxx"}


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")
def test_doc_curl_commands_import_and_reach_ready_1(sandbox, tmp_path):
    schema = sample_schema()  # the docs' medium_articles collection, 768-d
    if "medium_articles" not in call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/list", {})["data"]:
        create_collection(sandbox, schema)
    src = write_sample_json(tmp_path / "medium_articles.json", n=300)
    converted = convert_json_to_numpy(src, tmp_path / "np", schema, progress=False)
    before = count(sandbox, "medium_articles")
    url = upload(sandbox, converted.out_dir, unique("docs-demo"))
    script = _fill(
        DOC_IMPORT, sandbox, {"API_KEY": sandbox.api_key},
        {"inxx-xxxxxxxxxxxxxxx": sandbox.cluster_id,
         "gs://docs-demo/1af78216-xxxx-xxxx-xxxx-2b0a73c566ed/1.parquet": url,
         "${ACCESS_KEY}": sandbox.access_key_id, "${SECRET_KEY}": sandbox.access_key_secret},
    )  # fmt: skip
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=True).stdout
    created = json.loads(out)
    assert created["code"] == 200 and set(created) == {"code", "data"}
    job_id = created["data"]["jobId"]
    assert isinstance(job_id, str) and job_id.startswith("job-")
    get = _fill(DOC_GET, sandbox, {"API_KEY": sandbox.api_key, "JOB_ID": job_id, "CLUSTER_ID": sandbox.cluster_id})
    seen = []
    deadline = time.monotonic() + 60
    while True:
        res = json.loads(subprocess.run(["bash", "-c", get], capture_output=True, text=True, timeout=60,
                                        check=True).stdout)  # fmt: skip
        assert res["code"] == 200
        data = res["data"]
        seen.append(data["readyPercentage"])
        assert 0 <= data["readyPercentage"] <= 1
        assert data["errorMessage"] is None
        if data["readyPercentage"] == 1:
            break
        assert data["completeTime"] is None
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert data["completeTime"] and data["jobId"] == job_id and data["collectionName"] == "medium_articles"
    assert data["details"] and data["details"][0]["readyPercentage"] == 1
    assert seen == sorted(seen)
    assert count(sandbox, "medium_articles") == before + 300


# -- pymilvus.bulk_writer, unmodified, against the v2 routes ------------------------------------------------
@pytest.mark.parametrize("file_type", ["PARQUET", "NUMPY", "JSON", "CSV", "JSONL"])  # every type it writes
def test_pymilvus_bulk_writer_output_and_bulk_import(sandbox, tmp_path, file_type):
    bulk_writer_round_trip(sandbox, tmp_path, file_type)


def test_pymilvus_bulk_import_error_raises(sandbox):
    from pymilvus.bulk_writer import bulk_import
    from pymilvus.exceptions import MilvusException

    with pytest.raises(MilvusException, match="80002"):
        bulk_import(url=sandbox.controller_url, api_key="wrong-key", cluster_id=sandbox.cluster_id,
                    collection_name="x", object_urls=[["oss://b/k/"]])  # fmt: skip


# -- URL forms and sources ----------------------------------------------------------------------------------
def test_url_forms_all_import(sandbox, tiny):
    name, url, prefix = tiny
    forms = [url, f"oss://{sandbox.oss_bucket}/{prefix}/", f"https://{sandbox.oss_bucket}.oss-cn-hangzhou.aliyuncs.com/{prefix}/",
             f"oss://{sandbox.oss_bucket}/{prefix}/*.npy"]  # fmt: skip
    before = count(sandbox, name)
    for form in forms:
        res = call(sandbox, sandbox.controller_url, V2 + "create",
                   {"clusterId": sandbox.cluster_id, "collectionName": name, "objectUrls": [[form]],
                    "accessKey": sandbox.access_key_id, "secretKey": sandbox.access_key_secret})  # fmt: skip
        assert res["code"] == 0, (form, res)
        done = wait_job(sandbox, res["data"]["jobId"])
        assert done["state"] == "Completed" and done["importedRows"] == 120, (form, done)
    # an import inserts: the same keys again add rows, as on the service (Milvus Lite alone would replace them)
    assert count(sandbox, name) == before + 120 * len(forms)


def test_json_source_and_folder_of_subfolders(sandbox, tmp_path):
    name = create_collection(sandbox, tiny_schema(unique("mix")))
    rows = [{"id": i, "vec": [0.1 * (i % 7)] * DIM, "title": f"j{i}", "claps": i} for i in range(30)]
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "rows.json").write_text(json.dumps({"rows": rows}))
    json_url = upload(sandbox, tmp_path / "j", unique("json")) + "rows.json"
    res = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, json_url))
    assert res["code"] == 200
    assert wait_job(sandbox, res["data"]["jobId"])["importedRows"] == 30
    root = tmp_path / "sets"
    write_numpy(root / "1", 10, start=100)
    write_numpy(root / "2", 15, start=200)
    sets_url = upload(sandbox, root, unique("sets"))
    res = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, sets_url))
    done = wait_job(sandbox, res["data"]["jobId"])
    assert done["state"] == "Completed" and len(done["details"]) == 2 and done["totalRows"] == 25
    assert count(sandbox, name) == 55


# -- documented error codes ---------------------------------------------------------------------------------
def test_auth_errors_80002_everywhere(sandbox):
    for base, path, body in [
        (sandbox.controller_url, V1_CREATE, {}),
        (sandbox.controller_url, V2 + "create", {}),
        (sandbox.controller_url, V2 + "list", {"clusterId": sandbox.cluster_id}),
        (sandbox.cluster_endpoint, "/v2/vectordb/collections/list", {}),
    ]:
        for key in (None, "wrong-key"):
            resp = post(base + path, body, key)
            assert resp.status_code == 200
            assert resp.json()["code"] == 80002
            assert resp.json()["message"].startswith("Token not found or unauthorized")
    resp = requests.get(sandbox.controller_url + V1_GET, params={"jobId": "x", "clusterId": sandbox.cluster_id},
                        timeout=10)  # fmt: skip
    assert resp.json()["code"] == 80002


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("no_cluster", 90104), ("bad_cluster", 40021), ("no_collection", 47005), ("bad_name", 90011),
        ("no_url", 90145), ("bad_url", 10003), ("escape", 10003), ("other_port", 10003), ("s3", 83004),
        ("other_region", 83004),
        ("missing_object", 83001), ("count", 47036), ("mixed", 47053), ("wrong_name", 47053), ("empty", 90142),
    ],
)  # fmt: skip
def test_create_error_codes(sandbox, tiny, tmp_path, case, code):
    name, url, prefix = tiny
    b = sandbox.oss_bucket
    bodies = {
        "no_cluster": v1_body(sandbox, name, url, clusterId=""),
        "bad_cluster": v1_body(sandbox, name, url, clusterId="in01-doesnotexist"),
        "no_collection": v1_body(sandbox, "no_such_collection", url),
        "bad_name": v1_body(sandbox, "bad-name!", url),
        "no_url": v1_body(sandbox, name, ""),
        "bad_url": v1_body(sandbox, name, "ftp://example/x.npy"),
        "escape": v1_body(sandbox, name, f"{sandbox.oss_endpoint}/{b}/{prefix}/../../other-bucket/x/"),
        "other_port": v1_body(sandbox, name, f"http://127.0.0.1:1/{b}/{prefix}/"),
        "s3": v1_body(sandbox, name, f"s3://{b}/{prefix}/"),
        "other_region": v1_body(sandbox, name, f"https://{b}.oss-cn-beijing.aliyuncs.com/{prefix}/"),
        "missing_object": v1_body(sandbox, name, f"oss://{b}/{prefix}/nothing-here/"),
        "empty": {},
    }
    if case == "count":
        folder = write_numpy(tmp_path / "extra", 5)
        np.save(folder / "extra.npy", np.zeros(5))
        bodies[case] = v1_body(sandbox, name, upload(sandbox, folder, unique("extra")))
    elif case == "mixed":
        folder = write_numpy(tmp_path / "mixed", 5)
        (folder / "rows.json").write_text('{"rows": []}')
        bodies[case] = v1_body(sandbox, name, upload(sandbox, folder, unique("mixed")))
    elif case == "wrong_name":
        folder = write_numpy(tmp_path / "renamed", 5)
        (folder / "claps.npy").rename(folder / "clap.npy")
        bodies[case] = v1_body(sandbox, name, upload(sandbox, folder, unique("renamed")))
    res = call(sandbox, sandbox.controller_url, V1_CREATE, bodies[case])
    assert res["code"] == code, res
    assert isinstance(res["message"], str) and res["message"] and "data" not in res
    assert sandbox.access_key_secret not in res["message"]
    # the same on v2
    body = dict(bodies[case])
    if "objectUrl" in body:
        body["objectUrls"] = [[body.pop("objectUrl")]] if body["objectUrl"] else []
    if case == "no_url":
        body.pop("objectUrls", None)
    assert call(sandbox, sandbox.controller_url, V2 + "create", body)["code"] == code


def test_get_and_list_errors(sandbox):
    assert call(sandbox, sandbox.controller_url, V1_GET, {"jobId": "job-nope", "clusterId": sandbox.cluster_id},
                method="GET")["code"] == 90144  # fmt: skip
    assert call(sandbox, sandbox.controller_url, V1_GET, {"jobId": "job-nope"}, method="GET")["code"] == 90104
    assert call(sandbox, sandbox.controller_url, V1_LIST, {"clusterId": "in01-other"}, method="GET")["code"] == 40021
    assert call(sandbox, sandbox.controller_url, V1_LIST, {"clusterId": sandbox.cluster_id, "pageSize": 3},
                method="GET")["code"] == 80003  # fmt: skip
    assert call(sandbox, sandbox.controller_url, V2 + "getProgress",
                {"jobId": "job-nope", "clusterId": sandbox.cluster_id})["code"] == 90144  # fmt: skip
    resp = post(sandbox.controller_url + "/v2/vectordb/jobs/import/nope", {}, sandbox.api_key)
    assert resp.status_code == 404


def test_progress_routes_and_job_id_spellings(sandbox, tiny):
    name, url, _ = tiny
    job_id = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, url))["data"]["jobId"]
    wait_job(sandbox, job_id)
    for route in ("getProgress", "describe", "get_progress"):
        for spelling in ("jobId", "jobID"):
            res = call(sandbox, sandbox.controller_url, V2 + route, {spelling: job_id, "clusterId": sandbox.cluster_id})
            data = res["data"]
            assert res["code"] == 0 and data["jobId"] == job_id and data["state"] == "Completed"
            assert data["progress"] == 100 and data["importedRows"] == data["totalRows"] == 120
            assert {"fileName", "fileSize", "state", "progress", "importedRows", "totalRows"} <= set(data["details"][0])
    v1 = call(sandbox, sandbox.controller_url, V1_GET, {"jobId": job_id, "clusterId": sandbox.cluster_id},
              method="GET")["data"]  # fmt: skip
    assert v1["readyPercentage"] == 1 and v1["errorMessage"] is None and v1["fileSize"] > 0
    tasks = call(sandbox, sandbox.controller_url, V1_LIST, {"clusterId": sandbox.cluster_id, "pageSize": 100},
                 method="GET")["data"]  # fmt: skip
    assert {"tasks", "count", "currentPage", "pageSize"} <= set(tasks)
    mine = [t for t in tasks["tasks"] if t["jobId"] == job_id]
    assert mine == [{"collectionName": name, "jobId": job_id, "state": "ImportCompleted"}]


# -- jobs: failures, queueing, progress --------------------------------------------------------------------
def test_bad_file_fails_the_job_with_a_reason_naming_file_and_field(sandbox, tiny, tmp_path):
    name, _, _ = tiny
    before = count(sandbox, name)
    prefix = unique("badfile")
    url = upload(sandbox, write_numpy(tmp_path / "bad", 20, claps_dtype="int32"), prefix)
    job_id = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, url))["data"]["jobId"]
    done = wait_job(sandbox, job_id)
    assert done["state"] == "Failed" and done["progress"] == 0
    assert f"{prefix}/claps.npy" in done["reason"] and "claps" in done["reason"]
    v1 = call(sandbox, sandbox.controller_url, V1_GET, {"jobId": job_id, "clusterId": sandbox.cluster_id},
              method="GET")["data"]  # fmt: skip
    assert v1["errorMessage"] == done["reason"] and v1["readyPercentage"] < 1
    assert count(sandbox, name) == before  # nothing half-written


def test_bad_json_value_names_row_and_field(sandbox, tiny, tmp_path):
    name, _, _ = tiny
    rows = [{"id": i, "vec": [0.5] * DIM, "title": "ok", "claps": i} for i in range(5)]
    rows[3]["vec"] = [0.5] * (DIM - 1)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "bad.json").write_text(json.dumps({"rows": rows}))
    url = upload(sandbox, tmp_path / "b", unique("badjson")) + "bad.json"
    job_id = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, url))["data"]["jobId"]
    done = wait_job(sandbox, job_id)
    assert done["state"] == "Failed"
    assert "bad.json" in done["reason"] and "'vec'" in done["reason"] and "row 3" in done["reason"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_good_and_bad_text_files_import_or_name_row_and_field(sandbox, tiny, tmp_path, suffix):
    name, _, _ = tiny
    base = 900_000 if suffix == ".csv" else 910_000
    rows = [{"id": base + i, "vec": [0.25] * DIM, "title": f"t,{i}", "claps": i} for i in range(6)]
    for label, bad in (("good", None), ("bad", 4)):
        if bad is not None:
            rows[bad]["vec"] = [0.5] * (DIM + 1)
        folder = tmp_path / label
        folder.mkdir()
        path = folder / f"{label}{suffix}"
        if suffix == ".csv":
            lines = ["id,vec,title,claps"] + [f'{r["id"]},"{r["vec"]}","{r["title"]}",{r["claps"]}' for r in rows]
            path.write_text("\n".join(lines) + "\n")
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        before = count(sandbox, name)
        url = upload(sandbox, folder, unique(f"text-{label}")) + path.name
        job_id = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, url))["data"]["jobId"]
        done = wait_job(sandbox, job_id)
        if bad is None:
            assert done["state"] == "Completed" and count(sandbox, name) == before + 6, done
        else:
            assert done["state"] == "Failed" and count(sandbox, name) == before
            assert path.name in done["reason"] and "row 4" in done["reason"] and "'vec'" in done["reason"], done


def test_wrong_keys_fail_the_job_with_the_stores_reason(sandbox, tiny):
    name, url, _ = tiny
    res = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, url, secretKey="wrong-secret"))
    assert res["code"] == 200
    done = wait_job(sandbox, res["data"]["jobId"])
    assert done["state"] == "Failed" and "SignatureDoesNotMatch" in done["reason"]
    res = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, url, accessKey="LTAInobody"))
    assert "InvalidAccessKeyId" in wait_job(sandbox, res["data"]["jobId"])["reason"]
    assert "wrong-secret" not in json.dumps(describe_job(sandbox, res["data"]["jobId"]))


def test_two_jobs_queue_and_progress_advances_with_batches(sandbox, tiny, tmp_path):
    name, _, _ = tiny
    url = upload(sandbox, write_numpy(tmp_path / "q", 200, start=1000), unique("queued"))
    runner = sandbox.runner
    saved = runner.batch_rows, runner.batch_delay
    runner.batch_rows, runner.batch_delay = 40, 0.12
    try:
        first = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, url))["data"]["jobId"]
        second = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, url))["data"]["jobId"]
        states, progress = set(), []
        while True:
            a, b = describe_job(sandbox, first), describe_job(sandbox, second)
            states.add((a["state"], b["state"]))
            progress.append(a["progress"])
            if b["state"] in ("Completed", "Failed"):
                break
            time.sleep(0.03)
    finally:
        runner.batch_rows, runner.batch_delay = saved
    assert ("Importing", "Pending") in states
    assert a["state"] == b["state"] == "Completed"
    assert progress == sorted(progress)
    assert len({p for p in progress if 40 < p < 100}) >= 3  # moved with the batches
    listed = call(sandbox, sandbox.controller_url, V2 + "list",
                  {"clusterId": sandbox.cluster_id, "collectionName": name, "pageSize": 100})["data"]  # fmt: skip
    ids = [r["jobId"] for r in listed["records"]]
    assert ids.index(second) < ids.index(first)  # newest first


# -- faults -------------------------------------------------------------------------------------------------
def test_faults_are_visible_to_clients(sandbox, sandbox_faults, tiny):
    name, url, _ = tiny
    base = sandbox.controller_url
    sandbox_faults.error(V2 + "list", status=500, service="controller")
    resp = post(base + V2 + "list", {"clusterId": sandbox.cluster_id}, sandbox.api_key)
    assert resp.status_code == 500
    assert post(base + V2 + "list", {"clusterId": sandbox.cluster_id}, sandbox.api_key).json()["code"] == 0
    sandbox_faults.error("/v2/vectordb/*", status=429, times=2, service="cluster")
    for _ in range(2):
        resp = post(sandbox.cluster_endpoint + "/v2/vectordb/collections/list", {}, sandbox.api_key)
        assert resp.status_code == 429 and resp.headers["Retry-After"]
    sandbox_faults.drop(V1_GET, service="controller")
    with pytest.raises(requests.ConnectionError):
        requests.get(base + V1_GET, params={"jobId": "x", "clusterId": sandbox.cluster_id},
                     headers={"Authorization": f"Bearer {sandbox.api_key}"}, timeout=10)  # fmt: skip
    sandbox_faults.delay(V2 + "list", seconds=0.5, service="controller")
    t0 = time.perf_counter()
    assert post(base + V2 + "list", {"clusterId": sandbox.cluster_id}, sandbox.api_key).json()["code"] == 0
    assert time.perf_counter() - t0 >= 0.5
    sandbox_faults.fail_jobs("injected: data node out of disk")
    job_id = call(sandbox, base, V1_CREATE, v1_body(sandbox, name, url))["data"]["jobId"]
    done = wait_job(sandbox, job_id)
    assert done["state"] == "Failed" and done["reason"] == "injected: data node out of disk"
    sandbox_faults.error("*", status=503, service="oss", times=1)
    job_id = call(sandbox, base, V1_CREATE, v1_body(sandbox, name, url))["data"]["jobId"]
    # the listing at create time used up the store fault; the job then reads normally
    assert wait_job(sandbox, job_id)["state"] in ("Completed", "Failed")


# -- the cluster data plane ----------------------------------------------------------------------------------
def test_collections_create_describe_list_drop(sandbox):
    name = unique("dp")
    schema = tiny_schema(name, dynamic=True)
    create_collection(sandbox, schema)
    assert call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/create", create_body(schema))["code"] != 0
    desc = call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/describe", {"collectionName": name})
    assert desc["code"] == 0
    parsed = CollectionSchema.from_rest(desc)
    assert parsed.fields == schema.fields and parsed.enable_dynamic_field and parsed.collection_name == name
    assert desc["data"]["indexes"][0]["metricType"] == "COSINE" and desc["data"]["load"] == "LoadStateLoaded"
    assert name in call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/list", {})["data"]
    has = call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/has", {"collectionName": name})
    assert has["data"] == {"has": True}
    assert call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/drop", {"collectionName": name}) == {
        "code": 0, "data": {}}  # fmt: skip
    missing = call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/describe", {"collectionName": name})
    assert missing["code"] == 100 and name in missing["message"]


def test_quick_setup_insert_query_search(sandbox):
    name = unique("quick")
    assert call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/create",
                {"collectionName": name, "dimension": 4, "metricType": "COSINE"})["code"] == 0  # fmt: skip
    schema = CollectionSchema.from_rest(
        call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/describe", {"collectionName": name})
    )
    assert [(f.name, f.dtype) for f in schema.fields] == [("id", DataType.INT64), ("vector", DataType.FLOAT_VECTOR)]
    rows = [{"id": i, "vector": [1.0, float(i), 0.0, 0.5], "tag": f"t{i}"} for i in range(10)]
    ins = call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/entities/insert",
               {"collectionName": name, "data": rows})  # fmt: skip
    assert ins["data"]["insertCount"] == 10
    assert count(sandbox, name) == 10
    q = call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/entities/query",
             {"collectionName": name, "filter": "id in [2, 3]", "outputFields": ["id", "tag"]})  # fmt: skip
    assert q["code"] == 0 and sorted(r["tag"] for r in q["data"]) == ["t2", "t3"] and "cost" in q
    s = call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/entities/search",
             {"collectionName": name, "data": [rows[7]["vector"]], "annsField": "vector", "limit": 3,
              "outputFields": ["tag"]})  # fmt: skip
    assert s["code"] == 0 and len(s["data"]) == 3
    assert s["data"][0]["id"] == 7 and s["data"][0]["tag"] == "t7" and s["data"][0]["distance"] == pytest.approx(1.0)


def test_milvus_style_import_on_the_cluster_endpoint(sandbox, tiny):
    name, _, prefix = tiny
    files = [[f"{prefix}/{f}.npy" for f in ("id", "vec", "title", "claps")]]
    res = call(sandbox, sandbox.cluster_endpoint, V2 + "create", {"collectionName": name, "files": files})
    assert res["code"] == 0
    job_id = res["data"]["jobId"]
    deadline = time.monotonic() + 60
    while True:
        data = call(sandbox, sandbox.cluster_endpoint, V2 + "get_progress", {"jobId": job_id})["data"]
        if data["state"] == "Completed":
            break
        assert data["state"] != "Failed" and time.monotonic() < deadline, data
        time.sleep(0.05)
    assert "reason" not in data and data["importedRows"] == 120
    assert call(sandbox, sandbox.cluster_endpoint, V2 + "describe", {"jobId": "1"})["code"] == 2100


def test_describe_keeps_index_info_until_the_collection_changes(sandbox, monkeypatch):
    """Milvus Lite counts every row on each index call: describe asks it once per collection, then keeps it."""
    client = sandbox.engine.client
    calls: list[str] = []
    for method in ("list_indexes", "describe_index"):
        real = getattr(client, method)
        monkeypatch.setattr(client, method, lambda *a, _real=real, _m=method, **k: calls.append(_m) or _real(*a, **k))
    name = unique("kept")
    schema = tiny_schema(name)
    create_collection(sandbox, schema)

    def describe() -> dict:
        res = call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/describe", {"collectionName": name})
        assert res["code"] == 0, res
        return res["data"]

    first = describe()
    assert calls and first["indexes"] == [{"fieldName": "vec", "indexName": "vec", "metricType": "COSINE"}]
    calls.clear()
    assert describe() == first and calls == []  # kept: no index call
    # dropped and created again with another metric: the kept description is gone
    call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/drop", {"collectionName": name})
    body = create_body(schema)
    body["indexParams"][0]["metricType"] = "L2"
    assert call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/collections/create", body)["code"] == 0
    assert describe()["indexes"][0]["metricType"] == "L2" and calls
    calls.clear()
    sandbox.engine.invalidate(name)
    assert describe()["indexes"][0]["metricType"] == "L2" and calls


def test_import_flushes_its_rows_before_completing(sandbox, monkeypatch, tmp_path):
    name = create_collection(sandbox, tiny_schema(unique("sealed")))
    url = upload(sandbox, write_numpy(tmp_path / "np", 150), unique("sealed-src"))
    engine = sandbox.engine
    flushed: list[tuple[str, int]] = []
    real_flush = engine.flush

    def flush(collection: str) -> None:
        flushed.append((collection, engine.count(collection)))  # every row is in before the flush
        real_flush(collection)

    monkeypatch.setattr(engine, "flush", flush)
    job_id = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, url))["data"]["jobId"]
    done = wait_job(sandbox, job_id)
    assert done["state"] == "Completed" and done["importedRows"] == 150
    assert flushed == [(name, 150)]
    assert count(sandbox, name) == 150
    hit = call(sandbox, sandbox.cluster_endpoint, "/v2/vectordb/entities/query",
               {"collectionName": name, "filter": "id == 7", "outputFields": ["title"]})["data"]  # fmt: skip
    assert hit == [{"id": 7, "title": "title 7"}]


# -- import with read-only keys and STS temporary keys ---------------------------------------------------------
def _v2_create(sb, name: str, url: str, access_key: str, secret_key: str, token: str | None = None) -> str:
    body = {"clusterId": sb.cluster_id, "collectionName": name, "objectUrls": [[url]],
            "accessKey": access_key, "secretKey": secret_key}  # fmt: skip
    if token is not None:
        body["token"] = token
    res = call(sb, sb.controller_url, V2 + "create", body)
    assert res["code"] == 0, res
    return res["data"]["jobId"]


def test_import_with_read_only_keys_completes(sandbox, tmp_path):
    ak, sk = sandbox.add_credentials(read_only=True)
    ro = oss2.Bucket(oss2.Auth(ak, sk), sandbox.oss_endpoint, sandbox.oss_bucket)
    with pytest.raises(oss2.exceptions.OssError) as err:  # the keys really are read-only
        ro.put_object(unique("ro-probe"), b"x")
    assert (err.value.status, err.value.code) == (403, "AccessDenied")
    name = create_collection(sandbox, tiny_schema(unique("ro")))
    url = upload(sandbox, write_numpy(tmp_path / "np", 80), unique("ro-src"))
    done = wait_job(sandbox, _v2_create(sandbox, name, url, ak, sk))
    assert done["state"] == "Completed" and done["importedRows"] == 80, done
    res = call(sandbox, sandbox.controller_url, V1_CREATE, v1_body(sandbox, name, url, accessKey=ak, secretKey=sk))
    assert wait_job(sandbox, res["data"]["jobId"])["state"] == "Completed"
    assert count(sandbox, name) == 160  # the same keys twice: two imports, two sets of rows (as on the service)
    assert sk not in json.dumps(describe_job(sandbox, res["data"]["jobId"]))


@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "full"])
def test_import_with_an_sts_token_completes(sandbox, tmp_path, read_only):
    ak, sk, token = sandbox.issue_sts_credentials(ttl=600, read_only=read_only)
    name = create_collection(sandbox, tiny_schema(unique("sts")))
    prefix = unique("sts-src")
    url = upload(sandbox, write_numpy(tmp_path / "np", 90), prefix)
    job_id = _v2_create(sandbox, name, f"oss://{sandbox.oss_bucket}/{prefix}/", ak, sk, token)
    done = wait_job(sandbox, job_id)
    assert done["state"] == "Completed" and done["importedRows"] == 90 and done["totalRows"] == 90, done
    assert count(sandbox, name) == 90
    listed = call(sandbox, sandbox.controller_url, V2 + "list", {"clusterId": sandbox.cluster_id, "pageSize": 100})
    for text in (json.dumps(done), json.dumps(listed)):
        assert ak not in text and sk not in text and token not in text
    assert url.endswith(prefix + "/")


@pytest.mark.parametrize("problem", ["expired", "wrong", "missing"])
def test_import_with_a_bad_sts_token_fails_with_the_stores_reason(sandbox, tiny, problem):
    name, url, _ = tiny
    ak, sk, token = sandbox.issue_sts_credentials(ttl=600)
    sent: str | None = token
    if problem == "expired":
        sandbox.store.expire_sts_credentials(ak)
    elif problem == "wrong":
        sent = sandbox.issue_sts_credentials(ttl=600).security_token
    else:
        sent = None
    done = wait_job(sandbox, _v2_create(sandbox, name, url, ak, sk, sent))
    expected = {"expired": "SecurityTokenExpired", "wrong": "InvalidSecurityToken", "missing": "InvalidAccessKeyId"}
    assert done["state"] == "Failed" and expected[problem] in done["reason"], done
    assert "HTTP 403" in done["reason"] and "request id" in done["reason"]
    assert done["importedRows"] == 0
    text = json.dumps(done)
    assert ak not in text and sk not in text and token not in text


def test_an_sts_token_that_expires_while_the_job_reads_fails_it(sandbox, sandbox_faults, tmp_path):
    name = create_collection(sandbox, tiny_schema(unique("sts_exp")))
    prefix = unique("sts-exp-src")
    url = upload(sandbox, write_numpy(tmp_path / "np", 50), prefix)
    ak, sk, token = sandbox.issue_sts_credentials(ttl=600)
    # hold the job's first object read (not the listing at create time) until the token has expired
    held = sandbox_faults.delay(f"/{sandbox.oss_bucket}/{prefix}/*", seconds=1.0, service="oss", method="GET")
    job_id = _v2_create(sandbox, name, url, ak, sk, token)
    sandbox.store.expire_sts_credentials(ak)
    done = wait_job(sandbox, job_id)
    assert held.hits == 1
    assert done["state"] == "Failed" and "SecurityTokenExpired" in done["reason"], done
    assert prefix in done["reason"]  # it names the object it could not read
    assert count(sandbox, name) == 0
