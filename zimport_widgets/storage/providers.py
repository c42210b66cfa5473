"""Which object store: the backend for a bucket's credentials, the default bucket from the environment, and
the provider each Zilliz Cloud region's imports read from (the bucket must be in the cluster's cloud).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

from .. import config
from ..config import (
    AzureCredentials,
    CosCredentials,
    GcsCredentials,
    OssCredentials,
    S3Credentials,
    StorageKeys,
    UploadConfig,
)
from ..errors import ConfigError
from .backend import BucketAccess, StorageBackend
from .object_url import UrlForm, bucket_object_url, normalize_endpoint

__all__ = [
    "PROVIDERS", "StorageTarget", "check_bucket", "check_same_cloud", "make_backend", "provider_for_region",
    "resolve_storage", "target_of", "target_url", "url_cloud",
]  # fmt: skip

#: The buckets an upload can write to.
StorageTarget = OssCredentials | S3Credentials | CosCredentials | GcsCredentials | AzureCredentials

#: Zilliz Cloud region id prefix → the object store its imports read (the bucket must be in that cloud).
PROVIDERS: dict[str, str] = {"ali-": "oss", "aws-": "s3", "tc-": "cos", "gcp-": "gcs", "az-": "azure"}
_SUPPORTED = ("oss", "s3", "cos", "gcs", "azure")
_URL_HOSTS = [
    (re.compile(r"^[a-z0-9-]+\.oss-(?P<region>[a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$"), "oss"),
    (re.compile(r"^(?:[a-z0-9.-]+\.)?s3[.-](?:dualstack\.)?(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"), "s3"),
    (re.compile(r"^(?:[a-z0-9.-]+\.)?s3\.amazonaws\.com$"), "s3"),
    (re.compile(r"^[a-z0-9-]+\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com$"), "cos"),
    (re.compile(r"^storage\.(?:googleapis|cloud\.google)\.com$"), "gcs"),
    (re.compile(r"^[a-z0-9]+\.blob\.core\.windows\.net$"), "azure"),
]
_NAMES = {"oss": "Aliyun OSS", "s3": "AWS S3", "cos": "Tencent COS", "gcs": "Google Cloud Storage",
          "azure": "Azure Blob Storage"}  # fmt: skip


def provider_for_region(region_id: str) -> str:
    """``"ali-cn-hangzhou"`` → ``"oss"``, ``"aws-us-west-2"`` → ``"s3"``, …; unknown prefixes raise."""
    for prefix, provider in PROVIDERS.items():
        if region_id.lower().startswith(prefix):
            return provider
    raise ConfigError(f"unknown cloud region {region_id!r}", hint="Zilliz region ids start with ali-, aws-, tc-, "
                      "gcp- or az- (see the cluster's endpoint)")  # fmt: skip


def url_cloud(url: str) -> tuple[str, str | None] | None:
    """The provider and region (when the URL names one) of an object URL; None for another host (a local store).

    ``https://b.oss-cn-hangzhou.aliyuncs.com/k`` → ``("oss", "cn-hangzhou")``; ``s3://b/k`` → ``("s3", None)``.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(str(url).strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    schemes = {"oss": "oss", "s3": "s3", "gs": "gcs", "gcs": "gcs", "cos": "cos", "az": "azure"}
    if scheme in schemes:
        return schemes[scheme], None
    for pattern, provider in _URL_HOSTS:
        m = pattern.match(host)
        if m:
            return provider, m.groupdict().get("region")
    return None


def check_same_cloud(url: str, cluster_region: str) -> None:
    """Refuse (before any request) an object URL of another cloud or region than the cluster's: the import would
    fail with 83004 ("Importing files across clouds is not currently supported")."""
    found = url_cloud(url)
    if found is None:
        return
    want = provider_for_region(cluster_region)
    region = cluster_region.split("-", 1)[1] if "-" in cluster_region else None
    provider, url_region = found
    if provider != want:
        raise ConfigError(
            f"the object URL is in {_NAMES[provider]}, but the cluster ({cluster_region}) imports from "
            f"{_NAMES[want]} only",
            hint=f"upload to a {_NAMES[want]} bucket in {region or cluster_region} (Zilliz error 83004 otherwise)",
        )
    if url_region and region and url_region != region:
        raise ConfigError(
            f"the bucket is in {url_region}, the cluster in {region} ({cluster_region})",
            hint=f"use a bucket in {region}: the import cannot read across regions (Zilliz error 83004)",
        )


