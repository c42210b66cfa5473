"""What the uploader needs of an object store: one :class:`StorageBackend` per provider (OSS, S3, …).

The transfer (:mod:`.upload`) plans, skips, sends and verifies through this interface only; each backend
speaks its provider's SDK, checksum and errors. A checksum is the provider's own comparable text (OSS:
the CRC64 as a decimal; S3: the ETag, an MD5 or an MD5 of part MD5s), computed locally by
:meth:`StorageBackend.local_checksum` the same way the store computes it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..config import UploadConfig

__all__ = ["BucketAccess", "ObjectHead", "PutResult", "StorageBackend", "md5_of"]

_READ = 4 * 1024 * 1024


def md5_of(path: Path, offset: int = 0, size: int | None = None) -> bytes:
    """The MD5 of ``size`` bytes of a file from ``offset`` (all of it by default), read in 4 MiB blocks."""
    digest = hashlib.md5()
    left = (path.stat().st_size - offset) if size is None else size
    with open(path, "rb") as f:
        f.seek(offset)
        while left > 0 and (chunk := f.read(min(_READ, left))):
            digest.update(chunk)
            left -= len(chunk)
    return digest.digest()


@dataclass(frozen=True)
class BucketAccess:
    """The answer of :func:`~zimport_widgets.check_bucket`: the bucket is reachable with the keys (and empty or
    not)."""

    bucket: str
    endpoint: str
    empty: bool


@dataclass(frozen=True)
class ObjectHead:
    """An object's size and checksum (None when the store reports none to compare with)."""

    size: int
    checksum: str | None


@dataclass(frozen=True)
class PutResult:
    """What a put returned: the store's checksum of the object and, for parts, whether every part was checked.

    ``parts_verified`` is the checksum derived from the parts, each checked by the store as it went (OSS:
    CRC64 of every part; S3: Content-MD5 of every part): when it equals the object's, the object holds
    exactly the bytes read from the file.
    """

    checksum: str | None
    request_id: str | None
    parts_verified: str | None = None


class StorageBackend(Protocol):
    """One bucket reached with one set of keys. ``stop`` (set when another file failed) ends retries early."""

    #: Short provider name, as in error brackets and results: "oss", "s3".
    provider: str
    #: What the checksums are, for messages: "CRC64", "ETag".
    checksum_name: str
    bucket_name: str
    endpoint: str
    region: str | None
    config: UploadConfig
    stop: threading.Event
    secrets: list[str | None]

    def list_prefix(self, prefix: str) -> dict[str, int]:
        """Sizes of the objects under ``prefix/``."""
        ...

    def head(self, key: str, *, action: str = "checking") -> ObjectHead: ...

    def head_or_none(self, key: str) -> ObjectHead | None:
        """The object's head, or None when it does not exist (no retries: a verify pass)."""
        ...

    def put_file(self, key: str, path: Path, on_progress: Callable[[int, int | None], None]) -> PutResult:
        """One request with the whole file (retried whole)."""
        ...

    def put_parts(
        self, key: str, path: Path, on_progress: Callable[[int, int | None], None], *, before_try: Callable[[], None]
    ) -> PutResult:
        """A resumable multipart upload, invisible until complete; ``before_try`` runs before every attempt."""
        ...

    def local_checksum(self, path: Path) -> str:
        """The checksum the store would report for an object holding the file's bytes."""
        ...

    @property
    def verifies_sent_bytes(self) -> bool:
        """Whether the store checked every request's body against a checksum the SDK computed from the file."""
        ...

    def delete_quietly(self, key: str) -> None: ...

    def open_checkpoints(self) -> Any:
        """The multipart checkpoint store (made on first use, so that an unwritable folder fails first)."""
        ...

    def location(self, key: str) -> str:
        """``scheme://bucket/key`` for messages (``oss://``, ``s3://``)."""
        ...

    def check(self) -> BucketAccess:
        """List at most one object (one try, no retries): proves the endpoint, bucket and keys."""
        ...

    def list_uploads(self, prefix: str) -> list[tuple[str, str, float]]:
        """The unfinished multipart uploads under ``prefix``: ``(key, upload id, started, epoch seconds)``."""
        ...

    def abort_upload(self, key: str, upload_id: str, *, why: str) -> bool:
        """Abort one unfinished multipart upload; False when it is gone already or cannot be aborted."""
        ...
