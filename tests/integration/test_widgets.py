"""Widget logic in plain pytest (ipywidgets 8 needs no kernel): set values, click, read widget state.

The forms call the real core functions against the sandbox (OSS store, import controller, cluster).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import ipywidgets as w
import numpy as np
import pytest

import zimport_widgets.widgets as zw
from zimport_widgets import config
from zimport_widgets.prepare.samples import iter_sample_rows, sample_schema, write_sample_json

ROOT = Path(__file__).resolve().parents[2]
DIM = 16


@pytest.fixture
def clean_env(monkeypatch):
    for name in config.ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sample_json(tmp_path):
    return write_sample_json(tmp_path / "articles.json", n=300, dim=DIM)


def all_state(widget: w.Widget) -> str:
    """Every synced state of ``widget`` and its descendants, as one JSON text."""
    seen, out, todo = set(), [], [widget]
    while todo:
        wd = todo.pop()
        if id(wd) in seen:
            continue
        seen.add(id(wd))
        state = wd.get_state()
        out.append(json.dumps(state, default=str))
        for value in state.values():
            items = value if isinstance(value, list | tuple) else [value]
            todo += [v for v in items if isinstance(v, w.Widget)]
        todo += [v for v in getattr(wd, "children", ()) if isinstance(v, w.Widget)]
        todo += [v for v in vars(wd).values() if isinstance(v, w.Widget)]
    return "\n".join(out)


def assert_no_secret(text: str, *secrets: str) -> None:
    """Fail if any secret occurs in ``text``, without pytest echoing the secret in its report."""
    leaked = [i for i, secret in enumerate(secrets) if secret and secret in text]
    assert not leaked, f"secret(s) number {leaked} found"


def oss_form(sb, *, typed: bool = True) -> zw.OSSForm:
    form = zw.OSSForm(endpoint=sb.oss_endpoint, bucket=sb.oss_bucket)
    if typed:
        form.access_key_id.widget.value = sb.access_key_id
        form.access_key_secret.widget.value = sb.access_key_secret
    return form


# ------------------------------------------------------------------------------------ import guard


def test_package_imports_without_ipywidgets_and_widgets_says_what_to_install():
    code = r"""
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "ipywidgets" or name.startswith("ipywidgets."):
            raise ImportError("No module named 'ipywidgets' (blocked)")
sys.meta_path.insert(0, Block())
import zimport_widgets
from zimport_widgets import convert_json_to_numpy, upload_to_oss, ImportClient, check_import_source
assert "ipywidgets" not in sys.modules
try:
    import zimport_widgets.widgets
except ImportError as exc:
    print("MESSAGE:", exc)
else:
    raise SystemExit("zimport_widgets.widgets imported without ipywidgets")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "pip install 'ipywidgets>=8.1'" in proc.stdout
    assert "restart the kernel" in proc.stdout


# ------------------------------------------------------------------------------------ secrets


def test_secret_input_reads_once_clears_the_widget_and_keeps_value_in_memory(clean_env):
    secret = zw.SecretInput("Key", config.OSS_ACCESS_KEY_SECRET)
    assert secret.widget.continuous_update is False  # the browser sends it on Enter / leaving the box
    secret.widget.value = "typed-secret-123"  # what the browser's sync does
    assert secret.widget.value == ""  # taken into kernel memory and cleared at once
    assert "typed-secret-123" not in json.dumps(secret.widget.get_state())
    assert secret.source == "memory"
    assert "kernel memory" in secret.widget.placeholder
    assert secret.take() == "typed-secret-123"
    assert secret.take() == "typed-secret-123"  # still usable for the next run
    secret.forget()
    assert secret.take() is None


def test_secret_input_uses_environment_without_putting_it_in_the_widget(monkeypatch):
    monkeypatch.setenv(config.ZILLIZ_API_KEY, "env-key-456")
    form = zw.ConnectionForm(cluster_endpoint="http://127.0.0.1:1")
    assert form.api_key.widget.value == ""
    assert form.api_key.widget.placeholder == "using $ZILLIZ_API_KEY (type to replace)"
    assert form.client_kwargs()["api_key"] == "env-key-456"
    assert "env-key-456" not in all_state(form)


# ------------------------------------------------------------------------------------ convert


def test_convert_form_runs_off_thread_disables_button_and_shows_result(sample_json, tmp_path):
    form = zw.ConvertForm(source=str(sample_json))
    assert form.out_dir.value == str(tmp_path / "articles_parquet")  # default next to the source
    assert form.output_format.value == "Parquet" and "JSON rows" in form.kind.value
    form.output_format.value = "NumPy"  # the default folder follows the format
    assert form.out_dir.value == str(tmp_path / "articles_npy")
    seen = []
    form.progress_label.observe(
        lambda c: seen.append((form.running, form.run_button.disabled, form.cancel_button.disabled)), "value"
    )
    form.run_button.click()
    outcome = form.wait(60)
    assert form.error is None, form.status.value
    assert outcome.result.rows == 300 and outcome.ok
    assert sorted(p.name for p in (tmp_path / "articles_npy").iterdir()) == sorted(
        f"{n}.npy" for n in outcome.result.schema.names
    )
    assert np.load(tmp_path / "articles_npy" / "title_vector.npy").shape == (300, DIM)
    # while running: button disabled, Cancel enabled; afterwards the reverse
    assert seen and all(s == (True, True, False) for s in seen[:-1])
    assert form.run_button.disabled is False and form.cancel_button.disabled is True
    assert form.progress.value == 100.0 and form.progress.bar_style == "success"
    assert "300 rows" in form.progress_label.value
    assert "the check passed" in form.status.value
    assert "300" in form.output.value  # the ConvertResult / CheckReport tables


