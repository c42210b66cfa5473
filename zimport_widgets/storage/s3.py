"""The S3 backend (AWS, AWS China, and S3-compatible stores: MinIO, OSS's S3 API) through boto3.

Every request carries a ``Content-MD5`` that the store checks, so a body changed in transit is refused;
the ETag of a whole object (an MD5) or of a multipart object (the MD5 of the part MD5s, ``-N``) is then
compared with the one computed from the file, end to end. Multipart uploads are resumable: the upload id
and part size are kept in a private checkpoint record; a re-run lists the stored parts, keeps those whose
ETag matches the file's bytes, and sends only the rest, ``num_threads`` at a time. Each call is retried
through :func:`~zimport_widgets.retry.retry`; a final failure becomes a clean
:class:`~zimport_widgets.errors.StorageError` (:mod:`.s3_errors`).

Objects encrypted with SSE-KMS have an ETag that is no MD5: for them only the per-request ``Content-MD5``
check holds, and a re-run cannot tell an unchanged object from another (it sends it again).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..config import S3Credentials, UploadConfig
from ..errors import ConfigError, IntegrityError
from ..private_files import private_dir, write_private
from ..retry import retry
from .backend import BucketAccess, ObjectHead, PutResult, md5_of
from .object_url import is_ip_or_localhost, normalize_endpoint
from .s3_errors import is_retryable, storage_error
from .sdk_logs import mask_sdk_logs

__all__ = ["S3_MIN_PART_SIZE", "CosBackend", "GcsBackend", "S3Backend", "s3_etag"]

log = logging.getLogger("zimport_widgets.storage")
T = TypeVar("T")
#: S3's (and MinIO's) smallest part but the last.
S3_MIN_PART_SIZE = 5 * 1024 * 1024


def _is_aws(endpoint: str | None) -> bool:
    if endpoint is None:
        return True
    host = normalize_endpoint(endpoint).split("://", 1)[1].split(":", 1)[0].lower()
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def s3_etag(part_digests: list[bytes]) -> str:
    """The ETag S3 gives a multipart object with these part MD5s (MD5 of their concatenation, ``-N``)."""
    return f"{hashlib.md5(b''.join(part_digests)).hexdigest()}-{len(part_digests)}"


class S3Backend:
    """One S3 bucket reached with one set of keys (a :class:`~.backend.StorageBackend`)."""

    provider = "s3"
    checksum_name = "ETag"
    #: The smallest part (but the last) the provider's own endpoint takes.
    min_part_size = S3_MIN_PART_SIZE
    #: The provider's name in messages and error brackets.
    label = "S3"
    #: botocore's addressing style for the provider's own endpoint (a local one is always path style).
    addressing = "auto"

    def default_endpoint(self, credentials: S3Credentials) -> str | None:
        """The endpoint when none is given (None: botocore's AWS endpoint for the region)."""
        return None

    def _own_endpoint(self, endpoint: str | None) -> bool:
        return _is_aws(endpoint)

    def __init__(
        self, credentials: S3Credentials, config: UploadConfig | None = None, *, stop: threading.Event | None = None
    ) -> None:
        import boto3
        from botocore.config import Config

        self.config = cfg = config or UploadConfig()
        self.credentials = credentials
        self.bucket_name = credentials.bucket
        self.region = credentials.region
        given = credentials.endpoint or self.default_endpoint(credentials)
        endpoint = normalize_endpoint(given) if given else None
        self.endpoint = endpoint or ""
        if self._own_endpoint(endpoint) and cfg.part_size < self.min_part_size:
            mib = self.min_part_size // (1 << 20)
            raise ConfigError(
                f"part_size {cfg.part_size} is below {self.label}'s minimum of {self.min_part_size} bytes ({mib} MiB)",
                hint=f"use part_size >= {mib} MiB for {self.label}",
            )
        keys = credentials.keys
        self.secrets: list[str | None] = list(keys.secrets)
        self.stop = stop or threading.Event()
        local = endpoint is not None and is_ip_or_localhost(endpoint.split("://", 1)[1])
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=credentials.region or "us-east-1",
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.access_key_secret,
            aws_session_token=keys.security_token or None,
            config=Config(
                retries={"max_attempts": 1, "mode": "standard"},  # the one retry loop is ours
                connect_timeout=cfg.connect_timeout,
                read_timeout=max(60.0, cfg.connect_timeout),
                max_pool_connections=cfg.workers + cfg.num_threads + 2,
                s3={"addressing_style": "path" if local else self.addressing},
                signature_version="s3v4",
                # whole bodies with Content-MD5: what every S3-compatible store takes (OSS refuses aws-chunked)
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        self._checkpoints: Path | None = None
        # botocore logs its Authorization header, credential scope and session token at DEBUG level
        mask_sdk_logs(["botocore", "boto3", *(n for n in logging.root.manager.loggerDict
                                              if n.startswith(("botocore.", "boto3.")))])  # fmt: skip

    def __repr__(self) -> str:
        return f"S3Backend(endpoint={self.endpoint or 'AWS'!r}, region={self.region!r}, bucket={self.bucket_name!r})"

    def location(self, key: str) -> str:
        return f"{self.provider}://{self.bucket_name}/{key}"

    def call(self, fn: Callable[[], T], *, action: str, key: str | None = None) -> T:
        """Run ``fn`` with bounded retries for network errors, 5xx and 429; raise a StorageError at the end."""
        return retry(
            fn,
            self.config.retry_policy,
            retryable=lambda exc: is_retryable(exc) and not self.stop.is_set(),
            what=f"S3 {action}",
            on_failure=lambda exc, attempts, _: self._error(exc, action, key, attempts),
        )

    def _error(self, exc: Exception, action: str, key: str | None, attempts: int) -> BaseException:
        return storage_error(exc, action=action, bucket=self.bucket_name, key=key, region=self.region,
                             secrets=self.secrets, attempts=attempts, provider=self.provider)  # fmt: skip

    # -- the interface the upload uses
    def list_prefix(self, prefix: str) -> dict[str, int]:
        def run() -> dict[str, int]:
            out: dict[str, int] = {}
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket_name, Prefix=prefix + "/")
            for page in pages:
                for item in page.get("Contents", ()):
                    out[item["Key"]] = int(item["Size"])
            return out

        return self.call(run, action="listing", key=prefix + "/")

    def _head(self, key: str) -> ObjectHead:
        got = self._client.head_object(Bucket=self.bucket_name, Key=key)
        return ObjectHead(int(got["ContentLength"]), self._etag(got))

    def head(self, key: str, *, action: str = "checking") -> ObjectHead:
        return self.call(lambda: self._head(key), action=action, key=key)

    def head_or_none(self, key: str) -> ObjectHead | None:
        from botocore.exceptions import ClientError

        try:
            return self._head(key)
        except ClientError as exc:
            if (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") == 404:
                return None
            raise self._error(exc, "verifying", key, 1) from None

    @staticmethod
    def _etag(answer: dict[str, Any]) -> str | None:
        if str(answer.get("ServerSideEncryption", "")).startswith("aws:kms"):
            return None  # not an MD5: nothing to compare with
        etag = answer.get("ETag")
        return str(etag).strip('"') if etag else None

    def put_file(self, key: str, path: Path, on_progress: Callable[[int, int | None], None]) -> PutResult:
        def send() -> Any:
            data = path.read_bytes()
            digest = base64.b64encode(hashlib.md5(data).digest()).decode()
            answer = self._client.put_object(Bucket=self.bucket_name, Key=key, Body=data, ContentMD5=digest)
            on_progress(len(data), len(data))
            return answer

        answer = self.call(send, action="uploading", key=key)
        return PutResult(self._etag(answer), (answer.get("ResponseMetadata") or {}).get("RequestId"))

    def put_parts(
        self, key: str, path: Path, on_progress: Callable[[int, int | None], None], *, before_try: Callable[[], None]
    ) -> PutResult:
        """A resumable multipart upload, invisible until complete (see the module docstring)."""

        def attempt() -> PutResult:
            before_try()
            return self._multipart(key, path, on_progress)

        return self.call(attempt, action="uploading", key=key)

    def _record_path(self, key: str, path: Path) -> Path:
        folder = self.open_checkpoints()
        ident = json.dumps([self.endpoint, self.bucket_name, key, os.path.abspath(path)])
        return folder / (hashlib.sha256(ident.encode()).hexdigest()[:32] + ".json")

    def _multipart(self, key: str, path: Path, on_progress: Callable[[int, int | None], None]) -> PutResult:
        stat = path.stat()
        size, part_size = stat.st_size, self.config.part_size
        count = max(1, -(-size // part_size))
        record_file = self._record_path(key, path)
        record = self._load(record_file)
        upload_id = None
        done: dict[int, str] = {}
        if record and (record.get("size"), record.get("mtime_ns"), record.get("part_size")) == (
            size, stat.st_mtime_ns, part_size
        ):  # fmt: skip
            upload_id = str(record["upload_id"])
            stored = self._stored_parts(key, upload_id, path, part_size, size)
            if stored is None:  # the upload is gone (aborted, completed elsewhere): start afresh
                upload_id = None
            else:
                done = stored
        elif record:  # the file changed since: its old parts are worthless
            self._abort(key, str(record.get("upload_id")))
        if upload_id is None:
            upload_id = self._client.create_multipart_upload(Bucket=self.bucket_name, Key=key)["UploadId"]
            write_private(record_file, json.dumps({"upload_id": upload_id, "key": key, "size": size,
                                                   "mtime_ns": stat.st_mtime_ns, "part_size": part_size}))  # fmt: skip
        lock = threading.Lock()
        sent = [sum(min(part_size, size - (n - 1) * part_size) for n in done)]
        on_progress(sent[0], size)
        digests: dict[int, bytes] = {n: bytes.fromhex(etag) for n, etag in done.items()}

        def one(number: int) -> None:
            with lock:
                current = sent[0]
            on_progress(current, size)  # raises once another file failed: the remaining parts are not sent
            offset = (number - 1) * part_size
            length = min(part_size, size - offset)
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(length)
            digest = hashlib.md5(data).digest()
            answer = self._client.upload_part(Bucket=self.bucket_name, Key=key, UploadId=upload_id,
                                              PartNumber=number, Body=data,
                                              ContentMD5=base64.b64encode(digest).decode())  # fmt: skip
            etag = str(answer.get("ETag", "")).strip('"')
            if etag and etag != digest.hex() and self._etag(answer) is not None:
                raise IntegrityError(
                    f"upload {self.location(key)}: part {number} stored with ETag {etag}, its bytes have MD5 "
                    f"{digest.hex()}", code="BadDigest", provider=self.label,
                )  # fmt: skip
            with lock:
                digests[number] = digest
                sent[0] += len(data)
                total = sent[0]
            on_progress(total, size)

        todo = [n for n in range(1, count + 1) if n not in done]
        pool = ThreadPoolExecutor(max_workers=self.config.num_threads, thread_name_prefix="zimport-s3-part")
        try:
            for future in [pool.submit(one, n) for n in todo]:
                future.result()
        except BaseException:  # the first failed part ends the attempt: the parts not started are not sent
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        parts = [{"PartNumber": n, "ETag": f'"{digests[n].hex()}"'} for n in range(1, count + 1)]
        answer = self._client.complete_multipart_upload(Bucket=self.bucket_name, Key=key, UploadId=upload_id,
                                                        MultipartUpload={"Parts": parts})  # fmt: skip
        with contextlib.suppress(OSError):
            record_file.unlink()
        expected = s3_etag([digests[n] for n in range(1, count + 1)])
        etag = self._etag(answer)
        request_id = (answer.get("ResponseMetadata") or {}).get("RequestId")
        return PutResult(etag, request_id, expected if etag == expected else None)

    def _stored_parts(self, key: str, upload_id: str, path: Path, part_size: int, size: int) -> dict[int, str] | None:
        """The parts of ``upload_id`` already stored whole with the file's bytes (their MD5s); None if gone."""
        from botocore.exceptions import ClientError

        out: dict[int, str] = {}
        try:
            pages = self._client.get_paginator("list_parts").paginate(Bucket=self.bucket_name, Key=key,
                                                                      UploadId=upload_id)  # fmt: skip
            for page in pages:
                for part in page.get("Parts", ()):
                    number, etag = int(part["PartNumber"]), str(part["ETag"]).strip('"')
                    offset = (number - 1) * part_size
                    length = min(part_size, size - offset)
                    if length > 0 and int(part["Size"]) == length and md5_of(path, offset, length).hex() == etag:
                        out[number] = etag
        except ClientError as exc:
            if (exc.response.get("Error") or {}).get("Code") == "NoSuchUpload":
                return None
            raise
        return out

    def _abort(self, key: str, upload_id: str) -> None:
        self.abort_upload(key, upload_id, why="the file changed since")

    def list_uploads(self, prefix: str) -> list[tuple[str, str, float]]:
        def listing() -> list[tuple[str, str, float]]:
            pages = self._client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket_name,
                                                                                 Prefix=prefix)  # fmt: skip
            return [(u["Key"], u["UploadId"], u["Initiated"].timestamp()) for page in pages
                    for u in page.get("Uploads", ())]  # fmt: skip

        return self.call(listing, action="listing uploads", key=prefix)

    def abort_upload(self, key: str, upload_id: str, *, why: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.abort_multipart_upload(Bucket=self.bucket_name, Key=key, UploadId=upload_id)
        except ClientError as exc:
            code = (exc.response.get("Error") or {}).get("Code")
            if code != "NoSuchUpload":
                log.warning("could not abort the multipart upload of %s (%s)", key, code)
            return False
        except Exception as exc:  # never fail over a clean-up: say so
            log.warning("could not abort the multipart upload of %s (%s)", key, type(exc).__name__)
            return False
        log.info("aborted a multipart upload of %s (%s)", key, why)
        return True

    @staticmethod
    def _load(record_file: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(record_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("upload_id") else None

    def local_checksum(self, path: Path) -> str:
        size = path.stat().st_size
        if size < self.config.threshold:
            return md5_of(path, 0, size).hex()
        part = self.config.part_size
        return s3_etag([md5_of(path, off, min(part, size - off)) for off in range(0, size, part)])

    @property
    def verifies_sent_bytes(self) -> bool:
        return True  # Content-MD5 on every request

    def delete_quietly(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self._client.delete_object(Bucket=self.bucket_name, Key=key)

    def check(self) -> BucketAccess:
        """List at most one object: proves the endpoint, region, bucket and keys."""
        got = self.call(lambda: self._client.list_objects_v2(Bucket=self.bucket_name, MaxKeys=1), action="listing")
        return BucketAccess(self.bucket_name, self.endpoint or "AWS", not got.get("Contents"))

    def open_checkpoints(self) -> Path:
        if self._checkpoints is None:
            self._checkpoints = private_dir(self.config.checkpoints() / "s3")
        return self._checkpoints


class CosBackend(S3Backend):
    """One Tencent COS bucket (``name-appid``) through COS's S3-compatible API: the same requests, checksums
    (ETags), resumable multipart and errors as :class:`S3Backend`; ``https://cos.<region>.myqcloud.com``."""

    provider = "cos"
    label = "COS"
    min_part_size = 1024 * 1024
    addressing = "virtual"

    def default_endpoint(self, credentials: S3Credentials) -> str | None:
        return f"https://cos.{credentials.region}.myqcloud.com"

    def _own_endpoint(self, endpoint: str | None) -> bool:
        return endpoint is not None and ".myqcloud.com" in endpoint


class GcsBackend(S3Backend):
    """One Google Cloud Storage bucket through the XML API's S3 interoperability (HMAC key, SigV4 with region
    ``auto``), ``https://storage.googleapis.com``. A whole object's ETag is its MD5 and is checked as on S3; the
    ETag of an object composed of parts is no MD5 of part MD5s there, so for those only each part's Content-MD5
    holds (and a re-run cannot tell an unchanged one from another: it sends it again)."""

    provider = "gcs"
    label = "GCS"
    addressing = "path"

    def default_endpoint(self, credentials: S3Credentials) -> str | None:
        return "https://storage.googleapis.com"

    def _own_endpoint(self, endpoint: str | None) -> bool:
        return endpoint is not None and "storage.googleapis.com" in endpoint

    @staticmethod
    def _etag(answer: dict[str, Any]) -> str | None:
        etag = S3Backend._etag(answer)
        return None if etag is None or "-" in etag else etag
