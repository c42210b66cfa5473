"""The wizard in a real browser: JupyterLab (started here, on 127.0.0.1) + Debian chromium via Playwright.

The sandbox runs in this process; the kernel gets its ``ZILLIZ_*``/``OSS_*`` variables. The test clicks
Convert → Upload → Import and reads what the browser rendered: every bar at 100 %, the job Completed
with the right row count, no "Loading widget", "IProgress not found" or console errors; then Cancel,
clicked while an import runs, stops it (the kernel is not blocked by the form). The same run
in Notebook 7. Screenshots: ``build/browser-wizard.png``, ``build/browser-wizard-notebook7.png``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.jupyterlab import JupyterLab, chromium_missing_reason, open_browser, write_notebook
from zimport_widgets.cloud.client import ImportClient
from zimport_widgets.prepare.samples import sample_schema, write_sample_json
from zimport_widgets.sandbox import Sandbox

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ROWS = 400
DIM = 32
COLLECTION = "medium_articles"
BAD_TEXT = ("Loading widget", "IProgress not found", "Error displaying widget", "Traceback", "model not found")


@pytest.fixture(scope="module")
def missing():
    reason = chromium_missing_reason()
    if reason:
        pytest.fail(reason + " (the browser test is part of `make test`; `make browser-deps` installs it)")


def _status(page, form: str) -> str:
    return page.inner_text(f".{form} .zimport-status")


def _wait_status(
    page, form: str, needle: str, timeout: float = 120.0, fail_on: tuple[str, ...] = ("Hint:", "Cancelled")
) -> str:
    """Wait until the form's status area says ``needle``; fail early on an inline error."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = _status(page, form)
        if needle in text:
            return text
        if any(bad in text for bad in fail_on):
            raise AssertionError(f"{form} failed in the browser: {text}")
        time.sleep(0.25)
    raise AssertionError(f"{form}: {needle!r} not shown within {timeout} s (status: {text!r})")


def _bar_width(page, form: str) -> str:
    return page.eval_on_selector(f".{form} .zimport-progress .progress-bar", "e => e.style.width")


def _create_in_the_form(page) -> None:
    """No code cell: the target collection is made in the wizard from the fields of the data."""
    page.get_by_text("Create a new collection (from the fields of the data)", exact=True).first.click()
    page.click(".zimport-create .zimport-read-fields")
    page.wait_for_selector(".zimport-create .zimport-field-table table.zimport-fields", timeout=60_000)
    assert "title_vector" in page.inner_text(".zimport-create .zimport-field-table")
    page.click(".zimport-create .zimport-run")
    _wait_status(page, "zimport-create", "Created collection", timeout=60)


def _target_drift(page) -> None:
    """The collection is chosen once: typing another name moves every step to it (the import too)."""
    box = page.locator(".zimport-target-name input")
    box.fill("another_collection")
    box.press("Tab")
    page.wait_for_function(
        "() => document.querySelector('.zimport-import .zimport-target-note').textContent"
        ".includes('another_collection')", timeout=15_000,
    )  # fmt: skip
    assert "another_collection" in page.text_content(".zimport-convert .zimport-target-note")
    box.fill(COLLECTION)
    box.press("Tab")
    page.wait_for_function(
        f"() => document.querySelector('.zimport-import .zimport-target-note').textContent.includes('{COLLECTION}')",
        timeout=15_000,
    )


def _cancelled_upload(page, sb) -> None:
    """A cancelled upload leaves no object URL for the import to start on (a partial set stays unimported)."""
    sb.faults.delay("*", seconds=2.0, service="oss", method="PUT", times=None)
    try:
        page.click(".zimport-upload .zimport-run")
        page.wait_for_function(
            "() => !document.querySelector('.zimport-upload .zimport-cancel').disabled", timeout=15_000
        )
        page.click(".zimport-upload .zimport-cancel")
        _wait_status(page, "zimport-upload", "Cancelled", timeout=30, fail_on=("Hint:",))
        assert page.input_value(".zimport-import input[type=text] >> nth=1") == ""
    finally:
        sb.faults.clear()