def test_convert_form_missing_file_shows_inline_error_not_traceback(tmp_path):
    form = zw.ConvertForm(source=str(tmp_path / "nope.json"))
    form.run_button.click()
    assert not form.running  # refused before any thread started
    assert "zimport-error" in form.status.value
    assert "nope.json" in form.status.value and "Hint:" in form.status.value
    assert "Traceback" not in form.status.value
    assert form.run_button.disabled is False


def test_convert_form_bad_value_names_file_row_and_field(tmp_path):
    rows = list(iter_sample_rows(50, dim=DIM))
    rows[37]["claps"] = "many"
    src = tmp_path / "bad.json"
    src.write_text(json.dumps({"rows": rows}))
    form = zw.ConvertForm(source=str(src), schema=sample_schema(dim=DIM))
    form.run()
    form.wait(30)
    assert form.error is not None and form.result is None
    status = form.status.value
    assert (
        "border-left:4px solid var(--jp-error-color1, #b3261e)" in status
        and "Problem in the data" in status
        and "DataFileError" not in status
    )
    assert "bad.json" in status and "row 37" in status and "claps" in status
    assert form.progress.bar_style == "danger"
    assert "Traceback" not in status
    assert not (tmp_path / "bad_parquet").exists() or not list((tmp_path / "bad_parquet").iterdir())


def test_convert_form_cancel_stops_the_work(tmp_path):
    src = write_sample_json(tmp_path / "big.json", n=6000, dim=64)
    form = zw.ConvertForm(source=str(src))
    # press Cancel as soon as the run started (the first label update happens on the click)
    form.progress_label.observe(lambda c: form.running and form.cancel(), "value")
    form.run()
    form.wait(60)
    assert isinstance(form.error, zw.Cancelled)
    assert "Cancelled" in form.status.value
    assert form.progress.bar_style == "warning"
    assert form.result is None
    assert form.run_button.disabled is False
    assert not (tmp_path / "big_parquet").exists() or not list(
        (tmp_path / "big_parquet").iterdir()
    )  # nothing half-written


