"""The tutorial notebooks' set-up in one call: a sandbox unless a cluster is configured, and the paths."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import config
from .sandbox import Sandbox, start_if_unconfigured

__all__ = ["Tutorial", "open_tutorial"]

WORK_DIR_VAR = "ZIMPORT_WORK_DIR"


@dataclass(frozen=True)
class Tutorial:
    """Where the tutorial keeps its files, and the sandbox it started (None on a configured cluster)."""

    work: Path
    source_json: Path
    npy_dir: Path
    sandbox: Sandbox | None


def open_tutorial(
    work_dir: str | os.PathLike[str] | None = None, *, collection: str = "medium_articles", quiet: bool = False
) -> Tutorial:
    """Start a local sandbox when no ``ZILLIZ_*`` / ``OSS_*`` variable is set, and make the work folder.

    ``work_dir`` defaults to ``$ZIMPORT_WORK_DIR``, else ``./tutorial-data``. Prints what it uses (the
    endpoints only: keys are never shown) unless ``quiet``.
    """
    sandbox = start_if_unconfigured()  # starts nothing when ZILLIZ_* / OSS_* are set
    work = Path(work_dir or os.environ.get(WORK_DIR_VAR) or "tutorial-data").resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not quiet:
        if sandbox is not None:
            print(
                "No endpoint configured: started a local sandbox (OSS store, import controller, cluster on"
                f" {sandbox.engine.description})."
            )
            print(sandbox)
        else:
            where = os.environ.get(config.ZILLIZ_CLUSTER_ENDPOINT) or os.environ.get(config.ZILLIZ_CONTROLLER_URL)
            print("Using the configured cluster", where)
        print("Working folder:", work)
    return Tutorial(work, work / "medium_articles_2020_dpr.json", work / "npy" / collection, sandbox)
