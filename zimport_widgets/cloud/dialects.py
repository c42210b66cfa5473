"""The three import APIs as classes: what each one's create, progress and list requests look like.

* :class:`V1Dialect` (``"v1"``, the Zilliz import doc): the regional controller,
  ``/v1/vector/collections/import[/get|/list]``, success code 200, progress a 0-1 fraction;
* :class:`V2Dialect` (``"v2"``): Zilliz Cloud's ``/v2/vectordb/jobs/import/*`` on ``api.cloud.zilliz.com``;
  ``objectUrls`` groups, STS tokens, ``dbName``;
* :class:`MilvusDialect` (``"milvus"``): a self-hosted Milvus ≥ 2.4 on the cluster endpoint, ``files``
  (bucket-relative paths) instead of object URLs and keys.

The client picks one from :data:`DIALECTS` and never branches on the version itself; a fourth API is
one more class here (see the import API reference §1-§2 for each shape).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ConfigError
from ..storage.object_url import bucket_relative_path
from .endpoints import ClusterEndpoint

__all__ = [
    "API_VERSIONS",
    "DIALECTS",
    "ImportDialect",
    "ImportSpec",
    "MilvusDialect",
    "Request",
    "V1Dialect",
    "V2Dialect",
]

_V2_CREATE = "/v2/vectordb/jobs/import/create"
_V2_LIST = "/v2/vectordb/jobs/import/list"


@dataclass(frozen=True)
class Request:
    """One HTTP request to the import API: ``json`` for POST bodies, ``params`` for GET queries."""

    method: str
    path: str
    json: dict[str, Any] | None = field(default=None, repr=False)  # the create body holds the storage keys
    params: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ImportSpec:
    """What to import: the collection, the data (an object URL, URL groups or Milvus files) and the keys."""

    collection: str
    object_url: str | None = field(default=None, repr=False)  # a presigned URL carries the key id
    partition: str | None = None
    object_urls: Sequence[Sequence[str]] | None = None
    files: Sequence[Sequence[str]] | None = None
    options: Mapping[str, str] | None = None
    access_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    token: str | None = field(default=None, repr=False)

    @property
    def shown_url(self) -> str | None:
        """The URL an :class:`ImportJob` shows (the first one given)."""
        if self.object_url:
            return self.object_url
        groups = self.object_urls or self.files
        return groups[0][0] if groups and groups[0] else None


class ImportDialect:
    """One import API. Subclasses say where it lives and how its requests look."""

    name: ClassVar[str]
    #: Whether the API needs a Zilliz API key / a cluster id / the storage keys in the create body.
    needs_api_key: ClassVar[bool] = True
    needs_cluster_id: ClassVar[bool] = True
    sends_storage_keys: ClassVar[bool] = True
    #: Whether the job list is read page by page (else it comes whole).
    paged_list: ClassVar[bool] = True
    #: Whether one request takes several import entries (``objectUrls`` / ``files`` lists).
    takes_lists: ClassVar[bool] = True
    #: The progress route's names, tried in order (the first that exists is remembered; §0.5).
    progress_paths: ClassVar[tuple[str, ...]]

    def controller_url(self, endpoint: ClusterEndpoint) -> str | None:
        """The import API's base URL for a cluster endpoint (None: not derivable, pass controller_url=)."""
        raise NotImplementedError

    def create(self, spec: ImportSpec, *, cluster_id: str, db_name: str | None) -> Request:
        raise NotImplementedError

    def progress(self, job_id: str, path: str, *, cluster_id: str, db_name: str | None) -> Request:
        body: dict[str, Any] = {"jobId": job_id}
        if self.needs_cluster_id:
            body["clusterId"] = cluster_id
        return Request("POST", path, json=_with_db(body, db_name))

    def list_page(
        self, page: int, page_size: int, *, cluster_id: str, collection: str | None, db_name: str | None
    ) -> Request:
        body = {"clusterId": cluster_id, "pageSize": page_size, "currentPage": page}
        return Request("POST", _V2_LIST, json=_with_db(body, db_name))

    def shown_url(self, spec: ImportSpec, request: Request) -> str | None:
        """The URL the started job shows."""
        return spec.shown_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class V1Dialect(ImportDialect):
    takes_lists = False  # one objectUrl per request: a plan is one job per piece
    name = "v1"
    progress_paths = ("/v1/vector/collections/import/get",)

    def controller_url(self, endpoint: ClusterEndpoint) -> str | None:
        return endpoint.controller_url

    def create(self, spec: ImportSpec, *, cluster_id: str, db_name: str | None) -> Request:
        if spec.token:
            raise ConfigError(
                "STS temporary keys (a security token) can only be passed by the v2 import API",
                hint='use ImportClient(..., api_version="v2"), or long-term keys with v1',
            )
        return Request("POST", "/v1/vector/collections/import", json=_zilliz_body(spec, cluster_id, groups=False))

    def progress(self, job_id: str, path: str, *, cluster_id: str, db_name: str | None) -> Request:
        return Request("GET", path, params={"jobId": job_id, "clusterId": cluster_id})

    def list_page(
        self, page: int, page_size: int, *, cluster_id: str, collection: str | None, db_name: str | None
    ) -> Request:
        params = {"clusterId": cluster_id, "pageSize": page_size, "currentPage": page}
        return Request("GET", "/v1/vector/collections/import/list", params=params)


