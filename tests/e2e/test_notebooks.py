"""The tutorial notebooks: committed stripped, and executed for real, end to end, against a sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from devtools.demo import main as demo_main
from devtools.demo import step_seconds
from devtools.run_notebooks import NOTEBOOKS, notebooks_dir

NOTEBOOK_PATHS = sorted(notebooks_dir().glob("*.ipynb"))


def test_the_tutorial_lists_every_committed_notebook():
    assert sorted(p.name for p in NOTEBOOK_PATHS) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.name)
def test_committed_notebook_is_stripped_and_parameterised(path: Path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    code_cells = [c for c in raw["cells"] if c["cell_type"] == "code"]
    assert not [c for c in code_cells if c.get("outputs")], "committed notebook holds outputs"
    assert all(c.get("execution_count") is None for c in code_cells)
    assert "widgets" not in raw.get("metadata", {}), "committed notebook holds widget state"
    assert "parameters" in code_cells[0].get("metadata", {}).get("tags", []), "first code cell needs the tag"


@pytest.mark.notebooks
def test_make_demo_runs_every_notebook_and_leaks_no_secret(tmp_path: Path, monkeypatch, capsys):
    for name in ("ZILLIZ_CLUSTER_ENDPOINT", "ZILLIZ_CONTROLLER_URL", "ZILLIZ_CLUSTER_ID", "ZILLIZ_API_KEY",
                 "OSS_ENDPOINT", "OSS_BUCKET", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    secrets: dict[str, str] = {}

    import devtools.run_notebooks as tutorial

    real_env = tutorial.tutorial_env

    from contextlib import contextmanager

    @contextmanager
    def spying_env(work, *args):
        with real_env(work, *args) as env:
            secrets.update({k: env[k] for k in ("ZILLIZ_API_KEY", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET")})
            yield env

    monkeypatch.setattr("devtools.demo.tutorial_env", spying_env)
    assert demo_main(["--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    judge = "real Milvus 2.3.5 server (its own bulk insert judges every import)"
    assert f"imports judged by: {judge}" in printed, printed  # the real importer, on this machine
    assert f"{judge}: 7 job(s) completed, 1 failed" in printed, printed  # 4 of them: the Dask plan (v1: one per file)
    assert "rows imported into medium_articles: 5,979" in printed
    assert "rows imported into medium_articles_quickstart: 5,979" in printed
    assert "rows imported into medium_articles_parquet: 5,979" in printed
    assert "rows imported into medium_articles_at_scale: 1,600" in printed
    assert "time per step: convert" in printed
    failed = [line for line in printed.splitlines() if " Failed (" in line]
    assert len(failed) == 1 and "claps" in failed[0], printed  # the tutorial's bad source, with its reason

    executed = {p.name: p for p in (tmp_path / "notebooks").glob("*.ipynb")}
    assert sorted(executed) == sorted(NOTEBOOKS)
    assert all(v for v in secrets.values()) and len(secrets) == 3
    for path in [*executed.values(), *(tmp_path / "notebooks").glob("*.html")]:
        text = path.read_text(encoding="utf-8")
        for name, value in secrets.items():
            assert value not in text, f"{name} leaked into {path.name}"
    for name, path in executed.items():
        nb = nbformat.read(path, as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{name}: {errors}"
        stderr = [o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type == "stream" and o.name == "stderr"]  # fmt: skip
        assert not [s for s in stderr if "Traceback" in s or "IProgress not found" in s], (name, stderr)
    steps = step_seconds(executed["03_import_via_restful_api.ipynb"])
    assert set(steps) >= {"import", "verify"} and all(v >= 0 for v in steps.values())
    failed_demo = next(c for c in nbformat.read(executed["03_import_via_restful_api.ipynb"], 4).cells
                       if c.cell_type == "code" and "except ImportJobFailed" in c.source)  # fmt: skip
    shown = "".join(o.get("text", "") for o in failed_demo.outputs)
    assert "failed" in shown and "claps" in shown, shown
