"""A sandbox on Tencent Cloud (``Sandbox(cloud="tencent")``): a COS bucket ``name-appid`` in ap-beijing, reached
through COS's S3-compatible API. The flow from tccli's variables alone: ``upload`` picks the COS backend, the
import reads the bucket with the ``TENCENTCLOUD_*`` keys; the controller takes COS URLs of its region only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sandbox_http import call
from tests.support.tiny import tiny_schema, write_tiny_numpy
from zimport_widgets import ImportClient, UploadConfig, upload
from zimport_widgets.config import CosCredentials, StorageKeys
from zimport_widgets.errors import ConfigError
from zimport_widgets.sandbox import Sandbox
from zimport_widgets.storage.object_url import bucket_object_url

V1_CREATE = "/v1/vector/collections/import"


@pytest.fixture(scope="module")
def tc() -> Iterator[Sandbox]:
    with Sandbox(cloud="tencent") as sb:
        yield sb


@pytest.fixture(scope="module")
def uploaded(tc: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    env = tc.env()
    client = ImportClient.from_env(env)
    name = "tc_tiny"
    client.create_collection(name, tiny_schema(name))
    folder = write_tiny_numpy(tmp_path_factory.mktemp("tc") / "tiny", 25)
    mp = pytest.MonkeyPatch()
    for k in ("OSS_ENDPOINT", "OSS_BUCKET", "OSS_ACCESS_KEY_ID", "S3_BUCKET", "AWS_ACCESS_KEY_ID"):
        mp.delenv(k, raising=False)
    for k, v in env.items():
        mp.setenv(k, v)
    try:
        res = upload(folder, prefix="tc/tiny", progress=False, schema=tiny_schema(name),
                     config=UploadConfig(checkpoint_dir=tmp_path_factory.mktemp("ck")))  # fmt: skip
    finally:
        mp.undo()
    assert res.provider == "cos" and res.region == "ap-beijing"
    return name, res.object_url


def test_the_environment_is_tccli_s(tc: Sandbox) -> None:
    env = tc.env()
    assert tc.cloud_region == "tc-ap-beijing" and env["COS_REGION"] == "ap-beijing"
    assert env["COS_BUCKET"].endswith("-1250000000") and env["TENCENTCLOUD_SECRET_ID"].startswith("AKID")
    assert not any(k.startswith(("OSS_", "AWS_")) for k in env)


def test_upload_then_import_with_the_tencent_keys(tc: Sandbox, uploaded: tuple[str, str]) -> None:
    name, url = uploaded
    client = ImportClient.from_env(tc.env())
    job = client.start_import(name, url)  # keys: TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY
    assert client.wait_for_import(job, progress=False, timeout=60, poll_interval=0.1).completed
    assert client.count_rows(name) >= 25


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ("https://{b}.cos.ap-beijing.myqcloud.com/tc/tiny/", 200),
        ("cos://{b}/tc/tiny/", 200),
        ("https://{b}.cos.ap-guangzhou.myqcloud.com/tc/tiny/", 83004),  # another region
        ("s3://{b}/tc/tiny/", 83004),  # another cloud
        ("https://{b}.oss-cn-hangzhou.aliyuncs.com/tc/tiny/", 83004),
    ],
)
def test_cos_url_forms_of_the_cluster_region_only(tc: Sandbox, uploaded: tuple[str, str], form: str, code: int):
    name, _ = uploaded
    body = {"clusterId": tc.cluster_id, "collectionName": name, "objectUrl": form.format(b=tc.oss_bucket),
            "accessKey": tc.access_key_id, "secretKey": tc.access_key_secret}  # fmt: skip
    assert call(tc, tc.controller_url, V1_CREATE, body)["code"] == code
    assert tc.wait_for_jobs(60)


def test_cos_urls_and_part_sizes() -> None:
    from zimport_widgets.storage.s3 import CosBackend

    assert bucket_object_url("cos", "", "data-1250000000", "p/v1", region="ap-beijing", folder=True) == (
        "https://data-1250000000.cos.ap-beijing.myqcloud.com/p/v1/"
    )
    backend = CosBackend(CosCredentials("data-1250000000", StorageKeys("AKIDx", "s"), "ap-shanghai"))
    assert (
        backend.endpoint == "https://cos.ap-shanghai.myqcloud.com"
        and backend.location("k") == "cos://data-1250000000/k"
    )
    with pytest.raises(ConfigError, match="COS's minimum"):
        CosBackend(CosCredentials("b-125", StorageKeys("AKIDx", "s"), "ap-beijing"), UploadConfig(part_size=200_000))
    with pytest.raises(ConfigError, match="no COS region"):
        CosCredentials.resolve("b-125", "AKIDx", "s", env={})
