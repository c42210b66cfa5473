"""Settings in one place: the environment variables the package reads, credentials, upload tuning.

Credentials are resolved here only (:meth:`OssCredentials.resolve`, :meth:`StorageKeys.resolve`): the
upload, the import client and the widgets all take an argument, else the ``OSS_*`` variable, and take
the STS token from the environment only with a key id from the environment. Their reprs never show a key.
:class:`UploadConfig` holds every tuning knob of an upload (as s3transfer's ``TransferConfig`` does).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

from .errors import ConfigError
from .retry import RetryPolicy

__all__ = [
    "ENV_NAMES",
    "OSS_ACCESS_KEY_ID",
    "OSS_ACCESS_KEY_SECRET",
    "OSS_BUCKET",
    "OSS_ENDPOINT",
    "OSS_SECURITY_TOKEN",
    "SECRET_ENV_NAMES",
    "ZILLIZ_API_KEY",
    "ZILLIZ_CLUSTER_ENDPOINT",
    "ZILLIZ_CLUSTER_ID",
    "ZILLIZ_CONTROLLER_URL",
    "AzureCredentials",
    "CosCredentials",
    "GcsCredentials",
    "OssCredentials",
    "S3Credentials",
    "StorageKeys",
    "UploadConfig",
    "default_checkpoint_dir",
    "default_job_log",
    "env_getter",
    "require",
    "user_cache_dir",
]

ZILLIZ_CLUSTER_ENDPOINT = "ZILLIZ_CLUSTER_ENDPOINT"
ZILLIZ_CONTROLLER_URL = "ZILLIZ_CONTROLLER_URL"
ZILLIZ_CLUSTER_ID = "ZILLIZ_CLUSTER_ID"
ZILLIZ_API_KEY = "ZILLIZ_API_KEY"
OSS_ENDPOINT = "OSS_ENDPOINT"
OSS_BUCKET = "OSS_BUCKET"
OSS_ACCESS_KEY_ID = "OSS_ACCESS_KEY_ID"
OSS_ACCESS_KEY_SECRET = "OSS_ACCESS_KEY_SECRET"
#: Optional STS security token that goes with temporary keys in OSS_ACCESS_KEY_ID/SECRET. A secret like
#: them, but not one of the eight ENV_NAMES (the sandbox neither needs nor exports it).
OSS_SECURITY_TOKEN = "OSS_SECURITY_TOKEN"

ENV_NAMES = (
    ZILLIZ_CLUSTER_ENDPOINT,
    ZILLIZ_CONTROLLER_URL,
    ZILLIZ_CLUSTER_ID,
    ZILLIZ_API_KEY,
    OSS_ENDPOINT,
    OSS_BUCKET,
    OSS_ACCESS_KEY_ID,
    OSS_ACCESS_KEY_SECRET,
)
#: S3 and S3-compatible stores: the AWS tools' own variables, and the bucket (which they have none for).
S3_BUCKET = "S3_BUCKET"
AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
AWS_SESSION_TOKEN = "AWS_SESSION_TOKEN"
AWS_REGION = "AWS_REGION"
AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"
AWS_ENDPOINT_URL_S3 = "AWS_ENDPOINT_URL_S3"
AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"
#: Tencent COS: tccli's variables (TENCENTCLOUD_*), and the bucket (``name-appid``) and region.
COS_BUCKET = "COS_BUCKET"
COS_REGION = "COS_REGION"
COS_ENDPOINT = "COS_ENDPOINT"
TENCENTCLOUD_SECRET_ID = "TENCENTCLOUD_SECRET_ID"
TENCENTCLOUD_SECRET_KEY = "TENCENTCLOUD_SECRET_KEY"
TENCENTCLOUD_SESSION_TOKEN = "TENCENTCLOUD_SESSION_TOKEN"
TENCENTCLOUD_REGION = "TENCENTCLOUD_REGION"
#: Google Cloud Storage through its XML API's S3 interoperability: an HMAC key (gsutil's boto config has these
#: as gs_access_key_id / gs_secret_access_key; no Google tool reads them from the environment).
GCS_BUCKET = "GCS_BUCKET"
GCS_HMAC_ACCESS_KEY_ID = "GCS_HMAC_ACCESS_KEY_ID"
GCS_HMAC_SECRET = "GCS_HMAC_SECRET"
GCS_ENDPOINT = "GCS_ENDPOINT"
#: Azure Blob Storage: the Azure CLI's variables, and the container (which it has none for).
AZURE_STORAGE_CONTAINER = "AZURE_STORAGE_CONTAINER"
AZURE_STORAGE_ACCOUNT = "AZURE_STORAGE_ACCOUNT"
AZURE_STORAGE_KEY = "AZURE_STORAGE_KEY"
AZURE_STORAGE_SAS_TOKEN = "AZURE_STORAGE_SAS_TOKEN"
AZURE_STORAGE_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
#: Values of these never appear in outputs, logs, exceptions, reprs or widget state.
SECRET_ENV_NAMES = (
    ZILLIZ_API_KEY, OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_CONNECTION_STRING, TENCENTCLOUD_SECRET_ID,
    TENCENTCLOUD_SECRET_KEY, GCS_HMAC_ACCESS_KEY_ID, GCS_HMAC_SECRET,
)  # fmt: skip


def env_getter(env: Mapping[str, str] | None) -> Callable[[str], str | None]:
    """A lookup of variables in ``env`` (e.g. ``Sandbox().env()``), or in ``os.environ`` when None."""
    if env is None:
        return lambda name: os.environ.get(name) or None
    return lambda name: env.get(name) or None


def require(value: str | None, name: str, what: str, *, env: Mapping[str, str] | None = None) -> str:
    """``value``, else the variable ``name``; raise :class:`ConfigError` naming both when neither is set."""
    got = value or env_getter(env)(name)
    if not got:
        raise ConfigError(f"no {what} given", hint=f"pass it as an argument or set the {name} variable")
    return got


@dataclass(frozen=True, repr=False)
class StorageKeys:
    """Object-storage keys: an access key id and secret, and the STS token that goes with temporary keys."""

    access_key_id: str
    access_key_secret: str
    security_token: str | None = None

    @classmethod
    def resolve(
        cls,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        security_token: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        required: bool = True,
        provider: str = "oss",
    ) -> StorageKeys:
        """The arguments, else ``OSS_ACCESS_KEY_ID`` / ``OSS_ACCESS_KEY_SECRET`` / ``OSS_SECURITY_TOKEN``
        (``provider="s3"``: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``).

        A token only belongs with the temporary key id it was issued with (OSS refuses a token sent with
        long-term keys), so keys passed as arguments never pick one up from the environment. With
        ``required=False`` a missing key is ``""`` (the import API then says what is wrong).
        """
        get = env_getter(env)
        names = _KEY_NAMES[provider]
        token = security_token or (None if access_key_id else get(names[2]))
        if required:
            key_id = require(access_key_id, names[0], f"{provider.upper()} access key id", env=env)
            secret = require(access_key_secret, names[1], f"{provider.upper()} access key secret", env=env)
        else:
            key_id = access_key_id or get(names[0]) or ""
            secret = access_key_secret or get(names[1]) or ""
        return cls(key_id, secret, token)

    @property
    def secrets(self) -> list[str]:
        """The values that must never appear in a message."""
        return [s for s in (self.access_key_id, self.access_key_secret, self.security_token) if s]

    def __repr__(self) -> str:
        token = ", security_token=***" if self.security_token else ""
        return f"StorageKeys(access_key_id=***, access_key_secret=***{token})"


_KEY_NAMES = {
    "oss": (OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, OSS_SECURITY_TOKEN),
    "s3": (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN),
    "azure": (AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN),
    "cos": (TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_SESSION_TOKEN),
    "gcs": (GCS_HMAC_ACCESS_KEY_ID, GCS_HMAC_SECRET, "GCS_SESSION_TOKEN"),  # HMAC keys have no token
}


@dataclass(frozen=True)
class OssCredentials:
    """Where the data goes (an OSS endpoint and bucket) and the keys that may write there."""

    endpoint: str
    bucket: str
    keys: StorageKeys

    @classmethod
    def resolve(
        cls,
        endpoint: str | None = None,
        bucket: str | None = None,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        security_token: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> OssCredentials:
        """Each argument, else its ``OSS_*`` variable (in ``env`` or ``os.environ``); a missing one raises."""
        return cls(
            require(endpoint, OSS_ENDPOINT, "OSS endpoint", env=env),
            require(bucket, OSS_BUCKET, "OSS bucket", env=env),
            StorageKeys.resolve(access_key_id, access_key_secret, security_token, env=env),
        )


@dataclass(frozen=True)
class S3Credentials:
    """An S3 bucket (AWS, AWS China, or an S3-compatible store: MinIO, OSS's S3 API) and its keys.

    ``endpoint`` None is AWS's own endpoint for ``region``; give it for any other store. The subclasses are
    the stores reached through their S3-compatible API (COS, GCS): only their variables differ.
    """

    bucket: str
    keys: StorageKeys
    region: str | None = None
    endpoint: str | None = None

    #: The keys' provider (:meth:`StorageKeys.resolve`), and the variables of bucket, region and endpoint.
    PROVIDER: ClassVar[str] = "s3"
    BUCKET_VAR: ClassVar[str] = S3_BUCKET
    REGION_VARS: ClassVar[tuple[str, ...]] = (AWS_REGION, AWS_DEFAULT_REGION)
    ENDPOINT_VARS: ClassVar[tuple[str, ...]] = (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)
    #: The region when none is given (None: botocore's default); ``""`` means one must be given.
    DEFAULT_REGION: ClassVar[str | None] = None

    @classmethod
    def resolve(
        cls: type[_S3T],
        bucket: str | None = None,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        security_token: str | None = None,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> _S3T:
        """Each argument, else the provider's variable (S3: the AWS tools' ``AWS_ACCESS_KEY_ID``,
        ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``/``AWS_DEFAULT_REGION``,
        ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``, and ``S3_BUCKET``); a missing bucket or key raises."""
        get = env_getter(env)
        label = cls.PROVIDER.upper()
        keys = StorageKeys.resolve(access_key_id, access_key_secret, security_token, env=env, provider=cls.PROVIDER)
        where = region or next((get(n) for n in cls.REGION_VARS if get(n)), None) or cls.DEFAULT_REGION
        if where == "":
            raise ConfigError(f"no {label} region given", hint=f"pass region= or set {cls.REGION_VARS[0]}")
        return cls(
            require(bucket, cls.BUCKET_VAR, f"{label} bucket", env=env),
            keys,
            where or None,
            endpoint or next((get(n) for n in cls.ENDPOINT_VARS if get(n)), None),
        )


_S3T = TypeVar("_S3T", bound=S3Credentials)


@dataclass(frozen=True)
class CosCredentials(S3Credentials):
    """A Tencent COS bucket (``name-appid``) in ``region`` (``ap-beijing``), reached through COS's S3-compatible
    API with a SecretId / SecretKey (tccli's ``TENCENTCLOUD_SECRET_ID`` / ``TENCENTCLOUD_SECRET_KEY``;
    ``COS_BUCKET``, ``COS_REGION`` or ``TENCENTCLOUD_REGION``, ``COS_ENDPOINT``). ``endpoint`` None is
    ``https://cos.<region>.myqcloud.com``; a region must be given."""

    PROVIDER: ClassVar[str] = "cos"
    BUCKET_VAR: ClassVar[str] = COS_BUCKET
    REGION_VARS: ClassVar[tuple[str, ...]] = (COS_REGION, TENCENTCLOUD_REGION)
    ENDPOINT_VARS: ClassVar[tuple[str, ...]] = (COS_ENDPOINT,)
    DEFAULT_REGION: ClassVar[str | None] = ""


