"""zimport_widgets: bulk-import data into Zilliz Cloud from Jupyter.

The public API, loaded lazily so that ``import zimport_widgets`` stays cheap and works without a
display or ipywidgets (only :mod:`zimport_widgets.widgets` needs those)::

    convert_json_to_numpy, check_import_source       # step 1: prepare and check data files
    upload_to_oss                                    # step 2: upload to OSS, get the object URL
    ImportClient                                     # steps 3-4: start, follow, list, verify
    CollectionSchema, load_schema                    # the schema model
    Sandbox                                          # the local stand-in (extra: [sandbox])
    errors                                           # the exception tree
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "convert_json_to_numpy": "convert",
    "ConvertResult": "convert",
    "check_import_source": "checks",
    "CheckReport": "checks",
    "ImportLimits": "checks",
    "upload_to_oss": "upload",
    "UploadResult": "upload",
    "ImportClient": "client",
    "CollectionSchema": "schema",
    "FieldSchema": "schema",
    "DataType": "schema",
    "load_schema": "schema",
    "Sandbox": "sandbox",
}

__all__ = sorted([*_LAZY, "errors"])


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module(f"{__name__}.errors")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
