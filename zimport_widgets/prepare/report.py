"""The findings of a check: :class:`CheckReport` (errors and warnings, each naming file and field)."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SourceInvalidError
from ..fmt import ERROR_COLOR, OK_COLOR, WARN_COLOR

__all__ = ["CheckItem", "CheckReport"]


@dataclass(frozen=True)
class CheckItem:
    """One finding: ``level`` is ``"error"`` or ``"warning"``."""

    level: str
    message: str
    file: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.field:
            where.append(f"field {self.field!r}")
        return (", ".join(where) + ": " if where else "") + self.message

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "file": self.file, "field": self.field, "message": self.message}


@dataclass
class CheckReport:
    """What :func:`check_import_source` found."""

    kind: str | None
    items: list[CheckItem] = field(default_factory=list)
    row_count: int | None = None
    files: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    total_bytes: int = 0
    schema_checked: bool = False

    @property
    def errors(self) -> list[CheckItem]:
        return [i for i in self.items if i.level == "error"]

    @property
    def warnings(self) -> list[CheckItem]:
        return [i for i in self.items if i.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def summary(self) -> str:
        kind = {"numpy": "NumPy", "json": "JSON", "parquet": "Parquet", "jsonl": "JSON Lines", "csv": "CSV"}.get(
            self.kind or "", "unknown"
        )
        rows = f"{self.row_count:,} rows" if self.row_count is not None else "rows unknown"
        verdict = "valid" if self.ok else "INVALID"
        return (
            f"{verdict}: {kind} source, {len(self.files)} file(s), {rows}, "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
            + ("" if self.schema_checked else " (no schema: field names and dtypes not checked)")
        )

    def raise_for_errors(self) -> CheckReport:
        """Raise :class:`SourceInvalidError` if there is any error; return self otherwise."""
        if self.errors:
            raise SourceInvalidError(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "kind": self.kind,
            "row_count": self.row_count,
            "summary": self.summary,
            "files": [str(p) for p in self.files],
            "ignored": [str(p) for p in self.ignored],
            "total_bytes": self.total_bytes,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
        }

    def __repr__(self) -> str:
        lines = [f"CheckReport: {self.summary}"]
        lines += [f"  error: {i}" for i in self.errors]
        lines += [f"  warning: {i}" for i in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = OK_COLOR if self.ok else ERROR_COLOR
        rows = "".join(
            f"<tr><td style='color:{ERROR_COLOR if i.level == 'error' else WARN_COLOR}'>{i.level}</td>"
            f"<td>{html.escape(i.file or '')}</td><td>{html.escape(i.field or '')}</td>"
            f"<td>{html.escape(i.message)}</td></tr>"
            for i in self.items
        )
        table = (
            f"<table><thead><tr><th>level</th><th>file</th><th>field</th><th>message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            if rows
            else ""
        )
        return f"<div><p style='color:{colour}'><b>{html.escape(self.summary)}</b></p>{table}</div>"

    # used by the checks
    def add_error(self, message: str, file: str | os.PathLike[str] | None = None, field: str | None = None) -> None:
        self.items.append(CheckItem("error", message, _name(file), field))

    def add_warning(self, message: str, file: str | os.PathLike[str] | None = None, field: str | None = None) -> None:
        self.items.append(CheckItem("warning", message, _name(file), field))


def _name(file: str | os.PathLike[str] | None) -> str | None:
    return None if file is None else os.fspath(file)
