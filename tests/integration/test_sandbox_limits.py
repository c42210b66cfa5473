"""The sandbox refuses oversized request bodies before reading them, as the real services do."""

from __future__ import annotations

import http.client
import json
import os
import resource
from urllib.parse import urlsplit

import oss2
import pytest
import requests

from zimport_widgets.sandbox.oss_store import OssStore

V1_CREATE = "/v1/vector/collections/import"


def _raw_post(url: str, path: str, headers: dict[str, str], body_start: bytes, length: int) -> tuple[int, bytes]:
    """Announce ``length`` bytes, send only ``body_start``, and read the answer (sent before the rest)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest("POST", path)
    for k, v in {**headers, "Content-Length": str(length), "Content-Type": "application/json"}.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.send(body_start)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_a_controller_body_over_the_limit_is_refused_with_413_before_it_is_read(sandbox):
    auth = {"Authorization": f"Bearer {sandbox.api_key}"}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # 1 GiB announced, 1 KiB sent: a server that read it would hang here until the 10 s timeout
    status, data = _raw_post(sandbox.controller_url, V1_CREATE, auth, b"{" + b" " * 1023, 1 << 30)
    assert status == 413
    answer = json.loads(data)
    assert answer["code"] == 413 and "the limit is 4194304 bytes" in answer["message"]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 64 * 1024  # KiB: nothing buffered


def test_a_chunked_body_is_cut_off_at_the_limit(sandbox):
    def chunks():
        for _ in range(8):
            yield b" " * (1 << 20)  # 8 MiB in 1 MiB chunks, no Content-Length

    resp = requests.post(
        sandbox.controller_url + V1_CREATE, data=chunks(), timeout=30,
        headers={"Authorization": f"Bearer {sandbox.api_key}", "Content-Type": "application/json"},
    )  # fmt: skip
    assert resp.status_code == 413 and resp.json()["code"] == 413


def test_an_unauthenticated_big_body_gets_the_auth_error_unread(sandbox):
    status, data = _raw_post(sandbox.cluster_endpoint, "/v2/vectordb/collections/list", {}, b"{}", 1 << 30)
    assert status == 200 and json.loads(data)["code"] == 80002


def test_the_service_answers_normally_after_refusing(sandbox):
    resp = requests.post(
        sandbox.cluster_endpoint + "/v2/vectordb/collections/list", json={}, timeout=10,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
    )  # fmt: skip
    assert resp.status_code == 200 and resp.json()["code"] == 0


def test_the_client_names_a_413_plainly(sandbox):
    from zimport_widgets import ImportClient, ZillizAPIError

    client = ImportClient.from_env(sandbox.env())
    with pytest.raises(ZillizAPIError) as info:
        client.start_import("c", "oss://x/" + "a" * (5 << 20))
    assert info.value.status == 413 and "send fewer files or rows at once" in str(info.value)


def test_the_object_store_refuses_a_body_past_its_limit_with_entity_too_large():
    with OssStore(max_body_bytes=1 << 20) as store:
        bucket = oss2.Bucket(oss2.Auth(store.access_key_id, store.access_key_secret), store.endpoint, store.bucket)
        with pytest.raises(oss2.exceptions.ServerError) as info:
            bucket.put_object("big.bin", os.urandom((1 << 20) + 1))
        assert info.value.status == 400 and info.value.code == "EntityTooLarge"
        assert not bucket.object_exists("big.bin")
        data = os.urandom(3 << 20)  # a multipart upload of any size still works, part by part
        oss2.resumable_upload(bucket, "ok.bin", _file(data), multipart_threshold=1 << 19, part_size=1 << 19)
        assert bucket.get_object("ok.bin").read() == data


def _file(data: bytes) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile(delete=False, suffix=".bin") as f:
        f.write(data)
    return f.name


def test_a_deeply_nested_body_is_refused_as_bad_json_without_parsing_it(sandbox):
    body = b'{"a": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    headers = {"Authorization": f"Bearer {sandbox.api_key}", "Content-Type": "application/json"}
    resp = requests.post(sandbox.controller_url + V1_CREATE, data=body, timeout=30, headers=headers)
    answer = resp.json()
    assert resp.status_code == 200 and answer["code"] == sandbox.controller.app.bad_json_code
    assert "can only accept json format request" in answer["message"] and "nested deeper" in answer["message"]
