"""The Azure Blob Storage backend through ``azure-storage-blob`` (Azure, and Azurite on 127.0.0.1).

Every request carries a transactional ``Content-MD5`` that the service checks (``validate_content``), so a
body changed in transit is refused. Small files are one Put Blob, which also stores the file's MD5 as the
blob's ``Content-MD5``. Large files are block blobs: blocks of ``part_size`` staged ``num_threads`` at a
time, then one Put Block List that makes the blob visible whole, with the file's MD5 (computed while the
blocks go up) as its ``Content-MD5``. The service keeps staged blocks for 7 days, so a re-run of the same,
unchanged file (block ids carry its size and mtime) stages only the blocks it does not list. Each call is
retried through :func:`~zimport_widgets.retry.retry`; a final failure becomes a clean
:class:`~zimport_widgets.errors.StorageError` that never echoes the key.

The checksum is the blob's ``Content-MD5`` (base64). For a block blob it is the MD5 the upload set, not one
the service computed: the service checked every block's bytes as it arrived.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..config import AzureCredentials, UploadConfig
from ..errors import (
    BucketNotFoundError,
    IntegrityError,
    StorageAccessDenied,
    StorageAuthError,
    StorageError,
    StorageNetworkError,
    redact,
)
from ..retry import retry
from .backend import BucketAccess, ObjectHead, PutResult, md5_of
from .object_url import normalize_endpoint
from .sdk_logs import mask_sdk_logs

__all__ = ["AzureBackend", "azure_error", "azure_object_url"]

log = logging.getLogger("zimport_widgets.storage")
T = TypeVar("T")
#: Azure's most blocks per blob.
MAX_BLOCKS = 50_000


def azure_object_url(endpoint: str | None, account: str, container: str, key: str, *, folder: bool = False) -> str:
    """``https://<account>.blob.core.windows.net/<container>/<key>`` (or under ``endpoint``, e.g. Azurite's)."""
    from urllib.parse import quote

    key = key.strip("/")
    if folder and key:
        key += "/"
    base = normalize_endpoint_path(endpoint) if endpoint else f"https://{account}.blob.core.windows.net"
    return f"{base}/{container}/{quote(key, safe='/~')}"


def normalize_endpoint_path(endpoint: str) -> str:
    """An account URL: scheme, host, port and (Azurite) the account path, without a trailing ``/``."""
    from urllib.parse import urlsplit

    text = endpoint.strip().rstrip("/")
    if "://" not in text:
        text = normalize_endpoint(text.split("/", 1)[0]) + ("/" + text.split("/", 1)[1] if "/" in text else "")
    parts = urlsplit(text)
    path = parts.path.strip("/")
    return normalize_endpoint(f"{parts.scheme}://{parts.netloc}") + (f"/{path}" if path else "")


def _md5_b64(digest: bytes | bytearray | None) -> str | None:
    return base64.b64encode(bytes(digest)).decode() if digest else None


