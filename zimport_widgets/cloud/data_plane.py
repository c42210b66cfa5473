"""The cluster's data plane (REST v2 on the cluster endpoint): collections, count, search, verify.

:class:`DataPlane` is a mixin of :class:`~zimport_widgets.cloud.client.ImportClient`: it needs the
client's HTTP session, cluster endpoint and database name, and adds the calls that prepare a collection
before an import and verify it after. Writes are never applied twice: after a lost answer they look
whether they took effect before they are sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import config
from ..errors import ConfigError, ZillizAPIError
from ..retry import Recovered, retry
from ..schema import CollectionSchema, DataType
from .http import ApiSession, failure_reason, retry_after, transient
from .search_results import SearchHit, SearchResult, VerifyResult

__all__ = ["DataPlane"]

log = logging.getLogger("zimport_widgets.cloud")


class DataPlane:
    """Collections and rows of the cluster, through its endpoint's REST v2 API."""

    _http: ApiSession
    cluster_endpoint: str | None
    db_name: str | None

    def _need_endpoint(self) -> str:
        if not self.cluster_endpoint:
            raise ConfigError(
                "no cluster endpoint given",
                hint=f"pass cluster_endpoint= or set {config.ZILLIZ_CLUSTER_ENDPOINT}",
            )
        return self.cluster_endpoint

    def _dp(self, path: str, body: dict[str, Any], *, read: bool = True) -> Any:
        url = self._need_endpoint() + path
        if self.db_name:
            body = {**body, "dbName": self.db_name}
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

        def took_effect(exc: Exception) -> Recovered[None] | None:
            if not done():
                return None
            log.info("%s failed (%s) but took effect", path, type(exc).__name__)
            return Recovered(None)

        retry(
            lambda: self._dp(path, body, read=False),
            self._http.retry,
            retryable=transient,
            what=f"POST {path}",
            retry_after=retry_after,
            recover=took_effect,
            describe=failure_reason,
        )

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
            body = {"collectionName": name, "schema": schema.to_create_json()}
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
        schema: CollectionSchema | None = None,
    ) -> SearchResult:
        """One sample search. Without ``vector`` the first stored row's vector is used (a self-hit
        at the top is the expected answer). ``schema`` saves a describe call when the caller has it."""
        if schema is None and (anns_field is None or output_fields is None):
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
        """Row count plus one sample search: the "verify the result" step.

        A collection without a dense vector field (sparse vectors only) is verified by its row count alone
        (``searched`` is False): the sample search needs a dense vector to search with.
        """
        schema = self.describe_collection(name)
        rows = self.count_rows(name)
        searchable = any(f.dtype is not DataType.SPARSE_FLOAT_VECTOR for f in schema.vector_fields)
        search = self.search_sample(name, schema=schema) if rows > 0 and searchable else None
        return VerifyResult(name, rows, expected_rows, search, searched=searchable)
