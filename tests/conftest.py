"""Fixtures every layer shares. The suite is in layers: ``unit/`` (no server), ``integration/`` (the sandbox,
the real Milvus server), ``e2e/`` (notebooks, JupyterLab in a browser); ``support/`` holds shared data.

Sandbox fixtures:

* ``sandbox`` (session): one running :class:`~zimport_widgets.sandbox.Sandbox` for the whole run. Faults armed on
  it are cleared after each test that uses ``sandbox_faults``; don't change its credentials.
* ``sandbox_faults`` (function): ``sandbox.faults``, cleared before and after the test.
* ``sandbox_env`` (function): the session sandbox's eight variables set in ``os.environ`` (monkeypatched).
* ``fresh_sandbox`` (function): a new sandbox of its own (about 1-2 s to start), for tests that need a clean one.
* ``oss_store`` (function): just the OSS-dialect object store (fast), with its own random bucket and keys.
* ``milvus_sandbox`` (session): a sandbox on the ``"milvus"`` engine (a real Milvus server judges its imports);
  fails, saying what is missing, where the server cannot run.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator

import pytest

from zimport_widgets.sandbox import OssStore, Sandbox
from zimport_widgets.sandbox.milvus_server import MilvusUnavailable


@pytest.fixture(scope="session", autouse=True)
def _job_log_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The clients' job log (start times of the jobs they started) goes to the run's temp folder, not ~/.cache;
    set in ``os.environ`` so the notebooks and CLIs the tests start use it too."""
    old = os.environ.get("ZIMPORT_JOB_LOG")
    os.environ["ZIMPORT_JOB_LOG"] = str(tmp_path_factory.mktemp("job-log") / "started-jobs.jsonl")
    yield
    if old is None:
        os.environ.pop("ZIMPORT_JOB_LOG", None)
    else:
        os.environ["ZIMPORT_JOB_LOG"] = old


def _running_sandbox(data_dir, engine: str = "lite") -> Iterator[Sandbox]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sb = Sandbox(data_dir=data_dir, engine=engine)
        try:
            sb.start(timeout=300)
        except MilvusUnavailable as exc:
            pytest.fail(f"the real Milvus server cannot run on this machine: {exc}", pytrace=False)
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from _running_sandbox(tmp_path_factory.mktemp("session-sandbox"))


@pytest.fixture()
def sandbox_faults(sandbox: Sandbox) -> Iterator[object]:
    sandbox.faults.clear()
    yield sandbox.faults
    sandbox.faults.clear()


@pytest.fixture()
def sandbox_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = sandbox.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture()
def fresh_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from _running_sandbox(tmp_path_factory.mktemp("fresh-sandbox"))


@pytest.fixture()
def oss_store() -> Iterator[OssStore]:
    with OssStore() as store:
        yield store


@pytest.fixture(scope="session")
def milvus_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from _running_sandbox(tmp_path_factory.mktemp("milvus-sandbox"), engine="milvus")
