"""Cluster endpoint parsing: global, China, sandbox and self-hosted hosts, and the hosts they imply."""

from __future__ import annotations

import pytest

from zimport_widgets.cloud.client import ImportClient
from zimport_widgets.cloud.endpoints import (
    controller_url_for_region,
    is_china_region,
    normalize_url,
    parse_cluster_endpoint,
)
from zimport_widgets.errors import ConfigError
from zimport_widgets.storage.object_url import bucket_relative_path


def test_global_endpoint_from_the_import_doc():
    ep = parse_cluster_endpoint("https://in03-3bf3c31f4248e22.api.gcp-us-west1.zillizcloud.com")
    assert ep.cluster_id == "in03-3bf3c31f4248e22"
    assert ep.region == "gcp-us-west1"
    assert not ep.is_china
    assert ep.controller_url == "https://controller.api.gcp-us-west1.zillizcloud.com"
    assert ep.control_plane_url == "https://api.cloud.zilliz.com"


def test_endpoint_with_port_path_and_no_scheme():
    ep = parse_cluster_endpoint("in01-abcdef0123456789.api.aws-us-west-2.zillizcloud.com:19530/")
    assert ep.url == "https://in01-abcdef0123456789.api.aws-us-west-2.zillizcloud.com:19530"
    assert (ep.cluster_id, ep.region) == ("in01-abcdef0123456789", "aws-us-west-2")
    assert ep.controller_url == "https://controller.api.aws-us-west-2.zillizcloud.com"


def test_china_endpoint_uses_the_cn_domain():
    ep = parse_cluster_endpoint("https://in01-0123456789abcde.api.ali-cn-hangzhou.cloud.zilliz.com.cn")
    assert (ep.cluster_id, ep.region) == ("in01-0123456789abcde", "ali-cn-hangzhou")
    assert ep.is_china
    assert ep.controller_url == "https://controller.api.ali-cn-hangzhou.cloud.zilliz.com.cn"
    assert ep.control_plane_url == "https://api.cloud.zilliz.com.cn"


@pytest.mark.parametrize(
    ("region", "china"),
    [("ali-cn-hangzhou", True), ("ali-cn-beijing", True), ("tc-ap-beijing", True),
     ("gcp-us-west1", False), ("aws-us-east-1", False), ("az-eastus", False)],
)  # fmt: skip
def test_china_regions(region, china):
    assert is_china_region(region) is china
    url = controller_url_for_region(region)
    assert url.endswith(".cloud.zilliz.com.cn") is china
    assert url.startswith(f"https://controller.api.{region}.")


def test_sandbox_and_self_hosted_hosts_have_no_cluster_id():
    for url in ("http://127.0.0.1:41231", "http://localhost:19530/", "https://milvus.example.internal"):
        ep = parse_cluster_endpoint(url)
        assert ep.cluster_id is None and ep.region is None and not ep.is_zilliz
        assert ep.controller_url is None
    assert parse_cluster_endpoint("http://127.0.0.1:41231/").url == "http://127.0.0.1:41231"


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "ftp://in03-x.api.gcp-us-west1.zillizcloud.com", "http://127.0.0.1:notaport",
     "https://weird.zillizcloud.com", "https://controller.api.gcp-us-west1.zillizcloud.com"],
)  # fmt: skip
def test_bad_endpoints_raise_config_errors(bad):
    with pytest.raises(ConfigError) as info:
        parse_cluster_endpoint(bad)
    assert str(info.value)


def test_controller_url_passed_as_endpoint_is_explained():
    with pytest.raises(ConfigError, match="import controller, not the cluster endpoint"):
        parse_cluster_endpoint("https://controller.api.gcp-us-west1.zillizcloud.com")


def test_normalize_url_adds_https_and_strips_slash():
    assert normalize_url("controller.api.gcp-us-west1.zillizcloud.com/") == (
        "https://controller.api.gcp-us-west1.zillizcloud.com"
    )


