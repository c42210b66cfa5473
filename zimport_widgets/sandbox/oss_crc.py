"""The CRC64 values a sandbox OSS store gives in ``x-oss-hash-crc64ecma``, and what it remembers to give them.

OSS returns the CRC64-ECMA of an object on every write and whole read, and oss2 (with ``enable_crc``)
checks it. moto knows nothing of CRC64, so a :class:`CrcBook` per store decides which responses carry
one and keeps what it takes to answer without reading objects again: the CRC64 of each object by
(bucket, key, ETag), and of each uploaded part by (bucket, upload id, part number), so that a completed
multipart object's CRC64 is combined from its parts' values, as OSS does. It sits between the wire
format (:mod:`.oss_wire`) and the dialect (:mod:`.oss_dialect`), which asks it once per response.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

from .crc64 import crc64, crc64_of_parts
from .oss_wire import tag

__all__ = ["CrcBook"]

#: Query parameters that leave a GET or HEAD a plain read of the whole object.
_PLAIN_READ_PARAMS = {
    "response-content-type", "response-content-disposition", "response-expires", "response-cache-control",
    "response-content-encoding", "versionId",
}  # fmt: skip


class CrcBook:
    """One store's CRC64 bookkeeping; ``backend()`` is the store's moto S3 backend (read when nothing is known)."""

    def __init__(self, backend: Callable[[], Any]) -> None:
        self._backend = backend
        self._crc_cache: dict[tuple[str, str, str], int] = {}  # (bucket, key, ETag) -> CRC64
        self._crc_lock = threading.Lock()
        # (bucket, upload id) -> part number -> (CRC64, size, ETag), for CompleteMultipartUpload
        self._parts: dict[tuple[str, str], dict[int, tuple[int, int, str]]] = {}

    def response_crc(
        self, method: str, status: int, bucket: str, key: str, query: list[tuple[str, str]],
        environ: dict[str, Any], body_in: bytes, body_out: bytes, etag: str | None,
    ) -> int | None:  # fmt: skip
        """The ``x-oss-hash-crc64ecma`` value of a response from moto (None: the response carries none).

        ``environ`` is the request as moto saw it, ``body_in`` the request body and ``body_out`` the response's,
        ``etag`` the response's ETag header. Writes are remembered on the way.
        """
        if status != 200 or not bucket or not key:
            return None
        params = dict(query)
        if method == "PUT":
            if "HTTP_X_AMZ_COPY_SOURCE" in environ:
                return None if "uploadId" in params else self.object_crc(bucket, key)
            if params.keys() & {"acl", "tagging", "symlink"}:
                return None
            crc = crc64(body_in)
            if "uploadId" in params and "partNumber" in params:
                self.note_part(bucket, params["uploadId"], params["partNumber"], crc, len(body_in), etag)
            elif etag:
                self.remember_crc(bucket, key, etag, crc)
            return crc
        if method == "POST" and "uploadId" in params:
            # as OSS does: the object's CRC64 is its parts' CRC64 values combined, not the object read again
            done = self.completed_crc(bucket, params["uploadId"], body_in, tag(body_out, "ETag"), key)
            return done if done is not None else self.object_crc(bucket, key)
        plain_read = not (params.keys() - _PLAIN_READ_PARAMS)
        if method == "GET" and plain_read and "HTTP_RANGE" not in environ:
            known = self.known_crc(bucket, key, etag)
            if known is None:
                known = crc64(body_out)
                if etag:
                    self.remember_crc(bucket, key, etag, known)
            return known
        if method == "HEAD" and plain_read:
            return self.object_crc(bucket, key)
        return None

    def object_crc(self, bucket: str, key: str) -> int | None:
        """The CRC64 of a stored object: remembered from its write, else read and computed once."""
        try:
            obj = self._backend().get_object(bucket, key)
        except Exception:
            return None
        if obj is None:
            return None
        found = self.known_crc(bucket, key, obj.etag)
        if found is None:
            found = crc64(obj.value)
            self.remember_crc(bucket, key, obj.etag, found)
        return found

    def known_crc(self, bucket: str, key: str, etag: str | None) -> int | None:
        if not etag:
            return None
        with self._crc_lock:
            return self._crc_cache.get((bucket, key, _bare_etag(etag)))

    def remember_crc(self, bucket: str, key: str, etag: str, crc: int) -> None:
        with self._crc_lock:
            if len(self._crc_cache) > 4096:
                self._crc_cache.clear()
            self._crc_cache[(bucket, key, _bare_etag(etag))] = crc

    def note_part(self, bucket: str, upload_id: str, number: str, crc: int, size: int, etag: str | None) -> None:
        if not etag or not number.isdigit():
            return
        with self._crc_lock:
            self._parts.setdefault((bucket, upload_id), {})[int(number)] = (crc, size, _bare_etag(etag))

    def forget_upload(self, bucket: str, upload_id: str) -> None:
        with self._crc_lock:
            self._parts.pop((bucket, upload_id), None)

    def completed_crc(self, bucket: str, upload_id: str, request_xml: bytes, etag: str | None, key: str) -> int | None:
        """The CRC64 of a just-completed multipart object from its parts' CRC64 values (None: unknown)."""
        with self._crc_lock:
            noted = self._parts.pop((bucket, upload_id), {})
        try:
            listed = [
                (int(p.findtext("PartNumber") or ""), _bare_etag(p.findtext("ETag") or ""))
                for p in ElementTree.fromstring(request_xml).iter("Part")
            ]
        except (ElementTree.ParseError, ValueError):
            return None
        pieces = []
        for number, part_etag in listed:
            crc, size, noted_etag = noted.get(number, (0, 0, ""))
            if noted_etag != part_etag:
                return None  # e.g. a part copied from another object: read the object instead
            pieces.append((crc, size))
        if not pieces or not etag:
            return None
        crc = crc64_of_parts(pieces)
        self.remember_crc(bucket, key, etag, crc)
        return crc


def _bare_etag(etag: str) -> str:
    """An ETag without quotes (moto quotes it in headers, XML may carry it as ``&quot;``)."""
    return html.unescape(str(etag)).strip().strip('"')