class AzureBackend:
    """One container reached with one account key or SAS token (a :class:`~.backend.StorageBackend`)."""

    provider = "azure"
    checksum_name = "Content-MD5"
    region: str | None = None

    def __init__(
        self, credentials: AzureCredentials, config: UploadConfig | None = None, *, stop: threading.Event | None = None
    ) -> None:
        from azure.storage.blob import BlobServiceClient

        self.config = cfg = config or UploadConfig()
        self.credentials = credentials
        self.bucket_name = credentials.container
        keys = credentials.keys
        self.secrets: list[str | None] = [keys.access_key_secret or None, keys.security_token]
        self.stop = stop or threading.Event()
        account_url = (
            normalize_endpoint_path(credentials.endpoint)
            if credentials.endpoint
            else f"https://{credentials.account}.blob.core.windows.net"
        )
        self.endpoint = account_url
        credential: Any = (
            {"account_name": keys.access_key_id, "account_key": keys.access_key_secret}
            if keys.access_key_secret
            else keys.security_token
        )
        mask_sdk_logs(["azure", "azure.core.pipeline.policies.http_logging_policy", "azure.storage"])
        self._service = BlobServiceClient(
            account_url, credential=credential, retry_total=0,  # the one retry loop is ours
            connection_timeout=cfg.connect_timeout, read_timeout=max(60.0, cfg.connect_timeout),
            max_single_put_size=cfg.threshold, max_block_size=cfg.part_size,
        )  # fmt: skip
        self._container = self._service.get_container_client(credentials.container)

    def __repr__(self) -> str:
        return f"AzureBackend(endpoint={self.endpoint!r}, container={self.bucket_name!r})"

    def location(self, key: str) -> str:
        return f"azure://{self.credentials.account}/{self.bucket_name}/{key}"

    def call(self, fn: Callable[[], T], *, action: str, key: str | None = None) -> T:
        """Run ``fn`` with bounded retries for network errors, 5xx and 429; raise a StorageError at the end."""
        return retry(
            fn,
            self.config.retry_policy,
            retryable=lambda exc: _retryable(exc) and not self.stop.is_set(),
            what=f"Azure {action}",
            on_failure=lambda exc, attempts, _: azure_error(
                exc, action=action, container=self.bucket_name, key=key, secrets=self.secrets, attempts=attempts
            ),
        )

    # -- the interface the upload uses
    def list_prefix(self, prefix: str) -> dict[str, int]:
        def run() -> dict[str, int]:
            return {b.name: int(b.size) for b in self._container.list_blobs(name_starts_with=prefix + "/")}

        return self.call(run, action="listing", key=prefix + "/")

    def _head(self, key: str) -> ObjectHead:
        props = self._container.get_blob_client(key).get_blob_properties()
        return ObjectHead(int(props.size), _md5_b64(props.content_settings.content_md5))

    def head(self, key: str, *, action: str = "checking") -> ObjectHead:
        return self.call(lambda: self._head(key), action=action, key=key)

    def head_or_none(self, key: str) -> ObjectHead | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._head(key)
        except ResourceNotFoundError:
            return None
        except Exception as exc:
            raise azure_error(exc, action="verifying", container=self.bucket_name, key=key,
                              secrets=self.secrets) from None  # fmt: skip

    def put_file(self, key: str, path: Path, on_progress: Callable[[int, int | None], None]) -> PutResult:
        from azure.storage.blob import ContentSettings

        def send() -> Any:
            data = path.read_bytes()
            digest = hashlib.md5(data).digest()
            answer = self._container.get_blob_client(key).upload_blob(
                data,
                overwrite=True,
                validate_content=True,
                content_settings=ContentSettings(content_md5=bytearray(digest)),
            )
            on_progress(len(data), len(data))
            return answer

        answer = self.call(send, action="uploading", key=key)
        return PutResult(_md5_b64(answer.get("content_md5")), answer.get("request_id"))

    def put_parts(
        self, key: str, path: Path, on_progress: Callable[[int, int | None], None], *, before_try: Callable[[], None]
    ) -> PutResult:
        def attempt() -> PutResult:
            before_try()
            return self._blocks(key, path, on_progress)

        return self.call(attempt, action="uploading", key=key)

    def _blocks(self, key: str, path: Path, on_progress: Callable[[int, int | None], None]) -> PutResult:
        from azure.core.exceptions import ResourceNotFoundError
        from azure.storage.blob import BlobBlock, ContentSettings

        stat = path.stat()
        size, part = stat.st_size, self.config.part_size
        count = max(1, -(-size // part))
        if count > MAX_BLOCKS:
            raise StorageError(f"{path}: {count} blocks of {part} bytes; Azure takes at most {MAX_BLOCKS}",
                               provider="Azure", hint="raise part_size")  # fmt: skip
        # the same file (size, mtime, part size) always gets the same ids: a re-run finds its staged blocks
        tag = hashlib.sha256(f"{size}:{stat.st_mtime_ns}:{part}".encode()).hexdigest()[:16]
        ids = [base64.b64encode(f"zimport-{tag}-{n:06d}".encode()).decode() for n in range(count)]
        blob = self._container.get_blob_client(key)
        try:
            _, staged = blob.get_block_list("uncommitted")
        except ResourceNotFoundError:
            staged = []
        expected = {ids[n]: min(part, size - n * part) for n in range(count)}
        kept = {b.id for b in staged if expected.get(b.id) == b.size}
        lock = threading.Lock()
        sent = [sum(expected[i] for i in kept)]
        on_progress(sent[0], size)
        whole: dict[str, str] = {}
        hasher = threading.Thread(target=lambda: whole.setdefault("md5", _file_md5(path)), daemon=True)
        hasher.start()  # the blob's Content-MD5, read while the blocks go up

        def one(n: int) -> None:
            with lock:
                current = sent[0]
            on_progress(current, size)  # raises once another file failed: the remaining blocks are not sent
            with open(path, "rb") as f:
                f.seek(n * part)
                data = f.read(expected[ids[n]])
            blob.stage_block(ids[n], data, length=len(data), validate_content=True)
            with lock:
                sent[0] += len(data)
                total = sent[0]
            on_progress(total, size)

        pool = ThreadPoolExecutor(max_workers=self.config.num_threads, thread_name_prefix="zimport-azure-block")
        try:
            for future in [pool.submit(one, n) for n in range(count) if ids[n] not in kept]:
                future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        hasher.join()
        md5 = whole.get("md5")
        if md5 is None:
            raise IntegrityError(f"{path}: the file could not be read for its MD5", provider="Azure")
        answer = blob.commit_block_list(
            [BlobBlock(block_id=i) for i in ids],
            content_settings=ContentSettings(content_md5=bytearray(base64.b64decode(md5))),
        )
        head = self._head(key)
        if head.size != size:
            raise IntegrityError(f"upload {self.location(key)}: the committed blob has {head.size} bytes, "
                                 f"the file {size}", code="SizeMismatch", provider="Azure")  # fmt: skip
        request_id = answer.get("request_id")
        return PutResult(head.checksum, str(request_id) if request_id else None, md5 if not kept else None)

    def local_checksum(self, path: Path) -> str:
        return _file_md5(path)

    @property
    def verifies_sent_bytes(self) -> bool:
        return True  # a transactional Content-MD5 on every Put Blob / Put Block

    def delete_quietly(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self._container.get_blob_client(key).delete_blob()

    def list_uploads(self, prefix: str) -> list[tuple[str, str, float]]:
        return []  # staged blocks are not uploads: the service drops them after 7 days

    def abort_upload(self, key: str, upload_id: str, *, why: str) -> bool:
        return False

    def open_checkpoints(self) -> None:
        """No local records: the service lists the staged blocks."""
        return None

    def check(self) -> BucketAccess:
        """List at most one blob: proves the account URL, container and key."""

        def first() -> list[Any]:
            return list(next(iter(self._container.list_blobs(results_per_page=1).by_page()), []))

        return BucketAccess(self.bucket_name, self.endpoint, not self.call(first, action="listing"))


def _file_md5(path: Path) -> str:
    """The file's MD5 as Azure shows Content-MD5 (base64)."""
    return base64.b64encode(md5_of(path)).decode()


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _retryable(exc: BaseException) -> bool:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return True
    if isinstance(exc, HttpResponseError):
        status = _status(exc) or 0
        code = getattr(exc, "error_code", None)
        return (
            status >= 500 or status == 429 or str(getattr(code, "value", code)) in ("ServerBusy", "OperationTimedOut")
        )
    return False


_KEY_HINT = "the account key is wrong: check AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_KEY (or the SAS token)"


def azure_error(
    exc: BaseException, *, action: str, container: str, key: str | None, secrets: Iterable[str | None] = (),
    attempts: int | None = None,
) -> BaseException:  # fmt: skip
    """A :class:`StorageError` subclass for an azure-core exception: its code, status and request id only (the
    SDK's message quotes the request's headers)."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    secrets = list(secrets)
    where = f"{container}/{key}" if key else f"container {container!r}"
    tries = f" after {attempts} attempts" if attempts and attempts > 1 else ""
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return StorageNetworkError(f"{action} {where}: the store could not be reached{tries} ({type(exc).__name__})",
                                   provider="Azure", hint="check the account URL, the network or a proxy")  # fmt: skip
    if not isinstance(exc, HttpResponseError):
        return exc
    raw = getattr(exc, "error_code", None) or None
    code = str(getattr(raw, "value", raw)) if raw is not None else None  # the SDK gives a StorageErrorCode enum
    status = _status(exc)
    response = getattr(exc, "response", None)
    request_id = response.headers.get("x-ms-request-id") if response is not None else None

    def made(cls: type[StorageError], what: str, hint: str) -> StorageError:
        return cls(redact(f"{action} {where}: {what}", secrets), code=code, status=status, request_id=request_id,
                   hint=hint, provider="Azure")  # fmt: skip

    if code in ("Md5Mismatch", "InvalidMd5", "Crc64Mismatch"):
        return made(IntegrityError, "the service received other bytes than the file's (MD5 mismatch)",
                    "the data changed in transit; re-run the upload")  # fmt: skip
    if code in ("AuthenticationFailed", "InvalidAuthenticationInfo") or status == 401:
        return made(StorageAuthError, "the account key or SAS token was refused", _KEY_HINT)
    if code == "ContainerNotFound":
        return made(BucketNotFoundError, f"the container {container!r} does not exist",
                    "create the container, or check AZURE_STORAGE_CONTAINER and the account")  # fmt: skip
    if code in ("AuthorizationFailure", "AuthorizationPermissionMismatch", "InsufficientAccountPermissions") or (
        status == 403
    ):
        return made(StorageAccessDenied, "access denied",
                    "the key was refused or may not do this: check AZURE_STORAGE_KEY (or the SAS token, which "
                    "needs write, create and list permissions) and the account's network rules")  # fmt: skip
    if status is not None and (status >= 500 or status == 429):
        return made(StorageError, f"the store failed{tries}", "re-run the upload (finished objects are skipped)")
    return made(StorageError, "the request failed", "check the account, container and key")
