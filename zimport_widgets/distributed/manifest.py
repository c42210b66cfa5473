"""The manifest of a distributed preparation: which partitions are done, with their objects and checksums.

One JSON file (0600, written whole) beside the notebook, ``.zimport/<prefix>.json`` unless named. An entry
holds the partition's source (a shard's path with its size and modification time, so a changed shard is
redone; a Dask DataFrame's graph name and partition number), its rows and its objects (key, size, checksum).
A re-run skips an entry only when its objects are still in the bucket with those sizes.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ..private_files import private_dir, write_private

__all__ = ["Manifest"]


class Manifest:
    """Finished partitions of one (source, prefix), kept in ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict) and isinstance(data.get("partitions"), dict):
            self.entries = data["partitions"]

    @staticmethod
    def default_path(prefix: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", prefix.strip("/")) or "import"
        return Path.cwd() / ".zimport" / f"{slug}.json"

    @staticmethod
    def signature(source: str) -> list[int]:
        """A shard file's size and mtime; for a DataFrame partition (``dask:<graph>/<n>``) nothing more."""
        if source.startswith("dask:"):
            return []
        stat = os.stat(source)
        return [stat.st_size, stat.st_mtime_ns]

    def done(self, source: str) -> dict[str, Any] | None:
        """The entry of ``source`` if it was finished from this very file (same size and mtime)."""
        entry = self.entries.get(source)
        if entry is None or entry.get("signature") != self.signature(source):
            return None
        return entry

    def record(self, source: str, entry: dict[str, Any]) -> None:
        self.entries[source] = {**entry, "signature": self.signature(source)}
        private_dir(self.path.parent)
        write_private(self.path, json.dumps({"partitions": self.entries}, indent=1, sort_keys=True))
