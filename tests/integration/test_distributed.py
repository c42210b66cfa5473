"""``prepare_on_dask`` on a real ``LocalCluster`` of worker processes (mutual TLS on 127.0.0.1) against the
sandbox: the rows of the source imported exactly once, a re-run skipping the finished partitions, a bad shard
reported by name (the others kept), and a worker killed mid-run."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.tiny import TINY_DIM, tiny_schema
from zimport_widgets import ImportClient, OssCredentials
from zimport_widgets.distributed import PartitionError, local_cluster, prepare_on_dask


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    client = local_cluster(2)
    try:
        yield client
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def write_shards(folder: Path, shards: int, rows: int, *, bad: int | None = None) -> Path:
    """``shards`` JSON Lines files of ``rows`` tiny rows each (ids unique across shards); in shard ``bad``, row 3
    has a vector one element short."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for s in range(shards):
        with open(folder / f"shard-{s:02d}.jsonl", "w", encoding="utf-8") as f:
            for r in range(rows):
                vec = rng.random(TINY_DIM).round(4).tolist()
                if s == bad and r == 3:
                    vec = vec[:-1]
                f.write(json.dumps({"id": s * rows + r, "title": f"t{s}-{r}", "vec": vec}) + "\n")
    return folder


def _fresh(client: ImportClient, name: str) -> str:
    if client.has_collection(name):
        client.drop_collection(name)
    client.create_collection(name, tiny_schema(name))
    return name


def test_every_row_is_imported_once_and_a_rerun_skips_the_finished_partitions(sandbox, dask_client, tmp_path):
    src = write_shards(tmp_path / "src", 5, 40)
    storage = OssCredentials.resolve(env=sandbox.env())
    events = []
    res = prepare_on_dask(src, prefix="dask/once", schema=tiny_schema(), storage=storage, client=dask_client,
                          manifest=tmp_path / "m.json", progress=events.append)  # fmt: skip
    assert res.rows == 200 and len(res.partitions) == 5 and not any(p.skipped for p in res.partitions)
    assert len({p.worker for p in res.partitions}) == 2  # both worker processes took partitions
    assert len(res.plan.pieces) == 5 and all(p.url.endswith(".parquet") for p in res.plan.pieces)
    assert events[-1].done == 5 and events[-1].bytes_done == events[-1].bytes_total
    during = [e for e in events if 0 < e.bytes_done < e.bytes_total and e.done == 0]
    assert during, "no progress from inside a partition"  # the workers report while converting and uploading
    assert [e.bytes_done for e in events] == sorted(e.bytes_done for e in events)  # in order, never backwards
    assert oct(os.stat(tmp_path / "m.json").st_mode & 0o777) == "0o600"
    assert sandbox.access_key_secret not in (tmp_path / "m.json").read_text()
    client = ImportClient.from_env(sandbox.env(), api_version="v2")
    name = _fresh(client, "dask_once")
    jobs = client.start_plan(name, res.plan)
    assert all(j.completed for j in client.wait_for_imports(jobs, progress=False, timeout=120, poll_interval=0.2))
    assert client.count_rows(name) == 200
    again = prepare_on_dask(src, prefix="dask/once", schema=tiny_schema(), storage=storage, client=dask_client,
                            manifest=tmp_path / "m.json", progress=False)  # fmt: skip
    assert all(p.skipped for p in again.partitions) and [p.url for p in again.plan.pieces] == [
        p.url for p in res.plan.pieces
    ]


def test_a_bad_shard_is_named_and_the_others_are_kept(sandbox, dask_client, tmp_path):
    src = write_shards(tmp_path / "src", 4, 20, bad=2)
    storage = OssCredentials.resolve(env=sandbox.env())
    with pytest.raises(PartitionError) as info:
        prepare_on_dask(src, prefix="dask/bad", schema=tiny_schema(), storage=storage, client=dask_client,
                        manifest=tmp_path / "m.json", progress=False)  # fmt: skip
    text = str(info.value)
    assert "partition 2 (shard-02.jsonl) failed" in text and "row 3" in text and "'vec'" in text, text
    assert "Traceback" not in text and [f[0] for f in info.value.failures] == [2]
    assert "kept in" in info.value.hint
    write_shards(tmp_path / "src", 4, 20)  # every shard rewritten (new mtimes), the bad one fixed: all redone
    fixed = prepare_on_dask(src, prefix="dask/bad", schema=tiny_schema(), storage=storage, client=dask_client,
                            manifest=tmp_path / "m.json", progress=False)  # fmt: skip
    assert fixed.rows == 80 and len(fixed.plan.pieces) == 4


