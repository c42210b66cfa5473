"""Test harness: a throw-away JupyterLab on 127.0.0.1 and Debian chromium driven by Playwright.

``JupyterLab(root, env=...)`` starts ``python -m jupyterlab`` with isolated ``JUPYTER_*`` directories
(no user config, no workspace, no extension manager, no news), ``--allow-root`` and a random token; the
kernel inherits ``env``. ``open_browser()`` launches ``/usr/bin/chromium`` (no browser download) with the
flags from the offline-stack notes and records console errors and page errors.

Run by hand: ``python tests/_jupyterlab.py`` renders a trivial widget notebook and prints timings.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: Front-end extensions that would reach the internet (PyPI search, news feed).
DISABLED_EXTENSIONS = {
    "@jupyterlab/extensionmanager-extension": True,
    "@jupyterlab/apputils-extension:announcements": True,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_missing_reason() -> str | None:
    """Why the browser test cannot run here (None if it can)."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright Python package is missing: pip install -e '.[test]'"
    return None


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A minimal nbformat 4 notebook of code cells."""
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {}, "outputs": [],
             "source": src}
            for i, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    path.write_text(json.dumps(nb, indent=1))
    return path


class JupyterLab:
    """A JupyterLab (or, with ``app="notebook"``, Notebook 7) server in a subprocess, isolated under
    ``home`` and serving ``root``."""

    def __init__(self, root: Path, home: Path, *, env: dict[str, str] | None = None, app: str = "jupyterlab") -> None:
        self.app = app
        self.root, self.home = Path(root).resolve(), Path(home).resolve()
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.log_path = self.home / "jupyterlab.log"
        self.startup_seconds = 0.0

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
        dirs = {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "settings",
            "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
            "IPYTHONDIR": "ipython",
        }
        for name, sub in dirs.items():
            (self.home / sub).mkdir(parents=True, exist_ok=True)
            env[name] = str(self.home / sub)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> JupyterLab:
        started = time.perf_counter()
        labconfig = self.home / "config" / "labconfig"
        labconfig.mkdir(parents=True, exist_ok=True)
        (labconfig / "page_config.json").write_text(json.dumps({"disabledExtensions": DISABLED_EXTENSIONS}))
        cmd = [
            sys.executable, "-m", self.app,
            "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}", "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]  # fmt: skip
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, env=self._env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        self.startup_seconds = time.perf_counter() - started
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def notebook_url(self, name: str) -> str:
        if self.app == "notebook":
            return f"{self.url}/notebooks/{name}?token={self.token}"
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> JupyterLab:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class Browser:
    """A Playwright page in Debian chromium that records console errors and page errors."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console_errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))

    def _on_console(self, msg: Any) -> None:
        if msg.type == "error":
            self.console_errors.append(f"console.error: {msg.text}")

    def open_notebook(self, lab: JupyterLab, name: str, timeout: float = 60_000) -> None:
        page = self.page
        page.goto(lab.notebook_url(name))
        page.wait_for_selector(".jp-Notebook", timeout=timeout)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout)
        if lab.app == "notebook":  # Notebook 7 has no status bar; run_cell retries if the kernel lags
            return
        # the indicator can say idle before the kernel connection is up: wait for the status bar too
        page.wait_for_function(
            "() => document.querySelector('.jp-StatusBar-Widget') &&"
            " [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => /\\| Idle/.test(e.innerText))",
            timeout=timeout,
        )

    def run_cell(self, index: int, attempts: int = 3) -> None:
        """Select cell ``index`` in command mode and run it (Shift+Enter); retry if it did not start."""
        cell = self.page.locator(".jp-Notebook .jp-Cell").nth(index)
        prompt = cell.locator(".jp-InputArea-prompt").first
        for _ in range(attempts):
            cell.locator(".jp-InputPrompt").click()
            self.page.keyboard.press("Shift+Enter")
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                text = prompt.inner_text()
                if "*" in text or any(ch.isdigit() for ch in text):
                    return
                time.sleep(0.2)
        raise AssertionError(f"cell {index} did not start running after {attempts} Shift+Enter presses")

    def output_text(self) -> str:
        return self.page.locator(".jp-OutputArea").all_inner_texts().__str__()


@contextlib.contextmanager
def open_browser(user_data_dir: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 2400},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield Browser(page)
        finally:
            context.close()


def _smoke(work: Path) -> None:  # pragma: no cover - manual check
    """Render a trivial widget notebook and print timings."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "nb").mkdir(parents=True)
    write_notebook(
        work / "nb" / "smoke.ipynb",
        [
            "import ipywidgets as w, time\n"
            "bar = w.FloatProgress(min=0, max=100)\n"
            "b = w.Button(description='Go')\n"
            "display(w.VBox([b, bar]))\n"
            "for i in range(101):\n    bar.value = i\n    time.sleep(0.005)\n"
            "print('done')"
        ],
    )
    t0 = time.perf_counter()
    with JupyterLab(work / "nb", work / "home") as lab, open_browser(work / "udd") as browser:
        print(f"lab up in {lab.startup_seconds:.1f} s")
        browser.open_notebook(lab, "smoke.ipynb")
        print(f"notebook idle after {time.perf_counter() - t0:.1f} s")
        browser.run_cell(0)
        browser.page.wait_for_selector(".jp-OutputArea .widget-hprogress .progress-bar", timeout=30_000)
        browser.page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-OutputArea-output')].some(e => e.innerText.includes('done'))"
        )
        width = browser.page.eval_on_selector(".widget-hprogress .progress-bar", "e => e.style.width")
        print("bar width", width, "errors", browser.console_errors)
        browser.page.screenshot(path=str(work / "smoke.png"))
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    _smoke(Path("build/browser-smoke"))
