""":func:`prepare_on_dask`: each partition converted, checked and uploaded on a worker; one import plan back.

A worker reads its shard, writes Parquet into a private temporary folder on its own machine, checks and
uploads it (the package's uploader: atomic objects, verified checksums) under ``<prefix>/part-NNNNN/``, then
removes the folder. A failed partition comes back as a plain record (file, row, field: the converter's one
line), never as a traceback; the others still finish and are recorded, so a re-run redoes only what failed.
The plan names exactly the objects of the recorded partitions: a partition cut short by a lost worker is
redone (Dask retries it elsewhere) and never half-imported.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import UploadConfig
from ..errors import ConfigError, ZImportError
from ..progress import ProgressArg, Reporter
from ..schema import CollectionSchema, SchemaLike
from .manifest import Manifest

__all__ = ["DistributedResult", "PartitionError", "PartitionProgress", "PartitionResult", "prepare_on_dask"]

#: The shard kinds a partition may be (one file each).
SHARD_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")


class PartitionError(ZImportError):
    """One or more partitions failed; ``failures`` holds ``(partition index, source, message)`` for each."""

    def __init__(self, message: str, *, failures: Sequence[tuple[int, str, str]], hint: str | None = None) -> None:
        self.failures = tuple(failures)
        super().__init__(message, hint=hint)


@dataclass(frozen=True)
class PartitionProgress:
    """Partitions and source bytes done, of the totals, and the last partition finished."""

    done: int
    total: int
    bytes_done: int
    bytes_total: int
    current: str = ""

    @property
    def fraction(self) -> float:
        return self.bytes_done / self.bytes_total if self.bytes_total else 1.0


@dataclass(frozen=True)
class PartitionResult:
    """One partition: its shard, rows, and the objects it left under its sub-prefix (key, size, checksum)."""

    index: int
    source: str
    rows: int
    objects: tuple[tuple[str, int, str | None], ...]
    skipped: bool = False
    seconds: float = 0.0
    worker: str = ""

    @property
    def bytes(self) -> int:
        return sum(size for _, size, _ in self.objects)


@dataclass(frozen=True)
class DistributedResult:
    """What :func:`prepare_on_dask` did: every partition, and the :class:`~zimport_widgets.ImportPlan` of them."""

    partitions: tuple[PartitionResult, ...]
    plan: Any  # ImportPlan
    elapsed: float
    manifest: Path
    dashboard: str | None = None

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.partitions)

    def _summary(self) -> str:
        done = sum(not p.skipped for p in self.partitions)
        return (f"{len(self.partitions)} partitions ({done} prepared, {len(self.partitions) - done} already done), "
                f"{self.rows:,} rows, {len(self.plan.pieces)} import files, {self.elapsed:.1f} s")  # fmt: skip

    def __repr__(self) -> str:
        return f"DistributedResult({self._summary()})"

    def _repr_html_(self) -> str:
        import html

        link = (
            f" · <a href='{html.escape(self.dashboard)}' target='_blank'>Dask dashboard</a>" if self.dashboard else ""
        )
        return f"<div><b>Prepared on Dask</b>: {html.escape(self._summary())}{link}</div>"


def list_partitions(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """The shards of ``source``: a folder's shard files (sorted, hidden ones left out), a glob, a list, or one
    file."""
    if isinstance(source, (list, tuple)):
        paths = [os.fspath(p) for p in source]
    else:
        text = os.fspath(source)  # type: ignore[arg-type]
        if any(c in text for c in "*?["):
            paths = sorted(glob.glob(text))
        elif os.path.isdir(text):
            files = [p for p in Path(text).iterdir() if p.is_file() and not p.name.startswith(".")]
            paths = sorted(str(p) for p in files if p.suffix.lower() in SHARD_SUFFIXES)
        else:
            paths = [text]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise ConfigError(f"{missing[0]}: no such shard file", hint="give a folder, a glob or a list of files")
    if not paths:
        raise ConfigError(f"{os.fspath(source)}: no shard files ({', '.join(SHARD_SUFFIXES)})",  # type: ignore[arg-type]
                          hint="give a folder, a glob or a list of files")  # fmt: skip
    return [os.path.abspath(p) for p in paths]


def _reporter(topic: str | None, index: int, start: float) -> Any:
    """A progress callable that sends ``{"index", "fraction"}`` (every 2 %) to the client through Dask's
    structured events; False without a topic."""
    if topic is None:
        return False
    from distributed import get_worker

    worker = get_worker()
    last = [-1.0]

    def report(event: Any) -> None:
        fraction = start + 0.5 * min(1.0, max(0.0, float(event.fraction)))
        if fraction - last[0] >= 0.02:
            last[0] = fraction
            worker.log_event(topic, {"index": index, "fraction": fraction})

    return report


def run_partition(
    index: int, source: Any, schema: CollectionSchema, target: Any, prefix: str, config: UploadConfig,
    label: str | None = None, topic: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """On a worker: convert one shard (a path, or a DataFrame partition) to Parquet, check and upload it; a plain
    dict back (never an exception of ours: a record of it). ``label`` names a DataFrame partition; ``topic``:
    the Dask event topic the partition's progress goes to (converting: the first half, uploading: the second)."""
    from ..prepare.convert_any import convert
    from ..storage.upload import upload

    started = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="zimport-part-")
    try:
        out = Path(tmp) / "out"
        out.mkdir()
        converted = convert(source, out, schema, to="parquet", progress=_reporter(topic, index, 0.0), workers=1)
        result = upload(out, prefix=f"{prefix}/part-{index:05d}", storage=target, config=config,
                        progress=_reporter(topic, index, 0.5), check=True, schema=schema)  # fmt: skip
        objects = [(o.key, o.size, o.checksum) for o in result.objects]
        return {"index": index, "source": label or source, "rows": converted.rows, "objects": objects,
                "worker": worker, "seconds": time.perf_counter() - started}  # fmt: skip
    except ZImportError as exc:
        return {"index": index, "source": label or source, "error": str(exc).split("\n", 1)[0], "hint": exc.hint,
                "worker": worker}  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_on_dask(
    source: Any,
    *,
    prefix: str,
    schema: SchemaLike | None = None,
    storage: Any = None,
    client: Any = None,
    n_workers: int = 2,
    manifest: str | os.PathLike[str] | None = None,
    config: UploadConfig | None = None,
    progress: ProgressArg = True,
    url_form: str = "https",
) -> DistributedResult:
    """Convert, check and upload every shard of ``source`` on Dask workers; return the import plan of them all.

    ``source``: a folder or glob of shard files (``.jsonl``, ``.json``, ``.csv``, ``.parquet``; one partition
    each), a list of them, or a ``dask.dataframe.DataFrame`` (one partition per partition: computed on the
    workers, never brought to this machine).

    ``client``: a ``distributed.Client``, a scheduler address, or None for an embedded secured
    :func:`~.cluster.local_cluster` of ``n_workers`` processes (closed at the end). ``storage``: the bucket's
    credentials (default: the environment's); they travel to the workers inside the tasks. ``schema``: the
    collection's (default: inferred from the first shard's first rows). ``manifest``: the record of finished
    partitions (default ``.zimport/<prefix>.json`` here). ``progress``: one bar over the shards' bytes, or a
    callable receiving :class:`PartitionProgress`.
    """
    from ..cloud.plan import ImportPiece, ImportPlan
    from ..prepare.convert_any import schema_for
    from ..prepare.sources import open_source
    from ..storage.object_url import normalize_prefix
    from ..storage.providers import make_backend, resolve_storage, target_url

    started = time.perf_counter()
    prefix = normalize_prefix(prefix)
    frame: Any = source if hasattr(source, "to_delayed") and hasattr(source, "npartitions") else None
    if frame is not None:  # a Dask DataFrame: its partitions, named by the graph (the same data, the same name)
        shards = [f"dask:{frame._name}/{i}" for i in range(frame.npartitions)]
        resolved = schema_for(open_source(frame.head(100, npartitions=1)), schema)
        sizes = dict.fromkeys(shards, 1)
    else:
        shards = list_partitions(source)
        resolved = schema_for(open_source(shards[0]), schema)
        sizes = {s: os.path.getsize(s) for s in shards}
    target = storage if storage is not None else resolve_storage()
    cfg = config or UploadConfig()
    record = Manifest(manifest if manifest is not None else Manifest.default_path(prefix))
    results: dict[int, PartitionResult] = {}
    backend = make_backend(target, UploadConfig(retries=cfg.retries, connect_timeout=cfg.connect_timeout))
    for index, shard in enumerate(shards):
        entry = record.done(shard)
        if entry is not None and entry.get("index") == index:
            stored = backend.list_prefix(f"{prefix}/part-{index:05d}")
            if all(stored.get(key) == size for key, size, _ in entry["objects"]):
                results[index] = PartitionResult(index, shard, int(entry["rows"]), objects_of(entry["objects"]),
                                                 skipped=True)  # fmt: skip
    todo = [i for i in range(len(shards)) if i not in results]
    failures: list[tuple[int, str, str]] = []
    hints: list[str] = []
    dashboard: str | None = None
    own = None
    unit = dict(unit="part") if frame is not None else dict(unit="B", unit_scale=True, unit_divisor=1024)
    with Reporter(progress, total=sum(sizes.values()), desc="partitions", **unit) as reporter:
        done_bytes = sum(sizes[shards[i]] for i in results)
        reporter.update(done_bytes, PartitionProgress(len(results), len(shards), done_bytes, sum(sizes.values())))
        if todo:
            from distributed import Client, as_completed

            if client is None:
                own = client = _embedded(n_workers)
            elif isinstance(client, str):
                own = client = Client(client)
            dashboard = getattr(client, "dashboard_link", None) if _has_dashboard(client) else None
            address = str(getattr(getattr(client, "scheduler", None), "address", "") or "")
            if keys_in_clear(address):
                warnings.warn(f"the scheduler {address} is reached without TLS: the bucket's keys travel to the "
                              "workers inside the tasks, unencrypted; use a tls:// cluster (distributed.security)",
                              stacklevel=2)  # fmt: skip
            if frame is not None:
                parts = frame.to_delayed()
                inputs: list[Any] = client.compute([parts[i] for i in todo])  # stays on the workers
            else:
                inputs = [shards[i] for i in todo]
            topic = f"zimport-progress-{os.getpid()}-{time.monotonic_ns()}"
            total = sum(sizes.values())
            lock = threading.Lock()
            running: dict[int, float] = {}  # partition -> fraction done, as the workers report it

            def position() -> float:
                return done_bytes + sum(f * sizes[shards[i]] for i, f in running.items())

            def on_event(event: Any) -> None:  # in the client's event loop thread
                msg = event[1] if isinstance(event, tuple) else event
                with lock:  # one lock around the update too: the events reach a callable in order
                    i = int(msg["index"])
                    if i in running:
                        running[i] = max(running[i], float(msg["fraction"]))
                    at = position()
                    reporter.update(at, PartitionProgress(len(results) + len(failures), len(shards), int(at), total))

            running.update(dict.fromkeys(todo, 0.0))
            client.subscribe_topic(topic, on_event)
            futures = [client.submit(run_partition, i, data, resolved, target, prefix, cfg, shards[i], topic,
                                     pure=False, key=f"zimport-partition-{i:05d}-{os.getpid()}-{time.monotonic_ns()}")
                       for i, data in zip(todo, inputs, strict=True)]  # fmt: skip
            try:
                for future in as_completed(futures):
                    got = future.result()
                    index, shard = int(got["index"]), str(got["source"])
                    with lock:
                        running.pop(index, None)
                        done_bytes += sizes[shard]
                    if "error" in got:
                        failures.append((index, shard, str(got["error"])))
                        if got.get("hint"):
                            hints.append(str(got["hint"]))
                    else:
                        part = PartitionResult(index, shard, int(got["rows"]), objects_of(got["objects"]),
                                               seconds=float(got["seconds"]), worker=str(got["worker"]))  # fmt: skip
                        results[index] = part
                        record.record(
                            shard, {"index": index, "rows": part.rows, "objects": [list(o) for o in part.objects]}
                        )
                    with lock:
                        at = position()
                        reporter.update(at, PartitionProgress(len(results) + len(failures), len(shards), int(at),
                                                              total, _shown(shard)), postfix=_shown(shard))  # fmt: skip
            finally:
                with contextlib.suppress(Exception):
                    client.unsubscribe_topic(topic)
                if own is not None:
                    cluster = getattr(own, "cluster", None)
                    own.close()
                    if cluster is not None:
                        cluster.close()
        if failures:
            failures.sort()
            first = failures[0]
            more = f" (and {len(failures) - 1} more partitions)" if len(failures) > 1 else ""
            raise PartitionError(
                f"partition {first[0]} ({_shown(first[1])}) failed: {first[2]}{more}",
                failures=failures,
                hint=(hints[0] + "; " if hints else "")
                + (_FRAME_HINT if frame is not None and "string" in first[2] else "")
                + "fix the shard and run again: the finished "
                f"partitions ({len(results)}) are kept in {record.path}",
            )
    pieces = []
    for index in sorted(results):
        for key, size, _ in results[index].objects:
            if key.endswith(".parquet"):
                url = target_url(target, key, folder=False, form=url_form)  # type: ignore[arg-type]
                pieces.append(ImportPiece(url, (key,), size, "parquet"))
    plan = ImportPlan.from_pieces(pieces)
    parts = tuple(results[i] for i in sorted(results))
    return DistributedResult(parts, plan, time.perf_counter() - started, record.path, dashboard)


