"""Pure parts of the upload: object URL forms, planning, checkpoint folder, progress aggregation, errors."""

from __future__ import annotations

import threading
from pathlib import Path

import oss2.exceptions as oe
import pytest

from zimport_widgets.config import default_checkpoint_dir
from zimport_widgets.errors import (
    BucketNotFoundError,
    ConfigError,
    DataFileError,
    IntegrityError,
    StorageAccessDenied,
    StorageAuthError,
    StorageError,
    StorageNetworkError,
)
from zimport_widgets.progress import Reporter, UploadProgress
from zimport_widgets.storage.object_url import normalize_endpoint, normalize_prefix, object_url
from zimport_widgets.storage.oss_errors import is_retryable, storage_error
from zimport_widgets.storage.plan import plan_upload
from zimport_widgets.storage.results import UploadedObject, UploadResult
from zimport_widgets.storage.upload import _ProgressAggregator, file_crc64

# ------------------------------------------------------------------------------------------ URL forms


def test_object_url_aliyun_virtual_host_folder_and_file() -> None:
    ep = "oss-cn-hangzhou.aliyuncs.com"
    assert object_url(ep, "bkt", "data/v1", folder=True) == "https://bkt.oss-cn-hangzhou.aliyuncs.com/data/v1/"
    assert object_url(ep, "bkt", "data/v1/a.json") == "https://bkt.oss-cn-hangzhou.aliyuncs.com/data/v1/a.json"
    # an http:// Aliyun endpoint still gives the https URL the import API reads
    assert object_url("http://" + ep, "bkt", "p", folder=True) == "https://bkt.oss-cn-hangzhou.aliyuncs.com/p/"


def test_object_url_path_style_for_ip_and_localhost() -> None:
    assert object_url("http://127.0.0.1:9000", "bkt", "p/q", folder=True) == "http://127.0.0.1:9000/bkt/p/q/"
    assert object_url("localhost:9000", "bkt", "p/x.npy") == "http://localhost:9000/bkt/p/x.npy"
    assert object_url("http://[::1]:9000", "bkt", "p", folder=True) == "http://[::1]:9000/bkt/p/"


def test_object_url_oss_form_and_quoting() -> None:
    assert object_url("oss-cn-beijing.aliyuncs.com", "bkt", "p/v1", folder=True, form="oss") == "oss://bkt/p/v1/"
    assert object_url("oss-cn-beijing.aliyuncs.com", "b", "p/a b.json").endswith("/p/a%20b.json")
    with pytest.raises(ConfigError):
        object_url("oss-cn-beijing.aliyuncs.com", "b", "p", form="s3")  # type: ignore[arg-type]


def test_normalize_endpoint_and_prefix() -> None:
    assert normalize_endpoint("https://oss-cn-hangzhou.aliyuncs.com/") == "https://oss-cn-hangzhou.aliyuncs.com"
    assert normalize_endpoint("127.0.0.1:5000") == "http://127.0.0.1:5000"
    with pytest.raises(ConfigError, match="credentials"):
        normalize_endpoint("https://user:pw@oss-cn-hangzhou.aliyuncs.com")
    assert normalize_prefix("/a//b/") == "a/b"
    for bad in ("", "/", "a/../b"):
        with pytest.raises(ConfigError):
            normalize_prefix(bad)


# ------------------------------------------------------------------------------------------- planning


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_plan_folder_keeps_layout_and_skips_hidden(tmp_path: Path) -> None:
    root = tmp_path / "src"
    _touch(root / "1" / "id.npy", b"abc")
    _touch(root / "1" / "vec.npy", b"abcdef")
    _touch(root / "2" / "id.npy")
    _touch(root / ".ipynb_checkpoints" / "id.npy")
    _touch(root / "1" / ".DS_Store")
    plan = plan_upload(root, "/ds/v1/")
    assert [f.key for f in plan.files] == ["ds/v1/1/id.npy", "ds/v1/1/vec.npy", "ds/v1/2/id.npy"]
    assert plan.is_folder and plan.url_key == "ds/v1" and plan.total_bytes == 10


