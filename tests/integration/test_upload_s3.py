"""``upload`` to an S3 bucket (the S3 backend, boto3) against the sandbox's store over its S3 API, real HTTP on
127.0.0.1: layout, skip, resume, integrity (at rest and in transit), errors without secrets, and the import of
what it wrote."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from werkzeug.serving import make_server

from tests.integration.test_upload_sandbox import _CorruptingProxy, _folder, _no_secret, _write
from zimport_widgets import S3Credentials, StorageKeys, UploadConfig, upload, verify_upload
from zimport_widgets.errors import (
    BucketNotFoundError,
    ConfigError,
    IntegrityError,
    ProgressCallbackError,
    StorageAuthError,
)
from zimport_widgets.progress import UploadProgress
from zimport_widgets.sandbox.oss_store import OssStore
from zimport_widgets.storage.object_url import s3_object_url
from zimport_widgets.storage.providers import provider_for_region, resolve_storage

KiB = 1024
SMALL_MULTIPART = dict(multipart_threshold=600 * KiB, part_size=100 * KiB, num_threads=3)


@pytest.fixture(scope="module")
def store() -> Iterator[OssStore]:
    with OssStore() as st:
        yield st


def _keys(store: OssStore) -> StorageKeys:
    return StorageKeys(store.access_key_id, store.access_key_secret)


@pytest.fixture()
def up(store: OssStore, tmp_path: Path) -> Any:
    """``upload`` to the store's bucket through its S3 API, a per-test checkpoint folder, no check."""
    store.faults.clear()

    def run(source: Any, prefix: str, **kw: Any) -> Any:
        keys = kw.pop("keys", _keys(store))
        target = S3Credentials(kw.pop("bucket", store.bucket), keys, store.region, kw.pop("endpoint", store.endpoint))
        tuning = dict(checkpoint_dir=tmp_path / "checkpoints", retry_backoff=0.01)
        tuning.update({k: kw.pop(k) for k in list(kw) if k in UploadConfig.__dataclass_fields__})
        return upload(source, prefix=prefix, storage=target, config=UploadConfig(**tuning), progress=kw.pop(
            "progress", False), check=False, **kw)  # fmt: skip

    return run


def _s3(store: OssStore) -> Any:
    return boto3.client("s3", endpoint_url=store.endpoint, region_name=store.region,
                        aws_access_key_id=store.access_key_id, aws_secret_access_key=store.access_key_secret,
                        config=Config(s3={"addressing_style": "path"}))  # fmt: skip


def _listing(store: OssStore, prefix: str) -> dict[str, int]:
    got = _s3(store).list_objects_v2(Bucket=store.bucket, Prefix=prefix)
    return {o["Key"]: o["Size"] for o in got.get("Contents", [])}


def test_layout_etags_and_a_skipping_rerun(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src")
    res = up(src, "s3/layout", **SMALL_MULTIPART)
    assert res.provider == "s3" and res.object_url == f"{store.endpoint}/{store.bucket}/s3/layout/"
    expected = {f"s3/layout/{p.relative_to(src).as_posix()}": p.stat().st_size for p in src.rglob("*") if p.is_file()}
    assert _listing(store, "s3/layout/") == expected
    by_key = {o.key: o for o in res.objects}
    assert by_key["s3/layout/1/title_vector.npy"].checksum.endswith("-15")  # 1.5 MB in 100 KiB parts
    assert all(o.verified and not o.skipped and o.crc64 is None for o in res.objects)
    head = _s3(store).head_object(Bucket=store.bucket, Key="s3/layout/1/id.npy")
    assert head["ETag"].strip('"') == by_key["s3/layout/1/id.npy"].checksum
    assert verify_upload(res, _keys(store)) == 4
    again = up(src, "s3/layout", **SMALL_MULTIPART)
    assert len(again.skipped) == 4 and again.bytes_uploaded == 0
    assert res.oss_url == f"s3://{store.bucket}/s3/layout/"


def test_resume_after_interruption_sends_only_the_missing_parts(store: OssStore, up: Any, tmp_path: Path) -> None:
    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(3_000_000))

    def interrupt(event: UploadProgress) -> None:
        if event.bytes_done >= event.bytes_total // 2:
            raise RuntimeError("simulated interruption at 50 %")

    opts = dict(multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2)
    with pytest.raises(ProgressCallbackError):
        up(big, "s3/resume", progress=interrupt, **opts)
    assert _listing(store, "s3/resume/") == {}  # invisible until complete
    records = [p for p in (tmp_path / "checkpoints").rglob("*.json")]
    assert len(records) == 1 and oct(records[0].stat().st_mode & 0o777) == "0o600"
    assert store.access_key_secret not in records[0].read_text()
    upload_id = json.loads(records[0].read_text())["upload_id"]
    assert _s3(store).list_parts(Bucket=store.bucket, Key="s3/resume/vectors.npy", UploadId=upload_id)["Parts"]
    res = up(big, "s3/resume", **opts)
    assert 0 < res.bytes_uploaded <= 0.6 * res.total_bytes
    got = _s3(store).get_object(Bucket=store.bucket, Key="s3/resume/vectors.npy")["Body"].read()
    assert got == big.read_bytes()
    assert not list((tmp_path / "checkpoints").rglob("*.json"))  # dropped once complete


