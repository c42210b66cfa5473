"""The HTTP layer on its own: backoff schedule, bounded retries on a closed port, envelope checks."""

from __future__ import annotations

import socket

import pytest

from zimport_widgets import ImportClient
from zimport_widgets.cloud.http import ApiSession
from zimport_widgets.errors import DeadlineExceeded, RequestNotSent, ZillizNetworkError
from zimport_widgets.retry import RetryPolicy


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


def test_backoff_grows_is_capped_and_jittered():
    p = RetryPolicy(backoff=0.5, max_backoff=4.0, jitter=0.5)
    for retry, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (8, 4.0)]:
        waits = [p.delay(retry) for _ in range(200)]
        assert all(base * 0.5 <= w <= base for w in waits)
        assert len({round(w, 6) for w in waits}) > 50  # jittered, not a fixed schedule
    assert p.delay(1, retry_after=3.0) == 3.0
    assert p.delay(1, retry_after=999) == p.max_retry_after


def test_connection_refused_is_not_sent_and_retried_a_bounded_number_of_times():
    sleeps: list[float] = []
    s = ApiSession("secret-key-abcdef", retry=RetryPolicy(attempts=3, backoff=0.01), sleep=sleeps.append)
    url = f"http://127.0.0.1:{closed_port()}/v1/vector/collections/import/list"
    with pytest.raises(RequestNotSent) as info:
        s.send("GET", url)
    assert "could not connect" in str(info.value)
    with pytest.raises(ZillizNetworkError, match="gave up after 3 attempts") as info:
        s.call("GET", url)
    assert len(sleeps) == 2
    assert "secret-key-abcdef" not in repr(s) and "secret-key-abcdef" not in str(info.value)
    assert info.value.__cause__ is None  # the requests exception (which holds the request) is not chained


def test_deadline_bounds_the_call():
    import time

    s = ApiSession("k-123456", retry=RetryPolicy(attempts=50, backoff=0.2, jitter=0.0))
    url = f"http://127.0.0.1:{closed_port()}/x"
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        s.call("GET", url, deadline=time.monotonic() + 0.5)
    assert time.monotonic() - t0 < 1.5


@pytest.mark.parametrize(
    ("region", "url", "says"),
    [
        ("aws-us-west-2", "https://b.oss-cn-hangzhou.aliyuncs.com/p/", "imports from AWS S3 only"),
        ("aws-us-west-2", "oss://b/p/", "imports from AWS S3 only"),
        ("ali-cn-hangzhou", "s3://b/p/", "imports from Aliyun OSS only"),
        ("ali-cn-hangzhou", "https://b.oss-cn-beijing.aliyuncs.com/p/", "the bucket is in cn-beijing"),
        ("aws-us-west-2", "https://b.s3.eu-west-1.amazonaws.com/p/", "the bucket is in eu-west-1"),
        ("gcp-us-west1", "https://b.s3.us-west-2.amazonaws.com/p/", "imports from Google Cloud Storage only"),
    ],
)
def test_an_object_url_of_another_cloud_or_region_is_refused_before_any_request(region, url, says):
    """The cluster endpoint names the region: 83004 is caught locally (the controller here does not even listen)."""
    from zimport_widgets.errors import ConfigError

    client = ImportClient(f"https://in03-0123456789abcdef.api.{region}.zillizcloud.com", "key",
                          controller_url="http://127.0.0.1:1", retry=None)  # fmt: skip
    with pytest.raises(ConfigError, match=says) as info:
        client.start_import("c", url, "ak", "sk")
    assert "83004" in info.value.hint


def test_object_urls_of_the_clusters_cloud_pass_the_local_check():
    from zimport_widgets.storage.providers import check_same_cloud, url_cloud

    check_same_cloud("https://b.s3.us-west-2.amazonaws.com/p/", "aws-us-west-2")
    check_same_cloud("s3://b/p/", "aws-us-west-2")
    check_same_cloud("https://b.oss-cn-hangzhou.aliyuncs.com/p/", "ali-cn-hangzhou")
    check_same_cloud("http://127.0.0.1:9000/b/p/", "ali-cn-hangzhou")  # a local store: nothing to say
    assert url_cloud("https://s3.us-west-2.amazonaws.com/b/p/") == ("s3", "us-west-2")
    assert url_cloud("https://b-125.cos.ap-beijing.myqcloud.com/p/") == ("cos", "ap-beijing")
    assert url_cloud("https://acct.blob.core.windows.net/c/p/") == ("azure", None)
