"""moto's S3 backend, set up once per process as the storage behind the sandbox's OSS store.

moto stores the objects; this module is the only place that reaches into it: it loads moto's S3 app
(lazily, it is slow to import) with OSS's 100 KiB minimum part size, swaps in a leaner multipart
completion, and hands out or forgets the backend of one moto account (each store has its own). The
OSS translation on top (:mod:`.oss_dialect`) and the store (:mod:`.oss_store`) never import moto.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterable
from typing import Any

from .oss_wire import OSS_MIN_PART_SIZE

__all__ = ["account_backend", "forget_account", "moto_s3_app"]

_moto_lock = threading.Lock()
_moto_app: Any = None


def moto_s3_app() -> Any:
    """moto's S3 Flask app (one per process), with OSS's 100 KiB minimum part size."""
    global _moto_app
    with _moto_lock:
        if _moto_app is None:
            os.environ.setdefault("S3_UPLOAD_PART_MIN_SIZE", str(OSS_MIN_PART_SIZE))
            import moto.s3.models as s3_models
            from moto.moto_server.werkzeug_app import create_backend_app

            s3_models.S3_UPLOAD_PART_MIN_SIZE = OSS_MIN_PART_SIZE  # in case moto was imported before
            _use_lean_multipart_complete(s3_models)
            _moto_app = create_backend_app("s3")
        return _moto_app


def _use_lean_multipart_complete(s3_models: Any) -> None:
    """Let moto join a multipart upload's parts with one read of each and one copy of the object.

    moto's ``FakeMultipart.complete`` reads every part twice, copies the whole object three times and
    computes an S3 whole-object checksum (CRC64NVME, or CRC32 without awscrt) that OSS never shows. For
    uploads that asked for no S3 checksum (all OSS ones) this does the same checks (``InvalidPart``,
    ``EntityTooSmall`` for a non-last part below the minimum, ``MalformedXML`` for no parts) and gives
    the same value and ETag (MD5 of the parts' MD5s, ``-N``); others go to moto's own.
    """
    cls = s3_models.FakeMultipart
    if getattr(cls.complete, "zimport_lean", False):
        return
    moto_complete = cls.complete

    def complete(self: Any, body: Iterable[tuple[int, str]]) -> tuple[bytes, str, None]:
        if self.metadata.get("x-amz-checksum-algorithm") or self.metadata.get("x-amz-checksum-type"):
            return moto_complete(self, body)
        md5s = bytearray()
        values: list[bytes] = []
        last = None
        for number, etag in body:
            part = self.parts.get(number)
            part_etag = part.etag.replace('"', "") if part is not None else None
            if part is None or part_etag != etag.replace('"', ""):
                raise s3_models.InvalidPart()
            if last is not None and last.contentsize < s3_models.S3_UPLOAD_PART_MIN_SIZE:
                raise s3_models.EntityTooSmall()
            md5s += bytes.fromhex(part_etag)
            values.append(part.value)
            last = part
        if not values:
            raise s3_models.MalformedXML()
        return b"".join(values), f"{hashlib.md5(bytes(md5s), usedforsecurity=False).hexdigest()}-{len(values)}", None

    complete.zimport_lean = True  # type: ignore[attr-defined]
    cls.complete = complete


def _s3_backends() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends


def account_backend(account_id: str) -> Any:
    """The S3 backend of moto account ``account_id`` (loading moto first if it is not yet)."""
    moto_s3_app()
    return _s3_backends()[account_id]["aws"]


def forget_account(account_id: str) -> None:
    """Drop moto account ``account_id``: dispose of its objects and parts, free its bucket names."""
    backends = _s3_backends()
    with contextlib.suppress(Exception):
        backend = backends[account_id]["aws"]
        for bucket in list(backend.buckets.values()):
            for key in list(bucket.keys.values()):
                with contextlib.suppress(Exception):
                    key.dispose()
            for part in list(bucket.multiparts.values()):
                with contextlib.suppress(Exception):
                    part.dispose()
            backends.bucket_accounts.pop(bucket.name, None)
        backend.buckets.clear()
    with contextlib.suppress(Exception):
        del backends[account_id]