def _click_through(page, sb, *, create: bool = False) -> None:
    """Convert → Upload → Import in the rendered wizard, checking what the browser shows at each step."""
    page.wait_for_selector(".zimport-wizard .zimport-convert .zimport-run", timeout=60_000)
    assert COLLECTION in page.inner_text(".zimport-convert .zimport-target-note")  # the one target, shown
    if create:
        _create_in_the_form(page)
        _target_drift(page)
    # a key typed in the browser is taken into kernel memory and the box emptied (Tab leaves the box)
    page.get_by_text("Object storage", exact=True).first.click()
    secret_box = page.locator(".zimport-oss input[type=password]").nth(1)
    secret_box.fill(sb.access_key_secret)
    secret_box.press("Tab")
    page.wait_for_function(
        "e => e.value === '' && e.placeholder.includes('kernel memory')",
        arg=secret_box.element_handle(),
        timeout=15_000,
    )
    page.click(".zimport-convert .zimport-run")
    text = _wait_status(page, "zimport-convert", "the check passed")
    assert f"Converted {ROWS:,} rows" in text
    assert _bar_width(page, "zimport-convert") == "100%"
    assert f"{ROWS:,} rows" in page.inner_text(".zimport-convert .zimport-progress-label")

    # the converted folder was carried into the upload form
    upload_source = page.input_value(".zimport-upload input[type=text] >> nth=0")
    assert upload_source.endswith("articles_parquet")  # Parquet: the form's default output
    if create:
        _cancelled_upload(page, sb)
    page.click(".zimport-upload .zimport-run")
    page.wait_for_function(  # the new run has replaced the last one's status ("Cancelled")
        "() => !document.querySelector('.zimport-upload .zimport-status').innerText.includes('Cancelled')",
        timeout=15_000,
    )
    _wait_status(page, "zimport-upload", "Object URL")
    assert _bar_width(page, "zimport-upload") == "100%"
    url = page.inner_text(".zimport-upload .zimport-object-url")
    assert url.startswith(sb.oss_endpoint) and f"/{COLLECTION}/" in url and url.endswith("/")  # a fresh run prefix
    assert page.input_value(".zimport-import input[type=text] >> nth=1") == url

    page.click(".zimport-import .zimport-run")
    _wait_status(page, "zimport-import", "Completed", timeout=180)
    assert _bar_width(page, "zimport-import") == "100%"
    assert page.inner_text(".zimport-import .zimport-imported-rows") == f"{ROWS:,}"
    assert page.inner_text(".zimport-import .zimport-row-count") == f"{ROWS:,}"
    assert "Completed" in page.inner_text(".zimport-import .zimport-progress-label")
    # the steps are tabs: each finished step opened the next, marked ✓; the jobs table refreshed meanwhile
    tabs = page.inner_text(".zimport-steps .lm-TabBar-content")
    assert "1 · Convert ✓" in tabs and "2 · Upload ✓" in tabs and "3 · Import ✓" in tabs, tabs
    _open_tab(page, "Jobs")
    page.wait_for_selector(".zimport-jobs .zimport-jobs-table", timeout=30_000)
    assert "Completed" in page.inner_text(".zimport-jobs .zimport-jobs-table")
    _open_tab(page, "3 · Import")


def _open_tab(page, title: str) -> None:
    page.locator(".zimport-steps .lm-TabBar-tab", has_text=title).first.click()


def _cancel_while_running(page, sb) -> None:
    """The kernel is not blocked while a form works: Cancel, clicked mid-run, reaches it and stops the run."""
    sb.faults.delay("*", seconds=1.0, service="controller", times=None)  # a slow import controller
    try:
        page.click(".zimport-import .zimport-run")
        page.wait_for_function(
            "() => !document.querySelector('.zimport-import .zimport-cancel').disabled", timeout=15_000
        )
        assert page.is_disabled(".zimport-import .zimport-run")
        page.click(".zimport-import .zimport-cancel")
        text = _wait_status(page, "zimport-import", "Stopped following job", timeout=30, fail_on=("Hint:",))
        assert "keeps running on the server" in text
        assert page.is_visible(".zimport-import .zimport-watch-again")
        page.wait_for_function("() => !document.querySelector('.zimport-import .zimport-run').disabled", timeout=15_000)
        assert page.locator(".zimport-import .zimport-progress .progress-bar-warning").count() == 1
    finally:
        sb.faults.clear()


