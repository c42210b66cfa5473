"""A sandbox restarted on the same data folder keeps its objects, jobs and loaded collections; a job cut by
kill -9 is undone and marked Failed with a reason."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.tiny import tiny_schema, write_tiny_numpy
from zimport_widgets import ImportClient, OssCredentials, ZillizAPIError, upload_to_oss
from zimport_widgets.sandbox import Sandbox

_SERVE = """
import json, sys, time
from zimport_widgets.sandbox import Sandbox
sb = Sandbox(data_dir=sys.argv[1], batch_rows=10, batch_delay=0.25).start()
print(json.dumps(sb.env()), flush=True)
time.sleep(600)
"""


def _upload(env: dict[str, str], folder: Path, prefix: str) -> str:
    res = upload_to_oss(folder, prefix=prefix, credentials=OssCredentials.resolve(env=env), progress=False,
                        schema=tiny_schema())  # fmt: skip
    return res.object_url


def test_objects_jobs_and_loaded_collections_survive_a_restart(tmp_path):
    data = tmp_path / "sb"
    with Sandbox(data_dir=data) as sb:
        env = sb.env()
        client = ImportClient.from_env(env)
        client.create_collection("kept", tiny_schema("kept"))
        url = _upload(env, write_tiny_numpy(tmp_path / "np", 30), "restart/np")
        job = client.start_import("kept", url)
        client.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1)
        first = (sb.oss_bucket, sb.cluster_id)
    assert stat_mode(data / "objects") == 0o700
    with Sandbox(data_dir=data) as sb:
        assert (sb.oss_bucket, sb.cluster_id) == first  # same names; new random keys
        env2 = sb.env()
        assert env2["ZILLIZ_API_KEY"] != env["ZILLIZ_API_KEY"]
        client = ImportClient.from_env(env2)
        jobs = client.list_import_jobs("kept")
        assert [(j.job_id, j.state.value) for j in jobs] == [(job.job_id, "Completed")]
        assert client.get_import_progress(job.job_id).completed
        assert client.verify("kept", expected_rows=30).ok  # loaded again: count and a search work
        bucket = sb.store.oss2_bucket()
        assert {o.key for o in __import__("oss2").ObjectIteratorV2(bucket, prefix="restart/")} == {
            "restart/np/id.npy", "restart/np/title.npy", "restart/np/vec.npy"
        }  # fmt: skip
        bucket.delete_object("restart/np/title.npy")
        with pytest.raises(ZillizAPIError) as info:  # the same URL (same port) is read again: title.npy is gone
            client.start_import("kept", url)
        assert info.value.code == 47036
    with Sandbox(data_dir=data) as sb:  # a delete is kept too
        keys = {o.key for o in __import__("oss2").ObjectIteratorV2(sb.store.oss2_bucket(), prefix="restart/")}
        assert keys == {"restart/np/id.npy", "restart/np/vec.npy"}


def test_a_broken_job_record_does_not_stop_the_sandbox(tmp_path):
    data = tmp_path / "sb"
    with Sandbox(data_dir=data):
        pass
    records = data / "jobs" / "records"
    (records / "job-bad1.json").write_text("[1, 2]")
    (records / "job-bad2.json").write_text('{"job_id": "job-bad2", "unknown": 1}')
    (records / "job-bad3.json").write_text("{not json")
    with Sandbox(data_dir=data) as sb:
        assert ImportClient.from_env(sb.env()).list_import_jobs() == []


def stat_mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


def test_a_job_cut_by_kill_9_is_undone_and_failed_on_the_next_start(tmp_path):
    data = tmp_path / "sb"
    proc = subprocess.Popen([sys.executable, "-c", _SERVE, str(data)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    try:
        assert proc.stdout is not None
        env = json.loads(proc.stdout.readline())
        client = ImportClient.from_env(env, api_version="v2")  # v2 progress carries the rows imported so far
        client.create_collection("cut", tiny_schema("cut"))
        url = _upload(env, write_tiny_numpy(tmp_path / "np", 400), "cut/np")
        job = client.start_import("cut", url)
        deadline = time.monotonic() + 60
        while (client.get_import_progress(job).imported_rows or 0) < 30:  # 10 rows every 0.25 s
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert client.count_rows("cut") >= 30
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    with Sandbox(data_dir=data) as sb:
        client = ImportClient.from_env(sb.env(), api_version="v2")
        p = client.get_import_progress(job.job_id)
        assert p.failed and "the sandbox stopped while this job ran" in p.reason
        assert "were deleted again (an import is all or nothing)" in p.reason
        assert client.count_rows("cut") == 0
        assert not list((data / "jobs").glob("job-*"))  # its download folder is gone
        assert not list((data / "jobs" / "records").glob("*.ids"))
