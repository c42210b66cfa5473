"""`Sandbox`: the object store, the import controller and the cluster, started together in-process."""

from __future__ import annotations

import os
import secrets
from typing import Any

from .. import config
from .faults import Faults
from .oss_store import OssStore

__all__ = ["Sandbox", "start_if_unconfigured"]


class Sandbox:
    """All sandbox servers on ``host`` (127.0.0.1), free ports; use as a context manager.

    Credentials are random unless given. Attributes: ``cluster_endpoint``, ``controller_url``,
    ``cluster_id``, ``api_key``, ``oss_endpoint``, ``oss_bucket``, ``access_key_id``,
    ``access_key_secret``; ``faults`` arms injected faults on every server.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        data_dir: str | os.PathLike[str] | None = None,
        bucket: str | None = None,
        api_key: str | None = None,
        cluster_id: str | None = None,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        region: str = "cn-hangzhou",
    ) -> None:
        self.host = host
        self.data_dir = os.fspath(data_dir) if data_dir is not None else None
        self.faults = Faults()
        self.api_key = api_key or "sbx-" + secrets.token_hex(16)
        self.cluster_id = cluster_id or "in01-" + secrets.token_hex(8)
        self.region = region
        self.store = OssStore(
            host=host, bucket=bucket, access_key_id=access_key_id, access_key_secret=access_key_secret,
            region=region, faults=self.faults,
        )  # fmt: skip
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if not self._started:
            self.store.start()
            self._started = True
        return self

    def stop(self) -> None:
        self.store.stop()
        self._started = False

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        if not self._started:
            return "Sandbox(stopped)"
        return f"Sandbox(oss_endpoint={self.oss_endpoint!r}, oss_bucket={self.oss_bucket!r})"

    # -- values --------------------------------------------------------------------------------------
    @property
    def oss_endpoint(self) -> str:
        return self.store.endpoint

    @property
    def oss_bucket(self) -> str:
        return self.store.bucket

    @property
    def access_key_id(self) -> str:
        return self.store.access_key_id

    @property
    def access_key_secret(self) -> str:
        return self.store.access_key_secret

    def env(self) -> dict[str, str]:
        """The ``ZILLIZ_*``/``OSS_*`` variables pointing at this sandbox."""
        out = {
            config.ZILLIZ_CLUSTER_ID: self.cluster_id,
            config.ZILLIZ_API_KEY: self.api_key,
            config.OSS_ENDPOINT: self.oss_endpoint,
            config.OSS_BUCKET: self.oss_bucket,
            config.OSS_ACCESS_KEY_ID: self.access_key_id,
            config.OSS_ACCESS_KEY_SECRET: self.access_key_secret,
        }
        return out


def start_if_unconfigured() -> Sandbox | None:
    """Start an in-process sandbox when no ``ZILLIZ_*``/``OSS_*`` variable is set; export its values.

    Returns the running sandbox (stop it with ``.stop()``), or None when the environment is configured.
    """
    if any(os.environ.get(name) for name in config.ENV_NAMES):
        return None
    sb = Sandbox().start()
    os.environ.update(sb.env())
    return sb