def test_client_derives_hosts_from_the_endpoint(monkeypatch):
    for name in ("ZILLIZ_CLUSTER_ENDPOINT", "ZILLIZ_CONTROLLER_URL", "ZILLIZ_CLUSTER_ID", "ZILLIZ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    ep = "https://in03-3bf3c31f4248e22.api.gcp-us-west1.zillizcloud.com"
    c1 = ImportClient(ep, "k-123456")
    assert c1.cluster_id == "in03-3bf3c31f4248e22"
    assert c1.controller_url == "https://controller.api.gcp-us-west1.zillizcloud.com"
    c2 = ImportClient(ep, "k-123456", api_version="v2")
    assert c2.controller_url == "https://api.cloud.zilliz.com"
    cn = ImportClient("https://in01-0123456789abcde.api.ali-cn-hangzhou.cloud.zilliz.com.cn", "k-123456")
    assert cn.controller_url == "https://controller.api.ali-cn-hangzhou.cloud.zilliz.com.cn"
    # an explicit controller URL and cluster id override (the sandbox)
    sb = ImportClient("http://127.0.0.1:5000", "k-123456", controller_url="http://127.0.0.1:5001/",
                      cluster_id="in00-sandbox")  # fmt: skip
    assert (sb.controller_url, sb.cluster_id) == ("http://127.0.0.1:5001", "in00-sandbox")
    # self-hosted Milvus: the import API lives on the cluster endpoint itself
    mv = ImportClient("http://127.0.0.1:19530", api_version="milvus")
    assert mv.controller_url == "http://127.0.0.1:19530"


def test_client_reads_the_environment(monkeypatch):
    monkeypatch.setenv("ZILLIZ_CLUSTER_ENDPOINT", "https://in03-3bf3c31f4248e22.api.gcp-us-west1.zillizcloud.com")
    monkeypatch.setenv("ZILLIZ_API_KEY", "env-key-abcdef")
    monkeypatch.delenv("ZILLIZ_CONTROLLER_URL", raising=False)
    monkeypatch.delenv("ZILLIZ_CLUSTER_ID", raising=False)
    c = ImportClient()
    assert c.cluster_id == "in03-3bf3c31f4248e22"
    assert "env-key-abcdef" not in repr(c)


def test_client_config_errors(monkeypatch):
    for name in ("ZILLIZ_CLUSTER_ENDPOINT", "ZILLIZ_CONTROLLER_URL", "ZILLIZ_CLUSTER_ID", "ZILLIZ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="no API key"):
        ImportClient("https://in03-3bf3c31f4248e22.api.gcp-us-west1.zillizcloud.com")
    with pytest.raises(ConfigError, match="no cluster endpoint or controller URL"):
        ImportClient(api_key="k-123456")
    with pytest.raises(ConfigError, match="api_version"):
        ImportClient("http://127.0.0.1:1", "k-123456", api_version="v3")
    c = ImportClient("http://127.0.0.1:1", "k-123456")  # sandbox-like host without controller/cluster id
    with pytest.raises(ConfigError, match="controller"):
        c.get_import_progress("job-1")


@pytest.mark.parametrize(
    ("url", "path"),
    [("oss://bkt/a/b/", "a/b/"), ("s3://bkt/a/1/id.npy", "a/1/id.npy"),
     ("https://bkt.oss-cn-hangzhou.aliyuncs.com/a/b/", "a/b/"), ("http://127.0.0.1:9000/bkt/a/b/", "a/b/"),
     ("https://oss-cn-hangzhou.aliyuncs.com/bkt/a/", "a/"), ("https://s3.us-west-2.amazonaws.com/bkt/x.parquet",
     "x.parquet"), ("https://bkt.s3.us-west-2.amazonaws.com/x.parquet", "x.parquet"),
     ("/a/1/id.npy", "a/1/id.npy"), ("a/b/", "a/b/")],
)  # fmt: skip
def test_milvus_files_are_relative_to_the_bucket(url, path):
    assert bucket_relative_path(url) == path