def test_file_picker_navigates_and_picks_server_side_files(sample_json, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    form = zw.ConvertForm()
    form.source.value = ""
    form.browse.value = True
    picker = form.picker
    picker.show_folder(tmp_path)
    options = list(picker.listing.options)
    assert "▸ sub/" in options and "· articles.json" in options
    assert not any(ord(c) > 0xFFFF for o in options for c in o)  # no emoji: they show as boxes on plain Linux
    assert "· notes.txt" not in options  # only import sources (.json, .jsonl, .csv, .parquet ...)
    picker.listing.value = "▸ sub/"
    assert picker.folder == tmp_path / "sub"
    picker.listing.value = "▴ .."
    picker.listing.value = "· articles.json"
    assert form.source.value == str(sample_json)
    assert form.browse.value is False and form.picker_box.children == ()
    assert form.out_dir.value == str(tmp_path / "articles_parquet")


# ------------------------------------------------------------------------------------ OSS / upload


def test_oss_form_check_and_upload_against_sandbox(sandbox, sample_json, clean_env):
    oss = oss_form(sandbox)
    oss.run()
    oss.wait(30)
    assert oss.error is None, oss.status.value
    assert "reachable" in oss.output.value
    # the keys were read once and are gone from the widgets
    assert oss.access_key_id.widget.value == "" and oss.access_key_secret.widget.value == ""

    convert = zw.ConvertForm(source=str(sample_json))
    convert.run()
    outcome = convert.wait(60)
    upload = zw.UploadForm(oss, source=str(outcome.out_dir), prefix="widgets/test1")
    labels = []
    upload.progress_label.observe(lambda c: labels.append(c["new"]), "value")
    upload.run()
    result = upload.wait(60)
    assert upload.error is None, upload.status.value
    assert result.object_url.endswith("/widgets/test1/")
    assert result.object_url in upload.status.value
    assert upload.progress.value == 100.0
    assert any(" of " in label and "files" in label for label in labels)
    import oss2

    bucket = oss2.Bucket(oss2.Auth(sandbox.access_key_id, sandbox.access_key_secret), sandbox.oss_endpoint,
                         sandbox.oss_bucket)  # fmt: skip
    stored = sorted(o.key for o in bucket.list_objects(prefix="widgets/test1/").object_list)
    assert stored == sorted(f"widgets/test1/{f.name}" for f in outcome.result.files)
    text = all_state(oss) + all_state(upload)
    assert_no_secret(text, sandbox.access_key_id, sandbox.access_key_secret)


def test_oss_form_wrong_secret_shows_auth_error_with_hint_and_no_secret(sandbox, clean_env):
    oss = zw.OSSForm(endpoint=sandbox.oss_endpoint, bucket=sandbox.oss_bucket)
    oss.access_key_id.widget.value = sandbox.access_key_id
    oss.access_key_secret.widget.value = "wrong-secret-value-789"
    oss.run()
    oss.wait(30)
    assert oss.error is not None
    status = oss.status.value
    assert "zimport-error" in status and "Hint:" in status
    assert_no_secret(status, "wrong-secret-value-789", sandbox.access_key_id)


def test_show_code_masks_secrets_and_compiles(sandbox, sample_json, clean_env):
    oss = oss_form(sandbox)
    upload = zw.UploadForm(oss, source=str(sample_json.parent), prefix="p/q")
    upload.code_button.value = True
    assert upload.code_view.layout.display == ""
    code_html = upload.code_view.value
    assert "os.environ[&#x27;OSS_ACCESS_KEY_SECRET&#x27;]" in code_html
    assert_no_secret(code_html, sandbox.access_key_secret, sandbox.access_key_id)
    upload.prefix.value = "p/changed"
    assert "p/changed" in upload.code_view.value  # re-rendered on change
    forms = [upload, oss, zw.ConvertForm(source=str(sample_json)), zw.ImportForm(collection="c", object_url="u"),
             zw.ConnectionForm(cluster_endpoint="http://127.0.0.1:1"), zw.JobsTable()]  # fmt: skip
    for form in forms:
        compile(form.code(), f"<{type(form).__name__}>", "exec")
    upload.code_button.value = False
    assert upload.code_view.layout.display == "none"


# ------------------------------------------------------------------------------------ wizard


def _sandbox_env(sandbox, monkeypatch):
    for name in config.ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for k, v in sandbox.env().items():
        monkeypatch.setenv(k, v)
    from zimport_widgets.cloud.client import ImportClient

    return ImportClient.from_env(sandbox.env())


def _fresh(client, name: str) -> str:
    if client.has_collection(name):
        client.drop_collection(name)
    client.create_collection(name, sample_schema(dim=DIM))
    return name


def test_wizard_carries_results_between_steps(sandbox, sample_json, monkeypatch):
    client = _sandbox_env(sandbox, monkeypatch)
    _fresh(client, "medium_articles")
    wizard = zw.ImportWizard(source=str(sample_json), collection="medium_articles", infer_schema=True)
    assert wizard.importer.collection.value == "medium_articles"
    wizard.convert.run()
    outcome = wizard.convert.wait(60)
    assert wizard.convert.error is None, wizard.convert.status.value
    assert wizard.upload.source.value == str(outcome.out_dir)
    assert wizard.upload.prefix.value.startswith("medium_articles/")  # a fresh prefix for this run
    wizard.upload.run()
    result = wizard.upload.wait(60)
    assert wizard.upload.error is None, wizard.upload.status.value
    assert wizard.importer.object_url.value == result.object_url
    assert wizard.upload.prefix.value != result.prefix  # the next upload goes elsewhere


def test_wizard_has_one_target_for_every_step(sandbox, sample_json, monkeypatch):
    """Changing the collection once moves every step to it: converted, uploaded and imported into it."""
    client = _sandbox_env(sandbox, monkeypatch)
    first, second = _fresh(client, "wiz_first"), _fresh(client, "wiz_second")
    wizard = zw.ImportWizard(source=str(sample_json), collection=first)
    assert all(first in step.target_note.value for step in wizard.steps)
    assert wizard.convert.collection.layout.display == "none" and wizard.importer.collection.layout.display == "none"
    for quick in (wizard.target, wizard.creator, wizard.jobs):  # no Cancel that could do nothing
        assert quick.cancel_button.layout.display == "none"
    assert wizard.convert.cancel_button.layout.display != "none"
    wizard.target.run()
    wizard.target.wait(30)
    assert {first, second} <= set(wizard.target.name.options)  # Refresh lists the cluster's collections
    wizard.target.name.value = second
    assert wizard.importer.collection.value == second and wizard.convert.collection.value == second
    assert all(second in step.target_note.value and first not in step.target_note.value for step in wizard.steps)
    assert wizard.upload.prefix.value.startswith(f"{second}/")
    assert wizard.tabs.selected_index == 0 and list(wizard.tabs.children) == [*wizard.steps, wizard.jobs]
    for i, step in enumerate(wizard.steps):
        step.run()
        step.wait(120)
        assert step.error is None, step.status.value
        assert wizard.tabs.get_title(i).endswith("✓")  # done, marked
        assert wizard.tabs.selected_index == min(i + 1, 2)  # the next step opened (the import stays in view)
    assert client.count_rows(second) == 300 and client.count_rows(first) == 0


def test_wizard_checks_the_target_before_anything_is_written(sandbox, sample_json, monkeypatch, tmp_path):
    client = _sandbox_env(sandbox, monkeypatch)
    out = tmp_path / "never"
    wizard = zw.ImportWizard(source=str(sample_json), out_dir=str(out), collection="no_such_collection")
    wizard.convert.run()
    wizard.convert.wait(30)
    assert "does not exist on the cluster" in wizard.convert.status.value and not out.exists()
    # files prepared for other fields than the target's: the upload is refused before any byte
    other = _fresh(client, "wiz_other")
    client.drop_collection(other)
    from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

    client.create_collection(other, CollectionSchema(
        fields=(FieldSchema("id", DataType.INT64, is_primary=True), FieldSchema("v", DataType.FLOAT_VECTOR, dim=4)),
        collection_name=other,
    ))  # fmt: skip
    wizard.target.name.value = other
    wizard.upload.source.value = str(sample_json)
    wizard.upload.schema = sample_schema(dim=DIM)
    before = sandbox.store.request_count
    wizard.upload.run()
    wizard.upload.wait(30)
    assert "prepared for other fields" in wizard.upload.status.value
    assert sandbox.store.request_count == before  # nothing was sent


def test_a_failed_upload_clears_the_object_url(sandbox, sample_json, monkeypatch, sandbox_faults):
    client = _sandbox_env(sandbox, monkeypatch)
    name = _fresh(client, "wiz_failed_upload")
    wizard = zw.ImportWizard(source=str(sample_json), collection=name)
    wizard.convert.run()
    wizard.convert.wait(60)
    wizard.importer.object_url.value = "https://example/leftover/"
    sandbox_faults.error("*", status=403, times=None, service="oss", method="PUT")
    wizard.upload.run()
    wizard.upload.wait(60)
    assert wizard.upload.error is not None and wizard.importer.object_url.value == ""
    wizard.importer.run()
    wizard.importer.wait(30)
    assert "no object URL given" in wizard.importer.status.value


# ------------------------------------------------------------------------------------ import / jobs


@pytest.fixture
def cluster(sandbox, monkeypatch, tmp_path):
    """The sandbox's variables in the environment, a fresh collection and its converted + uploaded data."""
    from zimport_widgets import convert_json_to_numpy, upload_to_oss
    from zimport_widgets.cloud.client import ImportClient

    for name in config.ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    name = f"w_{tmp_path.name[-12:].replace('-', '_')}"
    client = ImportClient.from_env(sandbox.env())
    client.create_collection(name, sample_schema(dim=DIM))
    src = write_sample_json(tmp_path / "rows.json", n=120, dim=DIM)
    conv = convert_json_to_numpy(src, tmp_path / "rows_npy", sample_schema(dim=DIM), progress=False)
    up = upload_to_oss(conv.out_dir, prefix=f"{name}/data", progress=False)
    return {"client": client, "name": name, "url": up.object_url, "rows": 120}


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_import_form_follows_the_job_and_verifies_the_row_count(cluster, api_version):
    conn = zw.ConnectionForm(api_version=api_version)
    form = zw.ImportForm(conn, zw.OSSForm(), collection=cluster["name"], object_url=cluster["url"],
                         poll_interval=0.2)  # fmt: skip
    states = []
    form.progress_label.observe(lambda c: states.append(c["new"]), "value")
    form.run_button.click()
    outcome = form.wait(120)
    assert form.error is None, form.status.value
    assert outcome.job.collection == cluster["name"]
    assert outcome.row_count == cluster["rows"]
    assert f"now has <b class='zimport-row-count'>{cluster['rows']}</b> rows" in form.status.value
    if api_version == "v2":  # v1 progress reports no row counts
        assert outcome.imported_rows == cluster["rows"]
        assert f"imported <b class='zimport-imported-rows'>{cluster['rows']}</b> rows" in form.status.value
    assert form.job_id == outcome.job_id
    assert (outcome.rows_before, outcome.added_rows) == (0, cluster["rows"])  # v1 too: counted before and after
    assert f"added <b class='zimport-added-rows'>{cluster['rows']}</b> rows (0 before → {cluster['rows']} after)" in (
        form.status.value
    )
    assert "Completed" in form.status.value and "verified" in form.status.value
    assert form.progress.value == 100.0 and form.progress.bar_style == "success"
    assert any(outcome.job_id in s for s in states)
    jobs = zw.JobsTable(conn)
    jobs.run()
    jobs.wait(30)
    assert outcome.job_id in jobs.output.value and "Completed" in jobs.output.value
    assert "started (UTC)" in jobs.output.value
    row = next(r for r in jobs.output.value.split("<tr>") if outcome.job_id in r)
    import re

    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row)) == 2, row  # started here: started and finished
    assert "not started from this machine" not in row


