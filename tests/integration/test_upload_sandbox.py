"""upload_to_oss against the sandbox OSS store over real HTTP on 127.0.0.1 (signatures, CRC64, faults)."""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import re
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import oss2
import pytest
from werkzeug.serving import make_server

from zimport_widgets.cli import main as cli_main
from zimport_widgets.config import OssCredentials, StorageKeys, UploadConfig
from zimport_widgets.errors import (
    BucketNotFoundError,
    IntegrityError,
    ProgressCallbackError,
    SourceInvalidError,
    StorageAccessDenied,
    StorageAuthError,
    StorageError,
    StorageNetworkError,
)
from zimport_widgets.progress import UploadProgress
from zimport_widgets.sandbox.oss_store import OssStore
from zimport_widgets.storage.upload import file_crc64, upload_to_oss, verify_upload

KiB = 1024
SMALL_MULTIPART = dict(multipart_threshold=600 * KiB, part_size=100 * KiB, num_threads=3)


@pytest.fixture(scope="module")
def store() -> Iterator[OssStore]:
    with OssStore() as st:
        yield st


@pytest.fixture()
def up(store: OssStore, tmp_path: Path) -> Any:
    """upload_to_oss bound to the store, a per-test checkpoint folder, no check, fast retries."""
    store.faults.clear()

    def run(source: Any, prefix: str, **kw: Any) -> Any:
        where: dict[str, Any] = dict(
            endpoint=store.endpoint,
            bucket=store.bucket,
            access_key_id=store.access_key_id,
            access_key_secret=store.access_key_secret,
        )
        tuning: dict[str, Any] = dict(checkpoint_dir=tmp_path / "checkpoints", retry_backoff=0.01)
        args: dict[str, Any] = dict(prefix=prefix, progress=False, check=False)
        for name, value in kw.items():
            if name in (*where, "security_token"):
                where[name] = value
            elif name in UploadConfig.__dataclass_fields__:
                tuning[name] = value
            else:
                args[name] = value
        credentials = OssCredentials.resolve(**where)
        return upload_to_oss(source, credentials=credentials, config=UploadConfig(**tuning), **args)

    return run


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _listing(store: OssStore, prefix: str) -> dict[str, int]:
    return {o.key: o.size for o in oss2.ObjectIterator(store.oss2_bucket(), prefix=prefix)}


def _folder(root: Path, big: int = 1_500_000) -> Path:
    rng = np.random.default_rng(0)
    _write(root / "1" / "id.npy", rng.bytes(40_000))
    _write(root / "1" / "title_vector.npy", rng.bytes(big))  # multipart with SMALL_MULTIPART
    _write(root / "2" / "id.npy", rng.bytes(333))
    _write(root / "readme.txt", b"hello")
    return root


# ------------------------------------------------------------------------------------ layout and URLs


