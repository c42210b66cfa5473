"""``upload`` to Azure Blob Storage (the Azure backend, azure-storage-blob) against Azurite, Microsoft's emulator,
over real HTTP on 127.0.0.1: layout, skip, resume from staged blocks, integrity (at rest and in transit), and
errors without secrets."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.integration.test_upload_sandbox import _CorruptingProxy, _folder, _no_secret, _write
from zimport_widgets import AzureCredentials, StorageKeys, UploadConfig, upload, verify_upload
from zimport_widgets.errors import (
    BucketNotFoundError,
    IntegrityError,
    ProgressCallbackError,
    StorageAccessDenied,
    StorageAuthError,
)
from zimport_widgets.progress import UploadProgress
from zimport_widgets.sandbox.azurite import Azurite, AzuriteUnavailable
from zimport_widgets.storage.providers import check_bucket, resolve_storage

KiB = 1024
BLOCKS = dict(multipart_threshold=600 * KiB, part_size=100 * KiB, num_threads=3)
CONTAINER = "imports"


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    try:
        emulator = Azurite().start()
    except AzuriteUnavailable as exc:
        pytest.fail(f"Azurite cannot run here: {exc}", pytrace=False)
    emulator.create_container(CONTAINER)
    try:
        yield emulator
    finally:
        emulator.stop()


def _target(az: Azurite, **kw: Any) -> AzureCredentials:
    keys = kw.pop("keys", StorageKeys(az.account, az.key))
    return AzureCredentials(kw.pop("container", CONTAINER), keys, kw.pop("endpoint", az.account_url))


@pytest.fixture()
def up(azurite: Azurite, tmp_path: Path) -> Any:
    def run(source: Any, prefix: str, **kw: Any) -> Any:
        target = _target(azurite, **{k: kw.pop(k) for k in ("keys", "container", "endpoint") if k in kw})
        tuning = dict(checkpoint_dir=tmp_path / "ck", retry_backoff=0.01)
        tuning.update({k: kw.pop(k) for k in list(kw) if k in UploadConfig.__dataclass_fields__})
        return upload(source, prefix=prefix, storage=target, config=UploadConfig(**tuning),
                      progress=kw.pop("progress", False), check=False, **kw)  # fmt: skip

    return run


def _container(az: Azurite) -> Any:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(az.account_url, credential={"account_name": az.account, "account_key": az.key})
    return service.get_container_client(CONTAINER)


def _listing(az: Azurite, prefix: str) -> dict[str, int]:
    return {b.name: b.size for b in _container(az).list_blobs(name_starts_with=prefix)}


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_layout_md5s_and_a_skipping_rerun(azurite: Azurite, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src")
    res = up(src, "az/layout", **BLOCKS)
    assert res.provider == "azure"
    assert res.object_url == f"{azurite.account_url}/{CONTAINER}/az/layout/"
    expected = {f"az/layout/{p.relative_to(src).as_posix()}": p.stat().st_size for p in src.rglob("*") if p.is_file()}
    assert _listing(azurite, "az/layout/") == expected
    big = (src / "1" / "title_vector.npy").read_bytes()  # 1.5 MB: 15 blocks
    by_key = {o.key: o for o in res.objects}
    assert by_key["az/layout/1/title_vector.npy"].checksum == _md5(big)
    props = _container(azurite).get_blob_client("az/layout/1/title_vector.npy").get_blob_properties()
    assert base64.b64encode(bytes(props.content_settings.content_md5)).decode() == _md5(big)
    assert _container(azurite).download_blob("az/layout/1/title_vector.npy").readall() == big
    assert verify_upload(res, StorageKeys(azurite.account, azurite.key)) == 4
    again = up(src, "az/layout", **BLOCKS)
    assert len(again.skipped) == 4 and again.bytes_uploaded == 0
    assert check_bucket(_target(azurite)).bucket == CONTAINER


def test_resume_stages_only_the_missing_blocks(azurite: Azurite, up: Any, tmp_path: Path) -> None:
    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(3_000_000))

    def interrupt(event: UploadProgress) -> None:
        if event.bytes_done >= event.bytes_total // 2:
            raise RuntimeError("simulated interruption at 50 %")

    opts = dict(multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2)
    with pytest.raises(ProgressCallbackError):
        up(big, "az/resume", progress=interrupt, **opts)
    assert _listing(azurite, "az/resume/") == {}  # staged blocks are invisible until the block list
    res = up(big, "az/resume", **opts)
    assert 0 < res.bytes_uploaded <= 0.6 * res.total_bytes
    assert _container(azurite).download_blob("az/resume/vectors.npy").readall() == big.read_bytes()
    assert res.objects[0].checksum == _md5(big.read_bytes())


def test_a_corrupted_blob_is_found_and_replaced(azurite: Azurite, up: Any, tmp_path: Path) -> None:
    src = _folder(tmp_path / "src", big=50_000)
    res = up(src, "az/corrupt")
    key = "az/corrupt/1/id.npy"
    data = bytearray(_container(azurite).download_blob(key).readall())
    data[100] ^= 0xFF
    from azure.storage.blob import ContentSettings

    settings = ContentSettings(content_md5=bytearray(hashlib.md5(data).digest()))
    _container(azurite).upload_blob(key, bytes(data), overwrite=True, content_settings=settings)
    with pytest.raises(IntegrityError, match=r"1/id\.npy.*Content-MD5"):
        verify_upload(res, StorageKeys(azurite.account, azurite.key))
    again = up(src, "az/corrupt")
    assert [o.key for o in again.uploaded] == [key]


@pytest.mark.parametrize("size", [5_000, 700 * KiB], ids=["put", "blocks"])
def test_bytes_changed_in_transit_are_refused(azurite: Azurite, up: Any, tmp_path: Path, size: int) -> None:
    port = int(azurite.endpoint.rsplit(":", 1)[1])
    proxy = _CorruptingProxy(port)
    server = make_server("127.0.0.1", 0, proxy, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        src = _write(tmp_path / "src" / "vectors.npy", os.urandom(size))
        with pytest.raises(IntegrityError) as info:
            up(src, "az/transit", endpoint=f"http://127.0.0.1:{server.server_port}/{azurite.account}", retries=0,
               **BLOCKS)  # fmt: skip
        assert "[Azure Md5Mismatch" in str(info.value)
        assert proxy.corrupted >= 1
    finally:
        server.shutdown()
        server.server_close()
    assert _listing(azurite, "az/transit/") == {}


def test_wrong_key_and_a_missing_container_say_so_without_secrets(
    azurite: Azurite, up: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = _folder(tmp_path / "src", big=10)
    wrong = base64.b64encode(b"w" * 32).decode()
    with caplog.at_level(logging.DEBUG), pytest.raises((StorageAuthError, StorageAccessDenied)) as info:
        up(src, "az/badkey", keys=StorageKeys(azurite.account, wrong))
    # Azure answers AuthenticationFailed; Azurite AuthorizationFailure (both 403): the hint names the key either way
    assert info.value.code in ("AuthenticationFailed", "AuthorizationFailure") and info.value.status == 403
    assert "AZURE_STORAGE_KEY" in info.value.hint
    _no_secret(info.value, wrong, azurite.key)
    assert wrong not in caplog.text and azurite.key not in caplog.text
    with pytest.raises(BucketNotFoundError) as missing:
        up(src, "az/none", container="no-such-container")
    assert "[Azure ContainerNotFound" in str(missing.value)


def test_the_container_comes_from_the_azure_cli_variables(azurite: Azurite, monkeypatch) -> None:
    for name in ("OSS_ENDPOINT", "OSS_BUCKET", "S3_BUCKET", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY"):
        monkeypatch.delenv(name, raising=False)
    target = resolve_storage(azurite.env(CONTAINER))
    assert isinstance(target, AzureCredentials)
    assert (target.container, target.account, target.endpoint) == (CONTAINER, azurite.account, azurite.account_url)
    assert azurite.key not in repr(target) and azurite.key not in repr(azurite)


_CHILD = """
import os, sys, time
from zimport_widgets import AzureCredentials, StorageKeys, UploadConfig, upload
endpoint, container, src = sys.argv[1:4]
def report(event):
    print(f"{event.bytes_done / event.bytes_total:.3f}", flush=True)
    time.sleep(0.03)  # a slow link: the parent kills us mid-way
