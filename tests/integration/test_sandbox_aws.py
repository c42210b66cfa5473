"""A sandbox on AWS (``Sandbox(cloud="aws")``): an S3 bucket in us-west-2 beside the controller and the cluster.

The whole flow from the AWS tools' variables alone: ``upload`` picks the S3 backend, the import reads the
bucket over S3 with the ``AWS_*`` keys; the controller takes AWS's object URL forms of its own region only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import oss2
import pytest

from tests.integration.test_sandbox_import import wait_job
from tests.support.sandbox_http import call
from tests.support.tiny import tiny_schema, write_tiny_numpy
from zimport_widgets import ImportClient, UploadConfig, upload
from zimport_widgets.config import OSS_ACCESS_KEY_ID, OSS_BUCKET, OSS_ENDPOINT
from zimport_widgets.sandbox import Sandbox

V1_CREATE = "/v1/vector/collections/import"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(cloud="aws") as sb:
        yield sb


@pytest.fixture(scope="module")
def uploaded(aws: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """30 tiny rows uploaded with the environment's S3 settings; (collection, object URL)."""
    env = aws.env()
    client = ImportClient.from_env(env)
    name = "aws_tiny"
    client.create_collection(name, tiny_schema(name))
    folder = write_tiny_numpy(tmp_path_factory.mktemp("aws") / "tiny", 30)
    mp = pytest.MonkeyPatch()
    for k in (OSS_ENDPOINT, OSS_BUCKET, OSS_ACCESS_KEY_ID):
        mp.delenv(k, raising=False)
    for k, v in env.items():
        mp.setenv(k, v)
    try:
        res = upload(folder, prefix="aws/tiny", progress=False, schema=tiny_schema(name),
                     config=UploadConfig(checkpoint_dir=tmp_path_factory.mktemp("ck")))  # fmt: skip
    finally:
        mp.undo()
    assert res.provider == "s3" and res.region == "us-west-2"
    return name, res.object_url


def test_the_environment_is_the_aws_tools_own(aws: Sandbox) -> None:
    env = aws.env()
    assert aws.cloud_region == "aws-us-west-2" and env["AWS_REGION"] == "us-west-2"
    assert {"S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3"} <= set(env)
    assert not any(k.startswith("OSS_") for k in env)
    assert aws.access_key_secret not in repr(aws)


def test_upload_then_import_with_the_aws_keys(aws: Sandbox, uploaded: tuple[str, str]) -> None:
    name, url = uploaded
    client = ImportClient.from_env(aws.env())
    job = client.start_import(name, url)  # keys: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the env
    assert client.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1).completed
    assert client.count_rows(name) >= 30


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ("s3://{b}/aws/tiny/", 200),
        ("https://{b}.s3.us-west-2.amazonaws.com/aws/tiny/", 200),
        ("https://s3.us-west-2.amazonaws.com/{b}/aws/tiny/", 200),
        ("https://{b}.s3.eu-west-1.amazonaws.com/aws/tiny/", 83004),  # another region
        ("https://s3.us-east-1.amazonaws.com/{b}/aws/tiny/", 83004),
        ("oss://{b}/aws/tiny/", 83004),  # another cloud
        ("https://{b}.oss-cn-hangzhou.aliyuncs.com/aws/tiny/", 83004),
    ],
)
def test_aws_url_forms_of_the_cluster_region_only(aws: Sandbox, uploaded: tuple[str, str], form: str, code: int):
    name, _ = uploaded
    body = {"clusterId": aws.cluster_id, "collectionName": name, "objectUrl": form.format(b=aws.oss_bucket),
            "accessKey": aws.access_key_id, "secretKey": aws.access_key_secret}  # fmt: skip
    res = call(aws, aws.controller_url, V1_CREATE, body)
    assert res["code"] == code, res
    if code == 83004:
        assert "across clouds" in res["message"]
    assert aws.wait_for_jobs(60)


def test_wrong_keys_fail_the_import_with_the_s3_reason(aws: Sandbox, uploaded: tuple[str, str]) -> None:
    name, url = uploaded
    body = {"clusterId": aws.cluster_id, "collectionName": name, "objectUrl": url,
            "accessKey": aws.access_key_id, "secretKey": "not-the-secret"}  # fmt: skip
    res = call(aws, aws.controller_url, V1_CREATE, body)
    assert res["code"] == 200, res  # as with OSS: the job starts, then fails reading the bucket
    done = wait_job(aws, res["data"]["jobId"])
    assert done["state"] == "Failed" and "SignatureDoesNotMatch" in done["reason"], done
    assert "not-the-secret" not in str(done) and aws.access_key_secret not in str(done)


def test_an_s3_bucket_refuses_oss_signatures(aws: Sandbox) -> None:
    bucket = oss2.Bucket(oss2.Auth(aws.access_key_id, aws.access_key_secret), aws.oss_endpoint, aws.oss_bucket)
    with pytest.raises(oss2.exceptions.OssError) as info:
        bucket.put_object("x.json", b"{}")
    assert info.value.status == 400 and "Unsupported Authorization Type" in str(info.value)


def test_the_aws_sandbox_keeps_its_cloud_across_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "aws-data"
    with Sandbox(cloud="aws", data_dir=data) as first:
        bucket = first.oss_bucket
    with Sandbox(cloud="aws", data_dir=data) as again:
        assert again.oss_bucket == bucket and again.env()["S3_BUCKET"] == bucket
