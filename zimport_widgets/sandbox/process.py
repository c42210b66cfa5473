"""A sandbox in a child process (``zimport sandbox --env-file``), for ``make lab`` and ``zimport app``.

The child prints the credentials, so its output is kept off the terminal; the variables are read from the
env file it writes (0600) once every server answers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import ConfigError

__all__ = ["read_env_file", "sandbox_unless_configured", "serve_until_interrupted", "start_sandbox_process"]


def read_env_file(path: Path) -> dict[str, str]:
    """Parse ``export NAME=value`` lines (as ``zimport sandbox`` writes them)."""
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export ") :]
        name, sep, value = line.partition("=")
        if sep and name:
            env[name] = value.strip().strip("'\"")
    return env


def start_sandbox_process(data_dir: Path, *, timeout: float = 60.0) -> tuple[subprocess.Popen, dict[str, str]]:
    """Start ``zimport sandbox`` in a child process; return it and its variables once it answers."""
    env_file = data_dir / "sandbox.env"
    env_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "zimport_widgets", "sandbox", "--data-dir", str(data_dir), "--env-file", str(env_file)],
        stdout=subprocess.DEVNULL,  # it prints the credentials: keep them off the terminal log
    )
    deadline = time.monotonic() + timeout
    while not env_file.exists():
        if proc.poll() is not None:
            raise ConfigError(f"the sandbox exited with code {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            proc.terminate()
            raise ConfigError(f"the sandbox did not answer within {timeout:g} s")
        time.sleep(0.1)
    return proc, read_env_file(env_file)


def serve_until_interrupted(
    cmd: list[str],
    env: dict[str, str],
    *,
    sandbox: subprocess.Popen | None = None,
    folders: tuple[Path | None, ...] = (),
) -> int:
    """Run the server ``cmd`` until it ends; then stop ``sandbox`` and remove ``folders``. Exit code 0 after Ctrl-C.

    One Ctrl-C in a terminal reaches the whole foreground group: the server shuts down, the sandbox stops,
    and this process (which ignores it meanwhile) cleans up after both.
    """
    previous = signal.getsignal(signal.SIGINT)
    code = 0
    try:
        server = subprocess.Popen(cmd, env=env)  # before ignoring SIGINT here: an ignored signal is inherited
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        code = server.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        if sandbox is not None:
            sandbox.terminate()
            try:
                sandbox.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sandbox.kill()
        for folder in folders:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
    return 0 if code in (0, -signal.SIGINT, 128 + signal.SIGINT) else code


def sandbox_unless_configured(
    prefix: str,
) -> tuple[subprocess.Popen | None, dict[str, str], Path | None]:
    """With no ``ZILLIZ_*``/``OSS_*`` variable set, a sandbox child on a fresh temporary folder: (its process,
    this environment with its variables, the folder); else (None, this environment, None)."""
    from ..config import ENV_NAMES

    env = dict(os.environ)
    if any(os.environ.get(name) for name in ENV_NAMES):
        return None, env, None
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    proc, values = start_sandbox_process(data_dir)
    env.update(values)
    return proc, env, data_dir
