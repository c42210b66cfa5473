"""`Sandbox`: the object store, the import controller and the cluster, started together in-process."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from typing import Any

from .. import config
from ..private_files import write_private
from .cluster import ClusterApp
from .controller import ImportController
from .faults import Faults
from .httpserver import ServerThread
from .importer import JobRunner
from .milvus import MilvusEngine
from .oss_policy import StsCredentials
from .oss_store import OssStore

__all__ = ["Sandbox", "start_if_unconfigured"]


class Sandbox:
    """All sandbox servers on ``host`` (127.0.0.1) and free ports; use it as a context manager.

    * object store with the bucket ``oss_bucket`` created: ``cloud="aliyun"`` (default) is Aliyun OSS (which
      answers its S3-compatible API too) in ``region`` cn-hangzhou, ``cloud="aws"`` an S3 bucket in
      us-west-2, ``cloud="tencent"`` a COS bucket in ap-beijing (COS's S3-compatible API), ``cloud="gcp"`` a GCS
      bucket in us-west1 (the XML API's S3 interoperability); imports take that cloud's object URLs only, of
      that region (83004 otherwise);
    * import controller (REST v1 + v2 import routes) on ``controller_url``;
    * cluster data plane (REST v2 subset) on ``cluster_endpoint``, over ``engine``: ``"lite"`` (default,
      fast: Milvus Lite, imports trusted to the project's checker) or ``"milvus"`` (a real Milvus server
      whose own bulk insert judges every import; Linux x86_64, see :mod:`.milvus_server`).

    Credentials are random unless given. ``faults`` arms injected faults on every server;
    ``batch_rows``/``batch_delay`` set how import jobs insert (a delay makes progress observable).
    ``start(wait=False)`` returns as soon as the HTTP servers listen; :meth:`wait_ready` waits for Milvus Lite.
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
        region: str | None = None,
        batch_rows: int = 1000,
        batch_delay: float = 0.0,
        engine: str = "lite",
        cloud: str = "aliyun",
    ) -> None:
        self.host = host
        self._own_dir = data_dir is None
        self.data_dir = os.fspath(data_dir) if data_dir is not None else tempfile.mkdtemp(prefix="zimport-sandbox-")
        if self._own_dir:  # removed on stop(), or when the object goes away without one
            weakref.finalize(self, shutil.rmtree, self.data_dir, True)
        self.faults = Faults()
        kept = {} if self._own_dir else _read_state(self.data_dir)  # a restart on the same folder: same names
        self.api_key = api_key or "sbx-" + secrets.token_hex(16)
        self.cluster_id = cluster_id or kept.get("cluster_id") or "in01-" + secrets.token_hex(8)
        persist = None if self._own_dir else os.path.join(self.data_dir, "objects")
        self.store = OssStore(
            host=host, bucket=bucket or kept.get("bucket"), access_key_id=access_key_id,
            access_key_secret=access_key_secret, region=region, faults=self.faults, persist_dir=persist,
            port=int(kept.get("oss_port") or 0), port_or_any=True, cloud=cloud,
        )  # fmt: skip
        self.cloud = cloud
        self.region = self.store.region
        jobs_dir = os.path.join(self.data_dir, "jobs")
        self.engine: MilvusEngine
        self.runner: JobRunner
        if engine == "milvus":
            from .real_engine import BulkInsertRunner, RealMilvusEngine

            self.engine = real = RealMilvusEngine(os.path.join(self.data_dir, "milvus"))
            self.runner = BulkInsertRunner(real, self.faults, work_dir=jobs_dir, keep_records=not self._own_dir)
        elif engine == "lite":
            self.engine = MilvusEngine(os.path.join(self.data_dir, "milvus"))
            self.runner = JobRunner(self.engine, self.faults, work_dir=jobs_dir, batch_rows=batch_rows,
                                    batch_delay=batch_delay, keep_records=not self._own_dir)  # fmt: skip
        else:
            raise ValueError(f"engine must be 'lite' or 'milvus', not {engine!r}")
        self.controller = ImportController(
            store=self.store, engine=self.engine, runner=self.runner, faults=self.faults,
            api_key=lambda: self.api_key, cluster_id=lambda: self.cluster_id,
        )  # fmt: skip
        self.cluster = ClusterApp(engine=self.engine, faults=self.faults, api_key=lambda: self.api_key)
        self.controller.mount_milvus_routes(self.cluster.app)
        self._controller_server = ServerThread(self.controller.app, host=host, name="controller", port_or_any=True,
                                               port=int(kept.get("controller_port") or 0))  # fmt: skip
        self._cluster_server = ServerThread(self.cluster.app, host=host, name="cluster", port_or_any=True,
                                            port=int(kept.get("cluster_port") or 0))  # fmt: skip
        self._started = False
        self.startup_seconds: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, *, wait: bool = True, timeout: float = 120.0) -> Sandbox:
        """Start every server; with ``wait`` (default) return only once all of them answer."""
        if self._started:
            return self
        t0 = time.perf_counter()
        os.makedirs(os.path.join(self.data_dir, "jobs"), exist_ok=True)  # (again, after a stop)
        self.engine.start()  # Milvus Lite opens in the background meanwhile
        try:
            self.store.start(wait=False)
            self._controller_server.start()
            self._cluster_server.start()
            if not self._own_dir:  # a restart on this folder: the same names and, where free, the same ports
                _write_state(self.data_dir, {
                    "bucket": self.store.bucket, "cluster_id": self.cluster_id, "oss_port": self.store.port,
                    "controller_port": self._controller_server.port, "cluster_port": self._cluster_server.port,
                })  # fmt: skip
            self.runner.start()
            self._started = True
            if wait:
                self.wait_ready(timeout)
                self.startup_seconds = time.perf_counter() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 120.0) -> Sandbox:
        """Block until the store, the controller and the cluster (Milvus Lite) all answer over HTTP."""
        deadline = time.monotonic() + timeout
        self.store.wait_ready(timeout)
        if not self.engine.wait_ready(timeout):
            error = self.engine._error
            if isinstance(error, RuntimeError):  # MilvusUnavailable says what is missing
                raise error
            raise RuntimeError(f"the sandbox's Milvus ({self.engine.kind}) did not start: {error or 'timeout'}")
        while True:
            problems = self.probe()
            if not problems:
                return self
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not come up: " + "; ".join(problems))
            time.sleep(0.05)

    def probe(self) -> list[str]:
        """What does not answer yet (empty when everything does), checked with real HTTP requests."""
        problems = []
        checks = [
            ("object store", self.oss_endpoint + "/", None, lambda status, body: b"<Error>" in body),
            ("controller", self.controller_url + "/v2/vectordb/jobs/import/list", {"clusterId": self.cluster_id},
             lambda status, body: json.loads(body).get("code") == 0),
            ("cluster", self.cluster_endpoint + "/v2/vectordb/collections/list", {},
             lambda status, body: json.loads(body).get("code") == 0),
        ]  # fmt: skip
        for name, url, body, good in checks:
            data = json.dumps(body).encode() if body is not None else None
            req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
            req.add_header("Authorization", f"Bearer {self.api_key}")
            req.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    status, payload = resp.status, resp.read()
            except urllib.error.HTTPError as exc:
                status, payload = exc.code, exc.read()
            except OSError as exc:
                problems.append(f"{name}: {exc}")
                continue
            try:
                fine = good(status, payload)
            except ValueError:
                fine = False
            if not fine:
                problems.append(f"{name}: unexpected answer (HTTP {status})")
        return problems

    def stop(self) -> None:
        self.runner.stop()
        self._controller_server.stop()
        self._cluster_server.stop()
        self.store.stop()
        self.engine.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        self._started = False

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        if not self._started:
            return "Sandbox(stopped)"
        return (
            f"Sandbox(cluster_endpoint={self.cluster_endpoint!r}, controller_url={self.controller_url!r}, "
            f"cluster_id={self.cluster_id!r}, oss_endpoint={self.oss_endpoint!r}, oss_bucket={self.oss_bucket!r})"
        )

    # -- values --------------------------------------------------------------------------------------
    @property
    def cluster_endpoint(self) -> str:
        return self._cluster_server.url

    @property
    def controller_url(self) -> str:
        return self._controller_server.url

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

    def add_credentials(self, *, read_only: bool = False) -> tuple[str, str]:
        """A new random key pair for the object store, ``(id, secret)``; ``read_only``: writes get AccessDenied.

        Import jobs only read, so read-only keys are enough for ``accessKey``/``secretKey``.
        """
        return self.store.add_credentials(read_only=read_only)

    def issue_sts_credentials(self, ttl: float = 3600.0, *, read_only: bool = False) -> StsCredentials:
        """STS temporary keys for the object store, ``(id, secret, security_token)``, valid ``ttl`` seconds.

        Use them with ``oss2.StsAuth``, ``upload_to_oss(..., security_token=)`` or an import's v2 ``token``.
        """
        return self.store.issue_sts_credentials(ttl, read_only=read_only)

    @property
    def cloud_region(self) -> str:
        """The cluster's region id as Zilliz names it: ``ali-cn-hangzhou``, ``aws-us-west-2``."""
        return {"aliyun": "ali-", "aws": "aws-", "tencent": "tc-", "gcp": "gcp-"}[self.cloud] + self.region

    def env(self) -> dict[str, str]:
        """The eight ``ZILLIZ_*``/``OSS_*`` variables pointing at this sandbox (``cloud="aws"``: the four
        ``ZILLIZ_*`` ones, ``S3_BUCKET``, and the AWS tools' ``AWS_*`` keys, region and endpoint)."""
        zilliz = {
            config.ZILLIZ_CLUSTER_ENDPOINT: self.cluster_endpoint,
            config.ZILLIZ_CONTROLLER_URL: self.controller_url,
            config.ZILLIZ_CLUSTER_ID: self.cluster_id,
            config.ZILLIZ_API_KEY: self.api_key,
        }
        if self.cloud == "gcp":
            return {
                **zilliz,
                config.GCS_BUCKET: self.oss_bucket,
                config.GCS_HMAC_ACCESS_KEY_ID: self.access_key_id,
                config.GCS_HMAC_SECRET: self.access_key_secret,
                config.GCS_ENDPOINT: self.oss_endpoint,
            }
        if self.cloud == "tencent":
            return {
                **zilliz,
                config.COS_BUCKET: self.oss_bucket,
                config.TENCENTCLOUD_SECRET_ID: self.access_key_id,
                config.TENCENTCLOUD_SECRET_KEY: self.access_key_secret,
                config.COS_REGION: self.region,
                config.COS_ENDPOINT: self.oss_endpoint,
            }
        if self.cloud == "aws":
            return {
                **zilliz,
                config.S3_BUCKET: self.oss_bucket,
                config.AWS_ACCESS_KEY_ID: self.access_key_id,
                config.AWS_SECRET_ACCESS_KEY: self.access_key_secret,
                config.AWS_REGION: self.region,
                config.AWS_ENDPOINT_URL_S3: self.oss_endpoint,
            }
        return {
            **zilliz,
            config.OSS_ENDPOINT: self.oss_endpoint,
            config.OSS_BUCKET: self.oss_bucket,
            config.OSS_ACCESS_KEY_ID: self.access_key_id,
            config.OSS_ACCESS_KEY_SECRET: self.access_key_secret,
        }

    def export_lines(self) -> list[str]:
        """``export NAME=value`` lines (shell-quoted) for :meth:`env`."""
        import shlex

        return [f"export {k}={shlex.quote(v)}" for k, v in self.env().items()]

    def object_url(self, key: str) -> str:
        """The path-style URL of ``key`` in the sandbox bucket (what an import request may name)."""
        return self.store.object_url(key)

    def wait_for_jobs(self, timeout: float = 60.0) -> bool:
        """Wait until no import job is pending or running."""
        return self.runner.wait_idle(timeout)