def test_only_the_fixed_shard_is_prepared_again(sandbox, dask_client, tmp_path):
    src = write_shards(tmp_path / "src", 3, 20, bad=1)
    storage = OssCredentials.resolve(env=sandbox.env())
    with pytest.raises(PartitionError):
        prepare_on_dask(src, prefix="dask/fix", schema=tiny_schema(), storage=storage, client=dask_client,
                        manifest=tmp_path / "m.json", progress=False)  # fmt: skip
    good = write_shards(tmp_path / "good", 3, 20)
    os.replace(good / "shard-01.jsonl", src / "shard-01.jsonl")
    res = prepare_on_dask(src, prefix="dask/fix", schema=tiny_schema(), storage=storage, client=dask_client,
                          manifest=tmp_path / "m.json", progress=False)  # fmt: skip
    assert [p.skipped for p in res.partitions] == [True, False, True] and res.rows == 60


def test_a_worker_killed_mid_run_changes_nothing_in_the_result(sandbox, tmp_path):
    """SIGKILL one of the two worker processes while partitions run: Dask runs its partitions again elsewhere;
    the plan holds every shard once and the import gets every row once."""
    src = write_shards(tmp_path / "src", 8, 3000)
    storage = OssCredentials.resolve(env=sandbox.env())
    client = local_cluster(2)
    try:
        pids = list(client.run(os.getpid).values())
        killed = []

        def kill_one(event) -> None:
            if event.done >= 1 and not killed:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        res = prepare_on_dask(src, prefix="dask/killed", schema=tiny_schema(), storage=storage, client=client,
                              manifest=tmp_path / "m.json", progress=kill_one)  # fmt: skip
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    assert killed and res.rows == 24_000 and len(res.plan.pieces) == 8
    assert sorted(p.index for p in res.partitions) == list(range(8))
    api = ImportClient.from_env(sandbox.env(), api_version="v2")
    name = _fresh(api, "dask_killed")
    jobs = api.start_plan(name, res.plan)
    assert all(j.completed for j in api.wait_for_imports(jobs, progress=False, timeout=180, poll_interval=0.2))
    assert api.count_rows(name) == 24_000


def test_the_embedded_cluster_listens_on_loopback_only_behind_tls(dask_client):
    """Scheduler and workers: mutual TLS on 127.0.0.1 (a client without the certificates cannot join); the HTTP
    server Dask always starts answers nothing (no dashboard unless asked for)."""
    import urllib.error
    import urllib.request

    from distributed import Client

    info = dask_client.scheduler_info()
    assert dask_client.scheduler.address.startswith("tls://127.0.0.1:")
    assert all(addr.startswith("tls://127.0.0.1:") for addr in info["workers"])
    port = info["services"]["dashboard"]
    for path in ("/", "/status", "/info/main/workers.html", "/health"):
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
        assert answer.value.code == 404
    with pytest.raises(Exception):  # noqa: B017 - any refusal: no certificate, no session
        Client(dask_client.scheduler.address, timeout=3)


def test_a_dask_dataframe_is_prepared_partition_by_partition_on_the_workers(sandbox, dask_client, tmp_path):
    import dask
    import dask.dataframe as dd
    import pandas as pd

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"id": np.arange(90, dtype=np.int64), "title": [f"t{i}" for i in range(90)],
                          "vec": [rng.random(TINY_DIM).round(4).tolist() for _ in range(90)]})  # fmt: skip
    storage = OssCredentials.resolve(env=sandbox.env())
    stringified = dd.from_pandas(frame, npartitions=3)  # Dask's default turns the list column into strings
    with pytest.raises(PartitionError) as info:
        prepare_on_dask(stringified, prefix="dask/frame-bad", schema=tiny_schema(), storage=storage,
                        client=dask_client, manifest=tmp_path / "bad.json", progress=False)  # fmt: skip
    assert "(DataFrame partition 0)" in str(info.value) and "convert-string" in info.value.hint
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(frame, npartitions=3)
    res = prepare_on_dask(ddf, prefix="dask/frame", schema=tiny_schema(), storage=storage, client=dask_client,
                          manifest=tmp_path / "m.json", progress=False)  # fmt: skip
    assert res.rows == 90 and len(res.plan.pieces) == 3
    assert all(p.source.startswith("dask:") for p in res.partitions)
    client = ImportClient.from_env(sandbox.env(), api_version="v2")
    name = _fresh(client, "dask_frame")
    jobs = client.start_plan(name, res.plan)
    assert all(j.completed for j in client.wait_for_imports(jobs, progress=False, timeout=120, poll_interval=0.2))
    assert client.count_rows(name) == 90
    again = prepare_on_dask(ddf, prefix="dask/frame", schema=tiny_schema(), storage=storage, client=dask_client,
                            manifest=tmp_path / "m.json", progress=False)  # fmt: skip
    assert all(p.skipped for p in again.partitions)  # the same graph: the same partitions, already done


def test_keys_sent_to_a_scheduler_in_clear_are_warned_about():
    from zimport_widgets.distributed.prepare import keys_in_clear

    assert keys_in_clear("tcp://10.1.2.3:8786") and keys_in_clear("tcp://dask.example.com:8786")
    assert not keys_in_clear("tls://10.1.2.3:8786") and not keys_in_clear("tcp://127.0.0.1:8786")
    assert not keys_in_clear("inproc://10.1.2.3/1/2")
