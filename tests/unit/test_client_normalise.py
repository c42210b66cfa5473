"""Normalisation of the documented v1, v2 and self-hosted Milvus JSON shapes into one typed progress.

The fixtures are the examples of the import API reference (§1.3, §1.4, §2.1, §2.2), verbatim.
"""

from __future__ import annotations

import pytest

from zimport_widgets.cloud.jobs import ImportState, parse_job_list, parse_progress

V1_GET_RUNNING = {
    "collectionName": "medium_articles",
    "fileName": "1af78216-xxxx-xxxx-xxxx-2b0a73c566ed/1.parquet",
    "fileSize": 19599887,
    "readyPercentage": 0,
    "completeTime": None,
    "errorMessage": None,
    "jobId": "job-xxxxxxxxxxxxxxxxxxxxxx",
    "details": [
        {"fileName": "1af78216-xxxx-xxxx-xxxx-2b0a73c566ed/1.parquet", "fileSize": 19599887,
         "readyPercentage": 0, "completeTime": None, "errorMessage": None}
    ],
}  # fmt: skip

V1_LIST = {
    "tasks": [
        {"collectionName": "medium_articles", "jobId": "job-xxxxxxxxxxxxxxxxxxxxxx", "state": "ImportRunning"},
        {"collectionName": "medium_articles", "jobId": "2b93fef7-xxxx-xxxx-xxxx-f82afd598ff1",
         "state": "ImportCompleted"},
    ],
    "count": 2, "currentPage": 1, "pageSize": 10,
}  # fmt: skip

V2_PROGRESS = {
    "jobId": "job-xxxxxxxxxxxxxxxxxxxxx",
    "collectionName": "medium_articles",
    "fileName": "medium_articles_2020_dpr.json",
    "fileSize": 3279917,
    "state": "Completed",
    "progress": 100,
    "completeTime": "2024-04-01T06:17:55Z",
    "reason": "",
    "totalRows": 100000,
    "details": [
        {"fileName": "medium_articles_2020_dpr.json", "fileSize": 3279917, "state": "Completed",
         "progress": 100, "completeTime": "2024-04-01T06:17:53Z", "reason": ""}
    ],
}  # fmt: skip

V2_LIST = {"count": 1, "currentPage": 1, "pageSize": 10,
           "records": [{"collectionName": "test_collection", "jobId": "job-xxxxxxxxxxxxxxxxxxxxx",
                        "state": "Completed"}]}  # fmt: skip

MILVUS_PROGRESS = {
    "collectionName": "quick_setup",
    "completeTime": "2024-05-18T02:57:13Z",
    "details": [
        {"completeTime": "2024-05-18T02:57:11Z",
         "fileName": "id:449839014328146740 paths:\"/8ca44f28-47f7-40ba-9604-98918afe26d1/1.parquet\" ",
         "fileSize": 31567874, "importedRows": 100000, "progress": 100, "state": "Completed", "totalRows": 100000}
    ],
    "fileSize": 63085098, "importedRows": 200000, "jobId": "449839014328146739",
    "progress": 100, "state": "Completed", "totalRows": 200000,
}  # fmt: skip


def test_v1_running_progress_is_pending_at_zero_percent():
    p = parse_progress(V1_GET_RUNNING, api_version="v1")
    assert p.job_id == "job-xxxxxxxxxxxxxxxxxxxxxx"
    assert p.state is ImportState.PENDING and p.percent == 0 and not p.finished
    assert p.collection == "medium_articles"
    assert p.complete_time is None and p.reason == ""
    assert len(p.files) == 1 and p.files[0].size == 19599887


def test_v1_fraction_becomes_percent_and_completion_needs_complete_time():
    half = parse_progress({**V1_GET_RUNNING, "readyPercentage": 0.5}, api_version="v1")
    assert half.state is ImportState.IMPORTING and half.percent == 50.0
    one_no_time = parse_progress({**V1_GET_RUNNING, "readyPercentage": 1}, api_version="v1")
    assert one_no_time.state is ImportState.IMPORTING and one_no_time.percent == 100.0
    done = parse_progress({**V1_GET_RUNNING, "readyPercentage": 1, "completeTime": "2024-04-01 06:17:55"},
                          api_version="v1")  # fmt: skip
    assert done.completed and done.percent == 100.0