def test_import_form_verify_line_is_the_core_verify_step(cluster):
    form = zw.ImportForm(zw.ConnectionForm(api_version="v2"), zw.OSSForm(), collection=cluster["name"],
                         object_url=cluster["url"], poll_interval=0.2)  # fmt: skip
    form.run()
    outcome = form.wait(120)
    assert form.error is None, form.status.value
    verify = outcome.verify
    assert verify.collection == cluster["name"]
    assert outcome.row_count == verify.row_count == cluster["rows"]
    top = verify.search.hits[0]
    assert top.id == verify.search.query_id  # the sample search finds the row whose vector it searched with
    status = form.status.value
    assert f"<b class='zimport-row-count'>{cluster['rows']}</b> rows" in status and "zimport-ok" in status
    assert f"added <b class='zimport-added-rows'>{cluster['rows']}</b> rows" in status and "✓" in status
    assert (
        f"sample search top hit <code class='zimport-top-hit'>{top.id}</code> (distance {top.distance:.4f})" in status
    )
    assert f"Search in {cluster['name']}" in form.output.value  # the hits table under the job's progress
    assert "Completed" in form.progress_label.value and "verifying" not in form.progress_label.value

    code = form.code()  # the same core call, through the top-level names
    assert f"client.verify({cluster['name']!r})" in code and "count_rows" not in code
    assert "from zimport_widgets import ImportClient" in code and "zimport_widgets." not in code


def test_import_form_verify_line_compares_the_rows_with_the_imported_ones():
    from zimport_widgets import ImportJob, ImportProgress, ImportState, SearchHit, SearchResult, VerifyResult
    from zimport_widgets.widgets.importing import ImportOutcome

    form = zw.ImportForm(zw.ConnectionForm(cluster_endpoint="http://127.0.0.1:1"), zw.OSSForm())
    progress = ImportProgress("j1", ImportState.COMPLETED, 100.0, imported_rows=120, total_rows=120)

    def shown(rows: int, hits: tuple) -> str:
        verify = VerifyResult("c", row_count=rows, expected_rows=None, search=SearchResult("c", "v", hits=hits))
        form.show_result(ImportOutcome(ImportJob("j1", "c"), progress, verify))
        return form.status.value

    # a re-import adds to the rows already there: more than this job imported is verified
    status = shown(300, (SearchHit(7, 1.0),))
    assert "<b class='zimport-row-count'>300</b> rows ✓" in status and "zimport-ok" in status
    status = shown(100, ())
    assert "now has <b class='zimport-row-count'>100</b> rows (fewer than imported" in status
    assert "the sample search found no row" in status
    assert "zimport-warning" in status and "✓" not in status and "zimport-ok" not in status


