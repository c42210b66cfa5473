"""The Aliyun OSS backend: every ``oss2`` call of the package, with bounded retries and clean errors.

:class:`OssBackend` is the small interface the upload logic needs from a store — list a prefix, head,
put a file whole or in resumable parts, delete — so the upload's skip / verify / clean-up rules do not
depend on ``oss2``. Each call is retried through :func:`~zimport_widgets.retry.retry` and a final
failure becomes a :class:`~zimport_widgets.errors.StorageError` (``oss_errors``) that never echoes a key.
``oss2`` logs its Authorization header and STS token at DEBUG level; :func:`install_log_filter` masks
them, installed when the first backend is made (not at import time).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from ..config import OssCredentials, UploadConfig
from ..private_files import private_dir, write_private
from ..retry import retry
from .backend import BucketAccess, ObjectHead, PutResult
from .object_url import normalize_endpoint
from .oss_errors import is_retryable, storage_error
from .sdk_logs import RedactFilter, mask_sdk_logs

__all__ = [
    "BucketAccess",
    "ObjectHead",
    "OssBackend",
    "PutResult",
    "RedactFilter",
    "check_bucket",
    "file_crc64",
    "install_log_filter",
    "normalized",
]

T = TypeVar("T")

log = logging.getLogger("zimport_widgets.storage")
_OSS2_LOGGERS = ("oss2", "oss2.api", "oss2.http", "oss2.auth", "oss2.resumable", "oss2.utils")


def install_log_filter() -> None:
    """Mask keys in oss2's log records, and keep them off stderr (idempotent).

    oss2 warns (``File ... has been changed``, ``Multipart upload ... does not exist``) through loggers
    with no handler, which Python then prints on stderr in the middle of an upload that succeeds. A
    handler on ``oss2`` stops that; records still reach the handlers a user configures on the root.
    """
    mask_sdk_logs(_OSS2_LOGGERS, quiet="oss2")


class OssBackend:
    """One bucket, reached with one set of keys, through ``oss2`` (CRC64 checked on every transfer): a
    :class:`~.backend.StorageBackend`. ``stop`` (set by the upload when another file failed) ends retries early.
    """

    provider = "oss"
    checksum_name = "CRC64"
    region: str | None = None

    def __init__(
        self, credentials: OssCredentials, config: UploadConfig | None = None, *, stop: threading.Event | None = None
    ) -> None:
        import oss2

        install_log_filter()
        self.config = config or UploadConfig()
        self.credentials = credentials = normalized(credentials)
        self.bucket_name = credentials.bucket
        self.endpoint = credentials.endpoint
        self.secrets: list[str | None] = list(credentials.keys.secrets)
        self.stop = stop or threading.Event()
        keys = credentials.keys
        auth = (
            oss2.StsAuth(keys.access_key_id, keys.access_key_secret, keys.security_token)
            if keys.security_token
            else oss2.Auth(keys.access_key_id, keys.access_key_secret)
        )
        self._bucket = _bucket_class()(
            auth,
            credentials.endpoint,
            credentials.bucket,
            enable_crc=True,
            connect_timeout=self.config.connect_timeout,
            session=oss2.Session(pool_size=self.config.workers + self.config.num_threads + 2),
        )
        self._store: Any = None

    def __repr__(self) -> str:
        return f"OssBackend(endpoint={self.credentials.endpoint!r}, bucket={self.bucket_name!r})"

    def call(self, fn: Callable[[], T], *, action: str, key: str | None = None) -> T:
        """Run ``fn`` with bounded retries for network errors, 5xx and 429; raise a StorageError at the end."""
        import oss2.exceptions as oe

        return retry(
            fn,
            self.config.retry_policy,
            retryable=lambda exc: isinstance(exc, oe.OssError) and is_retryable(exc) and not self.stop.is_set(),
            what=f"OSS {action}",
            on_failure=lambda exc, attempts, _: self._error(exc, action, key, attempts),
        )

    def _error(self, exc: Exception, action: str, key: str | None, attempts: int) -> BaseException:
        import oss2.exceptions as oe

        if not isinstance(exc, oe.OssError):
            return exc
        # the oss2 exception's body and details may echo the access key id: only a clean error leaves
        return storage_error(
            exc, action=action, bucket=self.bucket_name, key=key, secrets=self.secrets, attempts=attempts
        )

    # -- the interface the upload uses
    def list_prefix(self, prefix: str) -> dict[str, int]:
        """Sizes of the objects under ``prefix/``."""
        import oss2

        def run() -> dict[str, int]:
            return {o.key: o.size for o in oss2.ObjectIterator(self._bucket, prefix=prefix + "/")}

        return self.call(run, action="listing", key=prefix + "/")

    def head(self, key: str, *, action: str = "checking") -> ObjectHead:
        head = self.call(lambda: self._bucket.head_object(key), action=action, key=key)
        return ObjectHead(head.content_length, _text(head.server_crc))

    def head_or_none(self, key: str) -> ObjectHead | None:
        """The object's head, or None when it does not exist (no retries: a verify pass)."""
        import oss2.exceptions as oe

        try:
            head = self._bucket.head_object(key)
        except oe.NotFound:
            return None
        except oe.OssError as exc:
            raise self._error(exc, "verifying", key, 1) from None
        return ObjectHead(head.content_length, _text(head.server_crc))

    def put_file(self, key: str, path: Path, on_progress: Callable[[int, int | None], None]) -> PutResult:
        """One PUT of the whole file (retried whole)."""

        def send() -> Any:
            with open(path, "rb") as f:
                return self._bucket.put_object(key, f, progress_callback=on_progress)

        result = self.call(send, action="uploading", key=key)
        return PutResult(_text(getattr(result, "crc", None)), getattr(result, "request_id", None))

    def put_parts(
        self, key: str, path: Path, on_progress: Callable[[int, int | None], None], *, before_try: Callable[[], None]
    ) -> PutResult:
        """A resumable multipart upload (``oss2.resumable_upload``), invisible until complete.

        Parts already stored by an interrupted run (checkpoint in :meth:`UploadConfig.checkpoints`) are
        kept; ``before_try`` runs before every attempt.
        """
        import oss2

        cfg = self.config

        def send() -> Any:
            before_try()
            return oss2.resumable_upload(
                self._bucket,
                key,
                str(path),
                store=self.open_checkpoints(),
                multipart_threshold=cfg.threshold,
                part_size=cfg.part_size,
                num_threads=cfg.num_threads,
                progress_callback=on_progress,
            )

        try:
            result = self.call(send, action="uploading", key=key)
        finally:
            self._abort_leftovers(key, path)
        verified = self._bucket.verified_multipart.pop(key, None)
        return PutResult(_text(getattr(result, "crc", None)), getattr(result, "request_id", None), _text(verified))

    def _abort_leftovers(self, key: str, path: Path) -> None:
        """Abort the multipart uploads of ``key`` this upload started and left (an attempt retried afresh,
        an initiate whose answer was lost): OSS bills their parts until they are aborted. The one a
        checkpoint still names is kept, so that the next run resumes it."""
        import oss2

        try:
            store = self.open_checkpoints()
            record = store.get(store.make_store_key(self.bucket_name, key, os.path.abspath(path))) or {}
        except Exception:  # an unreadable record: keep every upload rather than abort one it may name
            return
        keep = record.get("upload_id") if isinstance(record, dict) else None
        bucket = self._bucket
        with bucket._verified_lock:
            ours = bucket.started_uploads.pop(key, set())
            unclear = bucket.unclear_initiates.pop(key, None)
        ours -= bucket.completed_uploads | {keep}
        if not ours and unclear is None:
            return
        # an unanswered initiate may still be served (its upload appears later): watch as long as it could take
        wait_until = time.time() + 2 * self.config.connect_timeout + 1 if unclear is not None else 0.0
        try:
            while True:
                found = [
                    up.upload_id for up in oss2.MultipartUploadIterator(bucket, prefix=key)
                    if up.key == key and up.upload_id != keep and (
                        up.upload_id in ours
                        or (unclear is not None and (up.initiation_date or 0) >= unclear - _CLOCK_SLACK)
                    )
                ]  # fmt: skip
                for upload_id in found:
                    self._abort(key, upload_id, why="left by this upload")
                if unclear is None or any(u not in ours for u in found) or time.time() >= wait_until:
                    return
                time.sleep(0.5)
        except Exception as exc:  # never fail an upload over its clean-up: say so
            log.warning("could not list the multipart uploads of %s to abort leftovers (%s)", key, type(exc).__name__)

    def check(self) -> BucketAccess:
        listing = self.call(lambda: self._bucket.list_objects(max_keys=1), action="listing")
        return BucketAccess(self.bucket_name, self.credentials.endpoint, not listing.object_list)

    def list_uploads(self, prefix: str) -> list[tuple[str, str, float]]:
        import oss2

        def listing() -> list[tuple[str, str, float]]:
            return [(u.key, u.upload_id, float(u.initiation_date or 0))
                    for u in oss2.MultipartUploadIterator(self._bucket, prefix=prefix)]  # fmt: skip

        return self.call(listing, action="listing uploads", key=prefix)

    def abort_upload(self, key: str, upload_id: str, *, why: str) -> bool:
        return self._abort(key, upload_id, why=why)

    def _abort(self, key: str, upload_id: str, *, why: str) -> bool:
        import oss2.exceptions as oe

        try:
            self._bucket.abort_multipart_upload(key, upload_id)
        except oe.NoSuchUpload:
            return False
        except oe.OssError as exc:
            log.warning("could not abort the multipart upload of %s (%s)", key, exc.code)
            return False
        log.info("aborted a multipart upload of %s (%s)", key, why)
        return True

    @property
    def verifies_sent_bytes(self) -> bool:
        """Whether oss2 compares the CRC64 of the bytes it sent with the store's (it does: enable_crc)."""
        return bool(self._bucket.enable_crc)

    def local_checksum(self, path: Path) -> str:
        return str(file_crc64(path))

    def location(self, key: str) -> str:
        return f"oss://{self.bucket_name}/{key}"

    def delete_quietly(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self._bucket.delete_object(key)

    def open_checkpoints(self) -> Any:
        """The multipart checkpoint store (its folder made on first use; see ``UploadConfig.checkpoints``)."""
        if self._store is None:
            ckpt = self.config.checkpoints()
            private_dir(ckpt)  # records name local files and upload ids: this user's only
            self._store = _tracked_store_class()(self, root=str(ckpt.parent), dir=ckpt.name)
        return self._store


def _text(crc: int | None) -> str | None:
    return None if crc is None else str(crc)


_CRC_CHUNK = 4 * 1024 * 1024


def file_crc64(path: str | os.PathLike[str]) -> int:
    """CRC-64/ECMA of a file, as OSS computes it (``x-oss-hash-crc64ecma``)."""
    from oss2.utils import Crc64

    crc = Crc64()
    with open(path, "rb") as f:
        while chunk := f.read(_CRC_CHUNK):
            crc.update(chunk)
    return crc.crc


def normalized(credentials: OssCredentials) -> OssCredentials:
    """The credentials with the endpoint as a full ``https://`` URL (see ``object_url.normalize_endpoint``)."""
    return replace(credentials, endpoint=normalize_endpoint(credentials.endpoint))


def check_bucket(credentials: OssCredentials, *, connect_timeout: float = 10.0) -> BucketAccess:
    """List at most one object: proves the endpoint, the bucket and the keys before anything is sent."""
    return OssBackend(credentials, UploadConfig(retries=0, connect_timeout=connect_timeout)).check()


_BUCKET_CLASS: Any = None
_STORE_CLASS: Any = None
#: Seconds of clock difference allowed between this machine and the store when looking for the upload an
#: unanswered initiate made (a larger skew leaves it for ``abort_stale_uploads``).
_CLOCK_SLACK = 5.0


def _tracked_store_class() -> Any:
    """``oss2.ResumableStore`` that writes records 0600 and aborts the upload of a record oss2 drops unfinished.

    oss2 drops a record when the file changed, the record is unreadable or its upload is gone, then
    starts a new upload: the old one would stay on the bucket (billed) until aborted.
    """
    global _STORE_CLASS
    if _STORE_CLASS is None:
        import json

        import oss2

        class TrackedStore(oss2.ResumableStore):
            def __init__(self, backend: OssBackend, root: str, dir: str) -> None:
                super().__init__(root=root, dir=dir)
                self.backend = backend

            def _path(self, key: str) -> str:
                return str(self._ResumableStoreBase__path(key))

            def put(self, key: str, value: Any) -> None:
                write_private(self._path(key), json.dumps(value))

            def delete(self, key: str) -> None:
                record = self.get(key)
                super().delete(key)
                if not isinstance(record, dict):
                    return
                upload_id, object_key = record.get("upload_id"), record.get("key")
                backend = self.backend
                if (
                    isinstance(upload_id, str) and isinstance(object_key, str)
                    and record.get("bucket") == backend.bucket_name
                    and upload_id not in backend._bucket.completed_uploads
                ):  # fmt: skip
                    backend._abort(object_key, upload_id, why="its checkpoint was dropped")

        _STORE_CLASS = TrackedStore
    return _STORE_CLASS


def _bucket_class() -> Any:
    """``oss2.Bucket`` that remembers which multipart uploads oss2 verified end to end (CRC64 of every part)."""
    global _BUCKET_CLASS
    if _BUCKET_CLASS is None:
        import oss2
        from oss2.utils import calc_obj_crc_from_parts

        class VerifyingBucket(oss2.Bucket):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.verified_multipart: dict[str, int] = {}
                self.completed_uploads: set[str] = set()
                self.unclear_initiates: dict[str, float] = {}  # key -> when the first unanswered initiate was sent
                self.started_uploads: dict[str, set[str]] = {}  # key -> upload ids initiated through this bucket
                self._verified_lock = threading.Lock()

            def init_multipart_upload(self, key: Any, *args: Any, **kwargs: Any) -> Any:
                sent = time.time()
                try:
                    result = super().init_multipart_upload(key, *args, **kwargs)
                except oss2.exceptions.RequestError:  # sent, no answer: the upload may exist on the server
                    with self._verified_lock:
                        self.unclear_initiates.setdefault(str(key), sent)
                    raise
                with self._verified_lock:
                    self.started_uploads.setdefault(str(key), set()).add(str(result.upload_id))
                return result

            def complete_multipart_upload(self, key: Any, upload_id: Any, parts: Any, headers: Any = None) -> Any:
                result = super().complete_multipart_upload(key, upload_id, parts, headers=headers)
                self.completed_uploads.add(str(upload_id))
                # upload_part compared each part's client CRC64 with the server's; combined, they must give
                # the object's CRC64. Only then does the object equal the bytes read from the file.
                combined = calc_obj_crc_from_parts(sorted(parts, key=lambda p: p.part_number)) if parts else None
                if self.enable_crc and combined is not None and combined == result.crc:
                    with self._verified_lock:
                        self.verified_multipart[str(key)] = combined
                return result

        _BUCKET_CLASS = VerifyingBucket
    return _BUCKET_CLASS
