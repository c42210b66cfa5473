"""An in-process object store that speaks the Aliyun OSS dialect, on 127.0.0.1.

moto's S3 backend does the storing; :class:`OssDialect` (a WSGI layer in front of moto's S3 app)
makes it answer like OSS so the unmodified ``oss2`` SDK works: it verifies OSS signatures (V1 header
and pre-signed URL, V4 header), answers OSS-style XML errors with a request id, strips the S3 XML
namespace, adds the listing ``Type``, tolerates oss2's empty ``continuation-token=``/``start-after=``,
returns ``x-oss-hash-crc64ecma`` on writes and whole reads, maps ``x-oss-meta-*`` user metadata, and
enforces OSS's 100 KiB minimum multipart part size.

Each store keeps its objects in its own moto account, so several stores in one process don't see
each other's buckets (bucket names are still process-wide, as in moto's S3)::

    with OssStore() as store:
        bucket = oss2.Bucket(oss2.Auth(store.access_key_id, store.access_key_secret),
                             store.endpoint, store.bucket)
        bucket.put_object("a/b.npy", b"...")
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from .crc64 import crc64, crc64_of_parts
from .faults import Faults, drop_connection
from .httpserver import ServerThread
from .oss_auth import AuthFailure, SignedRequest, claimed_access_key_id, verify
from .oss_policy import Grant, KeyRing, StsCredentials

__all__ = ["OSS_MIN_PART_SIZE", "OssDialect", "OssStore", "crc64"]

#: OSS's minimum size of a multipart part (all but the last), 100 KiB; S3/moto would use 5 MiB.
OSS_MIN_PART_SIZE = 100 * 1024
_S3_NAMESPACE = b' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
_DROP_IF_EMPTY = ("continuation-token", "start-after")
_SIGNED_URL_PARAMS = ("OSSAccessKeyId", "Expires", "Signature", "security-token")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")

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


def new_request_id() -> str:
    """An OSS-looking request id (24 upper-case hex digits)."""
    return secrets.token_hex(12).upper()


def error_xml(code: str, message: str, request_id: str, host_id: str, **extra: str) -> bytes:
    """An OSS error document."""
    items = [("Code", code), ("Message", message), ("RequestId", request_id), ("HostId", host_id)]
    items += [(k, v) for k, v in extra.items() if v is not None]
    inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in items)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>'.encode()


class OssDialect:
    """WSGI app: OSS on the outside, moto's S3 app (one moto account) on the inside."""

    def __init__(self, store: OssStore) -> None:
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
        rid: str, bucket: str, **extra: str,
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
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
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
        for name in ("CONTENT_TYPE", "CONTENT_MD5"):
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
        try:
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
        if bucket and not key and method == "GET" and any(k == "bucketInfo" for k, _ in query):
            return self._bucket_info(start_response, environ, rid, bucket)

        body_in = b""
        if method in ("PUT", "POST"):
            try:
                body_in = self._read_body(environ)
            except IncompleteBody as exc:
                # OSS stores nothing from a request whose body ended early (the client went away mid-body)
                return self._respond_error(
                    start_response, environ, 400, "IncompleteBody", str(exc), rid, bucket,
                    Key=key or None,
                )  # fmt: skip
        self._to_moto(environ, raw_query)

        captured: dict[str, Any] = {}

        def _capture(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, list(hdrs)
            return lambda data: None

        result = self.app(environ, _capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status_line: str = captured["status"]
        status = int(status_line.split(" ", 1)[0])
        out_headers = [(k, v) for k, v in captured["headers"] if not k.lower().startswith("x-amz-request")]
        out_headers = [(_oss_header_name(k), v) for k, v in out_headers]

        if status >= 400 and b"<Error>" in body.replace(_S3_NAMESPACE, b""):
            code = _tag(body, "Code") or "InternalError"
            message = _tag(body, "Message") or status_line
            extra = {"BucketName": _tag(body, "BucketName"), "Key": _tag(body, "Key")}
            return self._respond_error(start_response, environ, status, code, message, rid, bucket, **extra)

        changed = False
        if _S3_NAMESPACE in body:
            body = body.replace(_S3_NAMESPACE, b"")
            changed = True
        if b"<ListBucketResult" in body[:200] and b"<Type>" not in body:
            body = body.replace(b"</Contents>", b"<Type>Normal</Type></Contents>")
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

        etag = next((v for k, v in out_headers if k.lower() == "etag"), None)
        crc = self._crc_header(method, status, bucket, key, query, environ, body_in, body, etag)
        if method == "DELETE" and status < 300 and any(k == "uploadId" for k, _ in query):
            store._forget_upload(bucket, dict(query)["uploadId"])
        if crc is not None:
            out_headers.append(("x-oss-hash-crc64ecma", str(crc)))
        out_headers += [("x-oss-request-id", rid), ("Server", "AliyunOSS")]
        start_response(status_line, out_headers)
        return [b"" if method == "HEAD" else body]

    # -- request/response rewriting ---------------------------------------------------------------
    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        """The whole request body, or :class:`IncompleteBody` if the connection ended before it did."""
        stream = environ["wsgi.input"]
        chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
        try:
            if environ.get("wsgi.input_terminated") or chunked:
                data = stream.read()  # werkzeug's de-chunker raises OSError on a cut-off chunked body
            else:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                data = _read_exactly(stream, length)
        except OSError as exc:
            raise IncompleteBody(f"The request body was cut off ({exc}).") from None
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
            )
        # the signature was checked above; moto only needs to see an authenticated (non-anonymous) request
        environ["HTTP_AUTHORIZATION"] = "AWS sandbox:verified"
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.store.account_id
        for name in [n for n in environ if n.startswith("HTTP_X_OSS_")]:
            rest = name[len("HTTP_X_OSS_") :]
            if rest.startswith("META_") or rest in ("COPY_SOURCE", "METADATA_DIRECTIVE"):
                environ["HTTP_X_AMZ_" + rest] = environ.pop(name)

    def _crc_header(
        self, method: str, status: int, bucket: str, key: str, query: list[tuple[str, str]],
        environ: dict[str, Any], body_in: bytes, body_out: bytes, etag: str | None,
    ) -> int | None:  # fmt: skip
        if status != 200 or not bucket or not key:
            return None
        store = self.store
        params = dict(query)
        if method == "PUT":
            if "HTTP_X_AMZ_COPY_SOURCE" in environ:
                return None if "uploadId" in params else store._object_crc(bucket, key)
            if params.keys() & {"acl", "tagging", "symlink"}:
                return None
            crc = crc64(body_in)
            if "uploadId" in params and "partNumber" in params:
                store._note_part(bucket, params["uploadId"], params["partNumber"], crc, len(body_in), etag)
            elif etag:
                store._remember_crc(bucket, key, etag, crc)
            return crc
        if method == "POST" and "uploadId" in params:
            # as OSS does: the object's CRC64 is its parts' CRC64 values combined, not the object read again
            crc = store._completed_crc(bucket, params["uploadId"], body_in, _tag(body_out, "ETag"), key)
            return crc if crc is not None else store._object_crc(bucket, key)
        plain_read = not (params.keys() - {"response-content-type", "response-content-disposition",
                                           "response-expires", "response-cache-control",
                                           "response-content-encoding", "versionId"})  # fmt: skip
        if method == "GET" and plain_read and "HTTP_RANGE" not in environ:
            known = store._known_crc(bucket, key, etag)
            if known is None:
                known = crc64(body_out)
                if etag:
                    store._remember_crc(bucket, key, etag, known)
            return known
        if method == "HEAD" and plain_read:
            return store._object_crc(bucket, key)
        return None

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


class IncompleteBody(Exception):
    """The client sent fewer body bytes than it announced (it disconnected mid-body)."""


def _read_exactly(stream: Any, length: int) -> bytes:
    """``length`` bytes from ``stream``; :class:`IncompleteBody` if it ends sooner."""
    if length <= 0:
        return b""
    chunks: list[bytes] = []
    got = 0
    while got < length:
        chunk = stream.read(length - got)
        if not chunk:
            raise IncompleteBody(
                f"You did not provide the number of bytes specified by the Content-Length HTTP header "
                f"({got} of {length} bytes arrived)."
            )
        chunks.append(chunk)
        got += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _oss_header_name(name: str) -> str:
    low = name.lower()
    if low.startswith("x-amz-meta-"):
        return "x-oss-meta-" + name[len("x-amz-meta-") :]
    return name


def _tag(body: bytes, name: str) -> str | None:
    m = re.search(rb"<" + name.encode() + rb">(.*?)</" + name.encode() + rb">", body, re.S)
    return m.group(1).decode("utf-8", "replace") if m else None


_REASONS = {
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests",
    500: "Internal Server Error", 503: "Service Unavailable",
}  # fmt: skip


class OssStore:
    """An OSS-dialect object store on ``host`` (127.0.0.1), a free port unless ``port`` is given.

    ``bucket`` (created at start) defaults to ``zimport-demo-<random>``; the key pair is random unless given.
    That pair has full access. More key pairs, optionally read-only, come from :meth:`add_credentials`;
    STS temporary keys (used with ``oss2.StsAuth``) from :meth:`issue_sts_credentials` (see :mod:`.oss_policy`).
    Faults: ``store.faults`` (see :mod:`.faults`).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bucket: str | None = None,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        region: str = "cn-hangzhou",
        faults: Faults | None = None,
    ) -> None:
        self.bucket = bucket or f"zimport-demo-{secrets.token_hex(4)}"
        if not _BUCKET_RE.match(self.bucket):
            raise ValueError(f"bucket name {self.bucket!r} is not a valid OSS bucket name (3-63 of a-z, 0-9, -)")
        self.access_key_id = access_key_id or "LTAI" + secrets.token_hex(10)
        self.access_key_secret = access_key_secret or secrets.token_urlsafe(24)
        self.region = region
        self.faults = faults if faults is not None else Faults()
        self.account_id = str(100000000000 + uuid.uuid4().int % 899999999999)
        self._keys = KeyRing(self.access_key_id, self.access_key_secret)
        self._cred_lock = threading.Lock()
        self._server = ServerThread(OssDialect(self), host=host, port=port, name="oss")
        self._crc_cache: dict[tuple[str, str, str], int] = {}  # (bucket, key, ETag) -> CRC64
        self._crc_lock = threading.Lock()
        # (bucket, upload id) -> part number -> (CRC64, size, ETag), for CompleteMultipartUpload
        self._parts: dict[tuple[str, str], dict[int, tuple[int, int, str]]] = {}
        self._requests = 0
        self._started = False
        self._warm = threading.Event()
        self._warm_error: BaseException | None = None

    def __repr__(self) -> str:
        state = f"endpoint={self.endpoint!r}" if self._server.running else "stopped"
        return f"OssStore({state}, bucket={self.bucket!r})"

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self, *, wait: bool = True) -> OssStore:
        """Listen at once; moto is loaded and the bucket created in the background (``wait``: until done).

        Requests that arrive before that wait for it, so the store can be announced before it is warm.
        """
        if self._started:
            return self
        self._server.start()
        self._started = True
        threading.Thread(target=self._warm_up, name="zimport-oss-warmup", daemon=True).start()
        if wait:
            self.wait_ready()
        return self

    def _warm_up(self) -> None:
        try:
            backend = self._backend()
            if self.bucket not in backend.buckets:
                backend.create_bucket(self.bucket, "us-east-1")
        except BaseException as exc:
            self._warm_error = exc
        finally:
            self._warm.set()

    def wait_ready(self, timeout: float = 120.0) -> OssStore:
        """Block until moto is loaded and the demo bucket exists."""
        if not self._warm.wait(timeout):
            raise RuntimeError("the object store did not warm up in time")
        if self._warm_error is not None:
            raise RuntimeError(f"the object store failed to start: {self._warm_error}") from self._warm_error
        return self

    def stop(self) -> None:
        """Stop serving and forget this store's buckets and objects."""
        self._server.stop()
        if not self._started:
            return
        self._started = False
        self._warm.wait(120)
        backends = _s3_backends()
        with contextlib.suppress(Exception):
            backend = backends[self.account_id]["aws"]
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
            del backends[self.account_id]

    def __enter__(self) -> OssStore:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- addresses and keys --------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: oss2 uses path-style addressing for it."""
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def credentials(self) -> dict[str, str]:
        """Every accepted key pair, {access key id: secret} (STS pairs included)."""
        return self._keys.secrets()

    def add_credentials(
        self, access_key_id: str | None = None, access_key_secret: str | None = None, *, read_only: bool = False
    ) -> tuple[str, str]:
        """Accept another key pair (random unless given) and return it as ``(id, secret)``.

        ``read_only``: reads, heads and listings work; writes (PUT object/part, POST multipart init/complete,
        DELETE) answer ``403 AccessDenied`` ("... because of bucket acl.") with a request id, as OSS does.
        """
        if access_key_id is None or access_key_secret is None:
            if access_key_id is not None or access_key_secret is not None:
                raise ValueError("give both access_key_id and access_key_secret, or neither")
            return self._keys.new_pair(read_only=read_only)
        self._keys.add(access_key_id, access_key_secret, Grant(read_only=read_only))
        return access_key_id, access_key_secret

    def issue_sts_credentials(self, ttl: float = 3600.0, *, read_only: bool = False) -> StsCredentials:
        """Temporary keys valid for ``ttl`` seconds, as STS AssumeRole gives: ``(id, secret, security_token)``.

        Requests must carry the token (``oss2.StsAuth(id, secret, token)`` sends ``x-oss-security-token``):
        none gives ``InvalidAccessKeyId``, another one ``InvalidSecurityToken``, and after ``ttl`` every
        request gets ``SecurityTokenExpired`` (all 403). ``read_only`` as in :meth:`add_credentials`.
        """
        return self._keys.new_sts(ttl, read_only=read_only)

    def expire_sts_credentials(self, access_key_id: str) -> None:
        """Let STS keys from :meth:`issue_sts_credentials` expire now."""
        self._keys.expire(access_key_id)

    @property
    def request_count(self) -> int:
        """Requests received so far (including failed and injected ones)."""
        return self._requests

    def _count_request(self) -> None:
        with self._cred_lock:
            self._requests += 1

    def object_url(self, key: str, bucket: str | None = None) -> str:
        """The path-style URL of ``key``: ``http://127.0.0.1:PORT/bucket/key``."""
        return f"{self.endpoint}/{bucket or self.bucket}/{key.lstrip('/')}"

    def public_url(self, key: str, bucket: str | None = None) -> str:
        """The URL the real OSS would give ``key`` (``https://bucket.oss-REGION.aliyuncs.com/key``)."""
        return f"https://{bucket or self.bucket}.oss-{self.region}.aliyuncs.com/{key.lstrip('/')}"

    def oss2_bucket(self, bucket: str | None = None, **kwargs: Any) -> Any:
        """An ``oss2.Bucket`` for this store with its own key pair (convenience for tests and demos)."""
        import oss2

        auth = oss2.Auth(self.access_key_id, self.access_key_secret)
        return oss2.Bucket(auth, self.endpoint, bucket or self.bucket, **kwargs)

    # -- direct access to moto (internal) -------------------------------------------------------------
    def _backend(self) -> Any:
        moto_s3_app()
        return _s3_backends()[self.account_id]["aws"]

    def _object_crc(self, bucket: str, key: str) -> int | None:
        """The CRC64 of a stored object: remembered from its write, else read and computed once."""
        try:
            obj = self._backend().get_object(bucket, key)
        except Exception:
            return None
        if obj is None:
            return None
        found = self._known_crc(bucket, key, obj.etag)
        if found is None:
            found = crc64(obj.value)
            self._remember_crc(bucket, key, obj.etag, found)
        return found

    def _known_crc(self, bucket: str, key: str, etag: str | None) -> int | None:
        if not etag:
            return None
        with self._crc_lock:
            return self._crc_cache.get((bucket, key, _bare_etag(etag)))

    def _remember_crc(self, bucket: str, key: str, etag: str, crc: int) -> None:
        with self._crc_lock:
            if len(self._crc_cache) > 4096:
                self._crc_cache.clear()
            self._crc_cache[(bucket, key, _bare_etag(etag))] = crc

    def _note_part(self, bucket: str, upload_id: str, number: str, crc: int, size: int, etag: str | None) -> None:
        if not etag or not number.isdigit():
            return
        with self._crc_lock:
            self._parts.setdefault((bucket, upload_id), {})[int(number)] = (crc, size, _bare_etag(etag))

    def _forget_upload(self, bucket: str, upload_id: str) -> None:
        with self._crc_lock:
            self._parts.pop((bucket, upload_id), None)

    def _completed_crc(self, bucket: str, upload_id: str, request_xml: bytes, etag: str | None, key: str) -> int | None:
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
        self._remember_crc(bucket, key, etag, crc)
        return crc


def _bare_etag(etag: str) -> str:
    """An ETag without quotes (moto quotes it in headers, XML may carry it as ``&quot;``)."""
    return html.unescape(str(etag)).strip().strip('"')
