"""The sandbox's cluster engine: Milvus Lite (in-process) behind ``pymilvus.MilvusClient``, started lazily.

:class:`MilvusEngine` starts Milvus Lite in a background thread (it takes ~1-2 s to import and open),
so the HTTP servers can answer at once; calls that need it wait until it is ready.

Milvus Lite's index calls (``list_indexes``/``describe_index``) count the collection's rows on every
call, which is slow while the rows sit unflushed in its memtable; the engine keeps each collection's
index description (invalidated when the engine creates or drops the collection, or on
:meth:`MilvusEngine.invalidate`), and an import flushes its rows into sealed segments before it
completes, as the real service persists imported data. ``count(*)`` is always a real query.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import shutil
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from ..private_files import write_private
from ..schema import CollectionSchema, DataType, FieldSchema

__all__ = ["KEYS_FILE", "ROW_ID", "CollectionNotFound", "EngineError", "MilvusEngine"]

#: The hidden primary key of a lite collection keyed by the user (see ``MilvusEngine.keeps_duplicates``).
ROW_ID = "_zimport_row_id"
#: Which field is the user's primary key, per collection with a hidden ``ROW_ID`` (Milvus Lite keeps no
#: field or collection descriptions to mark it in): a small JSON file beside the database.
KEYS_FILE = "user_keys.json"

log = logging.getLogger("zimport_widgets.sandbox")

#: Index types Milvus Lite builds; anything else is served by AUTOINDEX (as on Zilliz Cloud).
LITE_INDEX_TYPES = {"AUTOINDEX", "FLAT", "IVF_FLAT", "HNSW", "BIN_FLAT", "BIN_IVF_FLAT", "SPARSE_INVERTED_INDEX"}


class EngineError(Exception):
    """A Milvus Lite call failed; ``str()`` is the engine's message."""


class CollectionNotFound(EngineError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"collection not found[database=default][collection={name}]")


