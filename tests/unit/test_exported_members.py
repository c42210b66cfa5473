"""The public surface: ``zimport_widgets.__all__`` is pinned, every name resolves to where it is defined,
and importing the package loads none of its heavy parts."""

import json
import re
import subprocess
import sys
from pathlib import Path

import zimport_widgets

PUBLIC = [
    "AzureCredentials", "BucketAccess", "CheckItem", "CheckReport", "CollectionSchema", "ConfigError",
    "CosCredentials", "ConvertProgress", "ConvertResult", "DataFileError", "DataType", "FieldSchema", "FileProgress",
    "GcsCredentials", "ImportClient", "ImportJob", "ImportJobFailed", "ImportJobSummary", "ImportLimits",
    "ImportPiece", "ImportPlan", "ImportProgress", "ImportStallWarning", "ImportState", "ImportTimeout",
    "LocalFileError", "OssCredentials", "ParquetResult", "RetryPolicy", "S3Credentials", "Sandbox", "SchemaError",
    "SearchHit", "SearchResult", "SourceInvalidError", "StaleUpload", "StorageError", "StorageKeys", "UploadConfig",
    "UploadProgress", "UploadResult", "UploadedObject", "VerifyResult", "WaitOptions", "ZImportError",
    "ZillizAPIError", "ZillizError", "ZillizNetworkError", "abort_stale_uploads", "check_bucket",
    "check_import_source", "convert", "convert_json_to_numpy", "convert_json_to_parquet", "errors", "infer_schema",
    "infer_schema_from_json", "iter_sample_rows", "load_schema", "open_tutorial", "sample_schema", "upload",
    "upload_to_oss", "verify_upload", "write_sample_json",
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
        " 'ipywidgets', 'zimport_widgets.distributed', 'dask', 'distributed', 'boto3', 'azure'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


ROOT = Path(__file__).resolve().parents[2]
_IMPORT = re.compile(r"^\s*(?:from\s+(zimport_widgets[\w.]*)\s+import|import\s+(zimport_widgets[\w.]*))", re.M)


def _imported_modules(code: str) -> set[str]:
    return {a or b for a, b in _IMPORT.findall(code)}


def test_notebooks_import_only_public_names():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        modules = _imported_modules(code)
        # the public sub-packages of the extras: the forms, and the Dask path
        assert modules and modules <= {"zimport_widgets", "zimport_widgets.widgets", "zimport_widgets.distributed"}, (
            path.name, modules,
        )  # fmt: skip
        for name in re.findall(r"from zimport_widgets.distributed import ([\w, ]+)", code):
            import zimport_widgets.distributed as dist

            assert {n.strip() for n in name.split(",")} <= set(dist.__all__), (path.name, name)
        for name in re.findall(r"from zimport_widgets import ([\w, ]+)", code):
            assert {n.strip() for n in name.split(",")} <= set(zimport_widgets.__all__), (path.name, name)


def test_show_code_imports_only_public_names():
    forms_with_code = 0
    for path in sorted((ROOT / "zimport_widgets" / "widgets").glob("*.py")):
        shown = "\n".join(re.findall(r"""["'](\s*(?:from|import) zimport_widgets[^"']*)["']""", path.read_text()))
        assert _imported_modules(shown) <= {"zimport_widgets"}, (path.name, shown)
        forms_with_code += bool(shown)
    assert forms_with_code >= 5  # connection, convert, upload, import, jobs show code


def test_no_core_module_imports_widgets_or_sandbox_even_lazily():
    """Every import statement of the core (module level or inside a function), read from the source."""
    import ast

    package = ROOT / "zimport_widgets"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.parts[0] in ("widgets", "sandbox", "cli") or (rel.name == "__init__.py" and len(rel.parts) == 1):
            continue
        depth = len(rel.parts) - 1  # how many packages below zimport_widgets
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against the package of this module
                    up = rel.parts[: len(rel.parts) - 1][: max(0, depth - (node.level - 1))]
                    base = ".".join(["zimport_widgets", *up, *([base] if base else [])])
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith(("zimport_widgets.widgets", "zimport_widgets.sandbox", "ipywidgets")):
                    offenders.append(f"{rel}: {name}")
    assert offenders == []
