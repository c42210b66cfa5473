"""`make lab` starts `zimport sandbox` in a child process and hands its variables to JupyterLab."""

from __future__ import annotations

from pathlib import Path

from devtools.lab import read_env_file, start_sandbox_process
from zimport_widgets.cloud.client import ImportClient
from zimport_widgets.config import ENV_NAMES


def test_read_env_file_parses_export_lines(tmp_path: Path):
    f = tmp_path / "sb.env"
    f.write_text("export A=1\nexport B='two words'\n# comment\nC=3\n\n", encoding="utf-8")
    assert read_env_file(f) == {"A": "1", "B": "two words", "C": "3"}


def test_lab_sandbox_process_answers_with_all_variables(tmp_path: Path, capfd):
    proc, env = start_sandbox_process(tmp_path, timeout=120)
    try:
        assert set(env) == set(ENV_NAMES)
        assert all(env[name] for name in ENV_NAMES)
        assert all(env[n].startswith("http://127.0.0.1:") for n in ("OSS_ENDPOINT", "ZILLIZ_CONTROLLER_URL"))
        with ImportClient.from_env(env) as client:
            assert client.list_collections() == []
        out, err = capfd.readouterr()
        for name in ("ZILLIZ_API_KEY", "OSS_ACCESS_KEY_SECRET"):
            assert env[name] not in out + err, f"{name} printed on the terminal"
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) is not None