def _run_wizard(tmp_path, app: str, screenshot: str) -> None:
    started = time.perf_counter()
    nb_dir = tmp_path / "nb"
    nb_dir.mkdir()
    source = write_sample_json(tmp_path / "articles.json", n=ROWS, dim=DIM)
    with Sandbox() as sb:
        client = ImportClient.from_env(sb.env())
        create_in_form = app == "jupyterlab"  # JupyterLab: made in the wizard itself; Notebook 7: by code
        if not create_in_form:
            client.create_collection(COLLECTION, sample_schema(dim=DIM))
        write_notebook(
            nb_dir / "wizard.ipynb",
            [
                "from zimport_widgets.widgets import ImportWizard\n"
                f"wizard = ImportWizard(source={str(source)!r}, collection={COLLECTION!r}, api_version='v2',"
                " poll_interval=0.5)\n"
                "wizard"
            ],
        )
        env = sb.env()
        with JupyterLab(nb_dir, tmp_path / "jhome", env=env, app=app) as lab, open_browser(tmp_path / "udd") as browser:
            page = browser.page
            browser.open_notebook(lab, "wizard.ipynb")
            # errors the application itself logs before any of our code ran (none in JupyterLab)
            baseline = list(browser.console_errors)
            browser.run_cell(0)
            _click_through(page, sb, create=create_in_form)
            assert client.count_rows(COLLECTION) == ROWS

            out = ROOT / "build"
            out.mkdir(exist_ok=True)
            page.screenshot(path=str(out / screenshot), full_page=True)
            body = page.inner_text("body")
            for bad in BAD_TEXT:
                assert bad not in body, bad
            if app == "jupyterlab":
                _cancel_while_running(page, sb)
            assert browser.console_errors[len(baseline) :] == [], "console errors after the wizard ran"
            if app == "jupyterlab":
                assert baseline == []
            else:
                assert not any("widget" in e.lower() for e in baseline), baseline
    print(f"browser test ({app}): {time.perf_counter() - started:.1f} s (server up in {lab.startup_seconds:.1f} s)")


def test_wizard_convert_upload_import_in_jupyterlab(missing, tmp_path):
    _run_wizard(tmp_path, "jupyterlab", "browser-wizard.png")


def test_wizard_convert_upload_import_in_notebook7(missing, tmp_path):
    # Notebook 7.6 logs one settings-loading page error of its own at start-up ("reading 'schema'" in
    # notebook_core), before any cell runs; the test requires that the wizard adds no error after it.
    _run_wizard(tmp_path, "notebook", "browser-wizard-notebook7.png")


_CONTRAST_JS = """
els => els.map(e => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  let bg = null, n = e;
  while (n && !bg) {  // the first ancestor with a background that is not transparent
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) bg = c;
    n = n.parentElement;
  }
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const fg = rgb(getComputedStyle(e).color), a = lum(fg), b = lum(bg || [255, 255, 255]);
  return [e.className, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), getComputedStyle(e).color, bg];
})
"""