def test_v1_error_message_means_failed_with_reason_and_file_details():
    data = {**V1_GET_RUNNING, "readyPercentage": 0.2, "errorMessage": "title_vector.npy: dim 767, expected 768",
            "details": [{**V1_GET_RUNNING["details"][0], "errorMessage": "dim 767, expected 768"}]}  # fmt: skip
    p = parse_progress(data, api_version="v1")
    assert p.failed and "title_vector.npy" in p.reason
    assert p.files[0].state is ImportState.FAILED and p.files[0].reason == "dim 767, expected 768"


def test_v2_and_milvus_progress():
    p = parse_progress(V2_PROGRESS, api_version="v2")
    assert p.completed and p.percent == 100 and p.total_rows == 100000 and p.imported_rows is None
    assert p.completed_at is not None and p.completed_at.year == 2024
    assert p.files[0].state is ImportState.COMPLETED
    m = parse_progress(MILVUS_PROGRESS, api_version="milvus")
    assert m.completed and m.imported_rows == 200000 and m.total_rows == 200000
    assert m.job_id == "449839014328146739"
    assert m.files[0].imported_rows == 100000


def test_jobID_spelling_and_empty_complete_time():
    data = {**V2_PROGRESS, "state": "Importing", "progress": 42, "completeTime": "", "importedRows": 10}
    del data["jobId"]
    data["jobID"] = 448707763884413158  # a number: still an opaque string for us
    p = parse_progress(data, api_version="v2")
    assert p.job_id == "448707763884413158"
    assert p.state is ImportState.IMPORTING and p.percent == 42 and p.complete_time is None
    assert "10/100,000 rows" in str(p)


def test_the_same_job_reads_the_same_through_v1_and_v2():
    v1 = parse_progress({**V1_GET_RUNNING, "readyPercentage": 1, "completeTime": "2024-04-01T06:17:55Z"},
                        api_version="v1")  # fmt: skip
    v2 = parse_progress({**V2_PROGRESS, "jobId": V1_GET_RUNNING["jobId"]}, api_version="v2")
    for attr in ("job_id", "state", "percent", "collection", "complete_time"):
        assert getattr(v1, attr) == getattr(v2, attr), attr


def test_failed_v2_without_top_reason_takes_file_reasons():
    data = {"jobId": "j1", "state": "Failed", "progress": 0, "reason": "",
            "details": [{"fileName": "[a/1/id.npy a/1/vec.npy]", "state": "Failed", "progress": 0,
                         "reason": "vec.npy: dtype float64, expected float32"}]}  # fmt: skip
    p = parse_progress(data, api_version="milvus")
    assert p.failed and "vec.npy: dtype float64" in p.reason


def test_phase_explains_the_index_build_plateau():
    data = {"jobId": "j", "state": "Importing", "progress": 80,
            "details": [{"fileName": "x", "state": "Completed", "progress": 100}]}  # fmt: skip
    assert parse_progress(data, api_version="milvus").phase == "Importing (building index)"


@pytest.mark.parametrize(
    ("word", "state"),
    [("ImportRunning", ImportState.IMPORTING), ("ImportCompleted", ImportState.COMPLETED),
     ("ImportFailed", ImportState.FAILED), ("Pending", ImportState.PENDING), ("InProgress", ImportState.IMPORTING),
     ("Importing", ImportState.IMPORTING), ("Retry", ImportState.IMPORTING), ("None", ImportState.UNKNOWN),
     ("", ImportState.UNKNOWN)],
)  # fmt: skip
def test_state_words(word, state):
    assert ImportState.parse(word) is state


