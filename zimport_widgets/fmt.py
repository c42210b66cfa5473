"""Text for messages and reprs: byte sizes (one formatter, IEC units) and short excerpts of values.

Every size the package shows (results, progress, widgets, errors) goes through :func:`format_bytes`,
so a form never says MB next to a table in MiB.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ERROR_COLOR", "OK_COLOR", "WARN_COLOR", "format_bytes", "short_repr", "value_text"]

#: Colours for HTML reprs and forms: JupyterLab's theme variables (set by its light and dark themes), the
#: light values as fallbacks where they are not defined (VS Code, a plain Voilà page).
ERROR_COLOR = "var(--jp-error-color1, #b3261e)"
OK_COLOR = "var(--jp-success-color1, #1b7f3b)"
WARN_COLOR = "var(--jp-warn-color1, #a15c00)"

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_bytes(n: float) -> str:
    """``1536`` → ``"1.5 KiB"``; whole bytes below 1 KiB (``"512 B"``)."""
    for unit in _UNITS:
        if abs(n) < 1024 or unit == _UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut in the middle to at most ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "…" + text[-4:]


def value_text(value: Any) -> str:
    """What a JSON value is, for the "got" part of a message: ``"string 'abc'"``, ``"null"``."""
    if value is None:
        return "null"
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "object"}
    return f"{kind.get(type(value), type(value).__name__)} {short_repr(value)}"
