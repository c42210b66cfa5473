"""The public surface: ``zimport_widgets.__all__`` is pinned, every name resolves to where it is defined,
and importing the package loads none of its heavy parts."""

import subprocess
import sys

import zimport_widgets

PUBLIC = [
    "BucketAccess", "CheckItem", "CheckReport", "CollectionSchema", "ConfigError", "ConvertProgress",
    "ConvertResult", "DataFileError", "DataType", "FieldSchema", "FileProgress", "ImportClient", "ImportJob",
    "ImportJobFailed", "ImportJobSummary", "ImportLimits", "ImportProgress", "ImportStallWarning", "ImportState",
    "ImportTimeout", "OssCredentials", "RetryPolicy", "Sandbox", "SchemaError", "SearchHit", "SearchResult",
    "SourceInvalidError", "StorageError", "StorageKeys", "UploadConfig", "UploadProgress", "UploadResult",
    "UploadedObject", "VerifyResult", "ZImportError", "ZillizAPIError", "ZillizError", "ZillizNetworkError",
    "check_bucket", "check_import_source", "convert_json_to_numpy", "errors", "infer_schema", "infer_schema_from_json",
    "iter_sample_rows", "load_schema", "open_tutorial", "sample_schema", "upload_to_oss", "verify_upload",
    "write_sample_json",
]  # fmt: skip


def test_all_is_pinned():
    assert zimport_widgets.__all__ == sorted(PUBLIC)


def test_every_name_resolves_to_its_defining_module():
    for name in zimport_widgets.__all__:
        obj = getattr(zimport_widgets, name)
        if name == "errors":
            assert obj.__name__ == "zimport_widgets.errors"
            continue
        module = zimport_widgets._LAZY[name]
        assert obj.__module__ == f"zimport_widgets.{module}", name  # defined there, not re-exported
        assert name in sys.modules[obj.__module__].__all__, name


def test_dir_lists_the_public_names():
    assert set(zimport_widgets.__all__) <= set(dir(zimport_widgets))


def test_import_is_light():
    code = (
        "import sys, zimport_widgets\n"
        "heavy = [m for m in ('numpy', 'oss2', 'requests', 'ipywidgets', 'tqdm', 'zimport_widgets.sandbox') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_core_never_imports_widgets_or_sandbox():
    code = (
        "import sys\n"
        "import zimport_widgets.prepare.checks, zimport_widgets.prepare.split, zimport_widgets.storage.upload\n"
        "import zimport_widgets.cloud.client, zimport_widgets.cli\n"
        "print(','.join(m for m in sys.modules if m.startswith(('zimport_widgets.widgets', 'zimport_widgets.sandbox',"
        " 'ipywidgets'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
