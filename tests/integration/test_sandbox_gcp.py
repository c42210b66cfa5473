"""A sandbox on Google Cloud (``Sandbox(cloud="gcp")``): a GCS bucket in us-west1 reached through the XML API's
S3 interoperability with an HMAC key. ``upload`` picks the GCS backend from ``GCS_BUCKET``; the import reads
the bucket with the HMAC key; the controller takes GCS URLs (``gs://``, ``storage.googleapis.com``) only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sandbox_http import call
from tests.support.tiny import tiny_schema, write_tiny_numpy
from zimport_widgets import GcsCredentials, ImportClient, StorageKeys, UploadConfig, upload
from zimport_widgets.sandbox import Sandbox
from zimport_widgets.storage.object_url import bucket_object_url

V1_CREATE = "/v1/vector/collections/import"


@pytest.fixture(scope="module")
def gcp() -> Iterator[Sandbox]:
    with Sandbox(cloud="gcp") as sb:
        yield sb


@pytest.fixture(scope="module")
def uploaded(gcp: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    env = gcp.env()
    client = ImportClient.from_env(env)
    name = "gcp_tiny"
    client.create_collection(name, tiny_schema(name))
    folder = write_tiny_numpy(tmp_path_factory.mktemp("gcp") / "tiny", 22)
    mp = pytest.MonkeyPatch()
    for k in ("OSS_ENDPOINT", "OSS_BUCKET", "OSS_ACCESS_KEY_ID", "S3_BUCKET", "AWS_ACCESS_KEY_ID", "COS_BUCKET"):
        mp.delenv(k, raising=False)
    for k, v in env.items():
        mp.setenv(k, v)
    try:
        res = upload(folder, prefix="gcp/tiny", progress=False, schema=tiny_schema(name),
                     config=UploadConfig(checkpoint_dir=tmp_path_factory.mktemp("ck")))  # fmt: skip
    finally:
        mp.undo()
    assert res.provider == "gcs" and all(o.verified for o in res.objects)  # small files: whole-object MD5 ETags
    return name, res.object_url


def test_upload_then_import_with_the_hmac_key(gcp: Sandbox, uploaded: tuple[str, str]) -> None:
    name, url = uploaded
    assert gcp.cloud_region == "gcp-us-west1" and "GCS_HMAC_SECRET" in gcp.env()
    client = ImportClient.from_env(gcp.env())
    job = client.start_import(name, url)
    assert client.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1).completed
    assert client.count_rows(name) >= 22


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ("gs://{b}/gcp/tiny/", 200),
        ("https://storage.googleapis.com/{b}/gcp/tiny/", 200),
        ("s3://{b}/gcp/tiny/", 83004),
        ("https://{b}.oss-cn-hangzhou.aliyuncs.com/gcp/tiny/", 83004),
    ],
)
def test_gcs_url_forms_only(gcp: Sandbox, uploaded: tuple[str, str], form: str, code: int) -> None:
    name, _ = uploaded
    body = {"clusterId": gcp.cluster_id, "collectionName": name, "objectUrl": form.format(b=gcp.oss_bucket),
            "accessKey": gcp.access_key_id, "secretKey": gcp.access_key_secret}  # fmt: skip
    assert call(gcp, gcp.controller_url, V1_CREATE, body)["code"] == code
    assert gcp.wait_for_jobs(60)


def test_a_large_gcs_object_is_sent_in_parts_checked_one_by_one(gcp: Sandbox, tmp_path) -> None:
    """A composed object's ETag is no MD5 on GCS: each part's Content-MD5 is what holds, and the result says so."""
    import os

    big = tmp_path / "vectors.npy"
    big.write_bytes(os.urandom(700_000))
    target = GcsCredentials(gcp.oss_bucket, StorageKeys(gcp.access_key_id, gcp.access_key_secret), "auto",
                            gcp.oss_endpoint)  # fmt: skip
    cfg = UploadConfig(multipart_threshold=300_000, part_size=102_400, checkpoint_dir=tmp_path / "ck")
    res = upload(big, prefix="gcp/big", storage=target, progress=False, check=False, config=cfg)
    assert res.bytes_uploaded == 700_000 and not res.objects[0].verified
    assert bucket_object_url("gcs", "", "b", "p/v1", folder=True) == "https://storage.googleapis.com/b/p/v1/"
    assert bucket_object_url("gcs", "", "b", "p/v1", folder=True, form="s3") == "gs://b/p/v1/"
