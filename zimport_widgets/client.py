"""``ImportClient``: start a bulk import through the REST API, follow it to the end, list jobs, verify.

One small typed client for the three import APIs in use (see the import API reference §1-§2):

* ``api_version="v1"`` (default, as in the Zilliz import doc): the regional controller,
  ``/v1/vector/collections/import[/get|/list]``, success code 200, progress a 0-1 fraction;
* ``"v2"``: Zilliz Cloud's ``/v2/vectordb/jobs/import/*`` (``api.cloud.zilliz.com``), success code 0;
* ``"milvus"``: a self-hosted Milvus ≥ 2.4 (``files`` instead of ``objectUrl``, on the cluster endpoint).

All three give the same :class:`~zimport_widgets.jobs.ImportProgress`. Reads are retried (bounded, with
backoff and jitter); the create call never starts a duplicate job: when its answer is lost it looks for
the new job in the job list before it tries again. Data-plane helpers (``describe_collection``,
``count_rows``, ``search_sample``, ``create_collection``…) use the cluster endpoint's REST v2 API.

Example::

    client = ImportClient()                       # ZILLIZ_* variables
    job = client.start_import("medium_articles", "oss://bucket/prefix/")   # OSS_* keys
    client.wait_for_import(job)                   # tqdm bar; raises ImportJobFailed / ImportTimeout
    client.count_rows("medium_articles")
"""

from __future__ import annotations

import html
import logging
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from . import config
from .endpoints import normalize_url, parse_cluster_endpoint
from .errors import ConfigError, ImportJobFailed, ImportTimeout, ZillizAPIError, ZillizNetworkError
from .http import (
    DEFAULT_TIMEOUT,
    AmbiguousRequestError,
    ApiSession,
    DeadlineExceeded,
    RetryableStatus,
    RetryPolicy,
)
from .jobs import (
    FileProgress,
    ImportJob,
    ImportJobSummary,
    ImportProgress,
    ImportState,
    job_id_of,
    parse_job_list,
    parse_progress,
)
from .progress import ProgressArg, Reporter
from .schema import CollectionSchema, DataType

__all__ = [
    "API_VERSIONS",
    "FileProgress",
    "ImportClient",
    "ImportJob",
    "ImportJobSummary",
    "ImportProgress",
    "ImportStallWarning",
    "ImportState",
    "SearchHit",
    "SearchResult",
    "VerifyResult",
    "bucket_relative_path",
]

log = logging.getLogger("zimport_widgets.client")

API_VERSIONS = ("v1", "v2", "milvus")

_V1 = {
    "create": ("POST", "/v1/vector/collections/import"),
    "get": ("GET", "/v1/vector/collections/import/get"),
    "list": ("GET", "/v1/vector/collections/import/list"),
}
_V2_CREATE = "/v2/vectordb/jobs/import/create"
_V2_LIST = "/v2/vectordb/jobs/import/list"
#: The progress route has three names (§0.5); the first that exists wins and is remembered.
_V2_PROGRESS = {
    "v2": ("/v2/vectordb/jobs/import/getProgress", "/v2/vectordb/jobs/import/describe",
           "/v2/vectordb/jobs/import/get_progress"),
    "milvus": ("/v2/vectordb/jobs/import/get_progress", "/v2/vectordb/jobs/import/describe"),
}  # fmt: skip
#: Codes / message fragments meaning "no such job" (transient right after create).
_NOT_FOUND_CODES = {90144}
_NOT_FOUND_WORDS = ("not exist", "not found", "no jobid", "no job")
#: Pages of the job list read to tell a new job from old ones (100 jobs a page).
_DEDUPE_PAGES = 100


class ImportStallWarning(UserWarning):
    """An import job has shown no progress for ``stall_after`` seconds."""