def test_the_wizard_is_readable_in_the_dark_theme(missing, tmp_path):
    """JupyterLab Dark: the step titles, descriptions, a red error and a green note keep a 4.5:1 contrast."""
    nb_dir = tmp_path / "nb"
    nb_dir.mkdir()
    source = write_sample_json(tmp_path / "articles.json", n=50, dim=DIM)
    home = tmp_path / "jhome"
    theme = home / "settings" / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    theme.parent.mkdir(parents=True)
    theme.write_text('{"theme": "JupyterLab Dark"}')
    with Sandbox() as sb:
        write_notebook(nb_dir / "dark.ipynb", [
            "from zimport_widgets.widgets import ImportWizard\n"
            f"wizard = ImportWizard(source={str(source)!r}, collection='not_there')\nwizard"
        ])  # fmt: skip
        with JupyterLab(nb_dir, home, env=sb.env()) as lab, open_browser(tmp_path / "udd") as browser:
            page = browser.page
            browser.open_notebook(lab, "dark.ipynb")
            browser.run_cell(0)
            page.wait_for_selector(".zimport-wizard .zimport-convert .zimport-run", timeout=60_000)
            assert "dark" in (page.eval_on_selector("body", "b => b.dataset.jpThemeName") or "").lower()
            page.click(".zimport-convert .zimport-run")  # the target does not exist: a red error box
            page.wait_for_selector(".zimport-convert .zimport-error", timeout=60_000)
            page.click(".zimport-target .zimport-target-refresh")  # Refresh: a note
            page.wait_for_selector(".zimport-target .zimport-warning, .zimport-target .zimport-ok", timeout=60_000)
            out = ROOT / "build"
            out.mkdir(exist_ok=True)
            page.screenshot(path=str(out / "browser-wizard-dark.png"), full_page=True)
            checked = page.eval_on_selector_all(
                ".zimport-wizard h4, .zimport-wizard .zimport-error, .zimport-wizard .zimport-error-kind, "
                ".zimport-wizard .zimport-hint, .zimport-target .zimport-warning, "
                ".zimport-convert .zimport-target-note",
                _CONTRAST_JS,
            )
            assert len(checked) >= 6, checked
            low = [c for c in checked if c[1] < 4.5]
            assert not low, f"text below 4.5:1 contrast in the dark theme: {low}"


def test_the_wizard_runs_as_a_voila_app(missing, tmp_path):
    """`zimport app --theme dark`: Voilà on 127.0.0.1 behind a token (none: no page), the wizard rendered,
    working and readable (4.5:1) in Voilà's dark theme."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZILLIZ_", "OSS_"))}
    cmd = [sys.executable, "-m", "zimport_widgets", "app", "--no-browser", "--theme", "dark"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None:
            assert time.monotonic() < deadline, "".join(lines)
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
            m = re.search(r"zimport app: (http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            url = m.group(1) if m else None
        base = url.split("?", 1)[0]
        while True:
            try:
                without = urllib.request.urlopen(base, timeout=10)
                break
            except OSError:
                assert time.monotonic() < deadline, "".join(lines)
                time.sleep(0.3)
        assert "token" in without.geturl() or "login" in without.geturl()  # no token: the login page, not the app
        with open_browser(tmp_path / "udd") as browser:
            page = browser.page
            page.goto(url)
            page.wait_for_selector(".zimport-wizard .zimport-target .zimport-target-refresh", timeout=120_000)
            assert "print(" not in page.inner_text("body")  # the code cell is not shown
            page.click(".zimport-target .zimport-target-refresh")  # the kernel answers: the sandbox is there
            page.wait_for_selector(".zimport-target .zimport-warning, .zimport-target .zimport-ok", timeout=60_000)
            assert "collection" in page.inner_text(".zimport-target .zimport-target-status")
            assert "dark" in (page.eval_on_selector("body", "b => b.dataset.jpThemeName") or "").lower()
            page.click(".zimport-convert .zimport-run")  # the default target does not exist yet: a red error
            page.wait_for_selector(".zimport-convert .zimport-error", timeout=60_000)
            (ROOT / "build").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "build" / "browser-app.png"), full_page=True)
            checked = page.eval_on_selector_all(
                ".zimport-wizard h4, .zimport-wizard .zimport-error, .zimport-wizard .zimport-hint, "
                ".zimport-target .zimport-warning, .zimport-target .zimport-ok",
                _CONTRAST_JS,
            )
            assert len(checked) >= 4, checked
            low = [c for c in checked if c[1] < 4.5]
            assert not low, f"text below 4.5:1 contrast in Voilà's dark theme: {low}"
            body = page.inner_text("body")
            for bad in BAD_TEXT:
                assert bad not in body, bad
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # one Ctrl-C
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(lines) + out
    assert "zimport app stopped" in out
