"""What the verify step returns: :class:`VerifyResult` (row count and a sample search) and its hits."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..fmt import ERROR_COLOR, OK_COLOR

__all__ = ["SearchHit", "SearchResult", "VerifyResult"]


@dataclass(frozen=True)
class SearchHit:
    id: Any
    distance: float
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    """The answer of :meth:`ImportClient.search_sample`: hits best first."""

    collection: str
    anns_field: str
    hits: tuple[SearchHit, ...]
    query_id: Any = None

    def __repr__(self) -> str:
        top = ", ".join(f"{h.id}:{h.distance:.3f}" for h in self.hits[:5])
        return f"SearchResult(collection={self.collection!r}, anns_field={self.anns_field!r}, hits=[{top}])"

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(str(h.id))}</td><td>{h.distance:.4f}</td>"
            f"<td>{html.escape(', '.join(f'{k}={v!s:.60}' for k, v in h.fields.items()))}</td></tr>"
            for h in self.hits
        )
        return (
            f"<div><b>Search in {html.escape(self.collection)}</b> ({html.escape(self.anns_field)})"
            f"<table><thead><tr><th>id</th><th>distance</th><th>fields</th></tr></thead><tbody>{body}</tbody>"
            "</table></div>"
        )


@dataclass(frozen=True)
class VerifyResult:
    """Row count and one sample search of a collection (``ok``: rows present, as expected, search hits)."""

    collection: str
    row_count: int
    expected_rows: int | None
    search: SearchResult | None
    #: False when the collection has no dense vector field to search with (then the count alone decides).
    searched: bool = True

    @property
    def ok(self) -> bool:
        if self.expected_rows is not None and self.row_count != self.expected_rows:
            return False
        found = not self.searched or (self.search is not None and bool(self.search.hits))
        return self.row_count > 0 and found

    def __str__(self) -> str:
        exp = f" (expected {self.expected_rows:,})" if self.expected_rows is not None else ""
        text = f"{self.collection}: {self.row_count:,} rows{exp}"
        if self.search is not None and self.search.hits:
            h = self.search.hits[0]
            text += f"; sample search top hit id={h.id} distance={h.distance:.4f}"
        elif not self.searched:
            text += "; no dense vector field to search (count only)"
        return text + ("" if self.ok else " - NOT OK")

    def _repr_html_(self) -> str:
        colour = OK_COLOR if self.ok else ERROR_COLOR
        out = f"<div style='color:{colour}'>{html.escape(str(self))}</div>"
        return out + (self.search._repr_html_() if self.search is not None else "")