def test_import_form_failed_job_shows_server_reason_in_red(cluster, sandbox, sandbox_faults):
    sandbox.faults.fail_jobs("disk full on data node")
    form = zw.ImportForm(zw.ConnectionForm(), zw.OSSForm(), collection=cluster["name"],
                         object_url=cluster["url"], poll_interval=0.2)  # fmt: skip
    form.run()
    form.wait(120)
    status = form.status.value
    assert type(form.error).__name__ == "ImportJobFailed"
    assert (
        "disk full on data node" in status
        and "border-left:4px solid var(--jp-error-color1, #b3261e)" in status
        and "Hint:" in status
    )
    assert form.progress.bar_style == "danger"
    assert form.run_button.disabled is False
    assert_no_secret(status, sandbox.api_key, sandbox.access_key_secret)


def test_import_form_cancel_stops_following_the_job(cluster):
    form = zw.ImportForm(zw.ConnectionForm(), zw.OSSForm(), collection=cluster["name"],
                         object_url=cluster["url"], poll_interval=0.2)  # fmt: skip
    cancel_once = [True]

    def cancel(change: dict) -> None:
        if cancel_once[0] and "job <code>" in change["new"]:
            cancel_once[0] = False
            form.cancel()

    form.progress_label.observe(cancel, "value")
    form.run()
    form.wait(60)
    assert isinstance(form.error, zw.Cancelled)
    assert form.job_id  # the job was started; only the following stopped
    assert f"Stopped following job <code class='zimport-cancelled-job'>{form.job_id}</code>" in form.status.value
    assert "keeps running on the server" in form.status.value
    assert form.run_button.disabled is False and form.progress_label.value == "cancelled"  # never "cancelling…"
    assert form.watch_button.layout.display == ""
    form.watch_button.click()  # follow the same job to its end, then verify
    outcome = form.wait(120)
    assert form.error is None, form.status.value
    assert outcome.job_id == form.job_id and outcome.progress.completed
    assert outcome.added_rows == cluster["rows"] and form.watch_button.layout.display == "none"


def test_the_wizard_compares_the_rows_added_with_the_rows_of_the_source(sandbox, sample_json, monkeypatch):
    client = _sandbox_env(sandbox, monkeypatch)
    name = _fresh(client, "wiz_rows")
    wizard = zw.ImportWizard(source=str(sample_json), collection=name, poll_interval=0.2)
    for step in wizard.steps:
        step.run()
        step.wait(120)
        assert step.error is None, step.status.value
    status = wizard.importer.status.value
    assert "added <b class='zimport-added-rows'>300</b> rows (0 before → 300 after) ✓ the source holds 300" in status
    assert "zimport-ok" in status


def test_a_failed_step_keeps_a_visible_red_bar(cluster, sandbox, sandbox_faults):
    sandbox_faults.fail_jobs("disk full on data node")
    form = zw.ImportForm(zw.ConnectionForm(), zw.OSSForm(), collection=cluster["name"], object_url=cluster["url"],
                         poll_interval=0.1)  # fmt: skip
    form.run()
    form.wait(60)
    assert form.error is not None and form.progress.bar_style == "danger"
    assert form.progress.value > 0 and not form.progress_label.value.endswith("…")


def test_convert_form_reads_schema_from_the_collection(cluster, tmp_path):
    # the collection expects dim 16; data with dim 8 must be refused against the collection's schema
    src = write_sample_json(tmp_path / "dim8.json", n=20, dim=8)
    form = zw.ConvertForm(zw.ConnectionForm(), source=str(src), collection=cluster["name"])
    assert form.schema_mode.value == "From the collection"
    form.run()
    form.wait(60)
    assert form.error is not None
    assert "title_vector" in form.status.value and "zimport-error" in form.status.value
    ok = zw.ConvertForm(zw.ConnectionForm(), source=str(write_sample_json(tmp_path / "d16.json", n=20, dim=DIM)),
                        collection=cluster["name"])  # fmt: skip
    ok.run()
    outcome = ok.wait(60)
    assert ok.error is None, ok.status.value
    assert outcome.schema.collection_name == cluster["name"]


def test_connection_form_test_button_and_bad_key(cluster, sandbox):
    form = zw.ConnectionForm()
    env = sandbox.env()  # prefilled from the ZILLIZ_* variables; the key only as a placeholder
    assert form.cluster_endpoint.value == env[config.ZILLIZ_CLUSTER_ENDPOINT]
    assert form.controller_url.value == env.get(config.ZILLIZ_CONTROLLER_URL, "")
    assert form.api_key.widget.value == "" and form.api_key.source == "env"
    oss = zw.OSSForm()
    assert (oss.endpoint.value, oss.bucket.value) == (sandbox.oss_endpoint, sandbox.oss_bucket)
    form.run()
    form.wait(30)
    assert form.error is None, form.status.value
    assert "Connected" in form.output.value
    bad = zw.ConnectionForm()
    bad.api_key.widget.value = "not-the-key-000"
    bad.run()
    bad.wait(30)
    assert bad.error is not None and "Hint:" in bad.status.value
    assert_no_secret(bad.status.value, "not-the-key-000")
    assert bad.api_key.widget.value == ""
    assert "came from the value typed in “API key”" in bad.status.value  # which field the bad key came from
    assert not bad.api_key.clear_button.disabled
    bad.api_key.clear_button.click()  # Forget: back to the environment's key, which works
    assert bad.api_key.source == "env" and bad.api_key.clear_button.disabled
    bad.run()
    bad.wait(30)
    assert bad.error is None and "Connected" in bad.output.value


