"""Sandbox(engine="milvus"): import jobs judged by the real server's bulk insert, over real HTTP and real clients."""

from __future__ import annotations

import json
import secrets
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.sandbox_http import bulk_writer_round_trip
from tests.support.tiny import TINY_DIM, tiny_schema, write_tiny_numpy
from zimport_widgets import ImportClient, upload_to_oss
from zimport_widgets.errors import ImportJobFailed

pytestmark = pytest.mark.real_milvus


@pytest.fixture()
def milvus_env(milvus_sandbox, monkeypatch) -> dict[str, str]:
    env = milvus_sandbox.env()
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def _collection(name: str) -> str:
    full = f"{name}_{secrets.token_hex(3)}"
    with ImportClient() as client:
        client.create_collection(full, tiny_schema(full))
    return full


def test_numpy_folder_and_json_file_import_through_the_controller(milvus_env, milvus_sandbox, tmp_path):
    name = _collection("eng")
    folder = write_tiny_numpy(tmp_path / "np", 150)
    up = upload_to_oss(folder, prefix=f"eng/{name}/np/", progress=False)
    rows = [{"id": 1000 + i, "title": f"json {i}", "vec": [0.5] * TINY_DIM} for i in range(30)]
    src = tmp_path / "rows.json"
    src.write_text(json.dumps({"rows": rows}))
    up_json = upload_to_oss(src, prefix=f"eng/{name}/json/", progress=False)
    with ImportClient() as client:
        before = client.count_rows(name)
        first = client.wait_for_import(client.start_import(name, up.object_url).job_id, progress=False)
        second = client.wait_for_import(client.start_import(name, up_json.object_url).job_id, progress=False)
        assert first.state.value == second.state.value == "Completed"
        assert client.count_rows(name) - before == 180  # counted by the real server, visible at once
        job = milvus_sandbox.runner.get(first.job_id)
        assert job.imported_rows == 150 and job.total_rows == 150  # Milvus's own row count
        check = client.verify(name, expected_rows=180)  # count and a sample search, answered by the real server
        assert check.ok, check


def test_failed_job_carries_milvus_reason(milvus_env, milvus_sandbox, tmp_path):
    name = _collection("bad")
    folder = write_tiny_numpy(tmp_path / "np", 20)
    np.save(folder / "id.npy", np.arange(20, dtype=np.int32))
    up = upload_to_oss(folder, prefix=f"bad/{name}/", check=False, progress=False)
    with ImportClient() as client:
        job = client.start_import(name, up.object_url)
        with pytest.raises(ImportJobFailed) as info:
            client.wait_for_import(job.job_id, progress=False)
        assert client.count_rows(name) == 0
    assert "illegal data type Int32 of numpy file for scalar field 'id'" in str(info.value)
    record = milvus_sandbox.runner.get(job.job_id)
    assert str(tmp_path) not in record.reason and "objects/" not in record.reason  # local paths stripped


def test_a_nonexistent_partition_fails_the_job(milvus_env, milvus_sandbox, tmp_path):
    name = _collection("part")
    up = upload_to_oss(write_tiny_numpy(tmp_path / "np", 10), prefix=f"part/{name}/", progress=False)
    with ImportClient() as client:
        job = client.start_import(name, up.object_url, partition="nope")
        with pytest.raises(ImportJobFailed, match="nope"):
            client.wait_for_import(job.job_id, progress=False)


def test_reimporting_the_same_ids_adds_rows(milvus_env, tmp_path):
    name = _collection("again")
    up = upload_to_oss(write_tiny_numpy(tmp_path / "np", 25), prefix=f"again/{name}/", progress=False)
    with ImportClient() as client:
        for _ in range(2):
            client.wait_for_import(client.start_import(name, up.object_url).job_id, progress=False)
        assert client.count_rows(name) == 50  # an import inserts; it does not upsert