@dataclass(frozen=True)
class GcsCredentials(S3Credentials):
    """A Google Cloud Storage bucket through the XML API's S3 interoperability, with an HMAC key (access id and
    secret: ``GCS_HMAC_ACCESS_KEY_ID`` / ``GCS_HMAC_SECRET``; ``GCS_BUCKET``, ``GCS_ENDPOINT``). ``endpoint``
    None is ``https://storage.googleapis.com``; the signing region is ``auto``."""

    PROVIDER: ClassVar[str] = "gcs"
    BUCKET_VAR: ClassVar[str] = GCS_BUCKET
    REGION_VARS: ClassVar[tuple[str, ...]] = ()
    ENDPOINT_VARS: ClassVar[tuple[str, ...]] = (GCS_ENDPOINT,)
    DEFAULT_REGION: ClassVar[str | None] = "auto"


@dataclass(frozen=True)
class AzureCredentials:
    """An Azure Blob Storage container and the keys of its account: ``keys.access_key_id`` is the account name,
    ``keys.access_key_secret`` the account key (or empty, with a SAS token in ``keys.security_token``).

    ``endpoint`` None is ``https://<account>.blob.core.windows.net``; give it for another host (Azurite:
    ``http://127.0.0.1:10000/<account>``).
    """

    container: str
    keys: StorageKeys
    endpoint: str | None = None

    @property
    def account(self) -> str:
        return self.keys.access_key_id

    @classmethod
    def resolve(
        cls,
        container: str | None = None,
        account: str | None = None,
        account_key: str | None = None,
        sas_token: str | None = None,
        *,
        endpoint: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> AzureCredentials:
        """Each argument, else the Azure CLI's variables (``AZURE_STORAGE_CONNECTION_STRING``, or
        ``AZURE_STORAGE_ACCOUNT`` with ``AZURE_STORAGE_KEY`` or ``AZURE_STORAGE_SAS_TOKEN``) and
        ``AZURE_STORAGE_CONTAINER``; a missing container, account or key raises."""
        get = env_getter(env)
        parts: dict[str, str] = {}
        if not (account or account_key or sas_token):
            for item in (get(AZURE_STORAGE_CONNECTION_STRING) or "").split(";"):
                name, sep, value = item.partition("=")
                if sep:
                    parts[name.strip().lower()] = value.strip()
        name = account or parts.get("accountname") or require(None, AZURE_STORAGE_ACCOUNT, "Azure storage account",
                                                                  env=env)  # fmt: skip
        key = account_key or parts.get("accountkey") or (None if account else get(AZURE_STORAGE_KEY))
        sas = sas_token or parts.get("sharedaccesssignature") or (None if account else get(AZURE_STORAGE_SAS_TOKEN))
        if not key and not sas:
            raise ConfigError("no Azure account key or SAS token given",
                              hint=f"set {AZURE_STORAGE_KEY} (or {AZURE_STORAGE_SAS_TOKEN}, or "
                              f"{AZURE_STORAGE_CONNECTION_STRING})")  # fmt: skip
        return cls(
            require(container, AZURE_STORAGE_CONTAINER, "Azure container", env=env),
            StorageKeys(name, key or "", sas or None),
            endpoint or parts.get("blobendpoint") or None,
        )


def default_checkpoint_dir() -> Path:
    """The per-user folder for multipart checkpoints: ``$ZIMPORT_CHECKPOINT_DIR``, else the user cache.

    Linux: ``$XDG_CACHE_HOME`` or ``~/.cache``; macOS: ``~/Library/Caches``; Windows: ``%LOCALAPPDATA%``;
    then ``zimport_widgets/oss-checkpoints``. Never the working tree.
    """
    override = os.environ.get("ZIMPORT_CHECKPOINT_DIR")
    if override:
        return Path(override).expanduser()
    return user_cache_dir() / "oss-checkpoints"


def default_job_log() -> Path | None:
    """Where this machine records the import jobs it started: ``$ZIMPORT_JOB_LOG`` (``off``: nowhere), else
    ``started-jobs.jsonl`` in :func:`user_cache_dir`."""
    override = os.environ.get("ZIMPORT_JOB_LOG")
    if override is not None and override.strip().lower() in ("", "off", "0", "no"):
        return None
    return Path(override).expanduser() if override else user_cache_dir() / "started-jobs.jsonl"


def user_cache_dir() -> Path:
    """The per-user cache folder of the toolkit (never the working tree)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "zimport_widgets"


MiB = 1 << 20
#: OSS refuses smaller parts (except the last).
MIN_PART_SIZE = 100 * 1024


@dataclass(frozen=True)
class UploadConfig:
    """Every tuning knob of :func:`~zimport_widgets.upload_to_oss`.

    Files of at least ``multipart_threshold`` bytes go up in parts of ``part_size`` bytes, ``num_threads``
    parts at a time (resumable from ``checkpoint_dir``, default :func:`default_checkpoint_dir`); smaller
    files are sent whole, ``workers`` at a time. Network errors, 5xx and 429 answers are retried
    ``retries`` times, waiting about ``retry_backoff * 2**n`` seconds.
    """

    part_size: int = 8 * MiB
    multipart_threshold: int = 32 * MiB
    num_threads: int = 4
    workers: int = 4
    retries: int = 4
    retry_backoff: float = 0.5
    connect_timeout: float = 30.0
    checkpoint_dir: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if self.part_size < MIN_PART_SIZE:
            raise ConfigError(
                f"part_size {self.part_size} is below the OSS minimum of {MIN_PART_SIZE} bytes (100 KiB)",
                hint="use part_size >= 102400",
            )
        if self.num_threads < 1 or self.workers < 1 or self.retries < 0:
            raise ConfigError("num_threads and workers must be >= 1 and retries >= 0")

    @property
    def threshold(self) -> int:
        """The multipart threshold in effect (never below one part)."""
        return max(self.multipart_threshold, self.part_size)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.retries + 1, backoff=self.retry_backoff, max_backoff=20.0, jitter=0.5)

    def checkpoints(self) -> Path:
        """The checkpoint folder in effect."""
        if self.checkpoint_dir is not None:
            return Path(self.checkpoint_dir).expanduser()
        return default_checkpoint_dir()
