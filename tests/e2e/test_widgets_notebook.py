"""A full wizard run in a real kernel (nbclient, ipykernel), saved WITH widget state: no secret in the file.

The secrets reach the kernel only through the environment, which the first cell moves into the Password
widgets (as a user typing them would) and then deletes, so the run can only succeed through the widgets.
The forms run their work in threads under ipykernel 7 and 6, the notebook waits for each, and the saved
``.ipynb`` (outputs + ``metadata.widgets``) is searched for every secret.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from zimport_widgets import config
from zimport_widgets.cloud.client import ImportClient
from zimport_widgets.prepare.samples import sample_schema, write_sample_json
from zimport_widgets.sandbox import Sandbox

ROWS = 250
DIM = 16
COLLECTION = "nb_articles"

SETUP = """\
import os
from zimport_widgets.widgets import ImportWizard
typed = {{n: os.environ.pop(n) for n in ("ZILLIZ_API_KEY", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET")}}
wizard = ImportWizard(source={source!r}, collection={collection!r}, api_version="v2",
                      poll_interval=0.3, timeout=120)
wizard.connection.api_key.widget.value = typed["ZILLIZ_API_KEY"]
wizard.oss.access_key_id.widget.value = typed["OSS_ACCESS_KEY_ID"]
wizard.oss.access_key_secret.widget.value = typed["OSS_ACCESS_KEY_SECRET"]
del typed
wizard
"""

RUN = """\
import threading
on_main = []  # where the chaining observers and the jobs table's prepare() (it reads the secret inputs) ran
for form in wizard.steps:
    form.observe(lambda change: on_main.append(threading.current_thread() is threading.main_thread()), "result")
jobs_prepare = wizard.jobs.prepare
def probed_prepare():
    on_main.append(threading.current_thread() is threading.main_thread())
    return jobs_prepare()
wizard.jobs.prepare = probed_prepare
for step in wizard.steps:
    step.run()
    step.wait(180)
    assert step.error is None, (type(step).__name__, step.status.value)
    step.code_button.value = True
wizard.jobs.wait(60)
print("imported", wizard.importer.result.imported_rows, "counted", wizard.importer.result.row_count)
print("observers on the main thread:", on_main)
"""

CHECK = """\
import json
state = [wizard.connection.api_key.widget.value, wizard.oss.access_key_id.widget.value,
         wizard.oss.access_key_secret.widget.value]
print("password widgets hold a value after the run:", json.dumps([bool(v) for v in state]))
print("sources:", wizard.connection.api_key.source, wizard.oss.access_key_secret.source)
"""


@pytest.fixture
def kernel_sandbox_env(monkeypatch):
    with Sandbox() as sb:
        for name in config.ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
        for key, value in sb.env().items():
            monkeypatch.setenv(key, value)
        yield sb


IPYKERNEL6 = Path(sys.prefix) / "ipykernel6"  # `make` installs ipykernel 6 there, beside the venv's 7


@pytest.fixture(params=["python3", "ipykernel6"])
def kernel_name(request, tmp_path_factory, monkeypatch) -> str:
    """The venv's kernel (ipykernel 7), and the same Python with ipykernel 6 first on its path."""
    if request.param == "python3":
        return "python3"
    assert (IPYKERNEL6 / "ipykernel").is_dir(), f"ipykernel 6 is missing from {IPYKERNEL6}: run `make venv`"
    root = tmp_path_factory.mktemp("jupyter-path")
    spec = root / "kernels" / "ipykernel6"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel 6)", "language": "python",
        "env": {"PYTHONPATH": str(IPYKERNEL6)},
    }))  # fmt: skip
    monkeypatch.setenv("JUPYTER_PATH", str(root))
    return "ipykernel6"


def test_saved_notebook_with_widget_state_holds_no_secret(kernel_sandbox_env, tmp_path, kernel_name):
    sb = kernel_sandbox_env
    ImportClient.from_env(sb.env()).create_collection(COLLECTION, sample_schema(dim=DIM))
    source = write_sample_json(tmp_path / "articles.json", n=ROWS, dim=DIM)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(SETUP.format(source=str(source), collection=COLLECTION)),
        nbformat.v4.new_code_cell(RUN),
        nbformat.v4.new_code_cell(CHECK),
    ]
    nb.cells.append(nbformat.v4.new_code_cell("import ipykernel; print('ipykernel', ipykernel.__version__)"))
    nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=300, kernel_name=kernel_name, store_widget_state=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, path)
    text = path.read_text()

    # no secret anywhere in the saved file (outputs and widget state)
    for name, secret in [("ZILLIZ_API_KEY", sb.api_key), ("OSS_ACCESS_KEY_ID", sb.access_key_id),
                         ("OSS_ACCESS_KEY_SECRET", sb.access_key_secret)]:  # fmt: skip
        assert secret and len(secret) >= 8
        found = secret in text  # (not `assert secret not in text`: pytest would print the secret)
        assert not found, f"{name} found in the saved notebook"

    # ... and the run really went through the widgets, with their state saved, so the search was meaningful
    run_out = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert f"imported {ROWS} counted {ROWS}" in run_out
    assert "observers on the main thread: [True, True, True, True]" in run_out, run_out
    check_out = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert "password widgets hold a value after the run: [false, false, false]" in check_out
    assert "sources: memory memory" in check_out
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    models = [m["model_name"] for m in state.values()]
    assert models.count("PasswordModel") == 10  # the API key, the OSS, S3, COS and GCS key pairs, the Azure key
    assert "FloatProgressModel" in models
    assert any("Completed" in json.dumps(m["state"]) for m in state.values())
    assert any("os.environ" in json.dumps(m["state"]) for m in state.values())  # the shown code
    assert os.environ[config.OSS_ACCESS_KEY_SECRET] == sb.access_key_secret  # the test process kept its env
    major = "".join(o.get("text", "") for o in nb.cells[3].outputs).split()[1].split(".")[0]
    assert major == ("6" if kernel_name == "ipykernel6" else "7")