def test_plan_single_file_and_list(tmp_path: Path) -> None:
    f = _touch(tmp_path / "rows.json", b"{}")
    plan = plan_upload(f, "p")
    assert [x.key for x in plan.files] == ["p/rows.json"] and not plan.is_folder and plan.url_key == "p/rows.json"
    a = _touch(tmp_path / "d" / "a.npy")
    b = _touch(tmp_path / "d" / "sub" / "b.npy")
    plan = plan_upload([a, b], "p")
    assert [x.key for x in plan.files] == ["p/a.npy", "p/sub/b.npy"] and plan.is_folder


def test_plan_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="nope"):
        plan_upload(tmp_path / "nope", "p")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileError, match="no files"):
        plan_upload(tmp_path / "empty", "p")
    a = _touch(tmp_path / "a.npy")
    with pytest.raises(ConfigError, match="both"):
        plan_upload([a, a], "p")


# ------------------------------------------------------------------------------------ checkpoint dir


def test_default_checkpoint_dir_is_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ZIMPORT_CHECKPOINT_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_checkpoint_dir() == tmp_path / "cache" / "zimport_widgets" / "oss-checkpoints"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid per the XDG spec: ignored
    assert default_checkpoint_dir() == Path.home() / ".cache" / "zimport_widgets" / "oss-checkpoints"
    assert Path.cwd() not in default_checkpoint_dir().parents
    monkeypatch.setenv("ZIMPORT_CHECKPOINT_DIR", str(tmp_path / "ck"))
    assert default_checkpoint_dir() == tmp_path / "ck"


def test_file_crc64_matches_oss_reference(tmp_path: Path) -> None:
    # CRC-64/XZ (ECMA-182 reflected) check value for "123456789" is 0x995DC9BBDF1939FA
    assert file_crc64(_touch(tmp_path / "c", b"123456789")) == 0x995DC9BBDF1939FA
    big = _touch(tmp_path / "big", bytes(range(256)) * 40000)  # spans several read chunks
    from oss2.utils import Crc64

    c = Crc64()
    c.update(big.read_bytes())
    assert file_crc64(big) == c.crc


# ---------------------------------------------------------------------------------- progress aggregation


def test_progress_aggregator_is_monotonic_across_threads_and_retries() -> None:
    events: list[UploadProgress] = []
    sizes = {f"f{i}": 300_000 + i for i in range(8)}
    total = sum(sizes.values())
    with Reporter(events.append, total=total) as rep:
        agg = _ProgressAggregator(rep, total, len(sizes), threading.Event())

        def work(name: str, size: int) -> None:
            for pos in range(0, size, 8192):
                agg.advance(name, pos)
            for pos in range(0, size // 2, 8192):  # a retried PUT restarts at 0: must not go back
                agg.advance(name, pos)
            agg.file_done(name, size)

        threads = [threading.Thread(target=work, args=item) for item in sizes.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    done = [e.bytes_done for e in events]
    assert done == sorted(done) and len(events) > len(sizes)
    assert events[-1] == UploadProgress(total, total, len(sizes), len(sizes), events[-1].current_file)
    assert [e.files_done for e in events] == sorted(e.files_done for e in events)


# ------------------------------------------------------------------------------------------- errors


def _server_error(status: int, code: str, message: str = "m", request_id: str = "RID1") -> oe.OssError:
    body = (
        f"<Error><Code>{code}</Code><Message>{message}</Message><OSSAccessKeyId>LTAIsecretid</OSSAccessKeyId>"
        f"<RequestId>{request_id}</RequestId></Error>".encode()
    )

    class Resp:
        def __init__(self) -> None:
            self.status = 0
            self.headers: dict = {}

        def read(self, n: int = -1) -> bytes:
            return body

    r = Resp()
    r.status = status
    r.headers = {"x-oss-request-id": request_id}
    return oe.make_exception(r)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (403, "InvalidAccessKeyId", StorageAuthError),
        (403, "SignatureDoesNotMatch", StorageAuthError),
        (404, "NoSuchBucket", BucketNotFoundError),
        (403, "AccessDenied", StorageAccessDenied),
        (503, "ServiceUnavailable", StorageError),
    ],
)
def test_storage_error_mapping_keeps_code_and_request_id_not_secrets(status: int, code: str, cls: type) -> None:
    exc = _server_error(status, code, message="key LTAIsecretid was refused")
    err = storage_error(exc, action="upload", bucket="bkt", key="p/a.npy", secrets=["LTAIsecretid", "s3cr3tvalue"])
    assert type(err) is cls
    assert (err.code, err.status, err.request_id) == (code, status, "RID1")
    text = str(err)
    assert "LTAIsecretid" not in text and "RID1" in text and code in text and err.hint and err.hint in text


