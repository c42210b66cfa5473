"""Object URLs of an import request, mapped onto the local store, and reading them through the OSS protocol.

Accepted forms (a trailing ``/`` means a folder; ``*.npy`` as the last segment means the .npy files there):

* ``http://127.0.0.1:PORT/bucket/key`` (path style, the sandbox store's own address);
* ``oss://bucket/key``;
* ``https://bucket.oss-<region>[-internal].aliyuncs.com/key`` (what the real OSS gives; mapped onto the store).

Other clouds (``s3://``, ``gs://``, AWS/GCS/Azure hosts) answer 83004 as Zilliz Cloud on Aliyun does; any
other URL, or a key that escapes the bucket (``..``), answers 10003. Objects are read with the request's
``accessKey``/``secretKey`` through ``oss2``, so wrong keys fail exactly as the store answers.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from ..prepare.rules import SOURCE_KINDS

__all__ = [
    "ImportRequestError", "ObjectGroup", "ObjectRef", "S3StoreReader", "StoreReader", "explicit_group",
    "group_objects", "parse_object_url", "store_reader",
]  # fmt: skip

_ALIYUN_HOST = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])\.oss-(?P<region>[a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$"
)
#: ``bucket.s3.region.amazonaws.com[.cn]`` (also ``s3-region``, ``s3.dualstack.region``) and the path-style hosts
_AWS_VIRTUAL = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3[.-](?:dualstack\.)?(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_COS_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com$")
_AWS_PATH = re.compile(r"^s3[.-](?:dualstack\.)?(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
_GCS_HOSTS = ("storage.googleapis.com", "storage.cloud.google.com")
_OTHER_CLOUDS = ("blob.core.windows.net",)
#: The cloud hosts whose URLs name a region (virtual-hosted ones name the bucket too).
_CLOUD_HOSTS = (_COS_HOST, _AWS_VIRTUAL, _AWS_PATH, _ALIYUN_HOST)
_ACROSS = "Importing files across clouds is not currently supported"
SUPPORTED_SUFFIXES = tuple(SOURCE_KINDS)  # .json .npy .parquet .jsonl .ndjson .csv
#: A file of these kinds is an import group of its own (NumPy files group by folder).
_ONE_FILE_KINDS = {suffix: kind for suffix, kind in SOURCE_KINDS.items() if kind != "numpy"}
_EXPECTED = ", ".join(SUPPORTED_SUFFIXES[:-1]) + " or " + SUPPORTED_SUFFIXES[-1]


class ImportRequestError(Exception):
    """A request the controller refuses: ``code`` and ``message`` go into the error envelope."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class StoreAccessError(Exception):
    """The store refused the request's keys (or failed); ``reason`` is what it said."""

    def __init__(self, reason: str, *, not_found: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.not_found = reason, not_found


@dataclass(frozen=True)
class ObjectRef:
    """One object URL resolved onto the store: ``key`` is a folder prefix when ``folder``."""

    url: str
    bucket: str
    key: str
    folder: bool
    only_npy: bool = False


@dataclass
class ObjectGroup:
    """One unit of import: a NumPy file set (one folder) or one JSON file."""

    label: str
    kind: str  # "numpy" | "json" | "parquet" | "jsonl" | "csv"
    keys: list[str] = field(default_factory=list)
    size: int = 0


def _bad_url(url: str, why: str = "") -> ImportRequestError:
    return ImportRequestError(10003, f"Invalid s3 ObjectUrl. [{url}] {why}".rstrip())


def _same_region(found: str, region: str | None) -> None:
    if region is not None and found != region:
        raise ImportRequestError(83004, f"{_ACROSS} (the bucket is in {found}, the cluster in {region})")


def parse_object_url(
    url: str, *, store_host: str, store_port: int, region: str | None = None, cloud: str = "aliyun"
) -> ObjectRef:
    """Resolve ``url`` onto the local store, or raise :class:`ImportRequestError` (10003 / 83004).

    A bucket of another cloud than ``cloud`` (``"aliyun"``: OSS URLs; ``"aws"``: S3 URLs), or of another
    region than ``region`` (the cluster's), is refused with 83004, as the service does: the bucket must be
    where the cluster is.
    """
    if not isinstance(url, str) or not url.strip():
        raise ImportRequestError(90145, "No ObjectUrl key field.")
    text = url.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    web = scheme in ("http", "https")
    aws = scheme == "s3" or (web and host.endswith((".amazonaws.com", ".amazonaws.com.cn")))
    aliyun = scheme == "oss" or (web and host.endswith(".aliyuncs.com"))
    tencent = scheme == "cos" or (web and host.endswith(".myqcloud.com"))
    gcp = scheme in ("gs", "gcs") or (web and host in _GCS_HOSTS)
    if scheme == "az" or any(host.endswith(h) for h in _OTHER_CLOUDS):
        raise ImportRequestError(83004, _ACROSS)
    if (
        (aws and cloud != "aws")
        or (aliyun and cloud != "aliyun")
        or (tencent and cloud != "tencent")
        or (gcp and cloud != "gcp")
    ):
        raise ImportRequestError(83004, _ACROSS)
    if scheme in ("oss", "s3", "cos", "gs", "gcs"):
        bucket, raw_key = parts.netloc, parts.path
    elif web and host in _GCS_HOSTS:  # GCS URLs name no region: the bucket's own location is the cluster's
        bucket, _, rest = parts.path.lstrip("/").partition("/")
        raw_key = "/" + rest
    elif web and (m := next((p.match(host) for p in _CLOUD_HOSTS if p.match(host)), None)):
        _same_region(m.group("region"), region)
        if "bucket" in m.groupdict():  # virtual-hosted: the bucket is in the host name
            bucket, raw_key = m.group("bucket"), parts.path
        else:  # path style: the first path segment
            bucket, _, rest = parts.path.lstrip("/").partition("/")
            raw_key = "/" + rest
    elif scheme in ("http", "https") and host in ("127.0.0.1", "localhost", store_host):
        if parts.port != store_port:
            raise _bad_url(text, "(not this sandbox's object store)")
        bucket, _, rest = parts.path.lstrip("/").partition("/")
        raw_key = "/" + rest
    else:
        raise _bad_url(text)
    if parts.query or parts.fragment:
        raise _bad_url(text, "(query strings are not allowed)")
    if not bucket:
        raise _bad_url(text, "(no bucket)")
    key = unquote(raw_key).lstrip("/")
    segments = key.split("/")
    if any(s in ("..", ".") for s in segments) or "\\" in key or "\x00" in key:
        raise _bad_url(text, "(the path leaves the bucket)")
    only_npy = False
    if segments and segments[-1] == "*.npy":
        key, only_npy = posixpath.dirname(key) + "/", True
    elif "*" in key:
        raise _bad_url(text, "(only a trailing *.npy wildcard is allowed)")
    if key == "/":
        key = ""
    folder = key == "" or key.endswith("/")
    return ObjectRef(url=text, bucket=bucket, key=key, folder=folder, only_npy=only_npy)


def group_objects(ref: ObjectRef, listing: list[tuple[str, int]]) -> list[ObjectGroup]:
    """Split a listing (``[(key, size)]``) under ``ref`` into import groups; raise 47053/83001 on bad layouts.

    A folder holds either .npy files (one group), one or more .json files (one group each), or first-level
    sub-folders each holding .npy files (one group each). Other file types are ignored, as the cloud does.
    """
    if not ref.folder:
        key, size = listing[0]
        suffix = posixpath.splitext(key)[1].lower()
        if suffix in _ONE_FILE_KINDS:
            return [ObjectGroup(label=key, kind=_ONE_FILE_KINDS[suffix], keys=[key], size=size)]
        if suffix == ".npy":
            return [ObjectGroup(label=posixpath.dirname(key) + "/", kind="numpy", keys=[key], size=size)]
        got = suffix or "(none)"
        raise ImportRequestError(
            47053, f"Failed to checkFiles {{{key}}}: unsupported file type {got!r}, expected {_EXPECTED}"
        )
    usable: list[tuple[str, int]] = []
    for key, size in listing:
        rel = key[len(ref.key) :]
        if not rel or rel.endswith("/"):
            continue
        suffix = posixpath.splitext(rel)[1].lower()
        if suffix not in SUPPORTED_SUFFIXES or (ref.only_npy and (suffix != ".npy" or "/" in rel)):
            continue
        if rel.count("/") > 1:
            raise ImportRequestError(
                47053, f"Failed to checkFiles {{{key}}}: more than one level of sub-folders under {ref.key or '/'}"
            )
        usable.append((key, size))
    if not usable:
        raise ImportRequestError(83001, f"Failed to getObjectMeta {{{ref.url}}}: no {_EXPECTED} object found")
    kinds = {posixpath.splitext(k)[1].lower() for k, _ in usable}
    if len(kinds) > 1:
        raise ImportRequestError(
            47053, f"Failed to checkFiles {{{ref.url}}}: the folder mixes {' and '.join(sorted(kinds))} files"
        )
    (only,) = kinds
    if only in _ONE_FILE_KINDS:
        return [ObjectGroup(label=k, kind=_ONE_FILE_KINDS[only], keys=[k], size=s) for k, s in usable]
    groups: dict[str, ObjectGroup] = {}
    for key, size in usable:
        folder = posixpath.dirname(key) + "/"
        g = groups.setdefault(folder, ObjectGroup(label=folder, kind="numpy"))
        g.keys.append(key)
        g.size += size
    return list(groups.values())


def explicit_group(listing: list[tuple[str, int]]) -> ObjectGroup:
    """One group from an explicit list of objects (a ``files``/``objectUrls`` inner list of several entries)."""
    keys = [k for k, _ in listing]
    suffixes = {posixpath.splitext(k)[1].lower() for k in keys}
    size = sum(n for _, n in listing)
    if suffixes == {".npy"}:
        return ObjectGroup(label=posixpath.dirname(keys[0]) + "/", kind="numpy", keys=keys, size=size)
    if len(keys) == 1 and len(suffixes) == 1 and next(iter(suffixes)) in _ONE_FILE_KINDS:
        return ObjectGroup(
            label=keys[0], kind=_ONE_FILE_KINDS[keys[0][keys[0].rfind(".") :].lower()], keys=keys, size=size
        )
    names = ", ".join(keys)
    if suffixes == {".json"}:
        raise ImportRequestError(47053, f"Failed to checkFiles {{{names}}}: for JSON import, accepts only one file")
    raise ImportRequestError(
        47053, f"Failed to checkFiles {{{names}}}: a group holds .npy files or one .json file, not {sorted(suffixes)}"
    )


def _oss_reason(exc: Any) -> str:
    code = getattr(exc, "code", None) or type(exc).__name__
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(getattr(exc, "details", None), dict):
        message = exc.details.get("Message") or message
    rid = getattr(exc, "request_id", None)
    status = getattr(exc, "status", None)
    text = f"{code}: {message}"
    if status and status > 0:
        text += f" (HTTP {status}"
        text += f", request id {rid})" if rid else ")"
    return text


class StoreReader:
    """Reads objects from the sandbox store with one request's key pair (through oss2)."""

    def __init__(self, endpoint: str, access_key_id: str, access_key_secret: str, token: str = "") -> None:
        self.endpoint = endpoint
        self._ak, self._sk, self._token = access_key_id or "", access_key_secret or "", token or ""

    def __repr__(self) -> str:
        return f"StoreReader(endpoint={self.endpoint!r})"

    def _bucket(self, name: str) -> Any:
        import oss2

        if self._ak and self._sk:
            auth: Any = oss2.StsAuth(self._ak, self._sk, self._token) if self._token else oss2.Auth(self._ak, self._sk)
        else:
            auth = oss2.AnonymousAuth()
        return oss2.Bucket(auth, self.endpoint, name, connect_timeout=10, enable_crc=True)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import oss2

        try:
            return fn(*args, **kwargs)
        except oss2.exceptions.OssError as exc:
            raise StoreAccessError(
                _oss_reason(exc), not_found=getattr(exc, "code", "") in ("NoSuchKey", "NoSuchBucket")
            ) from None

    def listing(self, ref: ObjectRef) -> list[tuple[str, int]]:
        """``[(key, size)]`` of the object, or of every object under the folder."""
        import oss2

        bucket = self._bucket(ref.bucket)
        if not ref.folder:
            meta = self._call(bucket.get_object_meta, ref.key)
            return [(ref.key, int(meta.content_length or 0))]

        def collect() -> list[tuple[str, int]]:
            return [(o.key, int(o.size)) for o in oss2.ObjectIteratorV2(bucket, prefix=ref.key, max_keys=1000)]

        return self._call(collect)

    def download(self, bucket_name: str, key: str, dest: str) -> int:
        """Copy one object into ``dest`` (CRC64-checked); return its size."""
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        bucket = self._bucket(bucket_name)
        self._call(bucket.get_object_to_file, key, dest)
        return os.path.getsize(dest)


class S3StoreReader(StoreReader):
    """Reads objects from the sandbox's S3 bucket (``cloud="aws"``) with one request's keys, through boto3."""

    def __init__(self, endpoint: str, access_key_id: str, access_key_secret: str, token: str = "", *,
                 region: str = "us-west-2") -> None:  # fmt: skip
        super().__init__(endpoint, access_key_id, access_key_secret, token)
        self.region = region

    def _client(self) -> Any:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        signed = bool(self._ak and self._sk)
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=self._ak or None, aws_secret_access_key=self._sk or None,
            aws_session_token=self._token or None,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=10,
                          signature_version="s3v4" if signed else UNSIGNED,
                          request_checksum_calculation="when_required"),
        )  # fmt: skip

    def _s3_call(self, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error") or {}
            meta = exc.response.get("ResponseMetadata") or {}
            code = error.get("Code") or str(meta.get("HTTPStatusCode", ""))
            code = {"404": "NoSuchKey", "403": "AccessDenied"}.get(code, code)
            reason = f"{code}: {error.get('Message') or 'the request failed'} (HTTP {meta.get('HTTPStatusCode')})"
            raise StoreAccessError(reason, not_found=code in ("NoSuchKey", "NoSuchBucket", "NotFound")) from None
        except BotoCoreError as exc:
            raise StoreAccessError(type(exc).__name__) from None

    def listing(self, ref: ObjectRef) -> list[tuple[str, int]]:
        client = self._client()
        if not ref.folder:
            head = self._s3_call(client.head_object, Bucket=ref.bucket, Key=ref.key)
            return [(ref.key, int(head["ContentLength"]))]
        out: list[tuple[str, int]] = []
        token: str | None = None
        while True:
            args = {"Bucket": ref.bucket, "Prefix": ref.key, **({"ContinuationToken": token} if token else {})}
            page = self._s3_call(client.list_objects_v2, **args)
            out += [(o["Key"], int(o["Size"])) for o in page.get("Contents", ())]
            token = page.get("NextContinuationToken")
            if not token:
                return out

    def download(self, bucket_name: str, key: str, dest: str) -> int:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        got = self._s3_call(self._client().get_object, Bucket=bucket_name, Key=key)
        with open(dest, "wb") as f:
            for chunk in got["Body"].iter_chunks(4 << 20):
                f.write(chunk)
        return os.path.getsize(dest)


def store_reader(store: Any, access_key_id: str, access_key_secret: str, token: str = "") -> StoreReader:
    """A reader of ``store`` with these keys, in the store's own protocol (OSS, or S3 for an AWS bucket)."""
    if getattr(store, "cloud", "aliyun") != "aliyun":  # an S3 or COS bucket: the S3 API
        return S3StoreReader(store.endpoint, access_key_id, access_key_secret, token, region=store.region)
    return StoreReader(store.endpoint, access_key_id, access_key_secret, token)