class V2Dialect(ImportDialect):
    name = "v2"
    progress_paths = (
        "/v2/vectordb/jobs/import/getProgress",
        "/v2/vectordb/jobs/import/describe",
        "/v2/vectordb/jobs/import/get_progress",
    )

    def controller_url(self, endpoint: ClusterEndpoint) -> str | None:
        return endpoint.control_plane_url

    def create(self, spec: ImportSpec, *, cluster_id: str, db_name: str | None) -> Request:
        return Request("POST", _V2_CREATE, json=_with_db(_zilliz_body(spec, cluster_id, groups=True), db_name))


class MilvusDialect(ImportDialect):
    name = "milvus"
    needs_api_key = False
    needs_cluster_id = False
    sends_storage_keys = False
    paged_list = False
    progress_paths = ("/v2/vectordb/jobs/import/get_progress", "/v2/vectordb/jobs/import/describe")

    def controller_url(self, endpoint: ClusterEndpoint) -> str | None:
        return endpoint.url  # the import API is on the cluster endpoint itself

    def create(self, spec: ImportSpec, *, cluster_id: str, db_name: str | None) -> Request:
        raw = spec.files or spec.object_urls or ([[spec.object_url]] if spec.object_url else [])
        groups = [[bucket_relative_path(u) for u in g] for g in raw]
        if not groups:
            raise ConfigError("no files to import", hint="pass object_url= or files=[[path, ...], ...]")
        body: dict[str, Any] = {"collectionName": spec.collection, "files": groups}
        if spec.partition:
            body["partitionName"] = spec.partition
        if spec.options:
            body["options"] = {str(k): str(v) for k, v in spec.options.items()}
        return Request("POST", _V2_CREATE, json=_with_db(body, db_name))

    def shown_url(self, spec: ImportSpec, request: Request) -> str | None:
        files = (request.json or {}).get("files") or [[]]
        return spec.object_url or (files[0][0] if files[0] else None)

    def list_page(
        self, page: int, page_size: int, *, cluster_id: str, collection: str | None, db_name: str | None
    ) -> Request:
        return Request("POST", _V2_LIST, json=_with_db({"collectionName": collection} if collection else {}, db_name))


#: The registry: ``api_version`` → dialect.
DIALECTS: dict[str, ImportDialect] = {d.name: d for d in (V1Dialect(), V2Dialect(), MilvusDialect())}
API_VERSIONS = tuple(DIALECTS)


def _zilliz_body(spec: ImportSpec, cluster_id: str, *, groups: bool) -> dict[str, Any]:
    """The create body of the Zilliz APIs: object URL(s) and the storage keys the cloud reads them with."""
    if not spec.object_url and not spec.object_urls:
        raise ConfigError("no object URL given", hint="pass the object URL that upload_to_oss returned")
    body: dict[str, Any] = {
        "clusterId": cluster_id,
        "collectionName": spec.collection,
        "partitionName": spec.partition or "",
    }
    if spec.object_urls and groups:
        body["objectUrls"] = [list(g) for g in spec.object_urls]
    else:
        body["objectUrl"] = spec.shown_url
    body["accessKey"], body["secretKey"] = spec.access_key, spec.secret_key
    if spec.token:
        body["token"] = spec.token
    return body


def _with_db(body: dict[str, Any], db_name: str | None) -> dict[str, Any]:
    if db_name:
        body["dbName"] = db_name
    return body