@dataclass(frozen=True)
class SearchHit:
    id: Any
    distance: float
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    """The answer of :meth:`ImportClient.search_sample`: hits best first."""

    collection: str
    anns_field: str
    hits: tuple[SearchHit, ...]
    query_id: Any = None

    def __repr__(self) -> str:
        top = ", ".join(f"{h.id}:{h.distance:.3f}" for h in self.hits[:5])
        return f"SearchResult(collection={self.collection!r}, anns_field={self.anns_field!r}, hits=[{top}])"

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(str(h.id))}</td><td>{h.distance:.4f}</td>"
            f"<td>{html.escape(', '.join(f'{k}={v!s:.60}' for k, v in h.fields.items()))}</td></tr>"
            for h in self.hits
        )
        return (
            f"<div><b>Search in {html.escape(self.collection)}</b> ({html.escape(self.anns_field)})"
            f"<table><thead><tr><th>id</th><th>distance</th><th>fields</th></tr></thead><tbody>{body}</tbody>"
            "</table></div>"
        )


@dataclass(frozen=True)
class VerifyResult:
    """Row count and one sample search of a collection (``ok``: rows present, as expected, search hits)."""

    collection: str
    row_count: int
    expected_rows: int | None
    search: SearchResult | None

    @property
    def ok(self) -> bool:
        if self.expected_rows is not None and self.row_count != self.expected_rows:
            return False
        return self.row_count > 0 and self.search is not None and bool(self.search.hits)

    def __str__(self) -> str:
        exp = f" (expected {self.expected_rows:,})" if self.expected_rows is not None else ""
        text = f"{self.collection}: {self.row_count:,} rows{exp}"
        if self.search is not None and self.search.hits:
            h = self.search.hits[0]
            text += f"; sample search top hit id={h.id} distance={h.distance:.4f}"
        return text + ("" if self.ok else " - NOT OK")

    def _repr_html_(self) -> str:
        colour = "green" if self.ok else "red"
        out = f"<div style='color:{colour}'>{html.escape(str(self))}</div>"
        return out + (self.search._repr_html_() if self.search is not None else "")


