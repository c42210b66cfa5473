"""Object keys and object URLs: prefix normalisation and the URL forms the import API takes.

OSS (:func:`object_url`):

* ``*.aliyuncs.com`` (and any other host name): virtual-host style, ``https://{bucket}.{host}/{key}``;
* an IP address or ``localhost``: path style, ``http://127.0.0.1:9000/{bucket}/{key}`` (the endpoint's scheme);
* ``form="oss"``: ``oss://{bucket}/{key}``.

S3 (:func:`s3_object_url`): AWS's ``https://{bucket}.s3.{region}.amazonaws.com[.cn]/{key}`` or ``s3://``;
OSS's S3 API (``s3.oss-{region}.aliyuncs.com``) gives the OSS URL of the same bucket; any other store
(MinIO, the sandbox) path style. :func:`bucket_object_url` picks by provider.

A folder URL ends with ``/``.
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from ..errors import ConfigError

__all__ = [
    "UrlForm",
    "bucket_object_url",
    "bucket_relative_path",
    "is_ip_or_localhost",
    "join_key",
    "normalize_endpoint",
    "normalize_prefix",
    "object_url",
    "s3_object_url",
]

UrlForm = Literal["https", "oss", "s3"]


def normalize_endpoint(endpoint: str) -> str:
    """``scheme://host[:port]`` for an endpoint given with or without a scheme (no path, no credentials)."""
    text = (endpoint or "").strip()
    if not text:
        raise ConfigError("the OSS endpoint is empty", hint="e.g. https://oss-cn-hangzhou.aliyuncs.com")
    if "://" not in text:
        host = text.split("/", 1)[0]
        # Aliyun endpoints are served over TLS; a bare IP/localhost is a local stand-in (plain HTTP).
        text = ("http://" if is_ip_or_localhost(host) else "https://") + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"the OSS endpoint {endpoint!r} is not an http(s) URL or host name",
            hint="e.g. https://oss-cn-hangzhou.aliyuncs.com or http://127.0.0.1:9000",
        )
    if parts.username or parts.password:
        raise ConfigError("the OSS endpoint must not contain credentials", hint="pass the keys separately")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def is_ip_or_localhost(host: str) -> bool:
    """True for ``localhost``, an IPv4/IPv6 literal (with or without a port or brackets)."""
    host = host.strip()
    if host.startswith("["):
        host = host[1 : host.find("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def normalize_prefix(prefix: str) -> str:
    """The prefix without leading/trailing ``/`` and without empty segments; refuses ``.``/``..``."""
    if prefix is None:
        raise ConfigError("no prefix given", hint="pass prefix='my-dataset/v1' (the folder in the bucket)")
    segments = [s for s in str(prefix).replace("\\", "/").split("/") if s]
    if not segments:
        raise ConfigError("the prefix is empty", hint="pass prefix='my-dataset/v1' (the folder in the bucket)")
    bad = [s for s in segments if s in (".", "..")]
    if bad:
        raise ConfigError(f"the prefix {prefix!r} contains {bad[0]!r}", hint="use a plain folder path")
    return "/".join(segments)


def join_key(prefix: str, relative: str) -> str:
    """``prefix/relative`` with ``/`` separators."""
    rel = "/".join(s for s in relative.replace("\\", "/").split("/") if s)
    return f"{prefix}/{rel}" if rel else prefix


def object_url(endpoint: str, bucket: str, key: str, *, folder: bool = False, form: UrlForm = "https") -> str:
    """The URL of ``key`` (a folder when ``folder``: trailing ``/``) in ``bucket`` at ``endpoint``."""
    key = key.strip("/")
    if folder and key:
        key += "/"
    if form == "oss":
        return f"oss://{bucket}/{key}"
    if form != "https":
        raise ConfigError(f"unknown URL form {form!r} for OSS", hint="use 'https' or 'oss'")
    base = normalize_endpoint(endpoint)
    scheme, netloc = base.split("://", 1)
    quoted = quote(key, safe="/~")
    if is_ip_or_localhost(netloc):
        return f"{scheme}://{netloc}/{bucket}/{quoted}"
    if netloc.split(":", 1)[0].lower().endswith(".aliyuncs.com"):
        scheme = "https"  # the import API reads Aliyun objects over TLS whatever the upload used
    return f"{scheme}://{bucket}.{netloc}/{quoted}"


def s3_object_url(
    endpoint: str | None, bucket: str, key: str, *, region: str | None, folder: bool = False, form: UrlForm = "https"
) -> str:
    """The URL of ``key`` in the S3 bucket ``bucket`` (at ``endpoint``; None: AWS in ``region``)."""
    host = normalize_endpoint(endpoint).split("://", 1)[1].split(":", 1)[0].lower() if endpoint else ""
    if form == "https" and endpoint and host.endswith(".aliyuncs.com"):  # OSS's S3 API: the import reads OSS
        return object_url(normalize_endpoint(endpoint).replace("://s3.", "://", 1), bucket, key, folder=folder)
    key = key.strip("/")
    if folder and key:
        key += "/"
    if form == "s3":
        return f"s3://{bucket}/{key}"
    if form != "https":
        raise ConfigError(f"unknown URL form {form!r} for S3", hint="use 'https' or 's3'")
    quoted = quote(key, safe="/~")
    if not endpoint or host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        where = region or "us-east-1"
        domain = "amazonaws.com.cn" if where.startswith("cn-") else "amazonaws.com"
        return f"https://{bucket}.s3.{where}.{domain}/{quoted}"
    base = normalize_endpoint(endpoint)
    return f"{base}/{bucket}/{quoted}"


def bucket_object_url(
    provider: str, endpoint: str, bucket: str, key: str, *, region: str | None = None, folder: bool = False,
    form: UrlForm = "https",
) -> str:  # fmt: skip
    """The object URL for ``provider`` ("oss", "s3" or "azure": ``endpoint`` is then the account URL);
    ``endpoint`` "" means the provider's own."""
    if provider == "azure":
        key = key.strip("/") + ("/" if folder and key.strip("/") else "")
        return f"{endpoint.rstrip('/')}/{bucket}/{quote(key, safe='/~')}"
    if provider == "gcs":
        key = key.strip("/") + ("/" if folder and key.strip("/") else "")
        if form == "s3":
            return f"gs://{bucket}/{key}"
        base = normalize_endpoint(endpoint) if endpoint else "https://storage.googleapis.com"
        return f"{base}/{bucket}/{quote(key, safe='/~')}"
    if provider == "cos":
        key = key.strip("/") + ("/" if folder and key.strip("/") else "")
        if form == "s3":
            return f"cos://{bucket}/{key}"
        if endpoint and is_ip_or_localhost(normalize_endpoint(endpoint).split("://", 1)[1]):
            return f"{normalize_endpoint(endpoint)}/{bucket}/{quote(key, safe='/~')}"
        return f"https://{bucket}.cos.{region}.myqcloud.com/{quote(key, safe='/~')}"
    if provider == "s3":
        return s3_object_url(endpoint or None, bucket, key, region=region, folder=folder, form=form)
    return object_url(endpoint, bucket, key, folder=folder, form=form)


_VIRTUAL_HOSTS = ("aliyuncs.com", "amazonaws.com", "myqcloud.com", "googleapis.com")


def bucket_relative_path(url: str) -> str:
    """A Milvus ``files`` path (relative to the bucket root) from an object URL or a path.

    ``oss://bucket/a/b/`` and ``s3://bucket/a/b/`` → ``a/b/``; a virtual-hosted URL
    (``https://bucket.oss-cn-hangzhou.aliyuncs.com/a/b/``) → ``a/b/``; a path-style URL
    (``http://127.0.0.1:9000/bucket/a/b/``) → ``a/b/``; a plain path is kept (without a leading ``/``).
    """
    text = str(url).strip()
    parts = urlsplit(text)
    if not parts.scheme:
        return text.lstrip("/")
    path = unquote(parts.path).lstrip("/")
    if parts.scheme in ("http", "https"):
        host = (parts.hostname or "").lower()
        first = host.split(".", 1)[0]
        virtual = not (first.startswith(("oss-", "s3")) or first in ("storage", "cos"))
        if virtual and any(host.endswith(d) for d in _VIRTUAL_HOSTS) and host.count(".") >= 3:
            return path  # bucket.<endpoint>/<key>
        return path.partition("/")[2]  # <endpoint>/<bucket>/<key>
    return path  # oss://bucket/key, s3://bucket/key: the bucket is the netloc
