"""The upload plan: which local file goes to which object key, decided before any request is sent."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DataFileError
from .object_url import join_key, normalize_prefix

__all__ = ["PlannedFile", "UploadPlan", "plan_upload"]


@dataclass(frozen=True)
class PlannedFile:
    """One local file and the object key it goes to."""

    path: Path
    key: str
    size: int
    relative: str


@dataclass(frozen=True)
class UploadPlan:
    """What an upload will write: the files, their keys, and the key the object URL points at."""

    files: tuple[PlannedFile, ...]
    prefix: str
    url_key: str
    is_folder: bool

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _is_hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def plan_upload(source: str | os.PathLike | Sequence[str | os.PathLike], prefix: str) -> UploadPlan:
    """Map ``source`` (a file, a list of files or a folder) to object keys under ``prefix``.

    A folder keeps its relative layout (hidden files and folders such as ``.ipynb_checkpoints`` are left
    out); a list of files keeps its layout relative to the files' common folder; a single file goes to
    ``prefix/<name>``. Keys are unique; a missing path raises :class:`DataFileError`.
    """
    prefix = normalize_prefix(prefix)
    if isinstance(source, (str, os.PathLike)):
        root = Path(source)
        if root.is_dir():
            paths = sorted(p for p in root.rglob("*") if p.is_file() and not _is_hidden(p.relative_to(root)))
            if not paths:
                raise DataFileError("the folder holds no files to upload", file=str(root))
            files = tuple(
                PlannedFile(
                    p,
                    join_key(prefix, p.relative_to(root).as_posix()),
                    p.stat().st_size,
                    p.relative_to(root).as_posix(),
                )
                for p in paths
            )
            return UploadPlan(files, prefix, prefix, True)
        if not root.is_file():
            raise DataFileError("no such file or folder", file=str(root), hint="check the path of the source")
        key = join_key(prefix, root.name)
        return UploadPlan((PlannedFile(root, key, root.stat().st_size, root.name),), prefix, key, False)

    paths = [Path(p) for p in source]
    if not paths:
        raise ConfigError("the list of files to upload is empty", hint="pass a file, a list of files or a folder")
    for p in paths:
        if not p.is_file():
            raise DataFileError("no such file (a list may hold files only)", file=str(p))
    parents = [str(p.resolve().parent) for p in paths]
    common = Path(os.path.commonpath(parents))
    listed: list[PlannedFile] = []
    seen: dict[str, Path] = {}
    for p in paths:
        rel = p.resolve().relative_to(common).as_posix()
        key = join_key(prefix, rel)
        if key in seen:
            raise ConfigError(f"{p} and {seen[key]} would both be uploaded to {key!r}", hint="list each file once")
        seen[key] = p
        listed.append(PlannedFile(p, key, p.stat().st_size, rel))
    return UploadPlan(tuple(listed), prefix, prefix, True)
