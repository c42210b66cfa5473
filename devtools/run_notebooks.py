"""Run the tutorial notebooks headless (nbclient) against one sandbox; used by ``make demo`` and the tests."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zimport_widgets.config import ENV_NAMES
from zimport_widgets.errors import ZImportError

if TYPE_CHECKING:
    from zimport_widgets.sandbox import Sandbox

__all__ = ["NOTEBOOKS", "NotebookFailed", "NotebookRun", "execute_notebook", "notebooks_dir", "tutorial_env"]

#: The tutorial, in the order a user reads it.
NOTEBOOKS = (
    "01_prepare_data_files.ipynb",
    "02_upload_to_oss.ipynb",
    "03_import_via_restful_api.ipynb",
    "00_quickstart.ipynb",
    "04_other_formats.ipynb",
    "05_at_scale.ipynb",
)


class NotebookFailed(ZImportError):
    """A tutorial notebook raised while executing; ``cell`` is the failing cell's index."""

    def __init__(self, notebook: str, cell: int | None, error: str) -> None:
        self.notebook, self.cell = notebook, cell
        where = f" (cell {cell})" if cell is not None else ""
        super().__init__(f"{notebook}{where} failed: {error}")


@dataclass(frozen=True)
class NotebookRun:
    """One executed notebook: where it was written and how long each step took."""

    name: str
    seconds: float
    executed_path: Path
    html_path: Path | None


def notebooks_dir() -> Path:
    """``notebooks/`` of the source checkout."""
    return Path(__file__).resolve().parent.parent / "notebooks"


ENGINE_VAR = "ZIMPORT_SANDBOX_ENGINE"  # what judged the imports: told to the kernels and to the demo's summary


def _start_sandbox(work_dir: Path, engine: str) -> tuple[Sandbox, str]:
    """A sandbox on the real Milvus engine where this machine can run it (``auto``), else on Milvus Lite."""
    from zimport_widgets.sandbox import Sandbox
    from zimport_widgets.sandbox.milvus_server import MilvusUnavailable

    if engine in ("auto", "milvus"):
        sandbox = Sandbox(data_dir=work_dir / "sandbox", engine="milvus")
        try:
            sandbox.start(timeout=300)
            return sandbox, sandbox.engine.description
        except MilvusUnavailable as exc:
            if engine == "milvus":
                raise
            why = str(exc)
    sandbox = Sandbox(data_dir=work_dir / "sandbox").start()
    note = sandbox.engine.description
    return sandbox, note if engine == "lite" else f"{note}; the real Milvus server could not run here: {why}"


@contextmanager
def tutorial_env(work_dir: Path, engine: str = "auto") -> Iterator[dict[str, str]]:
    """Point the kernels at a sandbox: the configured one if ``ZILLIZ_*``/``OSS_*`` are set, else a new one.

    ``engine`` of a new sandbox: ``auto`` (the real Milvus server where it can run, else Milvus Lite),
    ``milvus`` or ``lite``. Yields the variables (kernels inherit them through ``os.environ``);
    ``ZIMPORT_WORK_DIR`` tells the notebooks where to share files, ``ZIMPORT_SANDBOX_ENGINE`` what judges
    the imports.
    """
    names = (*ENV_NAMES, "ZIMPORT_WORK_DIR", ENGINE_VAR)
    saved = {k: os.environ.get(k) for k in names}
    sandbox = None
    try:
        if not any(os.environ.get(k) for k in ENV_NAMES):
            sandbox, description = _start_sandbox(work_dir, engine)
            os.environ.update(sandbox.env())
            os.environ[ENGINE_VAR] = description
        else:
            os.environ[ENGINE_VAR] = "the configured cluster"
        os.environ["ZIMPORT_WORK_DIR"] = str(work_dir)
        yield {k: os.environ[k] for k in names if k in os.environ}
    finally:
        if sandbox is not None:
            sandbox.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute_notebook(
    name: str,
    out_dir: Path,
    *,
    source_dir: Path | None = None,
    timeout: int = 900,
    html: bool = True,
) -> NotebookRun:
    """Execute one notebook in a fresh kernel (cwd: the notebooks folder); write it and its HTML to out_dir."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    src = (source_dir or notebooks_dir()) / name
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # not the loopback "TCP without encryption" notice
        timeout=timeout,
        resources={"metadata": {"path": str(src.parent)}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        failed = next(
            (i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))),
            None,
        )
        raise NotebookFailed(name, failed, str(exc).strip().splitlines()[-1] if str(exc).strip() else "error") from None
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / name
    nbformat.write(nb, executed)
    html_path = None
    if html:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_notebook_node(nb)
        html_path = executed.with_suffix(".html")
        html_path.write_text(body, encoding="utf-8")
    return NotebookRun(name=name, seconds=seconds, executed_path=executed, html_path=html_path)
