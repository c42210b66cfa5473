"""An import plan: what one upload becomes as import requests, inside the limits, before any is sent.

Each piece is one import entry: a Parquet / JSON / JSON Lines / CSV file, or a NumPy folder. The v2 API and
Milvus take several pieces in one request (``objectUrls`` / ``files`` lists: at most ``max_files`` pieces
and ``max_import_bytes`` each); v1 takes one object URL, so a plan there is one job per piece.
:meth:`ImportClient.start_plan` sends the requests, :meth:`ImportClient.wait_for_imports` follows all
their jobs with one bar.
"""

from __future__ import annotations

import html
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConfigError
from ..fmt import format_bytes
from ..prepare.rules import SOURCE_KINDS, ImportLimits
from ..storage.object_url import UrlForm
from ..storage.results import UploadResult

__all__ = ["ImportPiece", "ImportPlan"]


@dataclass(frozen=True)
class ImportPiece:
    """One import entry: ``url`` (an object, or a NumPy folder with a trailing ``/``) and its object keys."""

    url: str
    keys: tuple[str, ...]
    bytes: int
    kind: str  # numpy | json | jsonl | csv | parquet


@dataclass(frozen=True)
class ImportPlan:
    """The pieces of one source and how they go into requests (``batches``: the pieces of each request)."""

    pieces: tuple[ImportPiece, ...]
    batches: tuple[tuple[ImportPiece, ...], ...]

    @property
    def total_bytes(self) -> int:
        return sum(p.bytes for p in self.pieces)

    @classmethod
    def from_upload(cls, result: UploadResult, *, limits: ImportLimits | None = None,
                    form: UrlForm = "https") -> ImportPlan:  # fmt: skip
        """The plan of an upload: its import files as pieces (NumPy files grouped by folder)."""
        sizes = {o.key: o.size for o in result.objects}
        pieces: list[ImportPiece] = []
        folders: dict[str, list[str]] = {}
        for key in sorted(sizes):
            kind = SOURCE_KINDS.get(posixpath.splitext(key)[1].lower())
            if kind == "numpy":
                folders.setdefault(posixpath.dirname(key) + "/", []).append(key)
            elif kind is not None:
                pieces.append(ImportPiece(result.url_for(key, form=form), (key,), sizes[key], kind))
        for folder, keys in folders.items():
            pieces.append(ImportPiece(result.url_for(folder, form=form), tuple(keys), sum(sizes[k] for k in keys),
                                      "numpy"))  # fmt: skip
        return cls.from_pieces(pieces, limits=limits)

    @classmethod
    def from_pieces(cls, pieces: Iterable[ImportPiece], *, limits: ImportLimits | None = None) -> ImportPlan:
        """Batches of at most ``max_files`` pieces and ``max_import_bytes``; a piece past its own limit raises."""
        limits = limits or ImportLimits()
        pieces = tuple(pieces)
        if not pieces:
            raise ConfigError("nothing to import: the upload holds no .parquet, .json, .jsonl, .csv or .npy object")
        kinds = {p.kind for p in pieces}
        if len(kinds) > 1:
            raise ConfigError(f"source kinds are mixed ({', '.join(sorted(kinds))}); an import takes one kind",
                              hint="upload each kind under its own prefix")  # fmt: skip
        for p in pieces:
            limit = limits.max_subfolder_bytes if p.kind == "numpy" else limits.max_file_bytes
            if p.bytes > limit:
                raise ConfigError(f"{p.url} holds {format_bytes(p.bytes)}; at most {format_bytes(limit)} per "
                                  f"{'NumPy folder' if p.kind == 'numpy' else 'file'}",
                                  hint="convert with a smaller max_file_bytes= to cut it into files")  # fmt: skip
        batches: list[tuple[ImportPiece, ...]] = []
        current: list[ImportPiece] = []
        for p in pieces:
            if current and (len(current) >= limits.max_files
                            or sum(q.bytes for q in current) + p.bytes > limits.max_import_bytes):  # fmt: skip
                batches.append(tuple(current))
                current = []
            current.append(p)
        batches.append(tuple(current))
        return cls(pieces, tuple(batches))

    def requests(self, *, takes_lists: bool) -> list[tuple[ImportPiece, ...]]:
        """The pieces of each request: the batches (v2, Milvus), or one piece per request (v1)."""
        if takes_lists:
            return list(self.batches)
        return [(p,) for p in self.pieces]

    def __repr__(self) -> str:
        return (f"ImportPlan: {len(self.pieces)} {self.pieces[0].kind} piece(s), {format_bytes(self.total_bytes)}, "
                f"{len(self.batches)} request(s) on v2 / {len(self.pieces)} job(s) on v1")  # fmt: skip

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td><code>{html.escape(p.url)}</code></td><td>{format_bytes(p.bytes)}</td></tr>"
                       for p in self.pieces[:20])  # fmt: skip
        more = f"<p>... and {len(self.pieces) - 20} more</p>" if len(self.pieces) > 20 else ""
        return f"<div><p><b>{html.escape(repr(self))}</b></p><table>{rows}</table>{more}</div>"