def test_a_wrong_key_from_the_environment_says_so_and_can_be_replaced_in_the_form(cluster, sandbox, monkeypatch):
    monkeypatch.setenv(config.ZILLIZ_API_KEY, "wrong-env-key-123")
    form = zw.ConnectionForm()
    form.run()
    form.wait(30)
    assert form.error is not None and "$ZILLIZ_API_KEY (the environment" in form.status.value
    assert "ConfigError" not in form.status.value and "ZillizAPIError" not in form.status.value
    assert_no_secret(form.status.value, "wrong-env-key-123")
    form.api_key.widget.value = sandbox.api_key  # typed: replaces the environment's
    assert form.api_key.source == "memory"
    form.run()
    form.wait(30)
    assert form.error is None, form.status.value


def test_upload_form_cancel_stops_the_upload(sandbox, tmp_path, clean_env):
    from zimport_widgets import convert_json_to_numpy

    conv = convert_json_to_numpy(write_sample_json(tmp_path / "c.json", n=2000, dim=64), tmp_path / "c_npy",
                                 progress=False)  # fmt: skip
    sandbox.faults.delay("*", seconds=0.3, service="oss", times=None)  # slow store: the upload takes a while
    try:
        form = zw.UploadForm(oss_form(sandbox), source=str(conv.out_dir), prefix="widgets/cancelled")
        form.progress_label.observe(lambda c: "checking" in c["new"] and form.cancel(), "value")
        form.run()
        form.wait(60)
    finally:
        sandbox.faults.clear()
    assert isinstance(form.error, zw.Cancelled), form.status.value
    assert "Cancelled" in form.status.value and form.progress.bar_style == "warning"
    assert form.result is None and form.run_button.disabled is False


def test_standalone_import_form_embeds_its_settings_and_takes_typed_keys(cluster, sandbox, monkeypatch):
    for name in config.SECRET_ENV_NAMES:  # keys only through the form
        monkeypatch.delenv(name, raising=False)
    form = zw.ImportForm(collection=cluster["name"], object_url=cluster["url"], poll_interval=0.2)
    panel = form.fields.children[0]
    assert isinstance(panel, w.Accordion) and list(panel.children) == [form.connection, form.oss]
    assert panel.selected_index == 0  # opened: keys are missing
    form.connection.api_key.widget.value = sandbox.api_key
    form.oss.access_key_id.widget.value = sandbox.access_key_id
    form.oss.access_key_secret.widget.value = sandbox.access_key_secret
    form.run()
    outcome = form.wait(120)
    assert form.error is None, form.status.value
    assert outcome.row_count == cluster["rows"]
    assert_no_secret(all_state(form), sandbox.api_key, sandbox.access_key_id, sandbox.access_key_secret)


def test_import_form_verify_line_on_a_collection_without_a_dense_vector():
    from zimport_widgets import ImportJob, ImportProgress, ImportState, VerifyResult
    from zimport_widgets.widgets.importing import ImportOutcome

    form = zw.ImportForm(zw.ConnectionForm(cluster_endpoint="http://127.0.0.1:1"), zw.OSSForm())
    progress = ImportProgress("j1", ImportState.COMPLETED, 100.0, imported_rows=50, total_rows=50)
    form.show_result(ImportOutcome(ImportJob("j1", "c"), progress, VerifyResult("c", 50, None, None, searched=False)))
    assert "no dense vector field to search (count only)" in form.status.value
    assert "zimport-ok" in form.status.value and "zimport-warning" not in form.status.value