def test_server_is_reachable_only_through_a_private_socket(milvus_sandbox):
    server = milvus_sandbox.engine.server
    assert server.running
    sock = server.socket_path
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    listening = {int(line.split()[1].split(":")[1], 16) for path in ("/proc/net/tcp", "/proc/net/tcp6")
                 for line in Path(path).read_text().splitlines()[1:] if line.split()[3] == "0A"}  # fmt: skip
    assert not listening & {19530, 9091, 2379}, "Milvus ports must not listen in this network namespace"
    password = server.token.split(":", 1)[1]
    assert password not in repr(server) and password not in repr(milvus_sandbox)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert password not in ps, "the password must not appear in a process list"
    from pymilvus import MilvusClient

    with pytest.raises(Exception):  # noqa: B017 - any refusal: the default password was replaced
        MilvusClient(uri=server.uri, token="root:Milvus").list_collections()


def test_cli_sandbox_on_the_milvus_engine(tmp_path):
    env_file = tmp_path / "sandbox.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "zimport_widgets", "sandbox", "--engine", "milvus", "--env-file", str(env_file),
         "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not env_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert env_file.exists(), proc.stderr.read() if proc.poll() is not None else "no env file in 240 s"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "real Milvus 2.3.5 server" in err and "sandbox stopped" in err


def test_a_server_started_again_on_its_data_keeps_collections_and_rows(tmp_path):
    from zimport_widgets.sandbox.real_engine import RealMilvusEngine

    engine = RealMilvusEngine(str(tmp_path / "engine"))
    try:
        assert engine.wait_ready(300), engine._error
        engine.create_collection(tiny_schema("kept"))
        engine.insert("kept", [{"id": i, "title": f"t{i}", "vec": [0.1] * TINY_DIM} for i in range(7)])
        engine.flush("kept")
        password_file = Path(engine.server.data_dir) / "root-password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        engine.stop()
        engine.start()
        assert engine.wait_ready(300), engine._error  # the kept password still opens it
        engine.client.load_collection("kept")
        assert engine.count("kept") == 7
    finally:
        engine.stop()


def _source(kind: str, folder: Path) -> tuple[Path, bool]:
    """A source and whether upload may check it (bad sources go up unchecked)."""
    if kind == "json zero rows":
        folder.mkdir(parents=True)
        (folder / "rows.json").write_text('{"rows": []}')
        return folder / "rows.json", True
    np_dir = write_tiny_numpy(folder, 15)
    if kind == "npy int32 id":
        np.save(np_dir / "id.npy", np.arange(15, dtype=np.int32))
    if kind == "npy dim 7":
        np.save(np_dir / "vec.npy", np.zeros((15, TINY_DIM - 1), np.float32))
    return np_dir, kind == "npy good"


@pytest.mark.parametrize("kind", ["npy good", "json zero rows", "npy int32 id", "npy dim 7"])
def test_lite_engine_answers_as_the_real_one(sandbox, milvus_sandbox, tmp_path, monkeypatch, kind):
    outcomes = {}
    for sb in (sandbox, milvus_sandbox):
        for k, v in sb.env().items():
            monkeypatch.setenv(k, v)
        name = _collection("same")
        src, check = _source(kind, tmp_path / sb.engine.kind)
        up = upload_to_oss(src, prefix=f"same/{name}/", check=check, progress=False)
        with ImportClient() as client:
            job = client.start_import(name, up.object_url)
            try:
                client.wait_for_import(job.job_id, progress=False)
                outcomes[sb.engine.kind] = ("Completed", client.count_rows(name))
            except ImportJobFailed:
                outcomes[sb.engine.kind] = ("Failed", client.count_rows(name))
    assert outcomes["lite"] == outcomes["milvus"], outcomes


@pytest.mark.parametrize("file_type", ["PARQUET", "NUMPY", "JSON", "CSV", "JSONL"])  # every type it writes
def test_pymilvus_bulk_writer_output_imports_on_the_real_server(milvus_sandbox, tmp_path, file_type):
    bulk_writer_round_trip(milvus_sandbox, tmp_path, file_type)
