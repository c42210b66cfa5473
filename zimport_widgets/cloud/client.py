"""``ImportClient``: start a bulk import through the REST API, follow it to the end, list jobs, verify.

One small typed client for the three import APIs in use, ``api_version="v1"`` (default), ``"v2"`` and
``"milvus"``: each is a class in :mod:`.dialects`, so this module never branches on the version.
All three give the same :class:`~zimport_widgets.ImportProgress`. Reads are retried (bounded, with
backoff and jitter); the create call never starts a duplicate job: when its answer is lost it looks for
the new job in the job list before it tries again. Data-plane helpers (``describe_collection``,
``count_rows``, ``search_sample``, ``create_collection``…) come from :class:`.data_plane.DataPlane`.

Example::

    client = ImportClient()                       # ZILLIZ_* variables
    job = client.start_import("medium_articles", "oss://bucket/prefix/")   # OSS_* keys
    client.wait_for_import(job)                   # tqdm bar; raises ImportJobFailed / ImportTimeout
    client.count_rows("medium_articles")
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import requests

from .. import config
from ..errors import (
    AmbiguousRequestError,
    ConfigError,
    RetryableStatus,
    ZillizAPIError,
    ZillizError,
)
from ..progress import ProgressArg, Reporter
from ..retry import Recovered, RetryPolicy, retry
from .data_plane import DataPlane
from .dialects import API_VERSIONS, DIALECTS, ImportSpec
from .endpoints import normalize_url, parse_cluster_endpoint
from .http import DEFAULT_TIMEOUT, ApiSession, failure_reason, gave_up, retry_after, transient
from .job_log import JobLog
from .jobs import ImportJob, ImportJobSummary, ImportProgress, job_id_of, parse_job_list, parse_progress
from .plan import ImportPlan
from .watch import JobWatch, WaitOptions, describe_failure

__all__ = ["API_VERSIONS", "ImportClient"]

log = logging.getLogger("zimport_widgets.cloud")

#: Pages of the job list read to tell a new job from old ones (100 jobs a page).
_DEDUPE_PAGES = 100
#: Answers to a create call that certainly started nothing (the request was refused): safe to send again.
_REFUSED = frozenset({429, 503})


class ImportClient(DataPlane):
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
        ``(connect, read)`` seconds; :class:`~zimport_widgets.RetryPolicy` for reads; an optional
        ``requests.Session``.
    env:
        A mapping read instead of ``os.environ`` for the ``ZILLIZ_*`` / ``OSS_*`` defaults.
    lost_answer_wait:
        When the answer to a create call is lost (timeout, dropped connection, 500/502/504), the request
        is never sent again: the job list is watched this long for the job, else the call stops and says
        the job may have started. Cover the server's slowest late answer.
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
        lost_answer_wait: float = 60.0,
    ) -> None:
        if api_version not in DIALECTS:
            raise ConfigError(f"api_version must be one of {', '.join(API_VERSIONS)}, not {api_version!r}")
        self.api_version = api_version
        self._dialect = dialect = DIALECTS[api_version]
        self.db_name = db_name or None
        get = config.env_getter(env)
        endpoint = cluster_endpoint or get(config.ZILLIZ_CLUSTER_ENDPOINT)
        self._endpoint = parse_cluster_endpoint(endpoint) if endpoint else None
        self.cluster_endpoint = self._endpoint.url if self._endpoint else None
        key = api_key or get(config.ZILLIZ_API_KEY)
        if not key and dialect.needs_api_key:
            raise ConfigError("no API key given", hint=f"pass api_key= or set the {config.ZILLIZ_API_KEY} variable")
        self.cluster_id = (
            cluster_id or get(config.ZILLIZ_CLUSTER_ID) or (self._endpoint.cluster_id if self._endpoint else None)
        )
        ctrl = controller_url or get(config.ZILLIZ_CONTROLLER_URL)
        if ctrl:
            self.controller_url: str | None = normalize_url(ctrl, what="controller URL")
        else:
            self.controller_url = dialect.controller_url(self._endpoint) if self._endpoint is not None else None
        if not self.controller_url and not self.cluster_endpoint:
            raise ConfigError(
                "no cluster endpoint or controller URL given",
                hint=f"pass cluster_endpoint= or set {config.ZILLIZ_CLUSTER_ENDPOINT} "
                f"(and {config.ZILLIZ_CONTROLLER_URL} for a sandbox or a self-hosted controller)",
            )
        if (
            isinstance(lost_answer_wait, bool) or not isinstance(lost_answer_wait, (int, float))
            or not math.isfinite(lost_answer_wait) or lost_answer_wait < 0
        ):  # fmt: skip
            raise ConfigError(f"lost_answer_wait must be a number of seconds >= 0, not {lost_answer_wait!r}")
        self.lost_answer_wait = float(lost_answer_wait)
        self._http = ApiSession(key, session=session, timeout=timeout, retry=retry)
        self._env = env
        self._progress_path: str | None = None
        #: Where the jobs started here are noted with their start time (the APIs give none).
        self.job_log = JobLog(config.default_job_log())

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
        if not self._dialect.needs_cluster_id:
            return ""
        if not self.cluster_id:
            raise ConfigError(
                "no cluster id",
                hint=f"pass cluster_id=, set {config.ZILLIZ_CLUSTER_ID}, or use the cluster's public endpoint",
            )
        return self.cluster_id

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
        if self._endpoint is not None and self._endpoint.region:  # 83004 before the cloud sees the request
            from ..storage.providers import check_same_cloud

            for url in [object_url or "", *(u for group in object_urls or () for u in group)]:
                if url:
                    check_same_cloud(url, self._endpoint.region)
        spec = ImportSpec(collection, object_url, partition, object_urls, files, options)
        if self._dialect.sends_storage_keys:
            spec = self._with_storage_keys(spec, access_key_id, access_key_secret, security_token)
        request = self._dialect.create(spec, cluster_id=cluster_id, db_name=self.db_name)
        shown_url = self._dialect.shown_url(spec, request)
        if shown_url:  # a presigned URL may carry the key id in its query: never keep it
            shown_url = self._http.redact(shown_url)

        sent_at = datetime.now(timezone.utc)

        def job(jid: str, recovered: bool = False) -> ImportJob:
            started = self.job_log.record(self._log_key(cluster_id), jid, collection, sent_at)
            return ImportJob(
                job_id=jid, collection=collection, object_url=shown_url, partition=partition or None,
                cluster_id=cluster_id or None, api_version=self.api_version, recovered=recovered,
                started_at=started,
            )  # fmt: skip

        before = self._job_ids(collection) if dedupe else None

        def look_for_the_job(exc: Exception) -> Recovered[ImportJob] | None:
            """After an answer that may hide a started job, find it; never send again while it may appear."""
            if not (
                isinstance(exc, AmbiguousRequestError)
                or (isinstance(exc, RetryableStatus) and exc.status not in _REFUSED)
            ):
                return None  # certainly not started (not sent, "too many requests", "unavailable"): send again
            assert isinstance(exc, ZillizError)
            why = describe_failure(exc)
            if before is None:
                raise AmbiguousRequestError(
                    f"the import request for {collection!r} got no clear answer ({why}); the job may have started",
                    endpoint=exc.endpoint, hint=_list_jobs_hint(collection),
                ) from None  # fmt: skip
            found = self._find_new_job(collection, before, endpoint=exc.endpoint)
            if found is None:
                raise AmbiguousRequestError(
                    f"the import request for {collection!r} got no clear answer ({why}), and no new job "
                    f"appeared in the job list within {self.lost_answer_wait:g} s; the job may still start",
                    endpoint=exc.endpoint, hint=_list_jobs_hint(collection),
                ) from None  # fmt: skip
            log.warning("import answer lost (%s); found job %s in the job list", why, found)
            return Recovered(job(found, recovered=True))

        data = retry(
            lambda: self._http.send(request.method, base + request.path, json=request.json, params=request.params),
            self._http.retry,
            retryable=transient,
            what="import create (no job was started)",
            retry_after=retry_after,
            recover=look_for_the_job,
            on_failure=gave_up,
            describe=failure_reason,
        )
        if isinstance(data, ImportJob):
            return data
        jid = job_id_of(data) if isinstance(data, Mapping) else (str(data) if data else None)
        if not jid:
            raise ZillizAPIError(
                None, "the import API answered success without a job id", endpoint=f"{request.method} {request.path}"
            )
        log.info("started import job %s into %s", jid, collection)
        return job(jid)

    def _with_storage_keys(
        self, spec: ImportSpec, access_key_id: str | None, access_key_secret: str | None, token: str | None
    ) -> ImportSpec:
        """The storage keys the cloud reads the objects with (:meth:`StorageKeys.resolve`); session secrets."""
        provider = _key_provider(spec, self._env)
        keys = config.StorageKeys.resolve(access_key_id, access_key_secret, token, env=self._env, required=False,
                                          provider=provider)  # fmt: skip
        for secret in keys.secrets:
            self._http.add_secret(secret)
        ak, sk, token = keys.access_key_id, keys.access_key_secret, keys.security_token
        return replace(spec, access_key=ak, secret_key=sk, token=token)

    def _job_ids(self, collection: str) -> set[str] | None:
        """Ids of the jobs listed for ``collection`` now, or None if the list cannot be read."""
        try:
            return {j.job_id for j in self.list_import_jobs(collection, max_pages=_DEDUPE_PAGES)}
        except ZillizError as exc:
            log.warning("could not list import jobs before creating one (%s)", describe_failure(exc))
            return None

    def _find_new_job(self, collection: str, before: set[str], *, endpoint: str | None) -> str | None:
        """Watch the job list for ``lost_answer_wait`` seconds for a job not in ``before``.

        A server that answers after our read timeout registers the job late: one quick look is not enough.
        """
        deadline = time.monotonic() + self.lost_answer_wait
        pause, failure = 0.25, ""
        while True:
            try:
                new = [j for j in self.list_import_jobs(collection, max_pages=_DEDUPE_PAGES) if j.job_id not in before]
                failure = ""
            except ZillizError as exc:
                failure = describe_failure(exc)
                new = []
            if new:
                if len(new) > 1:
                    log.warning("%d new jobs for %s appeared; taking %s", len(new), collection, new[0].job_id)
                return new[0].job_id
            left = deadline - time.monotonic()
            if left <= 0:
                if failure:
                    raise AmbiguousRequestError(
                        f"the import request for {collection!r} got no answer, and the job list cannot be read "
                        f"to check whether it started ({failure})",
                        endpoint=endpoint, hint=_list_jobs_hint(collection),
                    )  # fmt: skip
                return None
            time.sleep(min(pause, left))
            pause = min(pause * 2, 4.0)

    def get_import_progress(self, job_id: str | ImportJob, *, _deadline: float | None = None) -> ImportProgress:
        """The job's progress, normalised (state, percent 0-100, rows, per-file details, reason)."""
        jid = _job_id(job_id)
        base = self._need_controller()
        cluster_id = self._need_cluster_id()
        paths = (self._progress_path,) if self._progress_path else self._dialect.progress_paths
        for i, path in enumerate(paths):
            req = self._dialect.progress(jid, path, cluster_id=cluster_id, db_name=self.db_name)
            try:
                data = self._http.call(
                    req.method, base + req.path, json=req.json, params=req.params, deadline=_deadline
                )
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
        for page in range(1, (max_pages if self._dialect.paged_list else 1) + 1):
            req = self._dialect.list_page(
                page, page_size, cluster_id=cluster_id, collection=collection, db_name=self.db_name
            )
            data = self._http.call(req.method, base + req.path, json=req.json, params=req.params)
            items = parse_job_list(data)
            out.extend(items)
            count = _count(data)
            if len(items) < page_size or (count is not None and len(out) >= count):
                break
        if collection:
            out = [j for j in out if j.collection in (None, collection)]
        started = self.job_log.started(self._log_key(cluster_id))
        return [replace(j, started_at=started.get(j.job_id)) for j in out]

    def _log_key(self, cluster_id: str) -> str:
        """The cluster a job id belongs to, in the job log (job ids repeat across clusters)."""
        return f"{self.controller_url} {cluster_id}".strip()

    def wait_for_import(
        self,
        job_id: str | ImportJob,
        *,
        progress: ProgressArg = True,
        options: WaitOptions | None = None,
        timeout: float | None = None,
        poll_interval: float | None = None,
        stall_after: float | None = None,
        not_found_grace: float | None = None,
        ride_out: float | None = None,
        max_poll_failures: int | None = None,
    ) -> ImportProgress:
        """Poll until the job completes and return its last progress; always bounded by the timeout.

        ``progress``: True → a tqdm.auto bar 0-100 % (state and rows in the postfix, red on failure),
        a dict → bar with these tqdm kwargs, a callable → gets the :class:`ImportProgress` of every poll
        (raise in it to stop waiting, e.g. for a Cancel button; the job itself keeps running).
        ``options`` (:class:`~zimport_widgets.WaitOptions`; the keywords override single values) set the
        timeout (default 1 h), the poll interval, the stall warning, the "not registered yet" grace and
        how long failing progress calls are ridden out (default 5 min).
        Raises :class:`~zimport_widgets.errors.ImportJobFailed` (reason, per-file details) when the job
        fails, :class:`~zimport_widgets.errors.ImportTimeout` when time runs out.
        """
        opts = _wait_options(options, max_poll_failures, timeout=timeout, poll_interval=poll_interval,
                             stall_after=stall_after, not_found_grace=not_found_grace, ride_out=ride_out)  # fmt: skip
        return self._follow([_job_id(job_id)], progress, opts, single=True)[0]

    # -- plans: several pieces, several jobs, one bar ------------------------------------------------
    def start_plan(
        self,
        collection: str,
        plan: ImportPlan,
        partition: str | None = None,
        *,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        security_token: str | None = None,
    ) -> tuple[ImportJob, ...]:
        """Start every request of ``plan``: one job per batch on v2 / Milvus, one job per piece on v1.

        Each request is started as :meth:`start_import` starts one (never sent twice blindly). If a later
        request fails, the jobs already started keep running: the error names them.
        """
        jobs: list[ImportJob] = []
        for pieces in plan.requests(takes_lists=self._dialect.takes_lists):
            kwargs: dict[str, Any] = {"access_key_id": access_key_id, "access_key_secret": access_key_secret,
                                      "security_token": security_token}  # fmt: skip
            if self.api_version == "milvus":
                kwargs["files"] = [list(p.keys) for p in pieces]
            elif self._dialect.takes_lists:
                kwargs["object_urls"] = [[p.url] for p in pieces]
            else:
                kwargs["object_url"] = pieces[0].url
            try:
                jobs.append(self.start_import(collection, partition=partition, **kwargs))
            except ZillizError as exc:
                if jobs:  # say which jobs run already, so that a re-run does not import them twice
                    started = ", ".join(j.job_id for j in jobs)
                    exc.hint = (f"{len(jobs)} job(s) of this plan were started and keep running: {started}; "
                                "start only the remaining pieces")  # fmt: skip
                    exc.started_jobs = tuple(jobs)  # type: ignore[attr-defined]
                raise
        return tuple(jobs)

    def wait_for_imports(
        self,
        jobs: Sequence[str | ImportJob],
        *,
        progress: ProgressArg = True,
        options: WaitOptions | None = None,
        timeout: float | None = None,
        poll_interval: float | None = None,
        stall_after: float | None = None,
        not_found_grace: float | None = None,
        ride_out: float | None = None,
        max_poll_failures: int | None = None,
    ) -> tuple[ImportProgress, ...]:
        """Follow all ``jobs`` (e.g. of :meth:`start_plan`) with one bar; the last progress of each.

        The bar is the mean of the jobs' percentages, rows summed in the postfix; a callable ``progress``
        gets the tuple of every job's last progress. The first failed job raises
        :class:`~zimport_widgets.errors.ImportJobFailed` (the others keep running on the server); the
        options bound the whole wait, as in :meth:`wait_for_import`.
        """
        ids = [_job_id(j) for j in jobs]
        if not ids:
            raise ConfigError("no jobs to wait for")
        opts = _wait_options(options, max_poll_failures, timeout=timeout, poll_interval=poll_interval,
                             stall_after=stall_after, not_found_grace=not_found_grace, ride_out=ride_out)  # fmt: skip
        return self._follow(ids, progress, opts, single=False)

    def _follow(
        self, ids: list[str], progress: ProgressArg, opts: WaitOptions, *, single: bool
    ) -> tuple[ImportProgress, ...]:
        """The one polling loop: each unfinished job polled per round, one bar, one sleep per round."""
        start = time.monotonic()
        watches = {jid: JobWatch(jid, opts, start=start) for jid in ids}
        last: dict[str, ImportProgress] = {}
        ok = False
        desc = f"import {ids[0]}" if single else f"import {len(ids)} job(s)"
        reporter = Reporter(progress, total=100, desc=desc, unit="%")
        try:
            while True:
                for jid in ids:
                    if jid in last and last[jid].completed:
                        continue
                    p = watches[jid].poll(self._progress_getter(jid))
                    if p is None:
                        continue
                    last[jid] = p
                    if p.failed:  # the failed state reaches the bar and a callback before the error
                        if single:
                            reporter.update(p.percent, p, postfix=p.phase)
                            if reporter.bar is not None:
                                reporter.bar.set_postfix_str(f"Failed: {p.reason}"[:120], refresh=True)
                        else:
                            mean = sum(last[j].percent if j in last else 0.0 for j in ids) / len(ids)
                            reporter.update(mean, tuple(last.get(j) for j in ids), postfix=f"{jid} failed")
                    watches[jid].raise_if_failed(p)
                finished = sum(1 for j in ids if j in last and last[j].completed)
                if single:
                    one = last.get(ids[0])
                    if one is not None:  # every poll reaches a callback: it can cancel
                        reporter.update(
                            one.percent, one, postfix=one.phase + (f", {one.rows_text()}" if one.rows_text() else "")
                        )
                else:
                    done = sum(last[j].percent if j in last else 0.0 for j in ids) / len(ids)
                    rows = sum(last[j].imported_rows or 0 for j in last)
                    reporter.update(
                        done, tuple(last.get(j) for j in ids), postfix=f"{finished}/{len(ids)} done, {rows:,} rows"
                    )
                if finished == len(ids):
                    ok = True
                    return tuple(last[j] for j in ids)
                waiting = [watches[j] for j in ids if not (j in last and last[j].completed)]
                remaining = min(w.check_time() for w in waiting)  # stall warnings, the deadline
                time.sleep(min(max(w.wanted_pause() for w in waiting), remaining))
        finally:
            reporter.close(ok)

    def _progress_getter(self, jid: str) -> Callable[[float], ImportProgress]:
        return lambda deadline: self.get_import_progress(jid, _deadline=deadline)


