"""Fixtures of the unit layer (no server)."""

from __future__ import annotations

from types import ModuleType

import pytest

from zimport_widgets.prepare import json_rows


@pytest.fixture()
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Make the orjson block reader cut blocks of ~3 KB, so small files span many blocks; the reader module."""
    monkeypatch.setattr(json_rows, "_BLOCK", 3000)
    return json_rows