upload(src, prefix="az/killed", storage=AzureCredentials(container, StorageKeys(os.environ["A"], os.environ["K"]),
       endpoint), config=UploadConfig(multipart_threshold=1_000_000, part_size=102400, num_threads=1),
       progress=report, check=False)
print("done", flush=True)
"""


def test_a_killed_upload_resumes_from_its_staged_blocks(azurite: Azurite, up: Any, tmp_path: Path) -> None:
    """SIGKILL at about half of the bytes, then a re-run stages only the blocks the service does not list."""
    import signal
    import subprocess
    import sys

    big = _write(tmp_path / "src" / "vectors.npy", os.urandom(3_000_000))
    env = {**os.environ, "A": azurite.account, "K": azurite.key}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, azurite.account_url, CONTAINER, str(big)],
                            stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
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
    assert _listing(azurite, "az/killed/") == {}
    res = up(big, "az/killed", multipart_threshold=1_000_000, part_size=100 * KiB, num_threads=2)
    assert 0 < res.bytes_uploaded <= (1 - killed_at + 0.1) * res.total_bytes
    assert _container(azurite).download_blob("az/killed/vectors.npy").readall() == big.read_bytes()


def test_the_storage_form_uploads_to_azure(azurite: Azurite, tmp_path: Path, monkeypatch) -> None:
    """The Azure pane of the storage form: Check bucket, then the upload step writes through it."""
    import zimport_widgets.widgets as zw

    for name in ("OSS_ENDPOINT", "OSS_BUCKET", "S3_BUCKET", "AWS_ACCESS_KEY_ID", "AZURE_STORAGE_CONNECTION_STRING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_STORAGE_CONTAINER", CONTAINER)
    form = zw.StorageForm()
    assert form.provider.value == "azure" and form.pane.children[0].children[0] is form.az_account
    form.az_account.value, form.az_endpoint.value = azurite.account, azurite.account_url
    assert f"{azurite.account_url}/{CONTAINER}/PREFIX/" in form.preview.value
    form.az_key.widget.value = azurite.key  # typed: taken into kernel memory, the box emptied
    assert form.az_key.widget.value == ""
    form.run()
    form.wait(30)
    assert form.error is None, form.status.value
    assert "is reachable" in form.output.value
    from tests.support.tiny import write_tiny_numpy

    src = write_tiny_numpy(tmp_path / "tiny", 20)
    step = zw.UploadForm(form, source=str(src), prefix="az/form")
    step.run()
    step.wait(60)
    assert step.error is None, step.status.value
    assert "Content-MD5" in step.status.value and f"{azurite.account_url}/{CONTAINER}/az/form/" in step.status.value
    assert "AzureCredentials.resolve(" in step.code() and azurite.key not in step.code()