class _UnimplementedFilter(logging.Filter):
    """pymilvus 3 asks Milvus Lite for AllocTimestamp, which it lacks; the call is optional, the traceback noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Method not implemented" not in record.getMessage()


_GRPC_FILTER = _UnimplementedFilter()


class MilvusEngine:
    """One Milvus Lite database in ``data_dir`` (``milvus.db`` inside it).

    Milvus Lite cannot bulk-import, so with this engine the sandbox's import jobs trust the project's
    own checker and converter (:mod:`.importer`); the ``"milvus"`` engine (:mod:`.real_engine`) asks a
    real server instead.
    """

    kind = "lite"
    #: Milvus Lite replaces a row whose primary key is there already (an upsert); Milvus and Zilliz Cloud keep
    #: both (an import inserts). So here a collection keyed by the user gets a hidden auto-id primary key,
    #: ``ROW_ID``, and the user's key is a plain field (named in ``KEYS_FILE``); the REST answers show the
    #: user's schema and keys only. A real server (``RealMilvusEngine``) keeps duplicates itself.
    keeps_duplicates = False

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.db_path = os.path.join(data_dir, "milvus.db")
        self._client: Any = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._ids: dict[str, int] = {}
        self._created: dict[str, float] = {}
        self._index_info: dict[str, list[dict[str, str]]] = {}  # collection -> describe()'s "indexes"
        self._generation: dict[str, int] = {}  # bumped on create/drop/invalidate: a fetch in flight is not kept
        self._server: tuple[Any, Any] | None = None
        self._socket_dir: str | None = None
        self._keys: dict[str, str] | None = None  # collection -> the user's primary key behind ROW_ID

    @property
    def description(self) -> str:
        return "Milvus Lite (imports checked by the project's own checker, then inserted)"

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> MilvusEngine:
        """Start opening Milvus Lite in the background (returns at once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._open, name="zimport-milvus-lite", daemon=True)
            self._thread.start()
        return self

    def _open(self) -> None:
        grpc_log = logging.getLogger("grpc._server")
        if _GRPC_FILTER not in grpc_log.filters:
            grpc_log.addFilter(_GRPC_FILTER)
        try:
            os.makedirs(self.data_dir, exist_ok=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._client = self._connect()
                self._load_all()
        except BaseException as exc:  # reported to every caller of .client
            self._error = exc
        finally:
            self._ready.set()

    def _connect(self) -> Any:
        """Open the database and return its ``MilvusClient`` (runs in the background thread).

        pymilvus would serve a ``.db`` path on an unauthenticated TCP port of 127.0.0.1 that any local
        user could reach; the engine serves it on a Unix socket in a private (0700) folder instead.
        """
        import tempfile

        from milvus_lite.adapter.grpc.server import start_server_in_thread
        from pymilvus import MilvusClient

        self._socket_dir = tempfile.mkdtemp(prefix="zimport-lite-")  # 0700; short enough for a socket path
        os.chmod(self._socket_dir, 0o700)
        base = os.path.join(self._socket_dir, "milvus")
        # start_server_in_thread binds f"{host}:{port}": the socket file is "milvus:0"
        server, db, _ = start_server_in_thread(data_dir=self.db_path, host=f"unix:{base}", port=0)
        self._server = (server, db)
        return MilvusClient(f"unix:{base}:0")

    def _load_all(self) -> None:
        """Load the collections a database holds from an earlier run (a restart leaves them unloaded)."""
        client = self._client
        for name in client.list_collections():
            try:
                client.load_collection(name)
            except Exception as exc:  # e.g. no index: it stays unloaded, as on the service
                log.warning("collection %s could not be loaded (%s)", name, exc)

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until Milvus Lite is open (True) or failed/timed out (False)."""
        self.start()
        return self._ready.wait(timeout) and self._error is None

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._error is None

    @property
    def client(self) -> Any:
        if not self._ready.wait(self.start_timeout):
            raise EngineError(f"the engine did not start within {self.start_timeout:.0f} s")
        if self._error is not None:
            raise EngineError(f"the engine ({self.kind}) failed to start: {self._error}")
        return self._client

    def stop(self) -> None:
        if self._thread is not None:
            self._ready.wait(self.start_timeout)
        self._thread = None
        self._ready.clear()
        self.invalidate()
        self._error = None
        client, self._client = self._client, None
        with contextlib.suppress(Exception):
            if client is not None:
                client.close()
        self._release()

    #: how long a caller waits for the engine to open
    start_timeout = 120.0

    def _release(self) -> None:
        """Let go of what :meth:`_open` started: Milvus Lite's server, its database and its socket."""
        served, self._server = self._server, None
        if served is not None:
            server, db = served
            with contextlib.suppress(Exception):
                server.stop(grace=2).wait(5)
            with contextlib.suppress(Exception):
                db.close()
        folder, self._socket_dir = self._socket_dir, None
        if folder:
            shutil.rmtree(folder, ignore_errors=True)

    @property
    def socket_path(self) -> str | None:
        """The Unix socket Milvus Lite listens on (in a 0700 folder), None when not open."""
        return os.path.join(self._socket_dir, "milvus:0") if self._socket_dir else None

    # -- collections --------------------------------------------------------------------------------
    def list_collections(self) -> list[str]:
        return list(self.client.list_collections())

    def has_collection(self, name: str) -> bool:
        return bool(self.client.has_collection(name))

    def create_collection(
        self, schema: CollectionSchema, index_params: Sequence[Mapping[str, Any]] = (), *, name: str | None = None
    ) -> None:
        """Create, index every vector field (given params or AUTOINDEX/COSINE) and load."""
        from pymilvus import DataType as MDataType
        from pymilvus import MilvusClient

        name = name or schema.collection_name
        if not name:
            raise EngineError("a collection needs a name")
        client = self.client
        if client.has_collection(name):
            raise EngineError(f"collection already exists: {name}")
        hidden = not self.keeps_duplicates and not schema.primary.auto_id
        mschema = MilvusClient.create_schema(
            auto_id=schema.primary.auto_id or hidden, enable_dynamic_field=schema.enable_dynamic_field,
            description=schema.description,
        )  # fmt: skip
        if hidden:
            mschema.add_field(ROW_ID, MDataType.INT64, is_primary=True, auto_id=True)
        for f in schema.fields:
            kwargs: dict[str, Any] = {"is_primary": f.is_primary and not hidden}
            if f.is_primary and f.auto_id:
                kwargs["auto_id"] = True
            if f.dim:
                kwargs["dim"] = int(f.dim)
            if f.max_length:
                kwargs["max_length"] = int(f.max_length)
            if f.dtype is DataType.ARRAY:
                kwargs["element_type"] = getattr(MDataType, f.element_type.name) if f.element_type else None
                kwargs["max_capacity"] = int(f.max_capacity or 4096)
            if f.nullable:
                kwargs["nullable"] = True
            if f.description:
                kwargs["description"] = f.description
            mschema.add_field(f.name, getattr(MDataType, f.dtype.name), **kwargs)
        ip = client.prepare_index_params()
        by_field = {str(p.get("fieldName") or p.get("field_name")): p for p in index_params}
        for f in schema.vector_fields:
            p = by_field.get(f.name, {})
            params = dict(p.get("params") or {})
            index_type = str(p.get("indexType") or params.pop("index_type", None) or "AUTOINDEX").upper()
            params.pop("index_type", None)
            if index_type not in LITE_INDEX_TYPES:
                index_type = "AUTOINDEX"
            default_metric = "HAMMING" if f.dtype is DataType.BINARY_VECTOR else "COSINE"
            if f.dtype is DataType.SPARSE_FLOAT_VECTOR:
                default_metric, index_type = "IP", "SPARSE_INVERTED_INDEX"
            metric = str(p.get("metricType") or params.pop("metric_type", None) or default_metric).upper()
            ip.add_index(
                field_name=f.name, index_type=index_type, metric_type=metric,
                index_name=str(p.get("indexName") or f.name), params=params,
            )  # fmt: skip
        # the key is noted first: a describe that comes while the collection is being made must find it
        self._set_user_key(name, schema.primary.name if hidden else None)
        try:
            client.create_collection(name, schema=mschema, index_params=ip)
        except Exception as exc:
            self._set_user_key(name, None)
            raise EngineError(str(exc)) from None
        with self._lock:
            self._ids[name] = random.randrange(10**17, 10**18)
            self._created[name] = time.time()
        self.invalidate(name)

    def drop_collection(self, name: str) -> None:
        self._require(name)
        try:
            self.client.drop_collection(name)
        finally:
            with self._lock:
                self._ids.pop(name, None)
            self._set_user_key(name, None)
            self.invalidate(name)

    def invalidate(self, name: str | None = None) -> None:
        """Forget the kept index description of ``name`` (all if None), e.g. after changing indexes directly."""
        with self._lock:
            names = [name] if name is not None else list(self._index_info) + list(self._generation)
            for n in names:
                self._index_info.pop(n, None)
                self._generation[n] = self._generation.get(n, 0) + 1

    def flush(self, name: str) -> None:
        """Seal the collection's inserted rows into segments (Milvus Lite keeps them in a memtable until then)."""
        try:
            self.client.flush(name)
        except Exception as exc:
            raise EngineError(str(exc)) from None

    def _require(self, name: str) -> None:
        if not name or not self.client.has_collection(name):
            raise CollectionNotFound(name)

    def schema(self, name: str) -> CollectionSchema:
        """The collection's schema as the core model (for checks and conversion)."""
        self._require(name)
        desc = self.client.describe_collection(name)
        fields = []
        hidden = any(fd["name"] == ROW_ID for fd in desc.get("fields", []))
        key = self._user_keys().get(name) if hidden else None
        for fd in desc.get("fields", []):
            if fd["name"] == ROW_ID:
                continue
            params = dict(fd.get("params") or {})
            dtype = DataType.parse(getattr(fd["type"], "name", fd["type"]))
            elem = fd.get("element_type")
            note = fd.get("description") or ""
            user_pk = hidden and fd["name"] == key
            fields.append(
                FieldSchema(
                    name=fd["name"], dtype=dtype, is_primary=user_pk or (bool(fd.get("is_primary")) and not hidden),
                    auto_id=not hidden and bool(fd.get("auto_id") or (fd.get("is_primary") and desc.get("auto_id"))),
                    dim=int(params["dim"]) if params.get("dim") else None,
                    max_length=int(params["max_length"]) if params.get("max_length") else None,
                    element_type=DataType.parse(getattr(elem, "name", elem)) if elem else None,
                    max_capacity=int(params["max_capacity"]) if params.get("max_capacity") else None,
                    nullable=bool(fd.get("nullable")), description=note,
                )
            )  # fmt: skip
        return CollectionSchema(
            fields=tuple(fields), enable_dynamic_field=bool(desc.get("enable_dynamic_field")),
            collection_name=name, description=desc.get("description") or "",
        )  # fmt: skip

    def describe(self, name: str) -> dict[str, Any]:
        """The REST v2 ``collections/describe`` ``data`` object."""
        schema = self.schema(name)
        client = self.client
        fields = []
        for i, f in enumerate(schema.fields):
            fd = f.to_rest()
            fd["id"] = 100 + i
            fd.setdefault("clusteringKey", False)
            fd.setdefault("nullable", f.nullable)
            fields.append(fd)
        indexes = self._indexes(name)
        state = client.get_load_state(name).get("state")
        load = {"Loaded": "LoadStateLoaded", "Loading": "LoadStateLoading"}.get(
            getattr(state, "name", str(state)), "LoadStateNotLoad"
        )
        with self._lock:
            cid = self._ids.setdefault(name, random.randrange(10**17, 10**18))
            created = self._created.get(name, time.time())
        return {
            "collectionName": name, "collectionID": cid, "description": schema.description,
            "autoId": schema.primary.auto_id, "enableDynamicField": schema.enable_dynamic_field,
            "fields": fields, "functions": [], "aliases": [], "indexes": indexes, "load": load,
            "shardsNum": 1, "partitionsNum": 1, "consistencyLevel": "Bounded", "properties": [],
            "createTime": int(created * 1000),
        }  # fmt: skip

    def _indexes(self, name: str) -> list[dict[str, str]]:
        """describe()'s ``indexes``: asked of Milvus Lite once per collection, then kept (see the module doc)."""
        with self._lock:
            kept = self._index_info.get(name)
            generation = self._generation.get(name, 0)
        if kept is None:
            client = self.client
            kept = []
            for index_name in client.list_indexes(name):
                info = client.describe_index(name, index_name) or {}
                kept.append(
                    {"fieldName": info.get("field_name", index_name), "indexName": index_name,
                     "metricType": info.get("metric_type", "")}
                )  # fmt: skip
            with self._lock:
                if self._generation.get(name, 0) == generation:
                    self._index_info[name] = kept
        return [dict(i) for i in kept]

    # -- entities -----------------------------------------------------------------------------------
    def insert(self, name: str, rows: list[dict[str, Any]], partition: str = "") -> list[Any]:
        try:
            res = self.client.insert(name, rows, partition_name=partition or "")
        except Exception as exc:
            raise EngineError(str(exc)) from None
        return list(res.get("ids", []))

    def has_partition(self, name: str, partition: str) -> bool:
        self._require(name)
        return bool(self.client.has_partition(name, partition))

    def list_partitions(self, name: str) -> list[str]:
        self._require(name)
        return list(self.client.list_partitions(name))

    def create_partition(self, name: str, partition: str) -> None:
        self._require(name)
        try:
            self.client.create_partition(name, partition)
        except Exception as exc:
            raise EngineError(str(exc)) from None

    def delete_ids(self, name: str, ids: Sequence[Any]) -> None:
        if ids:
            self.client.delete(name, ids=list(ids))

    def count(self, name: str) -> int:
        self._require(name)
        res = self.client.query(name, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def query(
        self, name: str, *, filter: str = "", output_fields: Sequence[str] | None = None, limit: int | None = None,
        offset: int = 0, ids: Sequence[Any] | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        self._require(name)
        fields = list(output_fields or [])
        if fields == ["count(*)"] or "count(*)" in fields:
            try:
                res = self.client.query(name, filter=filter or "", output_fields=["count(*)"])
            except Exception as exc:
                raise EngineError(str(exc)) from None
            return [dict(r) for r in res]
        pk = self._user_key(name)
        if pk is not None and fields and "*" not in fields and pk not in fields:
            fields.append(pk)  # the primary key comes with every row, as from Milvus
        kwargs: dict[str, Any] = {"output_fields": fields or ["*"]}
        if ids and pk is not None:  # the user's keys are a plain field here: ask by filter
            keys = list(ids)
            filter, ids, limit = f"{pk} in {json.dumps(keys)}", None, max(int(limit or 100), 16 * len(keys))
        if ids:
            kwargs["ids"] = list(ids)
        else:
            kwargs["filter"] = filter or ""
            kwargs["limit"] = int(limit or 100)
            if offset:
                kwargs["offset"] = int(offset)
        try:
            res = self.client.query(name, **kwargs)
        except Exception as exc:
            raise EngineError(str(exc)) from None
        return [{k: v for k, v in dict(r).items() if k != ROW_ID} for r in res]

    def _user_key(self, name: str) -> str | None:
        """The user's primary key when it is a plain field behind the hidden ``ROW_ID`` (else None)."""
        return self._user_keys().get(name)

    def _user_keys(self) -> dict[str, str]:
        with self._lock:
            if self._keys is None:
                try:
                    with open(os.path.join(self.data_dir, KEYS_FILE), encoding="utf-8") as f:
                        loaded = json.load(f)
                    self._keys = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
                except (OSError, ValueError):
                    self._keys = {}
            return dict(self._keys)

    def _set_user_key(self, name: str, key: str | None) -> None:
        with self._lock:  # read, change and write as one: creates and drops arrive on several threads
            keys = self._user_keys()
            if key is None:
                if keys.pop(name, None) is None:
                    return
            else:
                keys[name] = key
            write_private(os.path.join(self.data_dir, KEYS_FILE), json.dumps(keys))
            self._keys = keys

    def user_ids(self, name: str, rows: list[dict[str, Any]], ids: list[Any]) -> list[Any]:
        """The keys an insert answers with: the user's (``ids`` are the hidden row ids when they are hidden)."""
        pk = self._user_key(name)
        return ids if pk is None else [r.get(pk) for r in rows]

    def search(
        self, name: str, data: list[Any], *, anns_field: str | None = None, limit: int = 10, filter: str = "",
        output_fields: Sequence[str] | None = None, search_params: Mapping[str, Any] | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Hits of every query vector, flattened (as REST v2 answers): ``{pk: …, "distance": …, **fields}``."""
        schema = self.schema(name)
        if anns_field is None:
            vecs = schema.vector_fields
            if len(vecs) != 1:
                raise EngineError("annsField is required: the collection has several vector fields")
            anns_field = vecs[0].name
        pk = schema.primary.name
        hidden_key = self._user_key(name) is not None
        wanted = list(output_fields or [])
        kwargs: dict[str, Any] = {
            "data": data, "anns_field": anns_field, "limit": int(limit),
            "output_fields": [*wanted, pk] if hidden_key and pk not in wanted else wanted,
        }  # fmt: skip
        if filter:
            kwargs["filter"] = filter
        if search_params:
            kwargs["search_params"] = dict(search_params)
        if offset:
            kwargs["offset"] = int(offset)
        try:
            res = self.client.search(name, **kwargs)
        except Exception as exc:
            raise EngineError(str(exc)) from None
        out = []
        for hits in res:
            for h in hits:
                entity = {k: v for k, v in (h.get("entity") or {}).items() if k != ROW_ID}
                row = {pk: entity.pop(pk) if hidden_key else h.get("id"), "distance": h.get("distance")}
                row.update({k: v for k, v in entity.items() if k in wanted or not hidden_key})
                out.append(row)
        return out
