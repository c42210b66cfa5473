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


def test_one_ctrl_c_stops_jupyterlab_and_the_sandbox_and_removes_its_data(tmp_path: Path):
    """The terminal sends Ctrl-C to the whole foreground group: JupyterLab shuts down without asking, the
    sandbox stops, its temporary data goes, exit 0."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jconf")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "jrun")
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jdata")
    env["BROWSER"] = "true"  # never opens a browser
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "devtools.lab"], cwd=root, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert proc.stdout is not None
    data_dir, url, lines = None, None, []
    deadline = time.monotonic() + 120
    try:
        while url is None:
            assert time.monotonic() < deadline, "".join(lines)
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
            m = re.search(r"data in (\S+?)\)", line)
            if m:
                data_dir = Path(m.group(1))
            m = re.search(r"(http://127\.0\.0\.1:\d+/lab\?token=\w+)", line)
            if m:
                url = m.group(1)
        assert data_dir is not None and data_dir.is_dir()
        while True:  # the address is printed a moment before the server answers
            try:
                assert urllib.request.urlopen(url, timeout=10).status == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "".join(lines)
                time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # what one Ctrl-C in the terminal does
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, "".join(lines) + out
    assert "JupyterLab and the sandbox stopped." in out
    assert not data_dir.exists()  # the sandbox's temporary data is gone
    try:
        os.killpg(proc.pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "a process of make lab outlived it"
