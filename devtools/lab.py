"""``make lab``: JupyterLab on ``notebooks/`` with a sandbox running beside it.

The sandbox runs as ``zimport sandbox --env-file …`` in a child process; its variables are handed to
JupyterLab's kernels through the environment, so the notebooks find endpoints configured. Variables that
are already set (a real cluster and bucket) win: then no sandbox is started.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from zimport_widgets.sandbox.process import (
    read_env_file,
    sandbox_unless_configured,
    serve_until_interrupted,
    start_sandbox_process,
)

__all__ = ["main", "read_env_file", "start_sandbox_process"]


def main() -> int:
    """JupyterLab on the notebooks, with a sandbox unless ZILLIZ_*/OSS_* are set.

    One Ctrl-C stops everything: the terminal sends it to JupyterLab (which shuts down at once:
    ``answer_yes``) and the sandbox, this process ignores it and waits for them, then removes the sandbox's
    temporary data; the exit code is 0.
    """
    root = Path(__file__).resolve().parent.parent
    notebooks = root / "notebooks"
    proc, env, data_dir = sandbox_unless_configured("zimport-lab-")
    if data_dir is not None:
        print(f"Sandbox running (data in {data_dir}); the notebooks will use it.", flush=True)
    else:
        print("Using the ZILLIZ_* / OSS_* variables already set; no sandbox started.", flush=True)
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={notebooks}", "--ip=127.0.0.1",
           "--ServerApp.answer_yes=True"]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    code = serve_until_interrupted(cmd, env, sandbox=proc, folders=(data_dir,))
    print("JupyterLab and the sandbox stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
