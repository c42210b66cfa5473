"""The sandbox's Aliyun OSS stand-in: an in-process object store on 127.0.0.1 that ``oss2`` talks to.

:class:`OssStore` is the object users start and stop. It owns what one store is: its HTTP server
(serving :class:`~.oss_dialect.OssDialect`, the OSS-on-moto translation), its demo bucket, its key
pairs and STS keys (:mod:`.oss_policy`), its faults (:mod:`.faults`), its CRC64 bookkeeping
(:mod:`.oss_crc`) and its own moto account (:mod:`.oss_moto`), so several stores in one process don't
see each other's buckets (bucket names are still process-wide, as in moto's S3)::

    with OssStore() as store:
        bucket = oss2.Bucket(oss2.Auth(store.access_key_id, store.access_key_secret),
                             store.endpoint, store.bucket)
        bucket.put_object("a/b.npy", b"...")
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import uuid
from typing import Any

from .faults import Faults
from .httpserver import ServerThread
from .oss_crc import CrcBook
from .oss_dialect import OssDialect
from .oss_moto import account_backend, forget_account
from .oss_persist import ObjectMirror
from .oss_policy import Grant, KeyRing, StsCredentials

__all__ = ["STORE_CLOUDS", "OssStore"]

#: The clouds the store can stand in for, with their default bucket region.
STORE_CLOUDS = {"aliyun": "cn-hangzhou", "aws": "us-west-2", "tencent": "ap-beijing", "gcp": "us-west1"}
_KEY_PREFIX = {"aliyun": "LTAI", "aws": "AKIA", "tencent": "AKID", "gcp": "GOOG1E"}

#: The largest request body the store reads (one PutObject / UploadPart). Real OSS takes up to 5 GB; the
#: sandbox holds objects in memory, so it refuses bodies past 256 MiB with OSS's ``EntityTooLarge``
#: (multipart uploads of any size still work: the uploader's parts are 8 MiB).
MAX_BODY_BYTES = 256 * 1024 * 1024
log = logging.getLogger("zimport_widgets.sandbox")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


class OssStore:
    """An OSS-dialect object store on ``host`` (127.0.0.1), a free port unless ``port`` is given.

    ``cloud`` is ``"aliyun"`` (OSS, which answers its S3-compatible API too), ``"aws"`` (an S3 bucket: SigV4
    only, OSS-signed requests refused) or ``"tencent"`` (a COS bucket ``name-appid`` through COS's S3-compatible
    API, SigV4 only) or ``"gcp"`` (a GCS bucket through the XML API's S3 interoperability, HMAC keys, SigV4
    with region ``auto``); ``region`` is the bucket's (default cn-hangzhou / us-west-2 / ap-beijing / us-west1).

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
        region: str | None = None,
        faults: Faults | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        persist_dir: str | None = None,
        port_or_any: bool = False,
        cloud: str = "aliyun",
    ) -> None:
        if cloud not in STORE_CLOUDS:
            raise ValueError(f"cloud must be one of {', '.join(STORE_CLOUDS)}, not {cloud!r}")
        self.cloud = cloud
        self.max_body_bytes = max_body_bytes
        self._upload_times: dict[str, float] = {}  # upload id -> when it was initiated
        self._mirror = ObjectMirror(persist_dir) if persist_dir else None
        self.bucket = bucket or f"zimport-demo-{secrets.token_hex(4)}" + ("-1250000000" if cloud == "tencent" else "")
        if not _BUCKET_RE.match(self.bucket):
            raise ValueError(f"bucket name {self.bucket!r} is not a valid OSS bucket name (3-63 of a-z, 0-9, -)")
        self.access_key_id = access_key_id or _KEY_PREFIX[cloud] + secrets.token_hex(10)
        self.access_key_secret = access_key_secret or secrets.token_urlsafe(24)
        self.region = region or STORE_CLOUDS[cloud]
        self.faults = faults if faults is not None else Faults()
        self.account_id = str(100000000000 + uuid.uuid4().int % 899999999999)
        self._keys = KeyRing(self.access_key_id, self.access_key_secret)
        self._cred_lock = threading.Lock()
        self._server = ServerThread(OssDialect(self), host=host, port=port, name="oss", port_or_any=port_or_any)
        self._crcs = CrcBook(self._backend)
        self._requests = 0
        self._started = False
        self._warm = threading.Event()
        self._warm_error: BaseException | None = None

    def __repr__(self) -> str:
        state = f"endpoint={self.endpoint!r}" if self._server.running else "stopped"
        return f"OssStore({state}, bucket={self.bucket!r}, cloud={self.cloud!r}, region={self.region!r})"

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
            if self._mirror is not None:
                restored = self._mirror.restore(backend)
                if restored:
                    log.info("restored %d object(s) from %s", restored, self._mirror.folder)
            if self.bucket not in backend.buckets:
                backend.create_bucket(self.bucket, "us-east-1")
            if self._mirror is not None:
                self._mirror.bucket_created(self.bucket)
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
        forget_account(self.account_id)

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

    def _object_changed(self, method: str, bucket: str, key: str, query: list[tuple[str, str]]) -> None:
        """After a successful write: keep the on-disk copy (if any) in step with moto."""
        mirror = self._mirror
        if mirror is None or not bucket:
            return
        params = {k for k, _ in query}
        if not key:
            if method == "PUT" and not params:
                mirror.bucket_created(bucket)
            elif method == "POST" and "delete" in params:
                mirror.resync(self._backend(), bucket)
            return
        if method == "DELETE" and "uploadId" not in params:
            mirror.deleted(bucket, key)
        elif (method == "PUT" and not ({"uploadId", "partNumber"} & params)) or (
            method == "POST" and ("uploadId" in params or "append" in params)
        ):
            mirror.saved(self._backend(), bucket, key)

    def _count_request(self) -> None:
        with self._cred_lock:
            self._requests += 1

    def object_url(self, key: str, bucket: str | None = None) -> str:
        """The path-style URL of ``key``: ``http://127.0.0.1:PORT/bucket/key``."""
        return f"{self.endpoint}/{bucket or self.bucket}/{key.lstrip('/')}"

    def public_url(self, key: str, bucket: str | None = None) -> str:
        """The URL the real store would give ``key`` (``https://bucket.oss-REGION.aliyuncs.com/key``; for an AWS
        bucket ``https://bucket.s3.REGION.amazonaws.com/key``)."""
        if self.cloud == "aws":
            return f"https://{bucket or self.bucket}.s3.{self.region}.amazonaws.com/{key.lstrip('/')}"
        if self.cloud == "tencent":
            return f"https://{bucket or self.bucket}.cos.{self.region}.myqcloud.com/{key.lstrip('/')}"
        if self.cloud == "gcp":
            return f"https://storage.googleapis.com/{bucket or self.bucket}/{key.lstrip('/')}"
        return f"https://{bucket or self.bucket}.oss-{self.region}.aliyuncs.com/{key.lstrip('/')}"

    def oss2_bucket(self, bucket: str | None = None, **kwargs: Any) -> Any:
        """An ``oss2.Bucket`` for this store with its own key pair (convenience for tests and demos)."""
        import oss2

        auth = oss2.Auth(self.access_key_id, self.access_key_secret)
        return oss2.Bucket(auth, self.endpoint, bucket or self.bucket, **kwargs)

    # -- direct access to moto (internal) -------------------------------------------------------------
    def _backend(self) -> Any:
        return account_backend(self.account_id)