# -- helpers -----------------------------------------------------------------------------------------


def _wait_options(options: WaitOptions | None, max_poll_failures: int | None, **values: float | None) -> WaitOptions:
    """``options`` (or the defaults) with the keywords of a wait call applied."""
    if max_poll_failures is not None:
        warnings.warn("max_poll_failures is gone: failing polls are ridden out for ride_out seconds (WaitOptions)",
                      DeprecationWarning, stacklevel=3)  # fmt: skip
    return (options or WaitOptions()).with_overrides(**values)


def _list_jobs_hint(collection: str) -> str:
    return f"list the jobs (zimport jobs --collection {collection}) before you start it again"


def _job_id(job: str | ImportJob) -> str:
    jid = job.job_id if isinstance(job, ImportJob) else job
    if not jid or not isinstance(jid, (str, int)):
        raise ConfigError("no job id given")
    return str(jid)


def _count(data: Any) -> int | None:
    if isinstance(data, Mapping):
        try:
            return int(data["count"]) if data.get("count") is not None else None
        except (TypeError, ValueError):
            return None
    return None


def _key_provider(spec: ImportSpec, env: Mapping[str, str] | None) -> str:
    """Whose keys the import reads the bucket with (``"oss"``, ``"s3"``, ``"cos"``, ``"gcs"``, ``"azure"``): the
    cloud of its object URLs, or, for a URL of no known cloud (a local store), the provider whose keys are set."""
    from ..storage.providers import url_cloud

    urls = [spec.object_url or "", *(u for group in spec.object_urls or () for u in group)]
    for url in urls:
        found = url_cloud(url) if url else None
        if found is not None and found[0] in ("oss", "s3", "cos", "gcs", "azure"):
            return found[0]
    get = config.env_getter(env)
    if get(config.OSS_ACCESS_KEY_ID):
        return "oss"
    others = (("s3", config.AWS_ACCESS_KEY_ID), ("cos", config.TENCENTCLOUD_SECRET_ID),
              ("gcs", config.GCS_HMAC_ACCESS_KEY_ID), ("azure", config.AZURE_STORAGE_ACCOUNT))  # fmt: skip
    for provider, name in others:
        if get(name):
            return provider
    return "oss"