def test_network_and_crc_errors_and_retryability() -> None:
    net = oe.RequestError(ConnectionError("refused"))
    assert is_retryable(net) and isinstance(storage_error(net, action="upload", attempts=5), StorageNetworkError)
    assert "after 5 attempts" in str(storage_error(net, action="upload", attempts=5))
    assert is_retryable(_server_error(500, "InternalError")) and is_retryable(_server_error(429, "Throttled"))
    assert not is_retryable(_server_error(403, "AccessDenied"))
    crc = oe.InconsistentError("mismatch", "RID2")
    err = storage_error(crc, action="upload", bucket="b", key="k")
    assert isinstance(err, IntegrityError) and err.request_id == "RID2"


# ------------------------------------------------------------------------------------------- result


def test_upload_result_repr_and_html() -> None:
    objs = tuple(UploadedObject(f"p/f{i}.npy", 1024 * i, 123 + i, skipped=i % 2 == 0) for i in range(12))
    res = UploadResult(
        object_url="http://127.0.0.1:9/bkt/p/",
        bucket="bkt",
        endpoint="http://127.0.0.1:9",
        prefix="p",
        objects=objs,
        total_bytes=sum(o.size for o in objs),
        bytes_uploaded=4096,
        elapsed=1.5,
        is_folder=True,
        url_key="p",
        extra_keys=("p/old.npy",),
    )
    r = repr(res)
    assert "object_url: http://127.0.0.1:9/bkt/p/" in r and "12 objects" in r and "… and 2 more" in r
    assert "p/old.npy" in r
    h = res._repr_html_()
    assert "<table>" in h and "http://127.0.0.1:9/bkt/p/" in h and "p/f11.npy" in h
    assert res.oss_url == "oss://bkt/p/" and len(res.skipped) == 6
    assert res.url_for("p/f1.npy") == "http://127.0.0.1:9/bkt/p/f1.npy"


# ------------------------------------------------------------------------------------------ log filter


@pytest.mark.parametrize(
    "message",
    [
        "headers: {'authorization': 'OSS LTAIabc123:c2lnbmF0dXJl+/=', 'x-oss-security-token': 'LTAIabc123tok'}",
        "Authorization: OSS4-HMAC-SHA256 Credential=LTAIabc123/20261125/cn-hangzhou/oss/aliyun_v4_request,Sig=ab",
        "url: http://h/b/k?OSSAccessKeyId=LTAIabc123&Expires=1&Signature=x",
    ],
)
def test_oss2_debug_log_lines_are_masked(message: str) -> None:
    import logging

    from zimport_widgets.storage.oss import RedactFilter

    record = logging.LogRecord("oss2.http", logging.DEBUG, __file__, 1, message, (), None)
    assert RedactFilter().filter(record)
    assert "LTAIabc123" not in record.getMessage() and "***" in record.getMessage()
