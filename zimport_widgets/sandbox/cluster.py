"""The cluster data plane: a subset of the Milvus/Zilliz REST v2 API on ``ZILLIZ_CLUSTER_ENDPOINT``.

``POST /v2/vectordb/collections/{create,describe,list,has,drop,get_stats}`` and
``POST /v2/vectordb/entities/{query,search,insert}`` over Milvus Lite, with the real envelope
(``{"code": 0, "data": …}``; query and search add ``"cost": 0``) and Bearer auth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request

from ..errors import SchemaError
from ..schema import CollectionSchema, DataType, FieldSchema
from .faults import Faults
from .milvus import CollectionNotFound, EngineError, MilvusEngine
from .rest import Envelope, RestApp, error, ok

__all__ = ["ClusterApp"]

INVALID_PARAMETER = 1100
COLLECTION_NOT_FOUND = 100


class ClusterApp:
    """Builds the cluster data-plane app over one :class:`MilvusEngine`."""

    def __init__(self, *, engine: MilvusEngine, faults: Faults, api_key: Callable[[], str]) -> None:
        self.engine = engine
        self.app = RestApp("cluster", api_key, faults)
        for name in ("create", "describe", "list", "has", "drop", "get_stats"):
            self.app.route("POST", f"/v2/vectordb/collections/{name}", getattr(self, f"collections_{name}"))
        for name in ("query", "search", "insert"):
            self.app.route("POST", f"/v2/vectordb/entities/{name}", getattr(self, f"entities_{name}"))
        for name in ("create", "list", "has"):
            self.app.route("POST", f"/v2/vectordb/partitions/{name}", getattr(self, f"partitions_{name}"))

    @staticmethod
    def _name(body: dict[str, Any]) -> str:
        name = body.get("collectionName")
        if not name or not isinstance(name, str):
            raise _Invalid("missing required parameters, error: collectionName is required", code=1802)
        return name

    def _guard(self, fn: Callable[[], Envelope]) -> Envelope:
        try:
            return fn()
        except CollectionNotFound as exc:
            return error(COLLECTION_NOT_FOUND, str(exc))
        except _Invalid as exc:
            return error(exc.code, str(exc))
        except (EngineError, SchemaError) as exc:
            return error(INVALID_PARAMETER, f"invalid parameter: {exc}")

    # -- partitions -----------------------------------------------------------------------------------
    def _partition(self, body: dict[str, Any]) -> str:
        part = body.get("partitionName")
        if not part or not isinstance(part, str):
            raise _Invalid("missing required parameters, error: partitionName is required", code=1802)
        return part

    def partitions_create(self, request: Request, body: dict[str, Any]) -> Envelope:
        def run() -> Envelope:
            name, part = self._name(body), self._partition(body)
            self.engine.create_partition(name, part)
            return ok({})

        return self._guard(run)

    def partitions_list(self, request: Request, body: dict[str, Any]) -> Envelope:
        return self._guard(lambda: ok(self.engine.list_partitions(self._name(body))))

    def partitions_has(self, request: Request, body: dict[str, Any]) -> Envelope:
        return self._guard(lambda: ok({"has": self.engine.has_partition(self._name(body), self._partition(body))}))

    # -- collections ----------------------------------------------------------------------------------
    def collections_create(self, request: Request, body: dict[str, Any]) -> Envelope:
        def run() -> Envelope:
            name = self._name(body)
            if self.engine.has_collection(name):
                raise _Invalid(f"collection already exists: {name}")
            schema, index_params = _create_request(name, body)
            self.engine.create_collection(schema, index_params, name=name)
            return ok({})

        return self._guard(run)

    def collections_describe(self, request: Request, body: dict[str, Any]) -> Envelope:
        return self._guard(lambda: ok(self.engine.describe(self._name(body))))

    def collections_list(self, request: Request, body: dict[str, Any]) -> Envelope:
        return self._guard(lambda: ok(sorted(self.engine.list_collections())))

    def collections_has(self, request: Request, body: dict[str, Any]) -> Envelope:
        return self._guard(lambda: ok({"has": self.engine.has_collection(self._name(body))}))

    def collections_drop(self, request: Request, body: dict[str, Any]) -> Envelope:
        def run() -> Envelope:
            name = self._name(body)
            if self.engine.has_collection(name):
                self.engine.drop_collection(name)
            return ok({})

        return self._guard(run)

    def collections_get_stats(self, request: Request, body: dict[str, Any]) -> Envelope:
        return self._guard(lambda: ok({"rowCount": self.engine.count(self._name(body))}))

    # -- entities -------------------------------------------------------------------------------------
    def entities_query(self, request: Request, body: dict[str, Any]) -> Envelope:
        def run() -> Envelope:
            rows = self.engine.query(
                self._name(body), filter=str(body.get("filter") or ""), output_fields=body.get("outputFields"),
                limit=_int(body.get("limit"), 100), offset=_int(body.get("offset"), 0), ids=body.get("ids"),
            )  # fmt: skip
            return ok(rows, cost=0)

        return self._guard(run)

    def entities_search(self, request: Request, body: dict[str, Any]) -> Envelope:
        def run() -> Envelope:
            data = body.get("data")
            if not isinstance(data, list) or not data:
                raise _Invalid("missing required parameters, error: data is required", code=1802)
            if not isinstance(data[0], list):
                data = [data]
            params = dict(body.get("searchParams") or {})
            hits = self.engine.search(
                self._name(body), data, anns_field=body.get("annsField") or None, limit=_int(body.get("limit"), 100),
                filter=str(body.get("filter") or ""), output_fields=body.get("outputFields"),
                search_params=params or None, offset=_int(body.get("offset"), 0),
            )  # fmt: skip
            return ok(hits, cost=0)

        return self._guard(run)

    def entities_insert(self, request: Request, body: dict[str, Any]) -> Envelope:
        def run() -> Envelope:
            name = self._name(body)
            rows = body.get("data")
            if isinstance(rows, dict):
                rows = [rows]
            if not isinstance(rows, list) or not rows:
                raise _Invalid("missing required parameters, error: data is required", code=1802)
            self.engine.schema(name)  # raises CollectionNotFound first
            ids = self.engine.user_ids(name, rows, self.engine.insert(name, rows))
            return ok({"insertCount": len(rows), "insertIds": ids})

        return self._guard(run)


class _Invalid(Exception):
    def __init__(self, message: str, *, code: int = INVALID_PARAMETER) -> None:
        super().__init__(message)
        self.code = code


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        raise _Invalid(f"invalid parameter: expected an integer, got {value!r}") from None


def _create_request(name: str, body: dict[str, Any]) -> tuple[CollectionSchema, list[dict[str, Any]]]:
    """The schema and index params of a ``collections/create`` body (custom schema or quick setup)."""
    raw = body.get("schema")
    if isinstance(raw, dict) and raw.get("fields"):
        doc = dict(raw)
        dyn = doc.get("enableDynamicField", doc.get("enabledDynamicField", False))
        doc["enableDynamicField"] = bool(dyn)
        doc["collectionName"] = name
        schema = CollectionSchema.from_rest(doc)
        index_params = [dict(p) for p in body.get("indexParams") or [] if isinstance(p, dict)]
        return schema, index_params
    dim = body.get("dimension")
    if not dim:
        raise _Invalid("invalid parameter: a schema or a dimension (quick setup) is required")
    id_type = DataType.parse(body.get("idType") or "Int64")
    if id_type not in (DataType.INT64, DataType.VARCHAR):
        raise _Invalid(f"invalid parameter: idType must be Int64 or VarChar, not {body.get('idType')!r}")
    params = body.get("params") or {}
    max_length = int(params.get("max_length", 512)) if id_type is DataType.VARCHAR else None
    pk = FieldSchema(str(body.get("primaryFieldName") or "id"), id_type, is_primary=True,
                     auto_id=bool(body.get("autoID", body.get("autoId", False))), max_length=max_length)  # fmt: skip
    vec = FieldSchema(str(body.get("vectorFieldName") or "vector"), DataType.FLOAT_VECTOR, dim=int(dim))
    schema = CollectionSchema(fields=(pk, vec), enable_dynamic_field=True, collection_name=name)
    metric = str(body.get("metricType") or "COSINE")
    return schema, [{"fieldName": vec.name, "metricType": metric, "indexType": "AUTOINDEX"}]
