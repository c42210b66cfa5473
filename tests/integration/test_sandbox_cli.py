"""`zimport sandbox` (a real process), `start_if_unconfigured()`, and what the sandbox exposes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import subprocess
import sys
import time
from urllib.parse import urlsplit

import oss2
import pytest
import requests

from zimport_widgets import config
from zimport_widgets.sandbox import Sandbox, start_if_unconfigured


def _parse_exports(text: str) -> dict[str, str]:
    import shlex

    out = {}
    for line in text.splitlines():
        m = re.fullmatch(r"export ([A-Z_]+)=(.*)", line.strip())
        if m:
            out[m.group(1)] = shlex.split(m.group(2))[0]
    return out


def test_cli_prints_exports_writes_env_file_and_stops_on_sigterm(tmp_path):
    env_file = tmp_path / "sandbox.env"
    data_dir = tmp_path / "data"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zimport_widgets", "sandbox", "--env-file", str(env_file), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not env_file.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no env file within 60 s"
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        print(f"zimport sandbox: env file written {elapsed:.2f} s after the process started")
        values = _parse_exports(env_file.read_text())
        assert set(values) == set(config.ENV_NAMES)
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
        # everything answers with the written values
        bucket = oss2.Bucket(oss2.Auth(values["OSS_ACCESS_KEY_ID"], values["OSS_ACCESS_KEY_SECRET"]),
                             values["OSS_ENDPOINT"], values["OSS_BUCKET"])  # fmt: skip
        bucket.put_object("hello.txt", b"hi")
        assert bucket.get_object("hello.txt").read() == b"hi"
        auth = {"Authorization": f"Bearer {values['ZILLIZ_API_KEY']}"}
        listed = requests.post(values["ZILLIZ_CONTROLLER_URL"] + "/v2/vectordb/jobs/import/list",
                               json={"clusterId": values["ZILLIZ_CLUSTER_ID"]}, headers=auth, timeout=10)  # fmt: skip
        assert listed.json()["code"] == 0
        cols = requests.post(values["ZILLIZ_CLUSTER_ENDPOINT"] + "/v2/vectordb/collections/list", json={},
                             headers=auth, timeout=10)  # fmt: skip
        assert cols.json() == {"code": 0, "data": []}
        for name in ("OSS_ENDPOINT", "ZILLIZ_CONTROLLER_URL", "ZILLIZ_CLUSTER_ENDPOINT"):
            assert values[name].startswith("http://127.0.0.1:")
        assert (data_dir / "milvus").is_dir()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert _parse_exports(out) == values  # the same lines on stdout
    assert "sandbox ready in" in err
    for secret in (values["ZILLIZ_API_KEY"], values["OSS_ACCESS_KEY_SECRET"], values["OSS_ACCESS_KEY_ID"]):
        assert secret not in err
    assert not env_file.exists()  # its values died with the servers


def test_cli_given_credentials_and_ctrl_c(tmp_path):
    env = {**os.environ, "ZIMPORT_SANDBOX_API_KEY": "my-key", "ZIMPORT_SANDBOX_ACCESS_KEY_SECRET": "my-secret"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zimport_widgets", "sandbox", "--bucket", "my-demo-bucket",
         "--cluster-id", "in01-mine", "--access-key-id", "LTAImine"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    lines = []
    assert proc.stdout is not None
    while len(lines) < 8:
        line = proc.stdout.readline()
        assert line, proc.communicate()
        lines.append(line)
    values = _parse_exports("".join(lines))
    assert values["ZILLIZ_API_KEY"] == "my-key" and values["OSS_BUCKET"] == "my-demo-bucket"
    assert values["ZILLIZ_CLUSTER_ID"] == "in01-mine" and values["OSS_ACCESS_KEY_SECRET"] == "my-secret"
    with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
        argv = f.read()
    assert b"my-key" not in argv and b"my-secret" not in argv  # never in the process list
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_cli_refuses_a_non_loopback_host():
    res = subprocess.run([sys.executable, "-m", "zimport_widgets", "sandbox", "--host", "0.0.0.0"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert res.returncode == 2 and "loopback" in res.stderr


def test_start_if_unconfigured(monkeypatch):
    for name in config.ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    sb = start_if_unconfigured()
    try:
        assert isinstance(sb, Sandbox)
        assert {name: os.environ[name] for name in config.ENV_NAMES} == sb.env()
        assert sb.probe() == []
    finally:
        if sb is not None:
            sb.stop()
    monkeypatch.setenv("OSS_BUCKET", "somewhere")
    assert start_if_unconfigured() is None


def test_values_env_and_repr_without_secrets(sandbox):
    env = sandbox.env()
    assert list(env) == list(config.ENV_NAMES)
    assert env["ZILLIZ_CLUSTER_ENDPOINT"] == sandbox.cluster_endpoint
    assert env["ZILLIZ_CONTROLLER_URL"] == sandbox.controller_url
    assert env["ZILLIZ_CLUSTER_ID"] == sandbox.cluster_id and env["ZILLIZ_API_KEY"] == sandbox.api_key
    assert env["OSS_ENDPOINT"] == sandbox.oss_endpoint and env["OSS_BUCKET"] == sandbox.oss_bucket
    assert env["OSS_ACCESS_KEY_ID"] == sandbox.access_key_id
    assert env["OSS_ACCESS_KEY_SECRET"] == sandbox.access_key_secret
    for text in (repr(sandbox), str(sandbox), repr(sandbox.store), repr(sandbox.faults)):
        for name in config.SECRET_ENV_NAMES:
            assert name not in env or env[name] not in text
    assert sandbox.cluster_endpoint in repr(sandbox)


def test_credentials_are_random_per_start(sandbox):
    other = Sandbox()
    try:
        assert other.api_key != sandbox.api_key and other.access_key_secret != sandbox.access_key_secret
        assert other.access_key_id != sandbox.access_key_id and other.cluster_id != sandbox.cluster_id
    finally:
        other.stop()


def test_a_given_data_dir_holds_the_database_and_survives(tmp_path):
    with Sandbox(data_dir=tmp_path / "db") as sb:
        auth = {"Authorization": f"Bearer {sb.api_key}"}
        r = requests.post(sb.cluster_endpoint + "/v2/vectordb/collections/create",
                          json={"collectionName": "kept", "dimension": 4}, headers=auth, timeout=30)  # fmt: skip
        assert r.json()["code"] == 0
    assert any((tmp_path / "db" / "milvus").iterdir())
    with Sandbox(data_dir=tmp_path / "db") as sb:
        auth = {"Authorization": f"Bearer {sb.api_key}"}
        r = requests.post(sb.cluster_endpoint + "/v2/vectordb/collections/list", json={}, headers=auth, timeout=30)
        assert r.json()["data"] == ["kept"]


@pytest.mark.parametrize("host", ["127.0.0.1"])
def test_servers_bind_loopback_only(sandbox, host):
    for url in (sandbox.cluster_endpoint, sandbox.controller_url, sandbox.oss_endpoint):
        assert url.startswith(f"http://{host}:")


def _listening_tcp_ports_of_this_process() -> set[int]:
    """TCP ports in LISTEN state whose socket belongs to this process (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def test_no_port_without_authentication(tmp_path):
    """The sandbox listens on its three authenticated HTTP ports only: Milvus Lite is on a private Unix socket."""
    before = _listening_tcp_ports_of_this_process()
    with Sandbox(data_dir=tmp_path / "db") as sb:
        sb.engine.wait_ready()
        r = requests.post(sb.cluster_endpoint + "/v2/vectordb/collections/create",
                          json={"collectionName": "c", "dimension": 4},
                          headers={"Authorization": f"Bearer {sb.api_key}"}, timeout=30)  # fmt: skip
        assert r.json()["code"] == 0
        ours = {urlsplit(u).port for u in (sb.cluster_endpoint, sb.controller_url, sb.oss_endpoint)}
        assert _listening_tcp_ports_of_this_process() - before == ours
        sock = sb.engine.socket_path
        assert sock and stat.S_ISSOCK(os.stat(sock).st_mode)
        assert stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o700
    assert not os.path.exists(sock)  # removed with the engine


@pytest.mark.parametrize("flag", ["--api-key", "--access-key-secret"])
def test_cli_refuses_secrets_on_the_command_line(flag):
    res = subprocess.run([sys.executable, "-m", "zimport_widgets", "sandbox", flag, "s3cr3t-value"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert res.returncode == 2 and "process list" in res.stderr and "ZIMPORT_SANDBOX_" in res.stderr
    assert "Traceback" not in res.stderr and "s3cr3t-value" not in res.stderr + res.stdout


def test_an_env_file_left_by_kill_9_is_removed_on_the_next_start(tmp_path):
    env_file = tmp_path / "sandbox.env"
    cmd = [sys.executable, "-m", "zimport_widgets", "sandbox", "--env-file", str(env_file)]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not env_file.exists():
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.1)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    old_values = _parse_exports(env_file.read_text())
    first.kill()  # SIGKILL: no cleanup
    first.communicate(timeout=30)
    assert env_file.exists()
    second = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (env_file.exists() and _parse_exports(env_file.read_text()) != old_values):
            assert second.poll() is None and time.monotonic() < deadline, second.communicate()
            time.sleep(0.1)
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        # a third sandbox may not take the file of a running one
        third = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert third.returncode == 2 and f"pid {second.pid}" in third.stderr
    finally:
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=30)
    assert "left by a sandbox that did not stop cleanly" in err
    assert not env_file.exists()
    foreign = tmp_path / "mine.env"
    foreign.write_text("KEEP=1\n")
    res = subprocess.run([*cmd[:-1], str(foreign)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "not written by a sandbox" in res.stderr and foreign.read_text() == "KEEP=1\n"