def test_folder_layout_preserved(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src")
    _write(src / ".ipynb_checkpoints" / "x.npy", b"hidden")
    res = up(src, "layout/v1", **SMALL_MULTIPART)
    expected = {
        "layout/v1/1/id.npy": 40_000,
        "layout/v1/1/title_vector.npy": 1_500_000,
        "layout/v1/2/id.npy": 333,
        "layout/v1/readme.txt": 5,
    }
    assert _listing(store, "layout/v1/") == expected
    assert {o.key: o.size for o in res.objects} == expected
    assert res.total_bytes == sum(expected.values()) == res.bytes_uploaded
    bucket = store.oss2_bucket()
    for o in res.objects:  # the stored bytes are the local bytes
        local = src / o.key.removeprefix("layout/v1/")
        assert bucket.get_object(o.key).read() == local.read_bytes()
        assert o.crc64 == file_crc64(local) and o.verified and not o.skipped


def test_object_url_forms(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src", big=10)
    res = up(src, "/urls/v1/")
    assert res.object_url == f"{store.endpoint}/{store.bucket}/urls/v1/"  # path style for 127.0.0.1
    assert res.oss_url == f"oss://{store.bucket}/urls/v1/"
    assert res.url_for("urls/v1/1/id.npy") == store.object_url("urls/v1/1/id.npy")
    assert up(src, "urls/v1", url_form="oss").object_url == f"oss://{store.bucket}/urls/v1/"
    one = up(src / "readme.txt", "urls/single")
    assert one.object_url == store.object_url("urls/single/readme.txt") and not one.is_folder
    # the path-style URL really addresses the object: a signed GET of it returns the file
    signed = store.oss2_bucket().sign_url("GET", "urls/single/readme.txt", 60)
    assert unquote(signed.split("?")[0]) == one.object_url
    conn = http.client.HTTPConnection("127.0.0.1", store.port, timeout=10)
    conn.request("GET", signed.split(str(store.port), 1)[1])
    assert conn.getresponse().read() == b"hello"


def test_cli_prints_object_url_last(
    store: OssStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _folder(tmp_path / "src", big=10)
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", store.access_key_id)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", store.access_key_secret)
    monkeypatch.setenv("ZIMPORT_CHECKPOINT_DIR", str(tmp_path / "ck"))
    rc = cli_main(
        [
            "upload",
            str(src),
            "--prefix",
            "cli/v1",
            "--bucket",
            store.bucket,
            "--endpoint",
            store.endpoint,
            "--no-check",
            "--no-progress",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0
    assert out.strip().splitlines()[-1] == f"{store.endpoint}/{store.bucket}/cli/v1/"
    assert store.access_key_secret not in out + err and store.access_key_id not in out + err
    rc = cli_main(
        [
            "upload",
            str(src),
            "--prefix",
            "cli/v1",
            "--bucket",
            "no-such-bucket-x",
            "--endpoint",
            store.endpoint,
            "--no-check",
            "--no-progress",
        ]
    )
    assert rc == 1 and "NoSuchBucket" in capsys.readouterr().err


# --------------------------------------------------------------------------------- rerun and resume


def test_skip_on_rerun(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src")
    first = up(src, "rerun/v1", **SMALL_MULTIPART)
    assert not first.skipped
    before = store.request_count
    again = up(src, "rerun/v1", **SMALL_MULTIPART)
    assert len(again.skipped) == 4 and again.bytes_uploaded == 0 and again.object_url == first.object_url
    # two listings + one HEAD per object, no PUT
    assert store.request_count - before == 2 + 4
    # change one file (same size, other bytes): only that one is sent again
    _write(src / "2" / "id.npy", os.urandom(333))
    third = up(src, "rerun/v1", **SMALL_MULTIPART)
    assert [o.key for o in third.uploaded] == ["rerun/v1/2/id.npy"] and third.bytes_uploaded == 333
    assert store.oss2_bucket().get_object("rerun/v1/2/id.npy").read() == (src / "2" / "id.npy").read_bytes()
    # a file removed locally stays in the bucket: the result names it and a warning says the import reads it
    (src / "readme.txt").unlink()
    with pytest.warns(UserWarning, match="other objects"):
        fourth = up(src, "rerun/v1", **SMALL_MULTIPART)
    assert fourth.extra_keys == ("rerun/v1/readme.txt",) and len(fourth.skipped) == 3


def test_resume_after_interruption(store: OssStore, up: Any, tmp_path: Path) -> None:
    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(3_000_000))
    ckpt = tmp_path / "checkpoints"

    def interrupt(event: UploadProgress) -> None:
        if event.bytes_done >= event.bytes_total // 2:
            raise RuntimeError("simulated interruption at 50 %")

    with pytest.raises(ProgressCallbackError):
        up(big, "resume/v1", progress=interrupt, multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2)
    # nothing looks complete: the multipart upload is invisible, a checkpoint record waits in the user cache
    assert _listing(store, "resume/v1/") == {}
    records = list(ckpt.rglob("*"))
    assert any(r.is_file() for r in records) and not list(Path.cwd().glob(".py-oss-upload"))

    events: list[UploadProgress] = []
    res = up(
        big, "resume/v1", progress=events.append, multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2
    )
    assert 0 < res.bytes_uploaded <= 0.6 * res.total_bytes
    assert events[-1].bytes_done == res.total_bytes
    assert store.oss2_bucket().get_object("resume/v1/vectors.npy").read() == big.read_bytes()
    assert verify_upload(res, StorageKeys(store.access_key_id, store.access_key_secret)) == 1
    assert not [r for r in ckpt.rglob("*") if r.is_file()]  # the record is dropped once complete


def test_resume_after_a_kill_mid_part(store: OssStore, up: Any, tmp_path: Path) -> None:
    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(2_000_000))
    opts = dict(multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2)

    def interrupt(event: UploadProgress) -> None:
        if event.bytes_done >= event.bytes_total // 3:
            raise RuntimeError("interrupted")

    with pytest.raises(ProgressCallbackError):
        up(big, "cut/v1", progress=interrupt, **opts)
    record = next(json.loads(p.read_text()) for p in (tmp_path / "checkpoints").rglob("*") if p.is_file())
    # a process killed in the middle of a part: the connection closes after half of the part's body
    url = store.oss2_bucket().sign_url(
        "PUT", "cut/v1/vectors.npy", 60, params={"uploadId": record["upload_id"], "partNumber": "1"}
    )
    with socket.create_connection(("127.0.0.1", store.port)) as sock:
        head = f"PUT {url.split(str(store.port), 1)[1]} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 102400\r\n\r\n"
        sock.sendall(head.encode() + big.read_bytes()[:51200])
    time.sleep(0.3)
    # like OSS, the store keeps no part cut short: the parts stored so far are all whole
    stored = list(oss2.PartIterator(store.oss2_bucket(), "cut/v1/vectors.npy", record["upload_id"]))
    assert stored and all(p.size == 100 * KiB for p in stored)
    res = up(big, "cut/v1", **opts)  # resumes: only the parts still missing are sent
    assert res.bytes_uploaded <= res.total_bytes * 0.75
    assert store.oss2_bucket().get_object("cut/v1/vectors.npy").read() == big.read_bytes()


# ------------------------------------------------------------------------------------------- CRC64


def test_crc_mismatch_detected_on_a_corrupted_object(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src", big=50_000)
    res = up(src, "crc/v1")
    key = "crc/v1/1/id.npy"
    # the stored object changes behind our back (same size, one byte flipped)
    data = bytearray(store.oss2_bucket().get_object(key).read())
    data[100] ^= 0xFF
    store.oss2_bucket().put_object(key, bytes(data))
    with pytest.raises(IntegrityError, match=r"1/id\.npy"):
        verify_upload(res, StorageKeys(store.access_key_id, store.access_key_secret))
    again = up(src, "crc/v1")  # same size but another CRC64: sent again, not skipped
    assert [o.key for o in again.uploaded] == [key]
    assert verify_upload(again, StorageKeys(store.access_key_id, store.access_key_secret)) == 4


class _CorruptingProxy:
    """A loopback HTTP proxy in front of the store that flips one byte of every PUT body in transit."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.corrupted = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if environ["REQUEST_METHOD"] == "PUT" and len(body) > 10:
            body = body[:10] + bytes([body[10] ^ 0x01]) + body[11:]
            self.corrupted += 1
        headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        for k in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(k):
                headers[k.replace("_", "-")] = environ[k]
        path = environ.get("RAW_URI") or environ["PATH_INFO"]
        if environ.get("QUERY_STRING") and "?" not in path:
            path += "?" + environ["QUERY_STRING"]
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(environ["REQUEST_METHOD"], path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        start_response(
            f"{resp.status} {resp.reason}",
            [(k, v) for k, v in resp.getheaders() if k.lower() not in ("transfer-encoding", "connection")],
        )
        return [data]


@pytest.mark.parametrize("size", [5_000, 700 * KiB], ids=["put", "multipart"])
def test_crc_mismatch_detected_in_transit(store: OssStore, up: Any, tmp_path: Path, size: int) -> None:
    proxy = _CorruptingProxy(store.port)
    server = make_server("127.0.0.1", 0, proxy, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        src = _write(tmp_path / "src" / "vectors.npy", os.urandom(size))
        with pytest.raises(IntegrityError) as info:
            up(src, "transit/v1", endpoint=f"http://127.0.0.1:{server.server_port}", retries=0, **SMALL_MULTIPART)
        assert info.value.code == "InconsistentError" and "transit/v1/vectors.npy" in str(info.value)
        assert proxy.corrupted >= 1
    finally:
        server.shutdown()
        server.server_close()
    assert _listing(store, "transit/v1/") == {}  # the corrupted object was removed: nothing looks complete


# ------------------------------------------------------------------------------------------- errors


def _no_secret(exc: BaseException, *secrets: str) -> None:
    # the message, repr, args, hint and any chained exception (oss2's carries the raw response body)
    text = str(exc) + repr(exc) + repr(exc.args) + repr(vars(exc)) + repr(exc.__cause__) + repr(exc.__context__)
    text += "".join(traceback.format_exception_only(type(exc), exc))
    for s in secrets:
        assert s not in text


def test_wrong_keys_raise_auth_error_without_secrets(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src", big=10)
    bad_secret = "wrong-secret-" + "x" * 20
    with pytest.raises(StorageAuthError) as info:
        up(src, "auth/v1", access_key_secret=bad_secret)
    err = info.value
    assert err.code == "SignatureDoesNotMatch" and err.status == 403 and err.request_id
    assert "OSS_ACCESS_KEY_SECRET" in str(err)
    _no_secret(err, bad_secret, store.access_key_secret, store.access_key_id)
    with pytest.raises(StorageAuthError) as info:
        up(src, "auth/v1", access_key_id="LTAIunknownkeyid0000")
    assert info.value.code == "InvalidAccessKeyId"
    _no_secret(info.value, "LTAIunknownkeyid0000", store.access_key_secret)
    assert _listing(store, "auth/v1/") == {}


def test_debug_logs_carry_no_keys(store: OssStore, up: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    src = _folder(tmp_path / "src")
    with caplog.at_level(logging.DEBUG):
        up(src, "logs/v1", **SMALL_MULTIPART)
    assert "'authorization': 'OSS ***'" in caplog.text  # oss2 logs request headers at DEBUG: masked
    assert store.access_key_id not in caplog.text and store.access_key_secret not in caplog.text


def test_missing_bucket(up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src", big=10)
    with pytest.raises(BucketNotFoundError) as info:
        up(src, "p", bucket="zimport-no-such-bucket")
    assert info.value.code == "NoSuchBucket" and info.value.status == 404 and info.value.request_id
    assert "zimport-no-such-bucket" in str(info.value) and "OSS_BUCKET" in str(info.value)


def test_injected_500s_are_retried(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src")
    fault = store.faults.error("*", status=500, times=3, service="oss", method="PUT")
    res = up(src, "retry/v1", **SMALL_MULTIPART)
    assert fault.hits == 3 and len(res.uploaded) == 4
    assert verify_upload(res, StorageKeys(store.access_key_id, store.access_key_secret)) == 4
    # bounded: a store that keeps failing gives up after `retries` retries with the OSS code and request id
    store.faults.error("/*/retry/v2/*", status=503, times=None, service="oss", method="PUT")
    with pytest.raises(StorageError) as info:
        up(src / "readme.txt", "retry/v2", retries=2)
    store.faults.clear()
    assert info.value.status == 503 and info.value.code == "ServiceUnavailable" and info.value.request_id
    assert "after 3 attempts" in str(info.value)
    assert _listing(store, "retry/v2/") == {}


def test_network_failure_after_bounded_retries(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src", big=10)
    dropped = store.faults.drop("*", times=2, service="oss", method="PUT")  # connection closed, no answer
    res = up(src, "drop/v1")
    assert dropped.hits == 2 and len(res.uploaded) == 4
    with pytest.raises(StorageNetworkError, match="after 3 attempts"):
        up(src, "p", endpoint="http://127.0.0.1:9", retries=2)  # nothing listens on port 9


def test_invalid_source_refused_before_any_byte(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = tmp_path / "bad"
    src.mkdir()
    np.save(src / "id.npy", np.arange(10, dtype=np.int64))
    np.save(src / "vector.npy", np.zeros((9, 4), dtype=np.float32))  # 9 rows, not 10
    before = store.request_count
    with pytest.raises(SourceInvalidError, match="vector"):
        up(src, "invalid/v1", check=True)
    assert store.request_count == before
    np.save(src / "vector.npy", np.zeros((10, 4), dtype=np.float32))  # fixed: the same source now goes up
    res = up(src, "invalid/v1", check=True)
    assert sorted(o.key for o in res.objects) == ["invalid/v1/id.npy", "invalid/v1/vector.npy"]


# ------------------------------------------------------------------------------------------ progress


def test_progress_callback_monotonic_and_ends_at_total(up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src", big=2_000_000)
    for i in range(12):
        _write(src / "many" / f"f{i}.npy", os.urandom(150_000 + i))
    events: list[UploadProgress] = []
    lock = threading.Lock()

    def cb(e: UploadProgress) -> None:
        with lock:
            events.append(e)

    res = up(src, "progress/v1", progress=cb, workers=4, **SMALL_MULTIPART)
    done = [e.bytes_done for e in events]
    assert len(events) > 10 and done == sorted(done)
    assert [e.files_done for e in events] == sorted(e.files_done for e in events)
    last = events[-1]
    assert (last.bytes_done, last.bytes_total, last.files_done, last.files_total) == (
        res.total_bytes,
        res.total_bytes,
        16,
        16,
    )
    assert all(e.bytes_total == res.total_bytes for e in events)
    # a re-run (everything skipped) also reaches the total
    events.clear()
    up(src, "progress/v1", progress=cb, **SMALL_MULTIPART)
    assert events[-1].bytes_done == res.total_bytes and events[-1].files_done == 16


def test_progress_bar_in_bytes_with_current_file(up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src")
    out = io.StringIO()
    res = up(src, "bar/v1", progress={"file": out, "mininterval": 0, "ascii": True}, **SMALL_MULTIPART)
    text = out.getvalue()
    final = text.replace("\r", "\n").strip().splitlines()[-1]
    # bytes with binary prefixes (1.47 MiB), the current file as postfix, the description switched at the end
    assert res.total_bytes == 1_540_338 and "1.47M/1.47M" in final and "100%" in final
    assert final.startswith("uploaded:") and final.rstrip("]").split(", ")[-1] in {
        "1/id.npy",
        "1/title_vector.npy",
        "2/id.npy",
        "readme.txt",
    }


# ------------------------------------------------------------------ key policies and STS credentials


def _local_crcs(src: Path, prefix: str) -> dict[str, int]:
    return {f"{prefix}/{p.relative_to(src).as_posix()}": file_crc64(p) for p in sorted(src.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("multipart", [False, True], ids=["whole", "multipart"])
def test_read_only_keys_raise_access_denied_without_secrets(
    store: OssStore, up: Any, tmp_path: Path, multipart: bool
) -> None:
    src = _folder(tmp_path / "src", big=1_500_000 if multipart else 10)
    ak, sk = store.add_credentials(read_only=True)
    prefix = f"denied/{'mp' if multipart else 'whole'}"
    with pytest.raises(StorageAccessDenied) as info:
        up(src, prefix, access_key_id=ak, access_key_secret=sk, retries=3, **SMALL_MULTIPART)
    err = info.value
    assert (err.code, err.status) == ("AccessDenied", 403)
    assert err.request_id and re.fullmatch(r"[0-9A-F]{24}", err.request_id)
    assert err.request_id in str(err) and "[OSS AccessDenied, HTTP 403]" in str(err)
    assert "because of bucket acl" in str(err)  # the server's own words
    assert err.hint == StorageAccessDenied.hint and f"Hint: {err.hint}" in str(err)
    _no_secret(err, ak, sk, store.access_key_id, store.access_key_secret)
    assert _listing(store, prefix + "/") == {}
    # the same keys may read: they verify what the full keys uploaded
    result = up(src, prefix, **SMALL_MULTIPART)
    assert verify_upload(result, StorageKeys(ak, sk)) == len(result.objects)


def test_sts_credentials_upload_and_verify(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src")
    ak, sk, token = store.issue_sts_credentials(ttl=600)
    result = up(src, "sts/v1", access_key_id=ak, access_key_secret=sk, security_token=token, **SMALL_MULTIPART)
    assert {o.key: o.crc64 for o in result.objects} == _local_crcs(src, "sts/v1")
    assert _listing(store, "sts/v1/") == {o.key: o.size for o in result.objects}
    assert verify_upload(result, StorageKeys(ak, sk, token)) == 4
    for o in result.objects:  # read back with the primary keys: the bytes are the files'
        assert store.oss2_bucket().get_object(o.key).read() == (src / o.key[len("sts/v1/") :]).read_bytes()
    for text in (repr(result), result._repr_html_()):
        assert ak not in text and sk not in text and token not in text
    # a re-run with the same temporary keys skips everything
    again = up(src, "sts/v1", access_key_id=ak, access_key_secret=sk, security_token=token, **SMALL_MULTIPART)
    assert all(o.skipped for o in again.objects) and again.bytes_uploaded == 0


def test_sts_token_from_the_environment(
    store: OssStore, up: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _folder(tmp_path / "src", big=10)
    ak, sk, token = store.issue_sts_credentials(ttl=600)
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", ak)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", sk)
    monkeypatch.setenv("OSS_SECURITY_TOKEN", token)
    result = up(src, "sts/env", access_key_id=None, access_key_secret=None)
    assert verify_upload(result) == len(result.objects) == 4
    # keys given as arguments are long-term keys: they never pick up the environment's token
    primary = up(src, "sts/env2")
    assert len(primary.objects) == 4
    monkeypatch.delenv("OSS_SECURITY_TOKEN")
    with pytest.raises(StorageAuthError) as info:  # STS keys without their token
        up(src, "sts/env3", access_key_id=None, access_key_secret=None)
    assert info.value.code == "InvalidAccessKeyId"
    _no_secret(info.value, ak, sk, token)


@pytest.mark.parametrize("problem", ["wrong", "other", "expired"])
def test_bad_sts_token_raises_auth_error_without_secrets(
    store: OssStore, up: Any, tmp_path: Path, problem: str
) -> None:
    src = _folder(tmp_path / "src", big=10)
    ak, sk, token = store.issue_sts_credentials(ttl=600)
    if problem == "wrong":
        sent = token[:-6] + "XXXXXX"
    elif problem == "other":
        sent = store.issue_sts_credentials(ttl=600).security_token
    else:
        sent = token
        store.expire_sts_credentials(ak)
    with pytest.raises(StorageAuthError) as info:
        up(src, f"sts/bad-{problem}", access_key_id=ak, access_key_secret=sk, security_token=sent)
    err = info.value
    code = "SecurityTokenExpired" if problem == "expired" else "InvalidSecurityToken"
    assert (err.code, err.status) == (code, 403) and err.request_id
    assert err.request_id in str(err)
    assert ("expired" if problem == "expired" else "not the one issued") in str(err)
    assert "security_token" in err.hint and "OSS_SECURITY_TOKEN" in err.hint
    _no_secret(err, ak, sk, token, sent)
    assert _listing(store, f"sts/bad-{problem}/") == {}


def test_read_only_sts_keys_raise_access_denied(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src", big=10)
    ak, sk, token = store.issue_sts_credentials(read_only=True)
    with pytest.raises(StorageAccessDenied) as info:
        up(src, "sts/ro", access_key_id=ak, access_key_secret=sk, security_token=token)
    assert info.value.code == "AccessDenied" and info.value.status == 403
    _no_secret(info.value, ak, sk, token)


def test_debug_logs_carry_no_sts_token(
    store: OssStore, up: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = _folder(tmp_path / "src")
    ak, sk, token = store.issue_sts_credentials()
    with caplog.at_level(logging.DEBUG):
        up(src, "sts/logs", access_key_id=ak, access_key_secret=sk, security_token=token, **SMALL_MULTIPART)
    assert "'x-oss-security-token': '***'" in caplog.text  # oss2 logs it among the request headers: masked
    for secret in (ak, sk, token):
        assert secret not in caplog.text


def test_cli_reports_a_missing_source_before_any_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("OSS_ENDPOINT", "OSS_BUCKET", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    rc = cli_main(["upload", str(tmp_path / "nope"), "--prefix", "p", "--no-progress"])
    err = capsys.readouterr().err
    assert rc != 0 and "no such file or folder" in err and "OSS endpoint" not in err


def test_an_unwritable_checkpoint_folder_fails_before_any_byte(store: OssStore, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the checkpoint folder should be")
    before = store.request_count
    with pytest.raises(OSError):
        up(src, "ckpt/v1", checkpoint_dir=blocker / "ck", **SMALL_MULTIPART)
    assert store.request_count == before  # nothing was sent, not even the listing


# ------------------------------------------------------------------------ multipart uploads never left billed


def _uploads(store: OssStore, prefix: str) -> list[tuple[str, str]]:
    return [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(store.oss2_bucket(), prefix=prefix)]


def _interrupted(up: Any, big: Path, prefix: str, **opts: Any) -> None:
    def interrupt(event: UploadProgress) -> None:
        if event.bytes_done >= event.bytes_total // 3:
            raise RuntimeError("interrupted")

    with pytest.raises(ProgressCallbackError):
        up(big, prefix, progress=interrupt, **opts)


def test_a_file_changed_between_runs_aborts_its_old_upload(store: OssStore, up: Any, tmp_path: Path) -> None:
    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(1_500_000))
    opts = dict(multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2)
    _interrupted(up, big, "changed/v1", **opts)
    [(key, _old)] = _uploads(store, "changed/")
    _write(big, os.urandom(1_600_000))  # a new file under the same name: oss2 drops the checkpoint
    up(big, "changed/v1", **opts)
    assert _uploads(store, "changed/") == []  # the old upload was aborted, the new one completed
    assert store.oss2_bucket().get_object(key).read() == big.read_bytes()


def test_a_lost_checkpoint_leaves_an_upload_that_abort_stale_uploads_removes(
    store: OssStore, up: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from zimport_widgets import abort_stale_uploads

    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(1_500_000))
    opts = dict(multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2)
    _interrupted(up, big, "lost/v1", **opts)
    for rec in (tmp_path / "checkpoints").rglob("*"):
        if rec.is_file():
            rec.unlink()  # the cache was cleared: nothing on this machine knows the upload any more
    up(big, "lost/v1", **opts)
    [(key, orphan)] = _uploads(store, "lost/")
    creds = OssCredentials.resolve(store.endpoint, store.bucket, store.access_key_id, store.access_key_secret)
    assert abort_stale_uploads("lost/", credentials=creds) == ()  # younger than an hour: maybe running
    listed = abort_stale_uploads("lost/", credentials=creds, older_than=0, dry_run=True)
    assert [(u.key, u.upload_id, u.aborted) for u in listed] == [(key, orphan, False)]
    assert abs(listed[0].initiated.timestamp() - time.time()) < 60  # the real start time, not moto's 2010
    for name, value in {"OSS_ENDPOINT": store.endpoint, "OSS_BUCKET": store.bucket,
                        "OSS_ACCESS_KEY_ID": store.access_key_id,
                        "OSS_ACCESS_KEY_SECRET": store.access_key_secret}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    assert cli_main(["abort-uploads", "--prefix", "lost/", "--older-than", "0"]) == 0
    assert "1 unfinished multipart upload(s) aborted" in capsys.readouterr().err
    assert _uploads(store, "lost/") == []
    assert store.oss2_bucket().get_object(key).read() == big.read_bytes()  # the completed object is untouched


def test_an_initiate_answered_too_late_leaves_no_upload(store: OssStore, up: Any, tmp_path: Path) -> None:
    """The first initiate is answered after the read timeout: the server made an upload nobody holds."""
    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(1_500_000))
    store.faults.delay("/*/late/*", seconds=2.5, method="POST", service="oss", times=1)
    late = store.faults.armed[-1]
    res = up(big, "late/v1", multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2,
             connect_timeout=1.0)  # fmt: skip
    assert late.hits == 1 and res.total_bytes == big.stat().st_size
    time.sleep(0.5)
    assert _uploads(store, "late/") == []  # the late one was waited for and aborted
    assert store.oss2_bucket().get_object("late/v1/vectors.npy").read() == big.read_bytes()


def test_checkpoints_are_private(store: OssStore, up: Any, tmp_path: Path) -> None:
    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(1_500_000))
    _interrupted(up, big, "private/v1", multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2)
    ckpt = tmp_path / "checkpoints"
    assert os.stat(ckpt).st_mode & 0o777 == 0o700
    files = [p for p in ckpt.rglob("*") if p.is_file()]
    assert files and all(os.stat(p).st_mode & 0o777 == 0o600 for p in files)
    assert all(os.stat(p).st_mode & 0o777 == 0o700 for p in ckpt.rglob("*") if p.is_dir())


def test_oss2_says_nothing_on_stderr_during_an_upload_that_succeeds(tmp_path: Path) -> None:
    """oss2's warnings (a changed file, a dropped record) would reach stderr through Python's last resort."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from zimport_widgets.sandbox.oss_store import OssStore
        from zimport_widgets.config import OssCredentials, UploadConfig
        from zimport_widgets.storage.upload import upload_to_oss
        big = Path({str(tmp_path)!r}) / "v.npy"
        big.write_bytes(os.urandom(1_500_000))
        with OssStore() as st:
            creds = OssCredentials.resolve(st.endpoint, st.bucket, st.access_key_id, st.access_key_secret)
            cfg = UploadConfig(multipart_threshold=1_000_000, part_size=102400, num_threads=2,
                               checkpoint_dir={str(tmp_path / "ck")!r}, retry_backoff=0.01)
            def stop(ev):
                if ev.bytes_done > 500_000:
                    raise RuntimeError("stop")
            try:
                upload_to_oss(big, prefix="q", credentials=creds, config=cfg, progress=stop, check=False)
            except Exception:
                pass
            big.write_bytes(os.urandom(1_600_000))  # changed: oss2 warns and drops the record
            st.faults.error("*", status=500, times=2, service="oss", method="PUT")
            upload_to_oss(big, prefix="q", credentials=creds, config=cfg, progress=False, check=False)
        print("done")
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "done", res.stderr
    assert res.stderr == "", res.stderr