def make_backend(
    target: StorageTarget, cfg: UploadConfig | None = None, *, stop: threading.Event | None = None
) -> StorageBackend:
    """The backend that writes to ``target`` (imported lazily: boto3 is only loaded for S3 and COS)."""
    if isinstance(target, CosCredentials):
        from .s3 import CosBackend

        return CosBackend(target, cfg, stop=stop)
    if isinstance(target, GcsCredentials):
        from .s3 import GcsBackend

        return GcsBackend(target, cfg, stop=stop)
    if isinstance(target, S3Credentials):
        from .s3 import S3Backend

        return S3Backend(target, cfg, stop=stop)
    if isinstance(target, OssCredentials):
        from .oss import OssBackend

        return OssBackend(target, cfg, stop=stop)
    if isinstance(target, AzureCredentials):
        from .azure import AzureBackend

        return AzureBackend(target, cfg, stop=stop)
    raise ConfigError(f"no storage backend for {type(target).__name__}",
                      hint="pass OssCredentials, S3Credentials or AzureCredentials")  # fmt: skip


def check_bucket(target: StorageTarget, *, connect_timeout: float = 10.0) -> BucketAccess:
    """List at most one object: proves the endpoint, the bucket and the keys before anything is sent."""
    backend = make_backend(target, UploadConfig(retries=0, connect_timeout=connect_timeout))
    return backend.check()


def target_url(target: StorageTarget, key: str, *, folder: bool, form: UrlForm) -> str:
    """The object URL of ``key`` in ``target``'s bucket, without contacting the store."""
    if isinstance(target, GcsCredentials):
        return bucket_object_url("gcs", target.endpoint or "", target.bucket, key, folder=folder, form=form)
    if isinstance(target, CosCredentials):
        return bucket_object_url("cos", target.endpoint or "", target.bucket, key, region=target.region,
                                 folder=folder, form=form)  # fmt: skip
    if isinstance(target, S3Credentials):
        return bucket_object_url("s3", target.endpoint or "", target.bucket, key, region=target.region,
                                 folder=folder, form=form)  # fmt: skip
    if isinstance(target, AzureCredentials):
        from .azure import azure_object_url

        return azure_object_url(target.endpoint, target.account, target.container, key, folder=folder)
    return bucket_object_url("oss", normalize_endpoint(target.endpoint), target.bucket, key, folder=folder, form=form)


def resolve_storage(env: Mapping[str, str] | None = None) -> StorageTarget:
    """The bucket the environment names: OSS (``OSS_*``) if set, else S3 (``S3_BUCKET`` and ``AWS_*``)."""
    get = config.env_getter(env)
    if get(config.OSS_ENDPOINT) or get(config.OSS_BUCKET):
        return OssCredentials.resolve(env=env)
    if get(config.S3_BUCKET):
        return S3Credentials.resolve(env=env)
    if get(config.COS_BUCKET):
        return CosCredentials.resolve(env=env)
    if get(config.GCS_BUCKET):
        return GcsCredentials.resolve(env=env)
    if get(config.AZURE_STORAGE_CONTAINER):
        return AzureCredentials.resolve(env=env)
    raise ConfigError(
        "no bucket given",
        hint=f"set {config.OSS_ENDPOINT}, {config.OSS_BUCKET} and the OSS keys (Aliyun), or {config.S3_BUCKET} "
        f"and the AWS_* keys (S3), or {config.COS_BUCKET} and the TENCENTCLOUD_* keys (COS), or "
        f"{config.AZURE_STORAGE_CONTAINER} and the AZURE_STORAGE_* keys (Azure), "
        "or pass storage=",
    )


def target_of(provider: str, endpoint: str, bucket: str, region: str | None, keys: StorageKeys | None) -> StorageTarget:
    """The credentials of a finished upload's bucket (``keys``: else the provider's variables)."""
    if provider == "s3":
        if keys is None:
            return S3Credentials.resolve(bucket, region=region, endpoint=endpoint or None)
        return S3Credentials(bucket, keys, region, endpoint or None)
    if provider == "gcs":
        if keys is None:
            return GcsCredentials.resolve(bucket, endpoint=endpoint or None)
        return GcsCredentials(bucket, keys, region or "auto", endpoint or None)
    if provider == "cos":
        if keys is None:
            return CosCredentials.resolve(bucket, region=region, endpoint=endpoint or None)
        return CosCredentials(bucket, keys, region, endpoint or None)
    if provider == "azure":
        if keys is None:
            return AzureCredentials.resolve(bucket, endpoint=endpoint or None)
        return AzureCredentials(bucket, keys, endpoint or None)
    if provider != "oss":
        raise ConfigError(f"{_NAMES.get(provider, provider)} is not supported yet", hint=f"use one of {_SUPPORTED}")
    return OssCredentials(endpoint, bucket, keys or StorageKeys.resolve())
