"""zimport_widgets: bulk-import data into Zilliz Cloud from Jupyter.

The public API, loaded lazily so that ``import zimport_widgets`` stays cheap and works without a
display or ipywidgets (only :mod:`zimport_widgets.widgets` needs those). Everything a user needs is a
name here; the modules behind them (``prepare``, ``storage``, ``cloud``, ``sandbox``) are the
implementation and may move::

    convert, check_import_source                     # step 1: prepare (any source -> Parquet/NumPy) and check
    upload, upload_to_oss, OssCredentials,           # step 2: upload (OSS or S3), get the object URL
    S3Credentials, UploadConfig
    ImportClient                                     # steps 3-4: start, follow, list, verify
    CollectionSchema, load_schema                    # the schema model
    Sandbox, open_tutorial                           # the local stand-in (extra: [sandbox])
    errors                                           # the exception tree (the common ones are here too)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: name -> module (relative to the package) that defines it.
_LAZY = {
    # step 1: prepare
    "convert": "prepare.convert_any",
    "convert_json_to_numpy": "prepare.convert",
    "ConvertResult": "prepare.convert",
    "convert_json_to_parquet": "prepare.parquet_out",
    "ParquetResult": "prepare.parquet_out",
    "infer_schema": "prepare.infer",
    "infer_schema_from_json": "prepare.infer",
    "check_import_source": "prepare.checks",
    "CheckReport": "prepare.report",
    "CheckItem": "prepare.report",
    "ImportLimits": "prepare.rules",
    "sample_schema": "prepare.samples",
    "iter_sample_rows": "prepare.samples",
    "write_sample_json": "prepare.samples",
    # step 2: storage
    "upload": "storage.upload",
    "upload_to_oss": "storage.upload",
    "verify_upload": "storage.upload",
    "UploadResult": "storage.results",
    "UploadedObject": "storage.results",
    "check_bucket": "storage.providers",
    "abort_stale_uploads": "storage.cleanup",
    "StaleUpload": "storage.cleanup",
    "BucketAccess": "storage.backend",
    "OssCredentials": "config",
    "AzureCredentials": "config",
    "CosCredentials": "config",
    "GcsCredentials": "config",
    "S3Credentials": "config",
    "StorageKeys": "config",
    "UploadConfig": "config",
    # steps 3-4: cloud
    "ImportClient": "cloud.client",
    "ImportPlan": "cloud.plan",
    "ImportPiece": "cloud.plan",
    "ImportStallWarning": "cloud.watch",
    "WaitOptions": "cloud.watch",
    "ImportJob": "cloud.jobs",
    "ImportJobSummary": "cloud.jobs",
    "ImportProgress": "cloud.jobs",
    "ImportState": "cloud.jobs",
    "FileProgress": "cloud.jobs",
    "VerifyResult": "cloud.search_results",
    "SearchResult": "cloud.search_results",
    "SearchHit": "cloud.search_results",
    "RetryPolicy": "retry",
    # the schema model and progress events
    "CollectionSchema": "schema",
    "FieldSchema": "schema",
    "DataType": "schema",
    "load_schema": "schema",
    "ConvertProgress": "progress",
    "UploadProgress": "progress",
    # errors users catch (all of them: zimport_widgets.errors)
    "ZImportError": "errors",
    "ConfigError": "errors",
    "SchemaError": "errors",
    "DataFileError": "errors",
    "SourceInvalidError": "errors",
    "StorageError": "errors",
    "ZillizError": "errors",
    "ZillizAPIError": "errors",
    "ZillizNetworkError": "errors",
    "ImportJobFailed": "errors",
    "ImportTimeout": "errors",
    "LocalFileError": "errors",
    # the local sandbox
    "Sandbox": "sandbox.sandbox",
    "open_tutorial": "sandbox.tutorial",
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