def test_a_file_changed_between_runs_is_sent_afresh(store: OssStore, up: Any, tmp_path: Path) -> None:
    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(2_000_000))
    opts = dict(multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2)

    def interrupt(event: UploadProgress) -> None:
        if event.bytes_done >= event.bytes_total // 3:
            raise RuntimeError("interrupted")

    with pytest.raises(ProgressCallbackError):
        up(big, "s3/changed", progress=interrupt, **opts)
    old_id = json.loads(next((tmp_path / "checkpoints").rglob("*.json")).read_text())["upload_id"]
    big.write_bytes(os.urandom(2_000_000))
    up(big, "s3/changed", **opts)
    assert _s3(store).get_object(Bucket=store.bucket, Key="s3/changed/vectors.npy")["Body"].read() == big.read_bytes()
    uploads = _s3(store).list_multipart_uploads(Bucket=store.bucket, Prefix="s3/changed/").get("Uploads", [])
    assert old_id not in [u["UploadId"] for u in uploads]  # the stale upload was aborted, not left to bill


def test_a_corrupted_object_is_found_and_replaced(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src", big=50_000)
    res = up(src, "s3/corrupt")
    key = "s3/corrupt/1/id.npy"
    data = bytearray(_s3(store).get_object(Bucket=store.bucket, Key=key)["Body"].read())
    data[100] ^= 0xFF
    _s3(store).put_object(Bucket=store.bucket, Key=key, Body=bytes(data))
    with pytest.raises(IntegrityError, match=r"1/id\.npy.*ETag"):
        verify_upload(res, _keys(store))
    again = up(src, "s3/corrupt")  # same size, another ETag: sent again, not skipped
    assert [o.key for o in again.uploaded] == [key]
    assert verify_upload(again, _keys(store)) == 4


@pytest.mark.parametrize("size", [5_000, 700 * KiB], ids=["put", "multipart"])
def test_bytes_changed_in_transit_are_refused_and_nothing_is_left(
    store: OssStore, up: Any, tmp_path: Path, size: int
) -> None:
    proxy = _CorruptingProxy(store.port)
    server = make_server("127.0.0.1", 0, proxy, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        src = _write(tmp_path / "src" / "vectors.npy", os.urandom(size))
        with pytest.raises(IntegrityError) as info:
            up(src, "s3/transit", endpoint=f"http://127.0.0.1:{server.server_port}", retries=0, **SMALL_MULTIPART)
        assert "[S3 " in str(info.value) and "s3/transit/vectors.npy" in str(info.value)
        assert proxy.corrupted >= 1
    finally:
        server.shutdown()
        server.server_close()
    assert _listing(store, "s3/transit/") == {}


def test_wrong_keys_and_a_missing_bucket_say_so_without_secrets(
    store: OssStore, up: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = _folder(tmp_path / "src", big=10)
    with caplog.at_level(logging.DEBUG), pytest.raises(StorageAuthError) as info:
        up(src, "s3/badkey", keys=StorageKeys(store.access_key_id, "wrong-secret-value-123"))
    assert "[S3 SignatureDoesNotMatch, HTTP 403]" in str(info.value) and "AWS_SECRET_ACCESS_KEY" in info.value.hint
    _no_secret(info.value, "wrong-secret-value-123", store.access_key_secret)
    logged = caplog.text
    assert store.access_key_id not in logged and "wrong-secret-value-123" not in logged
    with pytest.raises(StorageAuthError) as info:
        up(src, "s3/badkey", keys=StorageKeys("AKIDUNKNOWN0001", "whatever-secret"))
    assert "InvalidAccessKeyId" in str(info.value)
    with pytest.raises(BucketNotFoundError) as missing:
        up(src, "s3/nobucket", bucket="no-such-bucket-zz")
    assert "[S3 NoSuchBucket" in str(missing.value) and "S3_BUCKET" in missing.value.hint


def test_the_upload_imports_into_the_sandbox(sandbox, tmp_path: Path) -> None:
    """What the S3 backend wrote is a valid import source: the sandbox imports it."""
    from tests.support.tiny import tiny_schema, write_tiny_numpy
    from zimport_widgets import ImportClient

    client = ImportClient.from_env(sandbox.env())
    name = "s3_backend_import"
    if client.has_collection(name):
        client.drop_collection(name)
    client.create_collection(name, tiny_schema(name))
    folder = write_tiny_numpy(tmp_path / "tiny", 30)
    target = S3Credentials(sandbox.oss_bucket, StorageKeys(sandbox.access_key_id, sandbox.access_key_secret),
                           sandbox.region, sandbox.oss_endpoint)  # fmt: skip
    res = upload(folder, prefix="s3-import/tiny", storage=target, progress=False, schema=tiny_schema(name),
                 config=UploadConfig(checkpoint_dir=tmp_path / "ck"))  # fmt: skip
    job = client.start_import(name, res.object_url)
    assert client.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1).completed
    assert client.count_rows(name) == 30


# -- no server ---------------------------------------------------------------------------------------------


def test_s3_object_urls_for_aws_china_oss_and_local_stores() -> None:
    assert (
        s3_object_url(None, "b", "p/v1", region="us-west-2", folder=True)
        == "https://b.s3.us-west-2.amazonaws.com/p/v1/"
    )
    assert s3_object_url(None, "b", "p/a b.json", region="cn-northwest-1") == (
        "https://b.s3.cn-northwest-1.amazonaws.com.cn/p/a%20b.json"
    )
    assert s3_object_url(None, "b", "p", region="us-west-2", folder=True, form="s3") == "s3://b/p/"
    assert s3_object_url("https://s3.oss-cn-hangzhou.aliyuncs.com", "b", "p", region="cn-hangzhou", folder=True) == (
        "https://b.oss-cn-hangzhou.aliyuncs.com/p/"  # OSS's S3 API: the import reads the bucket as OSS
    )
    assert s3_object_url("http://127.0.0.1:9000", "b", "p/x.npy", region=None) == "http://127.0.0.1:9000/b/p/x.npy"
    with pytest.raises(ConfigError, match="for S3"):
        s3_object_url(None, "b", "p", region="us-west-2", form="oss")


def test_aws_parts_below_5_mib_are_refused_before_any_request() -> None:
    from zimport_widgets.storage.s3 import S3Backend

    with pytest.raises(ConfigError, match="5 MiB"):
        S3Backend(S3Credentials("b", StorageKeys("k", "s"), "us-west-2"), UploadConfig(part_size=1 << 20))


def test_the_bucket_comes_from_the_environment_and_the_region_names_the_provider(monkeypatch) -> None:
    for name in ("OSS_ENDPOINT", "OSS_BUCKET", "S3_BUCKET", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="no bucket given"):
        resolve_storage()
    env = {"S3_BUCKET": "bkt", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value",
           "AWS_REGION": "us-west-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}  # fmt: skip
    target = resolve_storage(env)
    assert isinstance(target, S3Credentials) and (target.bucket, target.region, target.endpoint) == (
        "bkt", "us-west-2", "http://127.0.0.1:9000"
    )  # fmt: skip
    assert "s3cr3t-value" not in repr(target) and "AKID" not in repr(target)
    oss = {"OSS_ENDPOINT": "oss-cn-hangzhou.aliyuncs.com", "OSS_BUCKET": "o", "OSS_ACCESS_KEY_ID": "i",
           "OSS_ACCESS_KEY_SECRET": "s"}  # fmt: skip
    assert type(resolve_storage({**env, **oss})).__name__ == "OssCredentials"  # OSS first, as before
    assert [provider_for_region(r) for r in ("ali-cn-hangzhou", "aws-us-west-2", "tc-ap-beijing", "gcp-us-west1",
                                             "az-eastus")] == ["oss", "s3", "cos", "gcs", "azure"]  # fmt: skip


_CHILD = """
import sys, time
from zimport_widgets import S3Credentials, StorageKeys, UploadConfig, upload
endpoint, bucket, region, src, ck = sys.argv[1:6]
import os
def report(event):
    print(f"{event.bytes_done / event.bytes_total:.3f}", flush=True)
    time.sleep(0.03)  # a slow link: the parent kills us mid-way
upload(src, prefix="s3/killed", storage=S3Credentials(bucket, StorageKeys(os.environ["K"], os.environ["S"]), region,
       endpoint), config=UploadConfig(multipart_threshold=1_000_000, part_size=102400, num_threads=1,
       checkpoint_dir=ck), progress=report, check=False)
print("done", flush=True)
"""


def test_a_killed_upload_resumes_from_its_stored_parts(store: OssStore, up: Any, tmp_path: Path) -> None:
    """SIGKILL at about half of the bytes (a real process, a real kill), then a re-run sends the rest only."""
    import signal
    import subprocess
    import sys

    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(3_000_000))
    env = {**os.environ, "K": store.access_key_id, "S": store.access_key_secret}
    cmd = [sys.executable, "-c", _CHILD, store.endpoint, store.bucket, store.region, str(big), str(tmp_path / "ck")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    killed_at = None
    for line in proc.stdout:
        if line.strip() == "done":
            break
        if float(line) >= 0.5:
            proc.send_signal(signal.SIGKILL)
            killed_at = float(line)
            break
    proc.wait(timeout=60)
    assert killed_at is not None, "the upload finished before it could be killed"
    assert _listing(store, "s3/killed/") == {}  # nothing visible: the multipart upload was never completed
    res = up(big, "s3/killed", multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2,
             checkpoint_dir=tmp_path / "ck")  # fmt: skip
    assert 0 < res.bytes_uploaded <= (1 - killed_at + 0.1) * res.total_bytes
    assert _s3(store).get_object(Bucket=store.bucket, Key="s3/killed/vectors.npy")["Body"].read() == big.read_bytes()


def test_the_cli_uploads_to_s3_from_the_aws_variables(store: OssStore, tmp_path: Path, monkeypatch, capsys) -> None:
    from tests.support.tiny import write_tiny_numpy
    from zimport_widgets.cli import main as cli_main

    for name in ("OSS_ENDPOINT", "OSS_BUCKET", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    env = {"S3_BUCKET": store.bucket, "AWS_ACCESS_KEY_ID": store.access_key_id,
           "AWS_SECRET_ACCESS_KEY": store.access_key_secret, "AWS_REGION": store.region,
           "AWS_ENDPOINT_URL_S3": store.endpoint, "ZIMPORT_CHECKPOINT_DIR": str(tmp_path / "ck")}  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    folder = write_tiny_numpy(tmp_path / "tiny", 10)
    assert cli_main(["upload", str(folder), "--prefix", "s3/cli", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == f"{store.endpoint}/{store.bucket}/s3/cli/"
    assert store.access_key_secret not in out + err
    assert cli_main(["upload", str(folder), "--prefix", "s3/cli", "--provider", "s3", "--oss-url",
                     "--no-progress"]) == 0  # fmt: skip
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == f"s3://{store.bucket}/s3/cli/" and "already there" in err


def test_stale_s3_multipart_uploads_are_listed_and_aborted(store: OssStore, tmp_path: Path, monkeypatch, capsys):
    """A lost checkpoint leaves an upload S3 bills: abort_stale_uploads (and the CLI) find and abort it, and leave
    a young one (running now, maybe elsewhere) alone."""
    import time

    from zimport_widgets import abort_stale_uploads
    from zimport_widgets.cli import main as cli_main

    s3 = _s3(store)
    old = s3.create_multipart_upload(Bucket=store.bucket, Key="s3/stale/a.npy")["UploadId"]
    s3.upload_part(Bucket=store.bucket, Key="s3/stale/a.npy", UploadId=old, PartNumber=1, Body=b"x" * 1000)
    time.sleep(1.2)
    young = s3.create_multipart_upload(Bucket=store.bucket, Key="s3/stale/b.npy")["UploadId"]
    target = S3Credentials(store.bucket, _keys(store), store.region, store.endpoint)
    dry = abort_stale_uploads("s3/stale/", credentials=target, older_than=1.0, dry_run=True)
    assert [(u.key, u.upload_id, u.aborted) for u in dry] == [("s3/stale/a.npy", old, False)]
    for name in ("OSS_ENDPOINT", "OSS_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    for k, v in {"S3_BUCKET": store.bucket, "AWS_ACCESS_KEY_ID": store.access_key_id,
                 "AWS_SECRET_ACCESS_KEY": store.access_key_secret, "AWS_REGION": store.region,
                 "AWS_ENDPOINT_URL_S3": store.endpoint}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    assert cli_main(["abort-uploads", "--prefix", "s3/stale/", "--older-than", "1"]) == 0
    assert "s3/stale/a.npy" in capsys.readouterr().out
    left = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=store.bucket, Prefix="s3/stale/")["Uploads"]]
    assert left == [young]


@pytest.mark.parametrize(("cloud", "label", "secret_var"), [("tencent", "COS", "TENCENTCLOUD_SECRET_KEY"),
                                                           ("gcp", "GCS", "GCS_HMAC_SECRET")])  # fmt: skip
def test_cos_and_gcs_keep_layout_detect_corruption_and_refuse_wrong_keys(tmp_path: Path, cloud, label, secret_var):
    """The S3-API backends of COS and GCS against a store of their cloud: the same guarantees, their own names."""
    from zimport_widgets import CosCredentials, GcsCredentials

    cls = CosCredentials if cloud == "tencent" else GcsCredentials
    with OssStore(cloud=cloud) as st:

        def target(secret: str | None = None, endpoint: str | None = None) -> Any:
            return cls(st.bucket, StorageKeys(st.access_key_id, secret or st.access_key_secret), st.region
                       if cloud == "tencent" else "auto", endpoint or st.endpoint)  # fmt: skip

        src = _folder(tmp_path / "src", big=50_000)
        cfg = UploadConfig(checkpoint_dir=tmp_path / "ck", retry_backoff=0.01, retries=0)
        res = upload(src, prefix="x/v1", storage=target(), config=cfg, progress=False, check=False)
        assert res.provider == label.lower() and len(res.objects) == 4 and all(o.verified for o in res.objects)
        assert res.object_url == f"{st.endpoint}/{st.bucket}/x/v1/"
        with pytest.raises(StorageAuthError) as info:
            upload(src, prefix="x/bad", storage=target(secret="wrong-secret-0123"), config=cfg, progress=False,
                   check=False)  # fmt: skip
        assert f"[{label} SignatureDoesNotMatch" in str(info.value) and secret_var in info.value.hint
        _no_secret(info.value, "wrong-secret-0123", st.access_key_secret)
        proxy = _CorruptingProxy(st.port)
        server = make_server("127.0.0.1", 0, proxy, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            one = _write(tmp_path / "one" / "v.npy", os.urandom(5_000))
            with pytest.raises(IntegrityError):
                upload(one, prefix="x/transit", storage=target(endpoint=f"http://127.0.0.1:{server.server_port}"),
                       config=cfg, progress=False, check=False)  # fmt: skip
        finally:
            server.shutdown()
            server.server_close()