class ImportClient:
    """Client of the import REST API (v1 / v2 / self-hosted Milvus) and of the cluster's data plane.

    Parameters
    ----------
    cluster_endpoint:
        The cluster's public endpoint (``ZILLIZ_CLUSTER_ENDPOINT``). For Zilliz Cloud it also gives
        the cluster id and region, hence the controller URL.
    api_key:
        API key (``ZILLIZ_API_KEY``); ``user:password`` works for self-hosted Milvus. Never shown.
    controller_url:
        Overrides the import API host (``ZILLIZ_CONTROLLER_URL``; the sandbox sets it).
    cluster_id:
        Overrides the cluster id (``ZILLIZ_CLUSTER_ID``).
    api_version:
        ``"v1"`` (default), ``"v2"`` or ``"milvus"``.
    db_name:
        Database name sent as ``dbName`` (v2 and Milvus; data-plane calls too).
    timeout, retry, session:
        ``(connect, read)`` seconds; :class:`~zimport_widgets.http.RetryPolicy` for reads; an optional
        ``requests.Session``.
    env:
        A mapping read instead of ``os.environ`` for the ``ZILLIZ_*`` / ``OSS_*`` defaults.
    """

    def __init__(
        self,
        cluster_endpoint: str | None = None,
        api_key: str | None = None,
        *,
        controller_url: str | None = None,
        cluster_id: str | None = None,
        api_version: str = "v1",
        db_name: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if api_version not in API_VERSIONS:
            raise ConfigError(f"api_version must be one of {', '.join(API_VERSIONS)}, not {api_version!r}")
        self.api_version = api_version
        self.db_name = db_name or None
        get = _env_getter(env)
        endpoint = cluster_endpoint or get(config.ZILLIZ_CLUSTER_ENDPOINT)
        self._endpoint = parse_cluster_endpoint(endpoint) if endpoint else None
        self.cluster_endpoint = self._endpoint.url if self._endpoint else None
        key = api_key or get(config.ZILLIZ_API_KEY)
        if not key and api_version != "milvus":
            raise ConfigError("no API key given", hint=f"pass api_key= or set the {config.ZILLIZ_API_KEY} variable")
        self.cluster_id = (
            cluster_id or get(config.ZILLIZ_CLUSTER_ID) or (self._endpoint.cluster_id if self._endpoint else None)
        )
        ctrl = controller_url or get(config.ZILLIZ_CONTROLLER_URL)
        if ctrl:
            self.controller_url: str | None = normalize_url(ctrl, what="controller URL")
        elif api_version == "milvus":
            self.controller_url = self.cluster_endpoint
        elif self._endpoint is not None and self._endpoint.is_zilliz:
            self.controller_url = (
                self._endpoint.controller_url if api_version == "v1" else self._endpoint.control_plane_url
            )
        else:
            self.controller_url = None
        if not self.controller_url and not self.cluster_endpoint:
            raise ConfigError(
                "no cluster endpoint or controller URL given",
                hint=f"pass cluster_endpoint= or set {config.ZILLIZ_CLUSTER_ENDPOINT} "
                f"(and {config.ZILLIZ_CONTROLLER_URL} for a sandbox or a self-hosted controller)",
            )
        self._http = ApiSession(key, session=session, timeout=timeout, retry=retry)
        self._get = get
        self._progress_path: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> ImportClient:
        """A client from a mapping of the ``ZILLIZ_*`` / ``OSS_*`` variables (e.g. ``Sandbox().env()``)."""
        return cls(env=env, **kwargs)

    def __repr__(self) -> str:
        return (
            f"ImportClient(cluster_endpoint={self.cluster_endpoint!r}, controller_url={self.controller_url!r}, "
            f"cluster_id={self.cluster_id!r}, api_version={self.api_version!r}, api_key=***)"
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ImportClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------
    def _need_controller(self) -> str:
        if not self.controller_url:
            raise ConfigError(
                "no import controller URL: the cluster endpoint is not a Zilliz Cloud host",
                hint=f"pass controller_url= or set {config.ZILLIZ_CONTROLLER_URL}",
            )
        return self.controller_url

    def _need_cluster_id(self) -> str:
        if self.api_version == "milvus":
            return ""
        if not self.cluster_id:
            raise ConfigError(
                "no cluster id",
                hint=f"pass cluster_id=, set {config.ZILLIZ_CLUSTER_ID}, or use the cluster's public endpoint",
            )
        return self.cluster_id

    def _need_endpoint(self) -> str:
        if not self.cluster_endpoint:
            raise ConfigError(
                "no cluster endpoint given",
                hint=f"pass cluster_endpoint= or set {config.ZILLIZ_CLUSTER_ENDPOINT}",
            )
        return self.cluster_endpoint

    def _with_db(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.db_name:
            body["dbName"] = self.db_name
        return body

    # -- import API ------------------------------------------------------------------------------
    def start_import(
        self,
        collection: str,
        object_url: str | None = None,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        partition: str | None = None,
        *,
        object_urls: Sequence[Sequence[str]] | None = None,
        files: Sequence[Sequence[str]] | None = None,
        options: Mapping[str, str] | None = None,
        security_token: str | None = None,
        dedupe: bool = True,
    ) -> ImportJob:
        """Start an import of ``object_url`` into ``collection`` and return the job.

        Storage keys default to ``OSS_ACCESS_KEY_ID`` / ``OSS_ACCESS_KEY_SECRET`` (not used by ``"milvus"``);
        ``security_token`` (STS temporary keys, v2 only) to ``OSS_SECURITY_TOKEN`` when the key id comes
        from the environment too.
        ``object_urls`` (v2) and ``files`` (Milvus) take the list-of-lists forms. The request is never
        sent twice blindly: if its answer is lost, the job list is checked for the job first (``dedupe``).
        """
        if not collection or not isinstance(collection, str):
            raise ConfigError("no collection name given")
        base = self._need_controller()
        cluster_id = self._need_cluster_id()
        if self.api_version == "milvus":
            raw = files or object_urls or ([[object_url]] if object_url else [])
            groups = [[bucket_relative_path(u) for u in g] for g in raw]
            if not groups:
                raise ConfigError("no files to import", hint="pass object_url= or files=[[path, ...], ...]")
            body: dict[str, Any] = {"collectionName": collection, "files": groups}
            if partition:
                body["partitionName"] = partition
            if options:
                body["options"] = {str(k): str(v) for k, v in options.items()}
            body = self._with_db(body)
            method, path = "POST", _V2_CREATE
            shown_url = object_url or (groups[0][0] if groups and groups[0] else None)
        else:
            if not object_url and not object_urls:
                raise ConfigError("no object URL given", hint="pass the object URL that upload_to_oss returned")
            ak = access_key_id or self._get(config.OSS_ACCESS_KEY_ID) or ""
            sk = access_key_secret or self._get(config.OSS_ACCESS_KEY_SECRET) or ""
            token = security_token or (None if access_key_id else self._get(config.OSS_SECURITY_TOKEN))
            if token and self.api_version != "v2":
                raise ConfigError(
                    "STS temporary keys (a security token) can only be passed by the v2 import API",
                    hint='use ImportClient(..., api_version="v2"), or long-term keys with v1',
                )
            for secret in (ak, sk, token):
                self._http.add_secret(secret)
            body = {"clusterId": cluster_id, "collectionName": collection, "partitionName": partition or ""}
            if object_urls and self.api_version == "v2":
                body["objectUrls"] = [list(g) for g in object_urls]
            else:
                body["objectUrl"] = object_url or object_urls[0][0]  # type: ignore[index]
            body["accessKey"], body["secretKey"] = ak, sk
            if token:
                body["token"] = token
            if self.api_version == "v2":
                body = self._with_db(body)
                method, path = "POST", _V2_CREATE
            else:
                method, path = _V1["create"]
            shown_url = object_url or (object_urls[0][0] if object_urls else None)
            if shown_url:  # a presigned URL may carry the key id in its query: never keep it
                shown_url = self._http.redact(shown_url)

        def job(jid: str, recovered: bool = False) -> ImportJob:
            return ImportJob(
                job_id=jid, collection=collection, object_url=shown_url, partition=partition or None,
                cluster_id=cluster_id or None, api_version=self.api_version, recovered=recovered,
            )  # fmt: skip

        before = self._job_ids(collection) if dedupe else None
        policy = self._http.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                data = self._http.send(method, base + path, json=body)
            except (RetryableStatus, ZillizNetworkError) as exc:
                ambiguous = isinstance(exc, AmbiguousRequestError) or (
                    isinstance(exc, RetryableStatus) and exc.status != 429
                )
                if ambiguous:
                    if before is None:
                        raise AmbiguousRequestError(
                            f"the import request for {collection!r} got no clear answer ({_reason(exc)}); "
                            "the job may have started",
                            endpoint=exc.endpoint,
                            hint="list the jobs (zimport jobs) before you start it again",
                        ) from None
                    found = self._find_new_job(collection, before)
                    if found is not None:
                        log.warning("import answer lost (%s); found job %s in the job list", _reason(exc), found)
                        return job(found, recovered=True)
                if attempt >= policy.attempts:
                    if isinstance(exc, ZillizNetworkError):
                        raise type(exc)(
                            f"{exc.server_message} (gave up after {attempt} attempts)", endpoint=exc.endpoint
                        ) from None
                    raise
                wait = policy.delay(attempt, getattr(exc, "retry_after", None))
                log.info("import create failed (%s); no job was started; retry %d in %.2f s",
                            _reason(exc), attempt, wait)  # fmt: skip
                time.sleep(wait)
                continue
            jid = job_id_of(data) if isinstance(data, Mapping) else (str(data) if data else None)
            if not jid:
                raise ZillizAPIError(None, "the import API answered success without a job id",
                                     endpoint=f"{method} {path}")  # fmt: skip
            log.info("started import job %s into %s", jid, collection)
            return job(jid)

    def _job_ids(self, collection: str) -> set[str] | None:
        """Ids of the jobs listed for ``collection`` now, or None if the list cannot be read."""
        try:
            return {j.job_id for j in self.list_import_jobs(collection, max_pages=_DEDUPE_PAGES)}
        except ZillizAPIError as exc:
            log.warning("could not list import jobs before creating one (%s)", _reason(exc))
            return None

    def _find_new_job(self, collection: str, before: set[str], *, tries: int = 3, pause: float = 0.5) -> str | None:
        for i in range(tries):
            try:
                listed = self.list_import_jobs(collection, max_pages=_DEDUPE_PAGES)
                new = [j for j in listed if j.job_id not in before]
            except ZillizAPIError as exc:
                raise AmbiguousRequestError(
                    f"the import request for {collection!r} got no answer, and the job list cannot be read "
                    f"to check whether it started ({_reason(exc)})",
                    endpoint=exc.endpoint,
                    hint="list the jobs (zimport jobs) before you start it again",
                ) from None
            if new:
                if len(new) > 1:
                    log.warning("%d new jobs for %s appeared; taking %s", len(new), collection, new[0].job_id)
                return new[0].job_id
            if i + 1 < tries:
                time.sleep(pause * (i + 1))
        return None

    def get_import_progress(self, job_id: str | ImportJob, *, _deadline: float | None = None) -> ImportProgress:
        """The job's progress, normalised (state, percent 0-100, rows, per-file details, reason)."""
        jid = _job_id(job_id)
        base = self._need_controller()
        cluster_id = self._need_cluster_id()
        if self.api_version == "v1":
            method, path = _V1["get"]
            data = self._http.call(method, base + path, params={"jobId": jid, "clusterId": cluster_id},
                                   deadline=_deadline)  # fmt: skip
            return parse_progress(data or {}, api_version="v1", job_id=jid)
        body: dict[str, Any] = {"jobId": jid}
        if self.api_version == "v2":
            body["clusterId"] = cluster_id
        body = self._with_db(body)
        paths = (self._progress_path,) if self._progress_path else _V2_PROGRESS[self.api_version]
        for i, path in enumerate(paths):
            try:
                data = self._http.call("POST", base + path, json=body, deadline=_deadline)
            except ZillizAPIError as exc:
                if exc.status == 404 and exc.code is None and i + 1 < len(paths):
                    continue  # that route name does not exist here: try the next one
                raise
            self._progress_path = path
            return parse_progress(data or {}, api_version=self.api_version, job_id=jid)
        raise AssertionError("unreachable")  # pragma: no cover

    def list_import_jobs(
        self, collection: str | None = None, *, page_size: int = 100, max_pages: int = 10
    ) -> list[ImportJobSummary]:
        """Import jobs of the cluster (of ``collection`` if given), as the server lists them."""
        base = self._need_controller()
        cluster_id = self._need_cluster_id()
        page_size = max(5, min(100, page_size))
        out: list[ImportJobSummary] = []
        if self.api_version == "milvus":
            body = self._with_db({"collectionName": collection} if collection else {})
            data = self._http.call("POST", base + _V2_LIST, json=body)
            out = parse_job_list(data)
        else:
            for page in range(1, max_pages + 1):
                if self.api_version == "v1":
                    method, path = _V1["list"]
                    params = {"clusterId": cluster_id, "pageSize": page_size, "currentPage": page}
                    data = self._http.call(method, base + path, params=params)
                else:
                    body = {"clusterId": cluster_id, "pageSize": page_size, "currentPage": page}
                    data = self._http.call("POST", base + _V2_LIST, json=self._with_db(body))
                items = parse_job_list(data)
                out.extend(items)
                count = _count(data)
                if len(items) < page_size or (count is not None and len(out) >= count):
                    break
        if collection:
            out = [j for j in out if j.collection in (None, collection)]
        return out

    def wait_for_import(
        self,
        job_id: str | ImportJob,
        *,
        progress: ProgressArg = True,
        timeout: float = 3600.0,
        poll_interval: float = 2.0,
        stall_after: float = 300.0,
        not_found_grace: float = 15.0,
        max_poll_failures: int = 5,
    ) -> ImportProgress:
        """Poll until the job completes and return its last progress; always bounded by ``timeout``.

        ``progress``: True → a tqdm.auto bar 0-100 % (state and rows in the postfix, red on failure),
        a dict → bar with these tqdm kwargs, a callable → gets the :class:`ImportProgress` of every poll
        (raise in it to stop waiting, e.g. for a Cancel button; the job itself keeps running).
        Raises :class:`~zimport_widgets.errors.ImportJobFailed` (reason, per-file details) when the job
        fails, :class:`~zimport_widgets.errors.ImportTimeout` after ``timeout`` seconds. Warns
        (:class:`ImportStallWarning`) when nothing moved for ``stall_after`` seconds, and treats
        "job not found" during the first ``not_found_grace`` seconds as "not registered yet".
        """
        jid = _job_id(job_id)
        start = time.monotonic()
        deadline = start + max(0.0, timeout)
        last: ImportProgress | None = None
        last_key: tuple[Any, ...] | None = None
        last_change = start
        stall_warned = False
        failures = 0
        ok = False
        reporter = Reporter(progress, total=100, desc=f"import {jid}", unit="%")
        try:
            while True:
                p: ImportProgress | None = None
                try:
                    p = self.get_import_progress(jid, _deadline=deadline)
                    failures = 0
                except DeadlineExceeded:
                    raise ImportTimeout(jid, timeout, last) from None
                except ZillizNetworkError as exc:
                    failures += 1
                    if failures > max_poll_failures:
                        raise
                    log.warning("polling job %s failed (%s); will poll again", jid, _reason(exc))
                except ZillizAPIError as exc:
                    if not (_job_not_found(exc) and time.monotonic() - start < not_found_grace):
                        raise
                    log.debug("job %s not found yet; it may not be registered", jid)
                now = time.monotonic()
                if p is not None:
                    key = (p.state, round(p.percent, 3), p.imported_rows, tuple(f.percent for f in p.files))
                    changed = key != last_key
                    if changed:
                        last_change, stall_warned, last_key = now, False, key
                    last = p
                    postfix = p.phase + (f", {p.rows_text()}" if p.rows_text() else "")
                    reporter.update(p.percent, p, postfix=postfix)  # every poll: a callback can cancel
                    if p.completed:
                        ok = True
                        return p
                    if p.failed:
                        if reporter.bar is not None:
                            reporter.bar.set_postfix_str(f"Failed: {p.reason}"[:120], refresh=True)
                        raise ImportJobFailed(jid, p.reason, p.files, hint=_failure_hint(p))
                if not stall_warned and now - last_change >= stall_after:
                    stall_warned = True
                    state = last.phase if last else "not found"
                    msg = (f"import job {jid} has not moved for {now - last_change:.0f} s "
                           f"(state {state}, {last.percent if last else 0:.0f}%)")  # fmt: skip
                    log.warning(msg)
                    warnings.warn(msg, ImportStallWarning, stacklevel=2)
                remaining = deadline - now
                if remaining <= 0:
                    raise ImportTimeout(jid, timeout, last)
                time.sleep(min(poll_interval, remaining))
        finally:
            reporter.close(ok)

    # -- data plane (cluster endpoint, REST v2) ---------------------------------------------------
    def _dp(self, path: str, body: dict[str, Any], *, read: bool = True) -> Any:
        url = self._need_endpoint() + path
        body = self._with_db(body)
        if read:
            return self._http.call("POST", url, json=body)
        return self._http.send("POST", url, json=body)

    def list_collections(self) -> list[str]:
        data = self._dp("/v2/vectordb/collections/list", {})
        return [str(x) for x in (data or [])]

    def has_collection(self, name: str) -> bool:
        return name in self.list_collections()

    def describe_collection(self, name: str) -> CollectionSchema:
        """The collection's schema, as the schema model (usable by conversion and checks)."""
        data = self._dp("/v2/vectordb/collections/describe", {"collectionName": name})
        schema = CollectionSchema.from_rest(data or {})
        return schema if schema.collection_name else schema.with_name(name)

    def drop_collection(self, name: str) -> None:
        self._write_then_check("/v2/vectordb/collections/drop", {"collectionName": name},
                               done=lambda: not self.has_collection(name))  # fmt: skip

    def _write_then_check(self, path: str, body: dict[str, Any], *, done: Callable[[], bool]) -> None:
        """Send a data-plane write; after a failure without a clear answer, ``done()`` decides whether it
        took effect, else it is sent again (bounded), so a retry never acts twice."""
        policy = self._http.retry
        for attempt in range(1, policy.attempts + 1):
            try:
                self._dp(path, body, read=False)
                return
            except (RetryableStatus, ZillizNetworkError) as exc:
                if done():
                    log.info("%s failed (%s) but took effect", path, _reason(exc))
                    return
                if attempt >= policy.attempts:
                    raise
                time.sleep(policy.delay(attempt, getattr(exc, "retry_after", None)))

    def create_collection(
        self,
        name: str,
        schema: CollectionSchema | None = None,
        *,
        dimension: int | None = None,
        metric_type: str = "COSINE",
        index_type: str = "AUTOINDEX",
        index_params: Sequence[Mapping[str, Any]] | None = None,
        primary_field: str = "id",
        vector_field: str = "vector",
        id_type: str = "Int64",
        auto_id: bool = False,
    ) -> CollectionSchema:
        """Create a collection from ``schema`` (each vector field gets an index), or by quick setup
        (``dimension=``). Returns the schema the server describes afterwards."""
        if schema is None:
            if not dimension:
                raise ConfigError("create_collection needs a schema or a dimension (quick setup)")
            body: dict[str, Any] = {
                "collectionName": name, "dimension": int(dimension), "metricType": metric_type,
                "primaryFieldName": primary_field, "vectorFieldName": vector_field, "idType": id_type,
                "autoId": auto_id,
            }  # fmt: skip
            if id_type.lower() == "varchar":
                body["params"] = {"max_length": 512}
        else:
            body = {"collectionName": name, "schema": _create_schema(schema)}
            body["indexParams"] = (
                [dict(p) for p in index_params]
                if index_params is not None
                else [
                    {"fieldName": f.name, "indexName": f"{f.name}_idx", "metricType": metric_type,
                     "indexType": index_type, "params": {"index_type": index_type}}
                    for f in schema.vector_fields
                ]
            )  # fmt: skip
        self._write_then_check("/v2/vectordb/collections/create", body, done=lambda: self.has_collection(name))
        return self.describe_collection(name)

    def count_rows(self, name: str) -> int:
        """Number of rows in the collection (``count(*)`` query)."""
        data = self._dp(
            "/v2/vectordb/entities/query", {"collectionName": name, "filter": "", "outputFields": ["count(*)"]}
        )
        rows = data if isinstance(data, list) else [data]
        for row in rows:
            if isinstance(row, Mapping) and "count(*)" in row:
                return int(row["count(*)"])
        raise ZillizAPIError(None, f"the count(*) query on {name!r} returned no count",
                             endpoint="POST /v2/vectordb/entities/query")  # fmt: skip

    def search_sample(
        self,
        name: str,
        vector: Sequence[float] | None = None,
        *,
        anns_field: str | None = None,
        limit: int = 3,
        output_fields: Sequence[str] | None = None,
    ) -> SearchResult:
        """One sample search. Without ``vector`` the first stored row's vector is used (a self-hit
        at the top is the expected answer)."""
        schema = None
        if anns_field is None or output_fields is None:
            schema = self.describe_collection(name)
        if anns_field is None:
            assert schema is not None
            vecs = [f for f in schema.vector_fields if f.dtype is not DataType.SPARSE_FLOAT_VECTOR]
            if not vecs:
                raise ConfigError(f"collection {name!r} has no dense vector field to search")
            anns_field = vecs[0].name
        if output_fields is None:
            assert schema is not None
            output_fields = [f.name for f in schema.fields if not f.dtype.is_vector][:4]
        query_id = None
        if vector is None:
            pk = schema.primary.name if schema is not None else None
            rows = self._dp(
                "/v2/vectordb/entities/query",
                {"collectionName": name, "filter": "", "limit": 1,
                 "outputFields": [anns_field] + ([pk] if pk else [])},
            )  # fmt: skip
            if not rows:
                return SearchResult(collection=name, anns_field=anns_field, hits=())
            vector = rows[0][anns_field]
            query_id = rows[0].get(pk) if pk else None
        data = self._dp(
            "/v2/vectordb/entities/search",
            {"collectionName": name, "data": [list(map(float, vector))], "annsField": anns_field,
             "limit": int(limit), "outputFields": list(output_fields)},
        )  # fmt: skip
        hits_doc = data or []
        if hits_doc and isinstance(hits_doc[0], list):
            hits_doc = hits_doc[0]
        hits = []
        for h in hits_doc:
            if not isinstance(h, Mapping):
                continue
            fields = {k: v for k, v in h.items() if k not in ("id", "distance", "score")}
            hid = h.get("id", fields.get(schema.primary.name) if schema is not None else None)
            hits.append(SearchHit(id=hid, distance=float(h.get("distance", h.get("score", 0.0))), fields=fields))
        return SearchResult(collection=name, anns_field=anns_field, hits=tuple(hits), query_id=query_id)

    def verify(self, name: str, expected_rows: int | None = None) -> VerifyResult:
        """Row count plus one sample search: the "verify the result" step."""
        rows = self.count_rows(name)
        search = self.search_sample(name) if rows > 0 else None
        return VerifyResult(collection=name, row_count=rows, expected_rows=expected_rows, search=search)


# -- helpers -----------------------------------------------------------------------------------------


def _env_getter(env: Mapping[str, str] | None) -> Callable[[str], str | None]:
    if env is None:
        return lambda name: config.env_value(None, name)
    return lambda name: env.get(name) or None


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


def _job_id(job: str | ImportJob) -> str:
    jid = job.job_id if isinstance(job, ImportJob) else job
    if not jid or not isinstance(jid, (str, int)):
        raise ConfigError("no job id given")
    return str(jid)


def _reason(exc: ZillizAPIError) -> str:
    if isinstance(exc, ZillizNetworkError):
        return exc.server_message
    return f"HTTP {exc.status}" if exc.status and exc.code is None else f"code {exc.code}: {exc.server_message}"


def _job_not_found(exc: ZillizAPIError) -> bool:
    if exc.code in _NOT_FOUND_CODES:
        return True
    msg = (exc.server_message or "").lower()
    return "job" in msg and any(w in msg for w in _NOT_FOUND_WORDS)


def _failure_hint(p: ImportProgress) -> str:
    bad = [f for f in p.files if f.state is ImportState.FAILED or f.reason]
    where = f" ({', '.join(f.name for f in bad[:3])})" if bad else ""
    return f"fix the source files{where} (zimport check), upload them again and start a new import"


def _count(data: Any) -> int | None:
    if isinstance(data, Mapping):
        try:
            return int(data["count"]) if data.get("count") is not None else None
        except (TypeError, ValueError):
            return None
    return None


def _create_schema(schema: CollectionSchema) -> dict[str, Any]:
    """The ``schema`` object of REST v2 ``collections/create`` (``fieldName``/``dataType``/...)."""
    fields = []
    for f in schema.fields:
        fd: dict[str, Any] = {"fieldName": f.name, "dataType": f.dtype.value}
        if f.is_primary:
            fd["isPrimary"] = True
            if f.auto_id:
                fd["autoID"] = True
        params: dict[str, Any] = {}
        if f.dim:
            params["dim"] = int(f.dim)
        if f.max_length:
            params["max_length"] = int(f.max_length)
        if f.max_capacity:
            params["max_capacity"] = int(f.max_capacity)
        if params:
            fd["elementTypeParams"] = params
        if f.element_type is not None:
            fd["elementDataType"] = f.element_type.value
        if f.nullable:
            fd["nullable"] = True
        if f.description:
            fd["description"] = f.description
        fields.append(fd)
    return {"autoID": schema.primary.auto_id, "enableDynamicField": schema.enable_dynamic_field, "fields": fields}