def start_if_unconfigured() -> Sandbox | None:
    """Start an in-process sandbox when no ``ZILLIZ_*``/``OSS_*`` variable is set; export its values.

    Sets ``os.environ`` for this process and returns the running sandbox (stop it with ``.stop()``);
    returns None, starting nothing, when any of the variables is set.
    """
    if any(os.environ.get(name) for name in config.ENV_NAMES):
        return None
    sb = Sandbox().start()
    os.environ.update(sb.env())
    return sb


_STATE_FILE = "sandbox.json"
_STATE_KEYS = ("bucket", "cluster_id", "oss_port", "controller_port", "cluster_port")


def _read_state(data_dir: str) -> dict[str, str]:
    """The names an earlier sandbox on ``data_dir`` used (bucket, cluster id, ports); no secrets are kept."""
    try:
        with open(os.path.join(data_dir, _STATE_FILE), encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(state, dict):
        return {}
    return {k: str(v) for k, v in state.items() if k in _STATE_KEYS and isinstance(v, (str, int))}


def _write_state(data_dir: str, state: dict[str, str | int]) -> None:
    os.makedirs(data_dir, mode=0o700, exist_ok=True)  # a folder the user gave keeps its own mode
    write_private(os.path.join(data_dir, _STATE_FILE), json.dumps(state))
