"""The WSGI app that makes moto's S3 answer like Aliyun OSS, so the unmodified ``oss2`` SDK works, and, on
the same endpoint as real OSS, like OSS's S3-compatible API (SigV4: boto3, minio, pymilvus ``RemoteBulkWriter``).

:class:`OssDialect` sits in front of moto's S3 app (:mod:`.oss_moto`), one moto account per store: it
verifies OSS signatures (V1 header and pre-signed URL, V4 header; :mod:`.oss_auth`, :mod:`.oss_policy`) and
SigV4 ones (header and pre-signed URL, the store's region; :mod:`.s3_auth`; S3 answers pass through as S3),
applies injected faults, refuses cut-off bodies, rewrites the request into one moto accepts (tolerating
oss2's empty ``continuation-token=``/``start-after=``, mapping ``x-oss-meta-*`` user metadata), and turns
moto's answer back into OSS: XML errors with a request id, no S3 XML namespace, the listing ``Type``,
OSS locations and ``bucketInfo``, and ``x-oss-hash-crc64ecma`` from the store's :mod:`.oss_crc` book. It
holds no state of its own; :class:`~.oss_store.OssStore` (which serves it) does.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape

from .faults import Faults, drop_connection
from .oss_auth import AuthFailure, SignedRequest, claimed_access_key_id, verify
from .oss_crc import CrcBook
from .oss_moto import moto_s3_app
from .oss_policy import KeyRing
from .oss_wire import REASONS, BodyTooLarge, IncompleteBody, error_xml, new_request_id, oss_header_name, read_body, tag
from .s3_auth import is_sigv4, verify_sigv4

__all__ = ["DialectStore", "OssDialect"]

log = logging.getLogger("zimport_widgets.sandbox")
_S3_NAMESPACE = b' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DROP_IF_EMPTY = ("continuation-token", "start-after", "part-number-marker", "key-marker", "upload-id-marker")
_SIGNED_URL_PARAMS = ("OSSAccessKeyId", "Expires", "Signature", "security-token")


class DialectStore(Protocol):
    """What :class:`OssDialect` uses of the store it serves (:class:`~.oss_store.OssStore` is the one)."""

    region: str
    cloud: str
    account_id: str
    max_body_bytes: int
    _upload_times: dict[str, float]
    faults: Faults
    _keys: KeyRing
    _crcs: CrcBook
    _warm: threading.Event

    @property
    def credentials(self) -> dict[str, str]: ...

    def _count_request(self) -> None: ...

    def _object_changed(self, method: str, bucket: str, key: str, query: list[tuple[str, str]]) -> None: ...

    def _backend(self) -> Any: ...


class OssDialect:
    """WSGI app: OSS on the outside, moto's S3 app (one moto account) on the inside."""

    def __init__(self, store: DialectStore) -> None:
        self.store = store

    @property
    def app(self) -> Any:
        return moto_s3_app()

    # -- helpers ---------------------------------------------------------------------------------
    def _host_id(self, bucket: str) -> str:
        base = f"oss-{self.store.region}.aliyuncs.com"
        return f"{bucket}.{base}" if bucket else base

    def _respond_error(
        self, start_response: Any, environ: dict[str, Any], status: int, code: str, message: str,
        rid: str, bucket: str, **extra: str | None,
    ) -> list[bytes]:  # fmt: skip
        body = error_xml(code, message, rid, self._host_id(bucket), **extra)
        if environ["REQUEST_METHOD"] == "HEAD":
            body = b""
        headers = [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("x-oss-request-id", rid),
            ("Server", "AliyunOSS"),
        ]
        start_response(f"{status} {REASONS.get(status, 'Error')}", headers)
        return [body]

    @staticmethod
    def _split_uri(environ: dict[str, Any]) -> tuple[str, str]:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw:
            raw = raw.encode("latin-1").decode("utf-8", "replace")
            if "://" in raw.split("?", 1)[0]:  # absolute-form request target
                raw = "/" + raw.split("://", 1)[1].partition("/")[2]
            path, _, query = raw.partition("?")
        else:
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
            query = environ.get("QUERY_STRING", "")
        return unquote(path), query

    @staticmethod
    def _headers(environ: dict[str, Any]) -> dict[str, str]:
        out = {}
        for name, value in environ.items():
            if name.startswith("HTTP_"):
                out[name[5:].lower().replace("_", "-")] = value
        for name in ("CONTENT_TYPE", "CONTENT_MD5", "CONTENT_LENGTH"):
            if environ.get(name):
                out[name.lower().replace("_", "-")] = environ[name]
        return out

    # -- the WSGI entry point ---------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        store = self.store
        store._warm.wait(120)  # moto is imported in the background at start
        rid = new_request_id()
        method = environ["REQUEST_METHOD"].upper()
        path, raw_query = self._split_uri(environ)
        bucket, _, key = path.lstrip("/").partition("/")
        store._count_request()

        fault = store.faults.take("oss", method, path)
        if fault is not None:
            if fault.action == "drop":
                drop_connection(environ)
                start_response("500 Internal Server Error", [("Content-Length", "0")])
                return [b""]
            if fault.action == "delay":
                time.sleep(fault.seconds)
            elif fault.action == "error":
                code = {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(fault.status, "InternalError")
                msg = "Please reduce your request rate." if fault.status in (429, 503) else "Internal error (injected)."
                return self._respond_error(start_response, environ, fault.status, code, msg, rid, bucket)

        query = parse_qsl(raw_query, keep_blank_values=True)
        headers = self._headers(environ)
        s3 = is_sigv4(headers, query)  # OSS answers the S3 API too (SigV4), on the same endpoint
        payload = ""
        try:
            if s3:
                # GetBucketLocation is signed for us-east-1 by the clients that ask it (minio): S3 takes that anywhere
                locating = bool(bucket) and not key and any(k == "location" for k, _ in query)
                regions = (*self.s3_regions, "us-east-1") if locating else self.s3_regions
                sig = verify_sigv4(method, path, query, headers, store.credentials, regions=regions)
                store._keys.check_token(sig.access_key_id, sig.security_token)
                store._keys.check_access(sig.access_key_id, method)
                payload = sig.payload
                if payload.startswith("STREAMING-") or "aws-chunked" in headers.get("content-encoding", ""):
                    raise AuthFailure(  # what OSS answers: its S3 API takes whole bodies only
                        "InvalidArgument", "aws-chunked encoding is not supported (send the body whole: "
                        "boto3's request_checksum_calculation='when_required', or signature_version='s3')",
                        status=400,
                    )  # fmt: skip
            elif store.cloud != "aliyun":  # an S3 bucket knows no OSS signature
                if headers.get("authorization") or any(k in ("OSSAccessKeyId", "Signature") for k, _ in query):
                    raise AuthFailure("InvalidArgument", "Unsupported Authorization Type", status=400)
                raise AuthFailure("AccessDenied", "Access Denied")
            else:
                signed = SignedRequest(method, bucket, key, query, headers)
                token = headers.get("x-oss-security-token") or signed.param("security-token")
                store._keys.check_token(claimed_access_key_id(signed), token)
                store._keys.check_access(verify(signed, store.credentials), method)
        except AuthFailure as exc:
            return self._respond_error(
                start_response, environ, exc.status, exc.code, exc.message, rid, bucket, **exc.extra
            )

        if bucket and not (method == "PUT" and not key) and bucket not in store._backend().buckets:
            # moto would follow the process-wide bucket namespace into another store's account
            return self._respond_error(
                start_response, environ, 404, "NoSuchBucket", "The specified bucket does not exist.", rid, bucket,
                BucketName=bucket,
            )  # fmt: skip
        if bucket and not key and method == "GET" and any(k == "bucketInfo" for k, _ in query) and not s3:
            return self._bucket_info(start_response, environ, rid, bucket)

        body_in = b""
        if method in ("PUT", "POST"):
            try:
                body_in = self._read_body(environ, store.max_body_bytes)
            except BodyTooLarge as exc:
                return self._respond_error(
                    start_response, environ, 400, "EntityTooLarge",
                    f"Your proposed upload exceeds the maximum allowed size ({exc.limit} bytes in this sandbox).",
                    rid, bucket, Key=key or None,
                )  # fmt: skip
            except IncompleteBody as exc:
                # OSS stores nothing from a request whose body ended early (the client went away mid-body)
                return self._respond_error(
                    start_response, environ, 400, "IncompleteBody", str(exc), rid, bucket,
                    Key=key or None,
                )  # fmt: skip
        if s3 and _HEX64.fullmatch(payload) and hashlib.sha256(body_in).hexdigest() != payload:
            return self._respond_error(
                start_response, environ, 400, "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.", rid, bucket,
                ClientComputedContentSHA256=payload, S3ComputedContentSHA256=hashlib.sha256(body_in).hexdigest(),
            )  # fmt: skip
        self._to_moto(environ, raw_query)

        captured: dict[str, Any] = {}

        def _capture(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, list(hdrs)
            return lambda data: None

        try:
            result = self.app(environ, _capture)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:  # moto has no such operation (AppendObject, RestoreObject...): OSS's XML, not HTML
            log.debug("moto failed on %s %s", method, path, exc_info=True)
            return self._respond_error(start_response, environ, 500, "InternalError",
                                       "We encountered an internal error. Please try again.", rid, bucket,
                                       Key=key or None)  # fmt: skip
        status_line: str = captured["status"]
        status = int(status_line.split(" ", 1)[0])
        out_headers = [(k, v) for k, v in captured["headers"] if not k.lower().startswith("x-amz-request")]
        if not s3:
            out_headers = [(oss_header_name(k), v) for k, v in out_headers]

        if status >= 400 and b"<Error>" in body.replace(_S3_NAMESPACE, b""):
            code = tag(body, "Code") or "InternalError"
            message = tag(body, "Message") or status_line
            extra = {"BucketName": tag(body, "BucketName"), "Key": tag(body, "Key")}
            return self._respond_error(start_response, environ, status, code, message, rid, bucket, **extra)
        if status >= 400:  # moto's own failure pages are HTML: OSS always answers its XML error document
            log.debug("moto answered %s without an S3 error document for %s %s", status_line, method, path)
            return self._respond_error(
                start_response, environ, status, "InternalError" if status >= 500 else "InvalidRequest",
                "We encountered an internal error. Please try again." if status >= 500 else status_line,
                rid, bucket, Key=key or None,
            )  # fmt: skip

        if status < 300 and method in ("PUT", "POST", "DELETE"):
            try:
                store._object_changed(method, bucket, key, query)
            except OSError as exc:  # the disk copy failed (full?): say so as OSS would, never a traceback
                log.warning("the sandbox could not keep %s on disk (%s)", key or bucket, exc.strerror)
                return self._respond_error(start_response, environ, 500, "InternalError",
                                           "The object could not be stored. Please try again.", rid, bucket,
                                           Key=key or None)  # fmt: skip
        if s3:
            return self._s3_answer(start_response, rid, method, status, status_line, bucket, key, query,
                                   out_headers, environ, body_in, body)  # fmt: skip
        changed = False
        if _S3_NAMESPACE in body:
            body = body.replace(_S3_NAMESPACE, b"")
            changed = True
        if b"<ListBucketResult" in body[:200] and b"<Type>" not in body:
            body = body.replace(b"</Contents>", b"<Type>Normal</Type></Contents>")
            changed = True
        if status == 200 and method == "POST" and key and any(k == "uploads" for k, _ in query):
            upload_id = tag(body, "UploadId")
            if upload_id:
                store._upload_times[upload_id] = time.time()  # moto shows one fixed date from 2010 for all
        if b"<ListMultipartUploadsResult" in body[:200]:
            if b"<NextKeyMarker" not in body:
                body = _with_next_markers(body)  # OSS always sends both; oss2 cannot parse the answer without them
            body = _with_initiated(body, store._upload_times)
            changed = True
        if b"<ListAllMyBucketsResult" in body[:200]:
            loc = (
                f"<Location>oss-{store.region}</Location><ExtranetEndpoint>oss-{store.region}.aliyuncs.com"
                f"</ExtranetEndpoint><IntranetEndpoint>oss-{store.region}-internal.aliyuncs.com</IntranetEndpoint>"
                "<StorageClass>Standard</StorageClass></Bucket>"
            ).encode()
            body = body.replace(b"</Bucket>", loc)
            changed = True
        if status == 200 and bucket and not key and method == "GET" and any(k == "location" for k, _ in query):
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint>oss-{store.region}</LocationConstraint>'
            ).encode()
            changed = True
        if changed and method != "HEAD":
            out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-length"]
            out_headers.append(("Content-Length", str(len(body))))

        return self._send(start_response, status_line, method, bucket, key, query, environ, body_in, body,
                          [*out_headers, ("x-oss-request-id", rid), ("Server", "AliyunOSS")])  # fmt: skip

    @property
    def s3_regions(self) -> tuple[str, ...]:
        """The SigV4 region names the S3 API answers to here (the region id first, as it names it; OSS's S3 API
        also takes ``oss-<region>``)."""
        if self.store.cloud == "gcp":  # GCS takes "auto" (what its docs tell S3 clients to use)
            return ("auto", self.store.region)
        if self.store.cloud != "aliyun":
            return (self.store.region,)
        return (self.store.region, f"oss-{self.store.region}")

    def _s3_answer(
        self, start_response: Any, rid: str, method: str, status: int, status_line: str, bucket: str, key: str,
        query: list[tuple[str, str]], out_headers: list[tuple[str, str]], environ: dict[str, Any],
        body_in: bytes, body: bytes,
    ) -> list[bytes]:  # fmt: skip
        """moto's S3 answer as S3 sends it, with this store's region, upload times and CRC64 book kept."""
        store = self.store
        if status == 200 and bucket and not key and method == "GET" and any(k == "location" for k, _ in query):
            where = f"oss-{store.region}" if store.cloud == "aliyun" else store.region.replace("us-east-1", "")
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/'
                f'2006-03-01/">{where}</LocationConstraint>'
            ).encode()
            out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-length"]
            out_headers.append(("Content-Length", str(len(body))))
        if status == 200 and method == "POST" and key and any(k == "uploads" for k, _ in query):
            upload_id = tag(body.replace(_S3_NAMESPACE, b""), "UploadId")
            if upload_id:
                store._upload_times[upload_id] = time.time()
        if b"<ListMultipartUploadsResult" in body[:300]:  # the real initiation times, not moto's fixed one
            body = _with_initiated(body, store._upload_times, precise=True)
            out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-length"]
            out_headers.append(("Content-Length", str(len(body))))
        ids = [("x-amz-request-id", rid), ("x-oss-request-id", rid), ("Server", "AliyunOSS")]
        return self._send(start_response, status_line, method, bucket, key, query, environ, body_in, body,
                          [*out_headers, *ids])  # fmt: skip

    def _send(
        self, start_response: Any, status_line: str, method: str, bucket: str, key: str,
        query: list[tuple[str, str]], environ: dict[str, Any], body_in: bytes, body: bytes,
        out_headers: list[tuple[str, str]],
    ) -> list[bytes]:  # fmt: skip
        """Both dialects' last step: the CRC64 book kept up to date, ``x-oss-hash-crc64ecma`` added, sent."""
        crcs = self.store._crcs
        status = int(status_line.split(" ", 1)[0])
        etag = next((v for k, v in out_headers if k.lower() == "etag"), None)
        crc = crcs.response_crc(method, status, bucket, key, query, environ, body_in, body, etag)
        if method == "DELETE" and status < 300 and any(k == "uploadId" for k, _ in query):
            crcs.forget_upload(bucket, dict(query)["uploadId"])
        if crc is not None:
            out_headers.append(("x-oss-hash-crc64ecma", str(crc)))
        start_response(status_line, out_headers)
        return [b"" if method == "HEAD" else body]

    # -- request/response rewriting ---------------------------------------------------------------
    @staticmethod
    def _read_body(environ: dict[str, Any], limit: int) -> bytes:
        """The whole request body (at most ``limit`` bytes), handed on to moto as a plain stream."""
        data = read_body(environ, limit)
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("wsgi.input_terminated", None)
        return data

    def _to_moto(self, environ: dict[str, Any], raw_query: str) -> None:
        if raw_query:
            environ["QUERY_STRING"] = "&".join(
                item
                for item in raw_query.split("&")
                if not (item.partition("=")[0] in _DROP_IF_EMPTY and item.partition("=")[2] == "")
                and item.partition("=")[0] not in _SIGNED_URL_PARAMS
                and not item.startswith("X-Amz-")
            )
        # the signature was checked above; moto only needs to see an authenticated (non-anonymous) request
        environ["HTTP_AUTHORIZATION"] = "AWS sandbox:verified"
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.store.account_id
        for name in [n for n in environ if n.startswith("HTTP_X_OSS_")]:
            rest = name[len("HTTP_X_OSS_") :]
            if rest.startswith("META_") or rest in ("COPY_SOURCE", "METADATA_DIRECTIVE"):
                environ["HTTP_X_AMZ_" + rest] = environ.pop(name)

    def _bucket_info(self, start_response: Any, environ: dict[str, Any], rid: str, bucket: str) -> list[bytes]:
        backend = self.store._backend()
        found = backend.buckets.get(bucket)
        if found is None:
            return self._respond_error(
                start_response, environ, 404, "NoSuchBucket", "The specified bucket does not exist.", rid, bucket,
                BucketName=bucket,
            )  # fmt: skip
        region = self.store.region
        created = found.creation_date.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<BucketInfo><Bucket>'
            f"<CreationDate>{created}</CreationDate><ExtranetEndpoint>oss-{region}.aliyuncs.com</ExtranetEndpoint>"
            f"<IntranetEndpoint>oss-{region}-internal.aliyuncs.com</IntranetEndpoint>"
            f"<Location>oss-{region}</Location><StorageClass>Standard</StorageClass>"
            f"<Name>{escape(bucket)}</Name><Owner><DisplayName>{self.store.account_id}</DisplayName>"
            f"<ID>{self.store.account_id}</ID></Owner><AccessControlList><Grant>private</Grant>"
            "</AccessControlList></Bucket></BucketInfo>"
        ).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(xml))),
             ("x-oss-request-id", rid), ("Server", "AliyunOSS")],
        )  # fmt: skip
        return [xml]


