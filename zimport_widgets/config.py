"""Names of the environment variables the whole package reads, and small helpers to read them."""

from __future__ import annotations

import os

from .errors import ConfigError

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
    "env_value",
    "require",
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
#: Values of these never appear in outputs, logs, exceptions, reprs or widget state.
SECRET_ENV_NAMES = (ZILLIZ_API_KEY, OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET)


def env_value(value: str | None, name: str) -> str | None:
    """``value`` if given (non-empty), else the environment variable ``name``, else None."""
    if value:
        return value
    return os.environ.get(name) or None


def require(value: str | None, name: str, what: str) -> str:
    """Like :func:`env_value` but raise :class:`ConfigError` naming the argument and the variable."""
    got = env_value(value, name)
    if not got:
        raise ConfigError(f"no {what} given", hint=f"pass it as an argument or set the {name} variable")
    return got
