"""ImportClient against the sandbox over real HTTP: imports, progress, errors, retries, no duplicates, secrets."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import warnings

import numpy as np
import pytest

import zimport_widgets.storage.upload as upload_mod
from tests.support.tiny import TINY_DIM, LossyProxy, tiny_schema, write_tiny_numpy
from zimport_widgets import ImportClient, ImportStallWarning
from zimport_widgets.cli import main as cli_main
from zimport_widgets.cloud.jobs import FileProgress, ImportState
from zimport_widgets.config import OssCredentials
from zimport_widgets.errors import (
    AmbiguousRequestError,
    ConfigError,
    ImportJobFailed,
    ImportTimeout,
    ZillizAPIError,
    ZillizNetworkError,
)
from zimport_widgets.retry import RetryPolicy

V1_CREATE = "/v1/vector/collections/import"
V1_GET = "/v1/vector/collections/import/get"
V1_LIST = "/v1/vector/collections/import/list"
FAST = RetryPolicy(attempts=4, backoff=0.02, max_backoff=0.1)


@pytest.fixture(scope="module")
def sb(sandbox):
    """The session sandbox of tests/sandbox_fixtures.py (faults are cleared around every test here)."""
    return sandbox


@pytest.fixture(autouse=True)
def _clear_faults(sb):
    sb.faults.clear()
    yield
    sb.faults.clear()


def make_client(sb, **kw) -> ImportClient:
    kw.setdefault("retry", FAST)
    return ImportClient.from_env(sb.env(), **kw)


@pytest.fixture(scope="module")
def tiny(sb, tmp_path_factory):
    """40 tiny rows uploaded once; the object URL of their folder."""
    folder = write_tiny_numpy(tmp_path_factory.mktemp("tiny") / "tiny", 40)
    env = sb.env()
    res = upload_mod.upload_to_oss(
        folder, prefix="client-tests/tiny", credentials=OssCredentials.resolve(env=env),
        progress=False, schema=tiny_schema(),
    )  # fmt: skip
    return res.object_url


def fresh_collection(client: ImportClient, name: str) -> str:
    if client.has_collection(name):
        client.drop_collection(name)
    client.create_collection(name, tiny_schema(name))
    return name


def secret_values(sb) -> list[str]:
    env = sb.env()
    return [env["ZILLIZ_API_KEY"], env["OSS_ACCESS_KEY_ID"], env["OSS_ACCESS_KEY_SECRET"]]


def assert_no_secret(texts, secrets):
    for text in texts:
        for s in secrets:
            assert s not in text, f"a secret leaked into: {text[:200]!r}"


def exception_texts(exc: BaseException) -> list[str]:
    out = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out += [str(exc), repr(exc), repr(vars(exc)) if hasattr(exc, "__dict__") else ""]
        exc = exc.__cause__ or exc.__context__
    return out


# -- data plane ----------------------------------------------------------------------------------------


def test_data_plane_create_describe_list_drop(sb):
    c = make_client(sb)
    name = fresh_collection(c, "client_dp")
    assert c.has_collection(name) and name in c.list_collections()
    schema = c.describe_collection(name)
    assert schema.names == ["id", "title", "vec"]
    assert schema["vec"].dim == TINY_DIM and schema.primary.name == "id"
    assert schema.collection_name == name
    assert c.count_rows(name) == 0
    c.drop_collection(name)
    assert not c.has_collection(name)
    with pytest.raises(ZillizAPIError):
        c.describe_collection(name)


def test_data_plane_retries_reads_and_never_repeats_writes(sb):
    c = make_client(sb)
    name = "client_dp_faults"
    if c.has_collection(name):
        c.drop_collection(name)
    lost = sb.faults.drop("/v2/vectordb/collections/create", service="cluster")
    err = sb.faults.error("/v2/vectordb/collections/create", status=500, service="cluster")
    c.create_collection(name, tiny_schema(name))  # dropped, then 500 (both before the server acted), then made
    assert (lost.hits, err.hits) == (1, 1) and c.has_collection(name)
    q = sb.faults.error("/v2/vectordb/entities/query", status=503, times=2, service="cluster")
    assert c.count_rows(name) == 0 and q.hits == 2
    d = sb.faults.drop("/v2/vectordb/collections/describe", times=1, service="cluster")
    assert c.describe_collection(name).names == ["id", "title", "vec"] and d.hits == 1
    c.drop_collection(name)
    assert not c.has_collection(name)
    with LossyProxy(sb.cluster_endpoint) as proxy:  # the server creates it, the answer is lost
        lossy = make_client(sb, cluster_endpoint=proxy.url)
        proxy.lose_answer("/v2/vectordb/collections/create")
        assert lossy.create_collection(name, tiny_schema(name)).names == ["id", "title", "vec"]
        assert proxy.forwarded.count(("POST", "/v2/vectordb/collections/create")) == 1
    c.drop_collection(name)


def test_quick_setup_collection(sb):
    c = make_client(sb)
    if c.has_collection("client_quick"):
        c.drop_collection("client_quick")
    schema = c.create_collection("client_quick", dimension=16)
    assert schema.primary.name == "id" and schema["vector"].dim == 16
    c.drop_collection("client_quick")


# -- the import itself ---------------------------------------------------------------------------------


def test_v1_import_waits_to_completion_and_counts_rows(sb, tiny):
    c = make_client(sb)
    name = fresh_collection(c, "client_v1")
    job = c.start_import(name, tiny)
    assert job.job_id and job.collection == name and job.api_version == "v1" and not job.recovered
    events = []
    final = c.wait_for_import(job, progress=events.append, timeout=60, poll_interval=0.1)
    assert final.completed and final.percent == 100 and final.job_id == job.job_id
    assert events and events[-1] == final
    percents = [e.percent for e in events]
    assert percents == sorted(percents)
    assert c.count_rows(name) == 40
    listed = {j.job_id: j for j in c.list_import_jobs(name)}
    assert listed[job.job_id].state is ImportState.COMPLETED
    assert job.started_at is not None and listed[job.job_id].started_at == job.started_at.replace(microsecond=0)
    hit = c.search_sample(name)
    assert hit.hits and hit.hits[0].id == hit.query_id
    v = c.verify(name, expected_rows=40)
    assert v.ok and "40 rows" in str(v)


def test_v1_and_v2_give_the_same_typed_progress(sb, tiny):
    v1, v2 = make_client(sb), make_client(sb, api_version="v2")
    name = fresh_collection(v1, "client_v2")
    job = v2.start_import(name, tiny)
    final = v2.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1)
    assert final.completed and final.api_version == "v2"
    assert final.imported_rows == 40
    a, b = v1.get_import_progress(job.job_id), v2.get_import_progress(job.job_id)
    for attr in ("job_id", "state", "percent", "collection", "complete_time"):
        assert getattr(a, attr) == getattr(b, attr), attr
    assert [f.state for f in a.files] == [f.state for f in b.files]
    assert v1.count_rows(name) == 40
    assert job.job_id in {j.job_id for j in v2.list_import_jobs(name)}


def test_a_data_failure_sends_the_user_to_the_files_a_server_failure_does_not(sb, tmp_path):
    from zimport_widgets.cloud.watch import server_side

    assert server_side("disk full on data node") and server_side("the sandbox stopped while this job ran")
    assert not server_side("failed to parse row 3 of vec.npy: dim mismatch")
    c = make_client(sb)
    name = fresh_collection(c, "client_badfile")
    folder = write_tiny_numpy(tmp_path / "bad", 10)
    np.save(folder / "vec.npy", np.zeros((10, TINY_DIM + 1), np.float32))  # a wrong dim: the job fails on it
    url = upload_mod.upload_to_oss(folder, prefix="client-tests/bad", credentials=OssCredentials.resolve(env=sb.env()),
                                   progress=False, check=False).object_url  # fmt: skip
    with pytest.raises(ImportJobFailed) as info:
        c.wait_for_import(c.start_import(name, url), progress=False, timeout=60, poll_interval=0.1)
    assert "fix the source files" in str(info.value) and "zimport check" in str(info.value)


def test_failed_job_raises_with_reason_and_red_bar(sb, tiny):
    c = make_client(sb)
    name = fresh_collection(c, "client_fail")
    sb.faults.fail_jobs("disk full on data node")
    job = c.start_import(name, tiny)
    out = io.StringIO()
    with pytest.raises(ImportJobFailed) as info:
        c.wait_for_import(job, progress={"file": out, "mininterval": 0}, timeout=60, poll_interval=0.1)
    assert "disk full on data node" in str(info.value)
    assert "on the server's side" in str(info.value) and "fix the source files" not in str(info.value)
    assert info.value.job_id == job.job_id and info.value.reason
    assert info.value.details and all(isinstance(f, FileProgress) for f in info.value.details)
    assert "Failed" in out.getvalue()
    assert c.get_import_progress(job).failed


def test_wait_for_import_times_out_cleanly(sb, tiny):
    c = make_client(sb)
    name = fresh_collection(c, "client_timeout")
    job = c.start_import(name, tiny)
    sb.faults.delay(V1_GET, seconds=3.0, times=None)
    t0 = time.monotonic()
    with pytest.raises(ImportTimeout) as info:
        c.wait_for_import(job, progress=False, timeout=0.8, poll_interval=0.1)
    assert time.monotonic() - t0 < 2.5
    assert info.value.job_id == job.job_id and "zimport status" in str(info.value)


def test_job_not_found_is_tolerated_only_at_first(sb):
    c = make_client(sb)
    t0 = time.monotonic()
    with pytest.raises(ZillizAPIError) as info:
        c.wait_for_import("job-does-not-exist", progress=False, timeout=20, poll_interval=0.1, not_found_grace=0.6)
    assert 0.6 <= time.monotonic() - t0 < 5
    assert not isinstance(info.value, ImportTimeout)
    with pytest.raises(ImportTimeout):
        c.wait_for_import("job-does-not-exist", progress=False, timeout=0.5, poll_interval=0.1, not_found_grace=5)


def test_stall_warning_when_progress_freezes(sb, tiny):
    c = make_client(sb)
    name = fresh_collection(c, "client_stall")
    sb.faults.delay("*", seconds=2.5, times=None, service="oss")  # the job cannot read its files: no progress
    job = c.start_import(name, tiny)
    with pytest.warns(ImportStallWarning, match=job.job_id), pytest.raises(ImportTimeout):
        c.wait_for_import(job, progress=False, timeout=1.5, poll_interval=0.05, stall_after=0.5)


# -- errors ---------------------------------------------------------------------------------------------


def test_bad_api_key_gives_80002_with_hint(sb, tiny):
    env = {**sb.env(), "ZILLIZ_API_KEY": "wrong-key-123456"}
    c = ImportClient.from_env(env, retry=FAST)
    for call in (lambda: c.start_import("whatever", tiny), lambda: c.list_import_jobs(),
                 lambda: c.get_import_progress("job-1")):  # fmt: skip
        with pytest.raises(ZillizAPIError) as info:
            call()
        assert info.value.code == 80002
        assert "ZILLIZ_API_KEY" in str(info.value)
        assert_no_secret(exception_texts(info.value), [*secret_values(sb), "wrong-key-123456"])


def test_unknown_collection_gives_47005(sb, tiny):
    c = make_client(sb)
    with pytest.raises(ZillizAPIError) as info:
        c.start_import("no_such_collection_here", tiny)
    assert info.value.code == 47005 and info.value.hint and "create the collection" in str(info.value)


def test_bad_object_url_gives_10003(sb):
    c = make_client(sb)
    name = fresh_collection(c, "client_badurl")
    env = sb.env()
    with pytest.raises(ZillizAPIError) as info:
        c.start_import(name, f"{env['OSS_ENDPOINT']}/{env['OSS_BUCKET']}/../../etc/passwd")
    assert info.value.code == 10003 and "upload_to_oss" in str(info.value)


def test_file_count_mismatch_gives_47036(sb, tmp_path):
    c = make_client(sb)
    name = fresh_collection(c, "client_count")
    folder = write_tiny_numpy(tmp_path / "two", 5)
    (folder / "title.npy").unlink()
    env = sb.env()
    res = upload_mod.upload_to_oss(
        folder, prefix="client-tests/missing-field", credentials=OssCredentials.resolve(env=env),
        progress=False, check=False,
    )  # fmt: skip
    with pytest.raises(ZillizAPIError) as info:
        c.start_import(name, res.object_url)
    assert info.value.code == 47036 and "<field>.npy" in str(info.value)


def test_unknown_cluster_id_is_explained(sb, tiny):
    c = ImportClient.from_env({**sb.env(), "ZILLIZ_CLUSTER_ID": "in01-doesnotexist00"}, retry=FAST)
    with pytest.raises(ZillizAPIError) as info:
        c.list_import_jobs()
    assert info.value.code in ZillizAPIError.HINTS and info.value.hint


# -- retries and duplicates -------------------------------------------------------------------------------


def test_reads_retry_through_429_500_and_dropped_connections(sb, tiny):
    c = make_client(sb)
    name = fresh_collection(c, "client_retry")
    job = c.start_import(name, tiny)
    f500 = sb.faults.error(V1_GET, status=500, times=1, service="controller")
    c.get_import_progress(job)
    assert f500.hits == 1
    f429 = sb.faults.error(V1_GET, status=429, times=1, service="controller")
    fdrop = sb.faults.drop(V1_LIST, times=2, service="controller")
    c.get_import_progress(job)
    assert job.job_id in {j.job_id for j in c.list_import_jobs()}
    assert (f429.hits, fdrop.hits) == (1, 2)
    # bounded: a route that always fails is tried exactly `attempts` times
    always = sb.faults.error(V1_GET, status=502, times=None, service="controller")
    with pytest.raises(ZillizAPIError) as info:
        c.get_import_progress(job)
    assert info.value.status == 502 and always.hits == FAST.attempts
    sb.faults.clear()
    dead = sb.faults.drop(V1_GET, times=None, service="controller")
    with pytest.raises(ZillizNetworkError, match="gave up after 4 attempts"):
        c.get_import_progress(job)
    assert dead.hits == FAST.attempts


def test_create_is_resent_only_after_a_refusal(sb, tiny):
    c = make_client(sb)
    name = fresh_collection(c, "client_dup")
    refused = [sb.faults.error(V1_CREATE, status=st, times=1, service="controller") for st in (429, 503)]
    job = c.start_import(name, tiny)  # 429 and 503 start nothing: sent again
    assert [f.hits for f in refused] == [1, 1]
    assert [j.job_id for j in c.list_import_jobs(name)] == [job.job_id] and not job.recovered
    c.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1)
    assert c.count_rows(name) == 40


@pytest.mark.parametrize("fault", ["error500", "error502", "drop"])
def test_an_unclear_create_answer_is_never_sent_again(sb, tiny, fault):
    """A 500 / 502 or a dropped connection may hide a started job: look for it, then stop, never resend."""
    c = make_client(sb, lost_answer_wait=0.6)
    name = fresh_collection(c, "client_unclear")
    if fault == "drop":
        armed = sb.faults.drop(V1_CREATE, times=None, service="controller")
    else:
        armed = sb.faults.error(V1_CREATE, status=int(fault[-3:]), times=None, service="controller")
    t0 = time.monotonic()
    with pytest.raises(AmbiguousRequestError) as info:
        c.start_import(name, tiny)
    assert time.monotonic() - t0 >= 0.6  # the job list was watched for the whole window
    assert armed.hits == 1  # sent once
    assert "may still start" in str(info.value) and f"zimport jobs --collection {name}" in str(info.value)
    assert c.list_import_jobs(name) == []


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_a_create_answered_after_the_read_timeout_makes_one_job(sb, tiny, api_version):
    """The server answers (and registers the job) 2 s after our 0.5 s read timeout: found, not duplicated."""
    c = make_client(sb, api_version=api_version, timeout=(2.0, 0.5), lost_answer_wait=10)
    name = fresh_collection(c, f"client_late_{api_version}")
    route = V1_CREATE if api_version == "v1" else "/v2/vectordb/jobs/import/create"
    late = sb.faults.delay(route, seconds=2.0, times=1, service="controller")
    t0 = time.monotonic()
    job = c.start_import(name, tiny)
    assert job.recovered and late.hits == 1 and time.monotonic() - t0 >= 2.0
    time.sleep(0.5)
    assert [j.job_id for j in c.list_import_jobs(name)] == [job.job_id]
    c.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1)
    assert c.count_rows(name) == 40


def test_wait_rides_out_a_burst_of_429_and_5xx(sb, tiny):
    c = make_client(sb)
    name = fresh_collection(c, "client_burst")
    job = c.start_import(name, tiny)
    burst = [sb.faults.error(V1_GET, status=st, times=4, service="controller") for st in (500, 502, 504)]
    burst.append(sb.faults.error(V1_GET, status=429, times=2, service="controller"))  # Retry-After: 1
    final = c.wait_for_import(job, progress=False, timeout=60, poll_interval=0.05, ride_out=30)
    assert final.completed and [f.hits for f in burst] == [4, 4, 4, 2]  # 3+ progress calls failed in a row
    assert c.count_rows(name) == 40


def test_wait_gives_up_after_riding_out_its_time_and_says_the_job_runs_on(sb, tiny):
    c = make_client(sb)
    name = fresh_collection(c, "client_burst2")
    job = c.start_import(name, tiny)
    sb.faults.error(V1_GET, status=502, times=None, service="controller")
    t0 = time.monotonic()
    with pytest.raises(ZillizAPIError) as info:
        c.wait_for_import(job, progress=False, timeout=60, poll_interval=0.05, ride_out=1.0)
    assert 1.0 <= time.monotonic() - t0 < 10
    assert info.value.status == 502 and f"zimport status {job.job_id}" in str(info.value)
    assert "do not start it again" in str(info.value)


def test_a_failed_job_reaches_the_callback_before_the_error(sb, tiny):
    c = make_client(sb)
    name = fresh_collection(c, "client_failcb")
    sb.faults.fail_jobs("bad block in vec.npy")
    seen = []
    with pytest.raises(ImportJobFailed):
        c.wait_for_import(c.start_import(name, tiny), progress=seen.append, timeout=60, poll_interval=0.05)
    assert seen and seen[-1].failed and seen[-1].reason == "bad block in vec.npy"


def test_old_and_odd_wait_settings(sb):
    with pytest.raises(ConfigError, match="lost_answer_wait"):
        make_client(sb, lost_answer_wait=float("nan"))
    c = make_client(sb)
    with pytest.warns(DeprecationWarning, match="max_poll_failures is gone"), pytest.raises(ImportTimeout):
        c.wait_for_import("nope", progress=False, timeout=0.2, poll_interval=0.05, not_found_grace=60,
                          max_poll_failures=3)  # fmt: skip


def test_wait_options_are_checked_and_shared(sb):
    from zimport_widgets import WaitOptions

    with pytest.raises(ConfigError, match="ride_out must be a number"):
        WaitOptions(ride_out=-1)
    with pytest.raises(ConfigError, match="timeout must be"):
        WaitOptions(timeout=float("nan"))
    c = make_client(sb)
    t0 = time.monotonic()
    with pytest.raises(ImportTimeout):  # options given once, one value overridden by keyword
        c.wait_for_import(
            "nope", progress=False, options=WaitOptions(not_found_grace=60, poll_interval=0.05), timeout=0.4
        )
    assert time.monotonic() - t0 < 3


def test_lost_create_answer_finds_the_job_instead_of_starting_another(sb, tiny):
    c0 = make_client(sb)
    name = fresh_collection(c0, "client_lost")
    with LossyProxy(sb.controller_url) as proxy:
        c = make_client(sb, controller_url=proxy.url)
        proxy.lose_answer(V1_CREATE)
        job = c.start_import(name, tiny)
        assert job.recovered
        assert proxy.forwarded.count(("POST", V1_CREATE)) == 1
    assert [j.job_id for j in c0.list_import_jobs(name)] == [job.job_id]
    c0.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1)
    assert c0.count_rows(name) == 40


def test_lost_create_answer_without_a_job_list_does_not_retry(sb, tiny):
    c0 = make_client(sb)
    name = fresh_collection(c0, "client_lost2")
    with LossyProxy(sb.controller_url) as proxy:
        c = make_client(sb, controller_url=proxy.url)
        proxy.lose_answer(V1_CREATE)
        with pytest.raises(ZillizNetworkError, match="may have started"):
            c.start_import(name, tiny, dedupe=False)
        assert proxy.forwarded.count(("POST", V1_CREATE)) == 1


# -- secrets ----------------------------------------------------------------------------------------------


def test_no_secret_in_any_exception_repr_or_log_record(sb, tiny, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "zimport_widgets"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    secrets = secret_values(sb)
    texts: list[str] = []
    c = make_client(sb)
    texts += [repr(c), str(c)]
    name = fresh_collection(c, "client_secret")
    sb.faults.error(V1_CREATE, status=503, times=1, service="controller")
    sb.faults.drop(V1_GET, times=1, service="controller")
    job = c.start_import(name, tiny)
    final = c.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1)
    texts += [repr(job), str(job), job._repr_html_(), repr(final), str(final), final._repr_html_()]
    texts += [repr(c._http), repr(c.list_import_jobs())]
    key = secrets[0]
    for url in (f"https://user:{key}@127.0.0.1:1", f"http://{key}@127.0.0.1:1/x"):  # a key in a URL's userinfo
        for kw in ({"cluster_endpoint": url}, {"controller_url": url}):
            with pytest.raises(ConfigError) as cinfo:
                ImportClient(api_key="k", cluster_id="c", **kw)
            texts += exception_texts(cinfo.value)
    failures = [
        lambda: ImportClient.from_env({**sb.env(), "ZILLIZ_API_KEY": secrets[0][::-1]}).start_import(name, tiny),
        lambda: c.start_import("no_such_collection", tiny),
        lambda: c.start_import(name, tiny.replace("client-tests", "../..")),
    ]
    for fail in failures:
        with pytest.raises(ZillizAPIError) as info:
            fail()
        texts += exception_texts(info.value)
    with LossyProxy(sb.controller_url) as proxy:
        lossy = make_client(sb, controller_url=proxy.url)
        proxy.lose_answer(V1_CREATE)
        with pytest.raises(ZillizNetworkError) as info:
            lossy.start_import(name, tiny, dedupe=False)
        texts += exception_texts(info.value)
    texts += [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    assert any("urllib3" in r.name for r in caplog.records), "urllib3 debug logs were captured"
    assert any("zimport_widgets" in r.name for r in caplog.records)
    assert_no_secret(texts, [*secrets, secrets[0][::-1]])


# -- CLI ------------------------------------------------------------------------------------------------------


def test_cli_import_status_jobs_verify(sb, tiny, monkeypatch, capsys):
    for k, v in sb.env().items():
        monkeypatch.setenv(k, v)
    c = make_client(sb)
    name = fresh_collection(c, "client_cli")
    assert cli_main(["import", "--collection", name, "--object-url", tiny, "--wait", "--quiet",
                     "--poll-interval", "0.1"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    job_id = out.split("started import job ", 1)[1].split()[0]
    assert "Completed" in out
    assert cli_main(["status", job_id]) == 0
    assert "Completed 100%" in capsys.readouterr().out
    assert cli_main(["status", job_id, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["job_id"], doc["state"], doc["percent"]) == (job_id, "Completed", 100.0)
    assert cli_main(["jobs", "--collection", name]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if job_id in x)
    assert line.split()[1] == "Completed" and re.fullmatch(r"\d{4}-\d\d-\d\d", line.split()[2]), line  # started
    assert cli_main(["jobs", "--collection", name, "--json", "--api-version", "v2"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [j["job_id"] for j in listed] == [job_id]
    assert cli_main(["jobs", "--collection", name, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["started_at"].startswith(time.strftime("%Y-", time.gmtime()))
    assert cli_main(["verify", "--collection", name, "--expect", "40"]) == 0
    assert "40 rows" in capsys.readouterr().out
    assert cli_main(["verify", "--collection", name, "--expect", "41"]) == 1
    assert cli_main(["import", "--collection", "no_such_collection", "--object-url", tiny]) == 1
    captured = capsys.readouterr()
    assert "47005" in captured.err
    assert_no_secret([captured.out, captured.err], secret_values(sb))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cli_main(["status", "job-nope"]) == 1


# -- self-hosted Milvus flavour (files relative to the bucket, on the cluster endpoint) ----------------------


def test_milvus_flavour_imports_from_bucket_relative_files(sb, tiny):
    env = {k: v for k, v in sb.env().items() if k != "ZILLIZ_CONTROLLER_URL"}
    c = ImportClient.from_env(env, api_version="milvus", retry=FAST)
    assert c.controller_url == c.cluster_endpoint
    name = fresh_collection(c, "client_milvus")
    job = c.start_import(name, tiny)  # the URL becomes a path relative to the bucket
    assert job.api_version == "milvus"
    final = c.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1)
    assert final.completed and final.imported_rows == 40 and final.reason == ""
    assert c.count_rows(name) == 40
    assert job.job_id in {j.job_id for j in c.list_import_jobs(name)}
    with pytest.raises(ZillizAPIError) as info:  # Milvus says 2100 "import job does not exist"
        c.wait_for_import("123456789", progress=False, timeout=10, poll_interval=0.1, not_found_grace=0.3)
    assert info.value.code == 2100


# -- more documented error codes ------------------------------------------------------------------------------


def test_more_error_codes_carry_their_hints(sb, tiny, tmp_path):
    c = make_client(sb)
    env = sb.env()
    name = fresh_collection(c, "client_codes")
    cases = []
    with pytest.raises(ZillizAPIError) as info:
        c.start_import("bad-name!", tiny)
    cases.append((info.value, 90011))
    with pytest.raises(ZillizAPIError) as info:
        c.start_import(name, tiny.rstrip("/") + "-nothing-here/")
    cases.append((info.value, 83001))
    folder = write_tiny_numpy(tmp_path / "renamed", 5)
    (folder / "title.npy").rename(folder / "titel.npy")
    res = upload_mod.upload_to_oss(
        folder, prefix="client-tests/renamed", credentials=OssCredentials.resolve(env=env),
        progress=False, check=False,
    )  # fmt: skip
    with pytest.raises(ZillizAPIError) as info:
        c.start_import(name, res.object_url)
    cases.append((info.value, 47053))
    assert "title" in str(info.value)
    with pytest.raises(ZillizAPIError) as info:
        c.get_import_progress("job-never-created")
    cases.append((info.value, 90144))
    with pytest.raises(ZillizAPIError) as info:
        c.start_import(name, "s3://some-aws-bucket/data/")
    cases.append((info.value, 83004))
    for exc, code in cases:
        assert exc.code == code, str(exc)
        assert exc.hint == ZillizAPIError.HINTS[code]
        assert f"code {code}" in str(exc) and "Hint: " in str(exc)


def test_failed_bar_is_red_and_shows_the_state(sb, tiny):
    c = make_client(sb, api_version="v2")
    name = fresh_collection(c, "client_bar")
    out = io.StringIO()
    c.wait_for_import(c.start_import(name, tiny), progress={"file": out, "mininterval": 0, "ascii": True},
                      timeout=60, poll_interval=0.1)  # fmt: skip
    text = out.getvalue()
    assert "100%" in text and "Completed, 40/40 rows" in text and "\x1b[31m" not in text
    sb.faults.fail_jobs("bad block in vec.npy")
    out = io.StringIO()
    with pytest.raises(ImportJobFailed, match=r"bad block in vec\.npy"):
        c.wait_for_import(c.start_import(name, tiny), progress={"file": out, "mininterval": 0, "ascii": True},
                          timeout=60, poll_interval=0.1)  # fmt: skip
    text = out.getvalue()
    assert "Failed: bad block in vec.npy" in text
    assert "\x1b[31m" in text  # tqdm draws the bar in red after a failure


def test_a_raising_callback_stops_waiting_but_not_the_job(sb, tiny):
    from zimport_widgets.errors import ProgressCallbackError

    c = make_client(sb)
    name = fresh_collection(c, "client_cancel")
    sb.faults.delay("*", seconds=1.0, times=3, service="oss")  # keep the job busy for a moment
    job = c.start_import(name, tiny)
    seen = []

    def cancel(p):
        seen.append(p)
        raise RuntimeError("cancelled by the user")

    with pytest.raises(ProgressCallbackError, match="cancelled by the user"):
        c.wait_for_import(job, progress=cancel, timeout=60, poll_interval=0.1)
    assert len(seen) == 1
    assert c.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1).completed


def test_sts_keys_import_through_v2_with_the_security_token(sb, tiny, caplog):
    creds = sb.issue_sts_credentials(ttl=600, read_only=True)
    ak, sk, token = creds
    v2 = make_client(sb, api_version="v2")
    name = fresh_collection(v2, "client_sts")
    caplog.set_level(logging.DEBUG)
    job = v2.start_import(name, tiny, access_key_id=ak, access_key_secret=sk, security_token=token)
    final = v2.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1)
    assert final.completed and v2.count_rows(name) == 40
    assert_no_secret([repr(job), repr(final), *(r.getMessage() for r in caplog.records)], [ak, sk, token])

    # without the token the store refuses the temporary keys, and the job says so
    bad = v2.start_import(name, tiny, access_key_id=ak, access_key_secret=sk)
    with pytest.raises(ImportJobFailed) as err:
        v2.wait_for_import(bad, progress=False, timeout=60, poll_interval=0.1)
    assert "InvalidAccessKeyId" in err.value.reason
    assert_no_secret(exception_texts(err.value), [ak, sk, token])


def test_security_token_needs_the_v2_api(sb, tiny):
    with pytest.raises(ConfigError, match="v2"):
        make_client(sb).start_import("client_v1", tiny, security_token="t0ken-value")


def test_verify_a_collection_without_a_dense_vector_counts_only(sb):
    from zimport_widgets import CollectionSchema, DataType, FieldSchema

    client = make_client(sb, api_version="v2")
    schema = CollectionSchema((FieldSchema("id", DataType.INT64, is_primary=True),
                               FieldSchema("sv", DataType.SPARSE_FLOAT_VECTOR)))  # fmt: skip
    name = "sparse_only"
    if client.has_collection(name):
        client.drop_collection(name)
    client.create_collection(name, schema, metric_type="IP", index_type="SPARSE_INVERTED_INDEX")
    result = client.verify(name)  # no dense vector to search with: no error, the count decides
    assert (result.row_count, result.searched, result.search, result.ok) == (0, False, None, False)
    assert "no dense vector field to search" in str(result)


# -- import plans: a source cut into files, one job per piece on v1, one request on v2 and Milvus -------------
@pytest.mark.parametrize("api_version", ["v1", "v2", "milvus"])
def test_a_plan_of_several_files_imports_every_row_with_one_bar(sb, tmp_path, api_version):
    import numpy as np
    import pandas as pd

    from zimport_widgets import ImportPlan, convert

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"id": range(3000), "title": [f"t{i}" for i in range(3000)],
                          "vec": list(rng.random((3000, TINY_DIM), dtype=np.float32))})  # fmt: skip
    written = convert(frame, tmp_path / "out", tiny_schema(), progress=False, row_group_bytes=16 << 10,
                      max_file_bytes=40 << 10)  # fmt: skip
    assert len(written.files) >= 3
    env = sb.env()
    uploaded = upload_mod.upload_to_oss(tmp_path / "out", prefix=f"client-tests/plan-{api_version}",
                                        credentials=OssCredentials.resolve(env=env), progress=False)  # fmt: skip
    plan = ImportPlan.from_upload(uploaded)
    assert len(plan.pieces) == len(written.files)
    if api_version == "milvus":
        env = {k: v for k, v in env.items() if k != "ZILLIZ_CONTROLLER_URL"}
        client = ImportClient.from_env(env, api_version="milvus", retry=FAST)
    else:
        client = make_client(sb, api_version=api_version)
    name = fresh_collection(client, f"plan_{api_version}")
    jobs = client.start_plan(name, plan)
    assert len(jobs) == (len(plan.pieces) if api_version == "v1" else 1)
    events = []
    finals = client.wait_for_imports(jobs, progress=events.append, timeout=120, poll_interval=0.1)
    assert all(f.completed for f in finals) and len(finals) == len(jobs)
    assert client.count_rows(name) == 3000
    assert events and all(len(e) == len(jobs) for e in events)  # each event: the last progress of every job


def test_wait_for_imports_watches_every_unfinished_job(sb, monkeypatch):
    from zimport_widgets.cloud.jobs import ImportProgress

    client = make_client(sb)
    polls = {"a": 0, "b": 0}

    def fake(jid, _deadline=None):
        polls[jid] += 1
        state, pct = (ImportState.COMPLETED, 100.0) if jid == "a" else (ImportState.IMPORTING, 10.0)
        return ImportProgress(job_id=jid, state=state, percent=pct)

    monkeypatch.setattr(client, "get_import_progress", fake)
    with pytest.warns(ImportStallWarning, match="import job b has not moved"), pytest.raises(ImportTimeout) as info:
        client.wait_for_imports(["a", "b"], progress=False, timeout=0.5, poll_interval=0.05, stall_after=0.2)
    assert info.value.job_id == "b" and polls["a"] == 1  # a finished: not polled again


def test_an_import_into_a_partition_lands_there_and_a_missing_partition_fails_the_job(sb, tiny):
    c = make_client(sb)
    name = fresh_collection(c, "client_partition")
    c._dp("/v2/vectordb/partitions/create", {"collectionName": name, "partitionName": "p2026"})
    job = c.start_import(name, tiny, partition="p2026")
    c.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1)
    assert c.count_rows(name) == 40
    bad = c.start_import(name, tiny, partition="no_such_partition")  # accepted, then the job fails
    with pytest.raises(ImportJobFailed) as info:
        c.wait_for_import(bad, progress=False, timeout=60, poll_interval=0.1)
    assert "partition not found[partition=no_such_partition]" in str(info.value)
    assert c.count_rows(name) == 40


def test_the_job_log_gives_start_times_to_the_jobs_started_here_only(sb, tiny, tmp_path, monkeypatch):
    """The APIs give no start time: the client notes its own jobs (0600, no key) and lists them with it, also
    for a new client (a kernel restart); jobs started elsewhere (here: with the log off) list without one."""
    import datetime as dt
    import os
    import stat

    monkeypatch.setenv("ZIMPORT_JOB_LOG", str(tmp_path / "log" / "jobs.jsonl"))
    c = make_client(sb)
    name = fresh_collection(c, "client_joblog")
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    mine = c.start_import(name, tiny)
    monkeypatch.setenv("ZIMPORT_JOB_LOG", "off")
    other = make_client(sb).start_import(name, tiny)
    assert other.started_at is not None  # still known to the client that started it
    monkeypatch.setenv("ZIMPORT_JOB_LOG", str(tmp_path / "log" / "jobs.jsonl"))
    listed = {j.job_id: j for j in make_client(sb).list_import_jobs(name)}
    started = listed[mine.job_id].started_at
    assert started is not None and before <= started <= dt.datetime.now(dt.timezone.utc)
    assert listed[other.job_id].started_at is None
    log_file = tmp_path / "log" / "jobs.jsonl"
    assert stat.S_IMODE(os.stat(log_file).st_mode) == 0o600
    text = log_file.read_text()
    assert mine.job_id in text and other.job_id not in text
    assert "http" in text and not any(v in text for v in secret_values(sb))  # the controller's URL, no key