def test_job_lists_tasks_and_records():
    v1 = parse_job_list(V1_LIST)
    assert [j.state for j in v1] == [ImportState.IMPORTING, ImportState.COMPLETED]
    assert v1[1].job_id == "2b93fef7-xxxx-xxxx-xxxx-f82afd598ff1"
    as_records = parse_job_list({"records": V1_LIST["tasks"]})
    assert as_records == v1
    v2 = parse_job_list(V2_LIST)
    assert v2[0].collection == "test_collection" and v2[0].state is ImportState.COMPLETED
    milvus = parse_job_list({"records": [{"jobId": "1", "collectionName": "c", "state": "Importing",
                                          "progress": 50, "reason": ""}]})  # fmt: skip
    assert milvus[0].percent == 50


def test_reprs_and_html():
    p = parse_progress(MILVUS_PROGRESS, api_version="milvus")
    assert "Completed" in repr(p) and "200,000/200,000 rows" in str(p)
    html = p._repr_html_()
    assert "<table>" in html and "Completed" in html and "1.parquet" in html


def test_verify_result_ok_rules():
    from zimport_widgets import SearchHit, SearchResult, VerifyResult

    hit = SearchResult("c", "v", (SearchHit(1, 0.0),))
    assert VerifyResult("c", 5, None, hit).ok
    assert not VerifyResult("c", 5, 6, hit).ok  # not the expected count
    assert not VerifyResult("c", 5, None, SearchResult("c", "v", ())).ok  # rows but the search finds none
    assert VerifyResult("c", 5, None, None, searched=False).ok  # sparse only: the count decides
    assert not VerifyResult("c", 0, None, None, searched=False).ok


def test_import_requests_never_show_the_storage_keys():
    from zimport_widgets.cloud.dialects import DIALECTS, ImportSpec

    url = "https://b.oss-cn-hangzhou.aliyuncs.com/p/?OSSAccessKeyId=LTAIsecretid"
    spec = ImportSpec("c", url, access_key="LTAIsecretid", secret_key="the-secret", token="the-token")
    request = DIALECTS["v2"].create(spec, cluster_id="in01-x", db_name=None)
    assert request.json is not None and request.json["secretKey"] == "the-secret"
    for text in (repr(spec), repr(request)):
        assert "the-secret" not in text and "the-token" not in text and "LTAIsecretid" not in text
    milvus = DIALECTS["milvus"]
    empty = ImportSpec("c", files=[[]])
    assert milvus.shown_url(empty, milvus.create(ImportSpec("c", files=[["a/b.npy"]]), cluster_id="", db_name=None))
    assert milvus.shown_url(empty, milvus.create(empty, cluster_id="", db_name=None)) is None


def test_job_log_survives_cut_lines_and_unwritable_homes_and_stays_small(tmp_path):
    import datetime as dt
    import os
    import stat

    from zimport_widgets.cloud.job_log import JobLog

    path = tmp_path / "d" / "jobs.jsonl"
    log = JobLog(path)
    t0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert log.record("ctl c1", "j1", "coll", t0) == t0
    log.record("ctl c2", "j1", "coll", t0 + dt.timedelta(hours=1))  # the same id on another cluster
    with open(path, "a") as f:
        f.write('{"cluster": "ctl c1", "job": "j2", "sta')  # a line cut by a kill
    assert log.started("ctl c1") == {"j1": t0}
    assert log.started("ctl c2") == {"j1": t0 + dt.timedelta(hours=1)}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    log.max_bytes, log.keep = 2000, 5
    for i in range(40):
        log.record("ctl c1", f"k{i}", "coll", t0)
    assert os.path.getsize(path) <= 2000 + 200
    assert "k39" in log.started("ctl c1") and "k0" not in log.started("ctl c1")
    (tmp_path / "a-file").write_text("")  # a folder that cannot be made (even by root)
    blocked = JobLog(tmp_path / "a-file" / "sub" / "jobs.jsonl")
    assert blocked.record("c", "j", "coll", t0) == t0  # no error: the import it follows did start
    assert blocked.started("c") == {} and JobLog(None).started("c") == {}
