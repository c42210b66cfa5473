"""The import controller: Zilliz Cloud's import REST API, v1 and v2, over the sandbox's store and cluster.

v1 (``ZILLIZ_CONTROLLER_URL``, success code 200): ``POST /v1/vector/collections/import``,
``GET /v1/vector/collections/import/get?jobId=&clusterId=``, ``GET /v1/vector/collections/import/list``.
v2 (same host, success code 0): ``POST /v2/vectordb/jobs/import/{create,getProgress,describe,get_progress,list}``.
The open-source Milvus flavour of the v2 routes (``files`` relative to the bucket, no cluster id) is also
served on the cluster endpoint. Error codes are the documented ones (see ``import-api-reference.md``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request

from .faults import Faults
from .importer import FileTask, ImportJobRecord, JobRunner, new_job_id
from .milvus import MilvusEngine
from .objects import (
    ImportRequestError,
    ObjectGroup,
    ObjectRef,
    StoreAccessError,
    StoreReader,
    explicit_group,
    group_objects,
    store_reader,
)
from .objects import parse_object_url as _parse_url
from .oss_store import OssStore
from .rest import Envelope, RestApp, error, ok

__all__ = ["ImportController"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_GROUPS = 1024
META = "$meta"


class ImportController:
    """Builds the controller app (and the import routes of the cluster app) over one store and engine."""

    def __init__(
        self,
        *,
        store: OssStore,
        engine: MilvusEngine,
        runner: JobRunner,
        faults: Faults,
        api_key: Callable[[], str],
        cluster_id: Callable[[], str],
    ) -> None:
        self.store, self.engine, self.runner = store, engine, runner
        self._cluster_id = cluster_id
        self.app = RestApp("controller", api_key, faults, max_body_bytes=4 * 1024 * 1024)
        self.app.bad_json_code = 80000
        self.app.route("POST", "/v1/vector/collections/import", self.v1_create)
        self.app.route("GET", "/v1/vector/collections/import/get", self.v1_get)
        self.app.route("GET", "/v1/vector/collections/import/list", self.v1_list)
        self.app.route("POST", "/v2/vectordb/jobs/import/create", self.v2_create)
        for name in ("getProgress", "describe", "get_progress"):
            self.app.route("POST", f"/v2/vectordb/jobs/import/{name}", self.v2_get)
        self.app.route("POST", "/v2/vectordb/jobs/import/list", self.v2_list)

    def mount_milvus_routes(self, app: RestApp) -> None:
        """The open-source Milvus flavour of the v2 import routes, for the cluster endpoint."""
        app.route("POST", "/v2/vectordb/jobs/import/create", self.milvus_create)
        for name in ("describe", "get_progress", "getProgress"):
            app.route("POST", f"/v2/vectordb/jobs/import/{name}", self.milvus_get)
        app.route("POST", "/v2/vectordb/jobs/import/list", self.milvus_list)

    # -- shared checks ------------------------------------------------------------------------------
    def _check_cluster(self, value: Any) -> None:
        if value is None or str(value).strip() == "":
            raise ImportRequestError(90104, "The clusterId parameter is empty in the request parameter.")
        if str(value).strip() != self._cluster_id():
            raise ImportRequestError(40021, "The cluster ID does not exist.")

    def _check_collection(self, name: Any) -> str:
        if not name or not isinstance(name, str):
            raise ImportRequestError(80000, "Incorrect parameter: collectionName is required")
        if not _NAME.match(name):
            raise ImportRequestError(
                90011, "Invalid CollectionName. Reason: Name contains only alphanumeric letters and underscores"
            )
        if not self.engine.has_collection(name):
            raise ImportRequestError(47005, "The specified cluster collection not exists.")
        return name

    def _parse(self, url: Any) -> ObjectRef:
        if not isinstance(url, str):
            raise ImportRequestError(10003, f"Invalid s3 ObjectUrl. [{url!r}]")
        return _parse_url(url, store_host=self.store._server.host, store_port=self.store.port,
                          region=self.store.region, cloud=self.store.cloud)  # fmt: skip

    def _list(self, ref: ObjectRef, reader: StoreReader) -> list[tuple[str, int]] | None:
        """The listing of ``ref`` with the request's keys; None when the store refused the keys."""
        try:
            listing = reader.listing(ref)
        except StoreAccessError as exc:
            if exc.not_found:
                raise ImportRequestError(83001, f"Failed to getObjectMeta {{{ref.url}}}: {exc.reason}") from None
            return None  # the keys were refused: accept the job; it fails with the store's reason when it reads
        if not listing:
            raise ImportRequestError(83001, f"Failed to getObjectMeta {{{ref.url}}}: no object found")
        return listing

    def _groups(self, sources: list[list[ObjectRef]], reader: StoreReader) -> list[FileTask]:
        """File groups of the request: each inner list is one folder/file, or several files forming one group."""
        tasks: list[FileTask] = []
        for refs in sources:
            if len(refs) == 1:
                ref = refs[0]
                listing = self._list(ref, reader)
                if listing is None:
                    tasks.append(FileTask(ObjectGroup(label=ref.key or ref.url, kind="unknown"), ref.bucket, ref=ref))
                else:
                    tasks += [FileTask(g, ref.bucket) for g in group_objects(ref, listing)]
                continue
            if any(r.folder for r in refs) or len({r.bucket for r in refs}) > 1:
                raise ImportRequestError(10003, "Invalid s3 ObjectUrl. [a group of several paths must list files]")
            combined: list[tuple[str, int]] = []
            for ref in refs:
                listing = self._list(ref, reader)
                if listing is None:
                    tasks.append(FileTask(ObjectGroup(label=ref.key, kind="unknown"), ref.bucket, ref=ref))
                    combined = []
                    break
                combined += listing
            if combined:
                tasks.append(FileTask(explicit_group(combined), refs[0].bucket))
        if len(tasks) > MAX_GROUPS:
            raise ImportRequestError(47053, f"Failed to checkFiles: {len(tasks)} file groups, at most {MAX_GROUPS}")
        return tasks

    def _check_numpy_sets(self, collection: str, tasks: list[FileTask]) -> None:
        schema = self.engine.schema(collection)
        expected = {f.name for f in schema.input_fields}
        for task in tasks:
            if task.group.kind != "numpy":
                continue
            names = {k.rsplit("/", 1)[-1][: -len(".npy")] for k in task.group.keys}
            allowed = len(expected) + (1 if schema.enable_dynamic_field and META in names else 0)
            if len(names) != allowed:
                raise ImportRequestError(
                    47036,
                    "The number of objects not equal to the number of collection fields. "
                    f"[{task.group.label}: {len(names)} .npy files, collection {collection!r}: {len(expected)} "
                    f"fields to import ({', '.join(sorted(expected))})]",
                )
            missing = sorted(expected - names)
            if missing:
                raise ImportRequestError(
                    47053, f"Failed to checkFiles {{{task.group.label}}}: no file for field: {', '.join(missing)}"
                )

    def _submit(self, collection: str, partition: Any, tasks: list[FileTask], reader: StoreReader) -> str:
        job = ImportJobRecord(
            job_id=new_job_id(), collection=collection, cluster_id=self._cluster_id(), files=tasks, reader=reader,
            partition=str(partition or ""),
        )  # fmt: skip
        self.runner.submit(job)
        return job.job_id

    def _reader(self, body: dict[str, Any]) -> StoreReader:
        return store_reader(
            self.store, str(body.get("accessKey") or ""), str(body.get("secretKey") or ""),
            str(body.get("token") or ""),
        )  # fmt: skip

    def _job(self, job_id: Any) -> ImportJobRecord:
        if job_id is None or str(job_id).strip() == "":
            raise ImportRequestError(80000, "Incorrect parameter: jobId is required")
        job = self.runner.get(str(job_id).strip())
        if job is None:
            raise ImportRequestError(90144, "No jobId record found under this cluster")
        return job

    @staticmethod
    def _page(raw_size: Any, raw_page: Any, *, strict: bool) -> tuple[int, int]:
        try:
            size = int(raw_size) if raw_size not in (None, "") else 10
            page = int(raw_page) if raw_page not in (None, "") else 1
        except (TypeError, ValueError):
            raise ImportRequestError(80000, "Incorrect parameter: pageSize and currentPage must be integers") from None
        if strict and not 5 <= size <= 100:
            raise ImportRequestError(80003, "The parameter value for 'pageSize' should be between 5 and 100.")
        if page < 1:
            raise ImportRequestError(
                80004, "The parameter 'currentPage' should have a value between 1 and the maximum value of Int."
            )
        return max(1, size), page

    # -- v1 -----------------------------------------------------------------------------------------
    def v1_create(self, request: Request, body: dict[str, Any]) -> Envelope:
        if not body:
            raise ImportRequestError(90142, "No import content provided.")
        self._check_cluster(body.get("clusterId"))
        collection = self._check_collection(body.get("collectionName"))
        url = body.get("objectUrl")
        if not url:
            raise ImportRequestError(90145, "No ObjectUrl key field.")
        ref = self._parse(url)
        reader = self._reader(body)
        tasks = self._groups([[ref]], reader)
        self._check_numpy_sets(collection, tasks)
        return ok({"jobId": self._submit(collection, body.get("partitionName"), tasks, reader)}, code=200)

    def v1_get(self, request: Request, body: Any) -> Envelope:
        self._check_cluster(request.args.get("clusterId"))
        job = self._job(request.args.get("jobId"))
        return ok(job.v1_progress(), code=200)

    def v1_list(self, request: Request, body: Any) -> Envelope:
        self._check_cluster(request.args.get("clusterId"))
        size, page = self._page(request.args.get("pageSize"), request.args.get("currentPage"), strict=True)
        jobs = self.runner.jobs(request.args.get("collectionName") or None)
        chunk = jobs[(page - 1) * size : page * size]
        return ok({"tasks": [j.v1_list_item() for j in chunk], "count": len(jobs), "currentPage": page,
                   "pageSize": size}, code=200)  # fmt: skip

    # -- v2 (Zilliz Cloud control plane) ------------------------------------------------------------------
    def _v2_refs(self, body: dict[str, Any]) -> list[list[ObjectRef]]:
        raw = body.get("objectUrls")
        if raw:
            if not isinstance(raw, list):
                raise ImportRequestError(10003, "Invalid s3 ObjectUrl. [objectUrls must be a list of lists]")
            return [[self._parse(u) for u in item] if isinstance(item, list) else [self._parse(item)] for item in raw]
        if body.get("objectUrl"):
            return [[self._parse(body["objectUrl"])]]
        return []

    def _file_refs(self, files: Any) -> list[list[ObjectRef]]:
        """``files`` (Milvus style): lists of keys relative to the sandbox bucket, one list per group."""
        if not isinstance(files, list) or not all(isinstance(g, list) and g for g in files):
            raise ImportRequestError(1100, "invalid parameter: files must be a non-empty list of lists of paths")
        groups = []
        for group in files:
            refs = []
            for key in group:
                if not isinstance(key, str) or not key.strip("/"):
                    raise ImportRequestError(1100, f"invalid parameter: bad file path {key!r}")
                refs.append(self._parse(f"oss://{self.store.bucket}/{key.lstrip('/')}"))
            groups.append(refs)
        return groups

    def v2_create(self, request: Request, body: dict[str, Any]) -> Envelope:
        if not body:
            raise ImportRequestError(90142, "No import content provided.")
        self._check_cluster(body.get("clusterId"))
        collection = self._check_collection(body.get("collectionName"))
        refs = self._v2_refs(body)
        if not refs and body.get("files"):
            refs = self._file_refs(body["files"])
        if not refs:
            raise ImportRequestError(90145, "No ObjectUrl key field.")
        reader = self._reader(body)
        tasks = self._groups(refs, reader)
        self._check_numpy_sets(collection, tasks)
        return ok({"jobId": self._submit(collection, body.get("partitionName"), tasks, reader)})

    @staticmethod
    def _job_id(body: dict[str, Any]) -> Any:
        return body.get("jobId", body.get("jobID"))

    def v2_get(self, request: Request, body: dict[str, Any]) -> Envelope:
        self._check_cluster(body.get("clusterId"))
        return ok(self._job(self._job_id(body)).v2_progress())

    def v2_list(self, request: Request, body: dict[str, Any]) -> Envelope:
        self._check_cluster(body.get("clusterId"))
        size, page = self._page(body.get("pageSize"), body.get("currentPage"), strict=False)
        jobs = self.runner.jobs(body.get("collectionName") or None)
        chunk = jobs[(page - 1) * size : page * size]
        return ok({"count": len(jobs), "currentPage": page, "pageSize": size,
                   "records": [j.v2_list_item() for j in chunk]})  # fmt: skip

    # -- v2, open-source Milvus flavour (cluster endpoint) ------------------------------------------------
    def milvus_create(self, request: Request, body: dict[str, Any]) -> Envelope:
        if not body.get("collectionName"):
            return error(1802, "missing required parameters, error: collectionName is required")
        if not body.get("files"):
            return error(1802, "missing required parameters, error: files is required")
        collection = self._check_collection(body.get("collectionName"))
        refs = self._file_refs(body["files"])
        reader = store_reader(self.store, self.store.access_key_id, self.store.access_key_secret)
        tasks = self._groups(refs, reader)
        self._check_numpy_sets(collection, tasks)
        return ok({"jobId": self._submit(collection, body.get("partitionName"), tasks, reader)})

    def milvus_get(self, request: Request, body: dict[str, Any]) -> Envelope:
        job_id = self._job_id(body)
        job = self.runner.get(str(job_id)) if job_id else None
        if job is None:
            return error(2100, f"importing data failed: import job does not exist, jobID={job_id}")
        data = job.v2_progress()
        if not data["reason"]:
            data.pop("reason")
        return ok(data)

    def milvus_list(self, request: Request, body: dict[str, Any]) -> Envelope:
        return ok({"records": [j.v2_list_item() for j in self.runner.jobs(body.get("collectionName") or None)]})