def _with_next_markers(body: bytes) -> bytes:
    """A ListMultipartUploads answer with ``NextKeyMarker`` / ``NextUploadIdMarker`` (the last upload's)."""
    keys = re.findall(rb"<Upload>.*?<Key>(.*?)</Key>", body, re.S)
    ids = re.findall(rb"<UploadId>(.*?)</UploadId>", body)
    markers = (
        b"<NextKeyMarker>"
        + (keys[-1] if keys else b"")
        + b"</NextKeyMarker><NextUploadIdMarker>"
        + (ids[-1] if ids else b"")
        + b"</NextUploadIdMarker>"
    )
    at = body.find(b"<MaxUploads>")
    if at < 0:
        at = body.find(b"</ListMultipartUploadsResult>")
    return body[:at] + markers + body[at:]


def _with_initiated(body: bytes, started: dict[str, float], *, precise: bool = False) -> bytes:
    """Each listed upload with the time it was really initiated (when this store saw it; ``precise``: to the
    millisecond, as S3 gives it)."""

    def one(m: re.Match[bytes]) -> bytes:
        block = m.group(0)
        uid = re.search(rb"<UploadId>(.*?)</UploadId>", block)
        at = started.get(uid.group(1).decode()) if uid else None
        if at is None:
            return block
        millis = f".{int(at * 1000) % 1000:03d}Z" if precise else ".000Z"  # oss2 parses ".000Z" only, as OSS sends
        stamp = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + millis).encode()
        return re.sub(rb"<Initiated>.*?</Initiated>", b"<Initiated>" + stamp + b"</Initiated>", block)

    return re.sub(rb"<Upload>.*?</Upload>", one, body, flags=re.S)
