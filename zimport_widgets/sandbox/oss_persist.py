"""Objects of a sandbox store kept on disk, so that a restart with the same data folder finds them again.

moto holds objects in memory only. An :class:`ObjectMirror` writes each object the store accepted
(PUT, copy, append, a completed multipart upload) to ``<folder>/<bucket>/<sha256 of key>.bin`` with a
``.json`` beside it (key, ETag, metadata), and removes it when the object is deleted; the next start
puts them all back into moto with their ETags. Every file is written whole (temporary name, fsync,
rename), so a kill at any moment leaves the previous state or the new one. Files are 0600 in 0700
folders: the objects are the user's data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from typing import Any

from ..private_files import private_dir, write_private

__all__ = ["ObjectMirror"]

log = logging.getLogger("zimport_widgets.sandbox")


class ObjectMirror:
    """The on-disk copy of one store's buckets under ``folder``."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        private_dir(folder)

    def _bucket_dir(self, bucket: str) -> str:
        return os.path.join(self.folder, bucket)

    def _paths(self, bucket: str, key: str) -> tuple[str, str]:
        name = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        base = os.path.join(self._bucket_dir(bucket), name)
        return base + ".bin", base + ".json"

    # -- writes ------------------------------------------------------------------------------------
    def bucket_created(self, bucket: str) -> None:
        private_dir(self._bucket_dir(bucket))

    def saved(self, backend: Any, bucket: str, key: str) -> None:
        """Copy ``key`` as moto now holds it (gone from moto: its copy goes too)."""
        data_path, meta_path = self._paths(bucket, key)
        with self._lock:  # read and write under one lock: two PUTs of a key end with the later one on disk
            fake = _fake_key(backend, bucket, key)
            if fake is None:
                for path in (meta_path, data_path):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path)
                return
            meta = {"key": key, "etag": fake.etag, "metadata": dict(fake.metadata)}
            self.bucket_created(bucket)
            write_private(data_path, fake.value, fsync=True)
            write_private(meta_path, json.dumps(meta), fsync=True)

    def deleted(self, bucket: str, key: str) -> None:
        with self._lock:
            for path in self._paths(bucket, key)[::-1]:  # the .json first: a .bin alone is never restored
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)

    def resync(self, backend: Any, bucket: str) -> None:
        """Drop the copies of objects moto no longer has (after a multi-object delete)."""
        try:
            keys = set(backend.buckets[bucket].keys.keys())
        except KeyError:
            return
        for key in self._stored_keys(bucket):
            if key not in keys:
                self.deleted(bucket, key)

    # -- reads -------------------------------------------------------------------------------------
    def _stored_keys(self, bucket: str) -> list[str]:
        folder = self._bucket_dir(bucket)
        out = []
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(folder):
                if name.endswith(".json"):
                    with (
                        contextlib.suppress(OSError, ValueError, KeyError),
                        open(os.path.join(folder, name), encoding="utf-8") as f,
                    ):
                        out.append(json.load(f)["key"])
        return out

    def buckets(self) -> list[str]:
        with contextlib.suppress(FileNotFoundError):
            return sorted(n for n in os.listdir(self.folder) if os.path.isdir(os.path.join(self.folder, n)))
        return []

    def restore(self, backend: Any) -> int:
        """Put every stored object back into moto (buckets created as needed); the number restored."""
        count = 0
        for bucket in self.buckets():
            if bucket not in backend.buckets:
                backend.create_bucket(bucket, "us-east-1")
            folder = self._bucket_dir(bucket)
            for name in sorted(os.listdir(folder)):
                if not name.endswith(".json"):
                    if name.endswith(".tmp"):  # a write cut by a kill
                        with contextlib.suppress(OSError):
                            os.remove(os.path.join(folder, name))
                    continue
                try:
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
                        meta = json.load(f)
                    with open(os.path.join(folder, name[:-5] + ".bin"), "rb") as f:
                        value = f.read()
                    fake = backend.put_object(bucket, meta["key"], value, etag=meta["etag"].strip('"'))
                    fake.set_metadata(meta.get("metadata") or {}, replace=True)
                    count += 1
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("a stored object in %s could not be restored (%s)", folder, exc)
        return count


def _fake_key(backend: Any, bucket: str, key: str) -> Any:
    try:
        return backend.buckets[bucket].keys.get(key)
    except KeyError:
        return None