_FRAME_HINT = ("Dask turns object columns (lists) into strings unless dask.config.set({'dataframe.convert-string': "
               "False}) is set before the DataFrame is made; ")  # fmt: skip


def _shown(source: str) -> str:
    """A shard's file name, or ``DataFrame partition N``."""
    if source.startswith("dask:"):
        return f"DataFrame partition {source.rsplit('/', 1)[1]}"
    return os.path.basename(source)


def objects_of(items: Any) -> tuple[tuple[str, int, str | None], ...]:
    """``(key, size, checksum)`` triples from a worker's answer or a manifest entry."""
    return tuple((str(key), int(size), None if checksum is None else str(checksum)) for key, size, checksum in items)


def keys_in_clear(address: str) -> bool:
    """Whether tasks sent to the scheduler at ``address`` cross a network unencrypted (tcp:// to another host)."""
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    host = (parts.hostname or "").lower()
    return parts.scheme == "tcp" and host not in ("127.0.0.1", "localhost", "::1", "")


def _embedded(n_workers: int) -> Any:
    from .cluster import local_cluster

    return local_cluster(n_workers)


def _has_dashboard(client: Any) -> bool:
    own = getattr(client, "zimport_dashboard", None)
    if own is not None:
        return bool(own)
    try:
        return bool(client.scheduler_info().get("services", {}).get("dashboard"))
    except Exception:
        return False