def test_oss_form_takes_the_sts_token_only_with_keys_from_the_environment(monkeypatch, clean_env):
    monkeypatch.setenv("OSS_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setenv("OSS_BUCKET", "b")
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", "STS.tempkeyid")
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", "tempsecret")
    monkeypatch.setenv("OSS_SECURITY_TOKEN", "the-sts-token")
    assert zw.OSSForm().credentials().keys.security_token == "the-sts-token"
    typed = zw.OSSForm(access_key_id="LTAIlongterm", access_key_secret="longsecret")
    keys = typed.credentials().keys
    assert (keys.access_key_id, keys.security_token) == ("LTAIlongterm", None)


def test_an_observer_error_shows_in_the_form(sandbox, sample_json, tmp_path, clean_env):
    form = zw.ConvertForm(source=str(sample_json), out_dir=str(tmp_path / "npy"), infer=True)

    def broken(change: dict) -> None:
        raise RuntimeError("the next step could not take the result")

    form.observe(broken, "result")
    form.run()
    form.wait(120)
    assert "the next step could not take the result" in form.status.value
    assert form.error is not None


def test_convert_form_takes_a_dataframe_in_code_and_writes_parquet(tmp_path):
    import pandas as pd
    import pyarrow.parquet as pq

    frame = pd.DataFrame(list(iter_sample_rows(120, dim=DIM)))
    form = zw.ConvertForm(source=frame, out_dir=str(tmp_path / "frame_out"), schema=sample_schema(dim=DIM))
    assert form.source.disabled and "DataFrame in code (120 rows)" in form.source.value
    assert "convert(frame," in form.code() and "to='parquet'" in form.code()
    form.run()
    outcome = form.wait(60)
    assert form.error is None, form.status.value
    assert outcome.ok and outcome.result.rows == 120 and outcome.out_dir == tmp_path / "frame_out"
    assert pq.read_table(outcome.files[0]).num_rows == 120
    assert "Parquet file(s)" in form.status.value
    form.output_format.value = "NumPy"
    assert form.out_dir.value == str(tmp_path / "frame_out")  # typed by the user: kept


def test_the_wizard_creates_its_collection_from_the_data_and_imports_into_it(sandbox, sample_json, monkeypatch):
    """A fresh name, no code: read the fields, create, then convert → upload → import into it."""
    client = _sandbox_env(sandbox, monkeypatch)
    name = "wiz_created"
    if client.has_collection(name):
        client.drop_collection(name)
    wizard = zw.ImportWizard(source=str(sample_json), collection=name, poll_interval=0.2)
    creator = wizard.creator
    with pytest.raises(Exception, match="no fields yet"):
        creator.chosen_schema()
    creator.read_button.click()
    deadline = time.monotonic() + 30
    while creator.schema is None:
        assert time.monotonic() < deadline, creator.table.value
        time.sleep(0.05)
    assert "<code>title_vector</code>" in creator.table.value and creator.primary.value == "id"
    kind, size = creator.editors["reading_time"]
    assert kind.value == "Int64" and size.disabled  # the data's guess, editable
    kind.value = "Int32"
    title_kind, title_size = creator.editors["title"]
    assert title_kind.value == "VarChar" and not title_size.disabled
    title_size.value = 1024
    creator.editors["id"][0].value = "Double"
    with pytest.raises(Exception, match="make it Int64 or VarChar"):
        creator.chosen_schema()
    creator.editors["id"][0].value = "Int64"
    creator.keep["id"].value = False
    with pytest.raises(Exception, match="primary key 'id' is left out"):
        creator.chosen_schema()
    creator.keep["id"].value = True
    creator.keep["title_vector"].value = False
    with pytest.raises(Exception, match="no vector field kept"):
        creator.chosen_schema()
    creator.keep["title_vector"].value = True
    creator.keep["claps"].value = False  # left out: with the dynamic field on, its values go to $meta
    creator.dynamic.value = True
    creator.metric.value = "L2"
    code = creator.code()
    compile(code, "<create>", "exec")
    assert "client.create_collection('wiz_created', schema, metric_type='L2'" in code and sandbox.api_key not in code
    creator.run()
    creator.wait(60)
    assert creator.error is None, creator.status.value
    assert client.has_collection(name) and "Created collection" in creator.status.value
    made = client.describe_collection(name)
    assert made["reading_time"].dtype.value == "Int32" and made["title"].max_length == 1024  # the edits took
    assert "claps" not in made and made.enable_dynamic_field
    wizard.target.wait(30)
    assert name in wizard.target.name.options  # the list was refreshed
    creator.run()
    creator.wait(30)
    assert "exists already" in creator.status.value
    for step in wizard.steps:
        step.run()
        step.wait(120)
        assert step.error is None, step.status.value
    assert client.count_rows(name) == 300


def test_the_jobs_dashboard_filters_refreshes_while_running_and_re_attaches(sandbox, monkeypatch, tmp_path):
    """A slow job: the table shows it running with its progress, refreshes itself until it completes (rows,
    finish time), shows only the target's jobs, and a running job can be followed again in the import step."""
    from zimport_widgets import upload_to_oss

    client = _sandbox_env(sandbox, monkeypatch)
    name, other = _fresh(client, "wiz_jobs"), _fresh(client, "wiz_jobs_other")
    from zimport_widgets import convert

    src = write_sample_json(tmp_path / "rows.json", n=120, dim=DIM)

    out = convert(src, tmp_path / "rows.parquet", sample_schema(dim=DIM), progress=False)
    url = upload_to_oss(out.path, prefix="jobs/rows", progress=False).object_url
    client.wait_for_import(client.start_import(other, url), progress=False, poll_interval=0.1)
    wizard = zw.ImportWizard(collection=name, poll_interval=0.2, api_version="v2")  # v2 reports rows
    jobs = wizard.jobs
    jobs.refresh_every = 0.3
    sandbox.faults.delay("*", seconds=1.5, times=3, service="oss")  # the job reads its file slowly
    job = client.start_import(name, url)
    jobs.run()
    jobs.wait(30)
    assert job.job_id in jobs.output.value and other not in jobs.output.value  # only the target's jobs
    assert jobs.running_jobs.options == (job.job_id,) and not jobs.watch_button.disabled
    deadline = time.monotonic() + 60
    while "Completed" not in jobs.output.value:  # refreshed by itself, no click
        assert time.monotonic() < deadline, jobs.output.value
        time.sleep(0.2)
        jobs.wait(30)
    assert "120/120 rows" in jobs.output.value and "finished" in jobs.output.value
    header = jobs.output.value.split("<tbody>")[0]
    assert "text-align:left" in header  # readable headers
    # after a "kernel restart": a new wizard finds a running job and follows it in the import step
    sandbox.faults.delay("*", seconds=1.0, times=3, service="oss")
    again = client.start_import(name, url)
    fresh = zw.ImportWizard(collection=name, poll_interval=0.2)
    fresh.jobs.run()
    fresh.jobs.wait(30)
    assert again.job_id in fresh.jobs.running_jobs.options
    fresh.jobs.running_jobs.value = again.job_id
    fresh.jobs.watch_button.click()
    outcome = fresh.importer.wait(120)
    assert fresh.importer.error is None, fresh.importer.status.value
    assert outcome.job_id == again.job_id and outcome.progress.completed
    jobs.auto_refresh.value = fresh.jobs.auto_refresh.value = False


def test_bars_show_rate_and_time_left_and_an_upload_that_sent_nothing_says_so(sandbox, monkeypatch, tmp_path):
    _sandbox_env(sandbox, monkeypatch)
    big = tmp_path / "big"
    big.mkdir()
    for i in range(1, 9):  # 8 sub-folders of one file each: events between files
        (big / str(i)).mkdir()
        np.save(big / str(i) / "vec.npy", np.random.default_rng(i).random((300, 768), dtype=np.float32))
    form = zw.UploadForm(zw.OSSForm(), source=str(big), prefix="rate/v1")
    labels: list[str] = []
    fractions: list[float] = []
    form.progress_label.observe(lambda c: labels.append(c["new"]), "value")
    form.progress.observe(lambda c: fractions.append(c["new"]), "value")
    sandbox.faults.delay("*", seconds=0.4, times=8, service="oss", method="PUT")  # a slow link: several events
    form.run()
    form.wait(60)
    assert form.error is None, form.status.value
    assert any("/s" in lb and "left" in lb for lb in labels), labels  # rate and time left while it runs
    assert max(fractions[:-1], default=0) < 100 and fractions[-1] == 100  # 100 % only once verified
    assert "verified" in form.progress_label.value
    form.run()  # the same files again: all there already
    form.wait(60)
    assert "nothing to send" in form.progress_label.value and "/s" not in form.progress_label.value
    assert "nothing was uploaded" in form.status.value


def test_importing_the_same_rows_again_adds_them_as_the_service_does(cluster):
    """An import inserts: the same primary keys a second time add rows (Milvus Lite alone would replace them)."""
    form = zw.ImportForm(zw.ConnectionForm(), zw.OSSForm(), collection=cluster["name"], object_url=cluster["url"],
                         poll_interval=0.1)  # fmt: skip
    for round_ in (1, 2):
        form.run()
        outcome = form.wait(120)
        assert form.error is None, form.status.value
        assert outcome.rows_before == cluster["rows"] * (round_ - 1) and outcome.added_rows == cluster["rows"]
    client = cluster["client"]
    assert client.count_rows(cluster["name"]) == 2 * cluster["rows"]
    hits = client.search_sample(cluster["name"]).hits
    assert hits and all(isinstance(h.id, int) and 0 <= h.id < cluster["rows"] for h in hits)  # the user's keys
    rows = client._dp("/v2/vectordb/entities/query", {"collectionName": cluster["name"], "ids": [5],
                                                     "outputFields": ["title"]})  # fmt: skip
    assert [r["id"] for r in rows] == [5, 5] and "_zimport_row_id" not in rows[0]  # both copies, no hidden key
    schema = client.describe_collection(cluster["name"])
    assert schema.primary.name == "id" and "_zimport_row_id" not in schema.names


def test_hints_in_a_form_name_its_fields_not_function_arguments(clean_env):
    from zimport_widgets.widgets.base import form_hint

    assert form_hint("pass api_key= or set the ZILLIZ_API_KEY variable") == (
        "fill in “API key” or set the ZILLIZ_API_KEY variable"
    )
    assert form_hint("pass cluster_endpoint= or set X") == "fill in “Cluster endpoint” or set X"
    form = zw.ConnectionForm(cluster_endpoint="http://127.0.0.1:1")  # no key anywhere
    form.run()
    form.wait(30)
    assert "fill in “API key”" in form.status.value and "api_key=" not in form.status.value


def test_the_storage_form_follows_the_provider(monkeypatch):
    """Fields, hint and object-URL preview per provider; the env decides the default."""
    for name in (*config.ENV_NAMES, "S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_REGION", "AWS_ENDPOINT_URL_S3",
                 "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    form = zw.StorageForm()
    assert form.provider.value == "oss" and zw.OSSForm is zw.StorageForm
    form.endpoint.value, form.bucket.value = "oss-cn-beijing.aliyuncs.com", "data"
    assert "https://data.oss-cn-beijing.aliyuncs.com/PREFIX/" in form.preview.value
    form.provider.value = "s3"
    assert form.pane.children[0].children[0] is form.s3_region and "AWS_ACCESS_KEY_ID" in form.hint.value
    form.s3_region.value, form.s3_bucket.value = "us-west-2", "lake"
    assert "https://lake.s3.us-west-2.amazonaws.com/PREFIX/" in form.preview.value
    form.s3_region.value = "cn-northwest-1"
    assert "amazonaws.com.cn" in form.preview.value
    form.code_button.value = True
    assert "boto3.client(" in form.code_view.value and "AWS_SECRET_ACCESS_KEY" in form.code_view.value
    monkeypatch.setenv("S3_BUCKET", "lake")
    assert zw.StorageForm().provider.value == "s3"


@pytest.mark.parametrize(
    ("cloud", "provider", "checksum"), [("aws", "s3", "ETag"), ("tencent", "cos", "ETag"), ("gcp", "gcs", "ETag")]
)
def test_the_wizard_runs_on_an_aws_or_tencent_sandbox_with_no_code(monkeypatch, sample_json, tmp_path, cloud,
                                                                   provider, checksum):  # fmt: skip
    """``Sandbox(cloud=...)``'s variables only: the storage step is that cloud's, upload and import go through."""
    from zimport_widgets.sandbox import Sandbox

    with Sandbox(cloud=cloud) as aws:
        for name in (*config.ENV_NAMES, "OSS_SECURITY_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for k, v in aws.env().items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("ZIMPORT_CHECKPOINT_DIR", str(tmp_path / "ck"))
        from zimport_widgets.cloud.client import ImportClient

        client = ImportClient.from_env(aws.env())
        name = _fresh(client, f"wiz_{cloud}")
        wizard = zw.ImportWizard(source=str(sample_json), collection=name, poll_interval=0.2)
        assert wizard.oss.provider.value == provider
        for step in wizard.steps:
            step.run()
            step.wait(120)
            assert step.error is None, step.status.value
        assert checksum in wizard.upload.status.value
        code = wizard.upload.code()
        compile(code, "<upload>", "exec")
        assert aws.access_key_secret not in code
        assert client.count_rows(name) == 300
        assert aws.access_key_secret not in all_state(wizard)
