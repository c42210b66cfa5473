"""A real Milvus server (the Go standalone from PyPI ``milvus``, "Embedded Milvus"), reachable from this process only.

Milvus 2.3's gRPC ports bind every interface and no setting narrows them, so the server runs in a
private network namespace (``unshare -n`` as root, ``unshare -rn`` otherwise) where only a loopback
interface exists. The one way in is a Unix socket in a folder only this user can open
(``uri`` = ``unix:…``; pymilvus speaks gRPC over it), and the server wants a password: root's default
is replaced by a random one before the socket appears. Nothing listens on any TCP port outside the
namespace. The child stops the server when this process closes its end of the pipe (or dies).

The embedded server's files come from ``pip install --no-deps --target DIR 'milvus==2.3.5'`` (the
package itself imports only the standard library); DIR is ``$ZIMPORT_MILVUS_SERVER`` or
``<sys.prefix>/milvus-server`` (where ``make`` puts it).
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["MILVUS_VERSION", "MilvusServer", "MilvusUnavailable", "find_server_package"]

MILVUS_VERSION = "2.3.5"
ENV_SERVER = "ZIMPORT_MILVUS_SERVER"


class MilvusUnavailable(RuntimeError):
    """The real Milvus server cannot run on this machine; the message says what is missing."""


def find_server_package() -> Path:
    """The folder holding the embedded ``milvus`` package, or raise :class:`MilvusUnavailable` saying why."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise MilvusUnavailable(
            f"the embedded Milvus server is a Linux x86_64 build; this machine is {sys.platform} {platform.machine()}"
        )
    candidates = [os.environ.get(ENV_SERVER), os.path.join(sys.prefix, "milvus-server")]
    for c in candidates:
        if c and (Path(c) / "milvus" / "data" / "bin" / "milvus.lzma").is_file():
            return Path(c)
    raise MilvusUnavailable(
        "the embedded Milvus server is not installed: run `make venv` (it installs it), or "
        f"`pip install --no-deps --target {candidates[1]} 'milvus=={MILVUS_VERSION}'`, or set {ENV_SERVER}"
    )


def _password(data_dir: Path) -> str:
    """root's password for the server of ``data_dir``: random, kept (mode 0600) beside its data, so that a
    server started again on the same data still gets in (Milvus stores the password it was given)."""
    path = data_dir / "root-password"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    password = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password)
    return password


def _unshare_command() -> list[str]:
    exe = shutil.which("unshare")
    if exe is None:
        raise MilvusUnavailable("`unshare` (util-linux) is missing: it keeps Milvus's ports off the network")
    return [exe, "-n"] if os.geteuid() == 0 else [exe, "-r", "-n"]


class MilvusServer:
    """One real Milvus standalone with its data in ``data_dir``; ``start()`` blocks until it answers.

    ``uri`` and ``token`` are what ``pymilvus.MilvusClient(uri=..., token=...)`` needs. The token is
    never printed: ``repr()`` leaves it out.
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="zimport-milvus-"))
        self._password = _password(self.data_dir)
        self._proc: subprocess.Popen[str] | None = None
        self._log: list[str] = []
        self.startup_seconds: float | None = None
        self.exit_code: int | None = None  # set when the server process ended by itself (a crash)
        self._sock_dir: Path | None = None

    @property
    def socket_path(self) -> Path:
        # a short private folder of its own: a Unix socket path is limited to 107 bytes
        if self._sock_dir is None:
            self._sock_dir = Path(tempfile.mkdtemp(prefix="zmv-"))  # mode 0700
        return self._sock_dir / "milvus.sock"

    @property
    def uri(self) -> str:
        return f"unix:{self.socket_path}"

    @property
    def token(self) -> str:
        return f"root:{self._password}"

    @property
    def running(self) -> bool:
        """The launcher lives and the server process has not ended."""
        return self._proc is not None and self._proc.poll() is None and self.exit_code is None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"MilvusServer({MILVUS_VERSION}, {state}, uri={self.uri!r})"

    def start(self, timeout: float = 180.0) -> MilvusServer:
        if self.running:
            return self
        if self._proc is not None:  # the server process ended (a crash): clear the launcher first
            self.stop()
        self.exit_code = None
        package = find_server_package()
        command = [*_unshare_command(), sys.executable, "-m", "zimport_widgets.sandbox._milvus_netns",
                   str(self.data_dir), str(package), str(self.socket_path)]  # fmt: skip
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        t0 = time.perf_counter()
        self._proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=self.data_dir,
        )  # fmt: skip
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(self._password + "\n")  # over the pipe: never in a process list
        self._proc.stdin.flush()
        ready = threading.Event()
        outcome: list[str] = []

        def read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                line = line.rstrip("\n")
                self._log.append(line)
                del self._log[:-50]
                if line.startswith("EXITED "):
                    self.exit_code = int(line.split()[1])
                if line.startswith(("READY", "FAILED")) and not ready.is_set():
                    outcome.append(line)
                    ready.set()
            ready.set()

        threading.Thread(target=read, name="zimport-milvus-log", daemon=True).start()
        if not ready.wait(timeout) or not outcome or not outcome[0].startswith("READY"):
            why = outcome[0][len("FAILED ") :] if outcome else f"no answer within {timeout:.0f} s"
            tail = "; ".join(x for x in self._log[-5:] if not x.startswith("FAILED"))
            self.stop()
            if "unshare" in tail or "Operation not permitted" in tail:
                raise MilvusUnavailable(f"cannot make a private network namespace for Milvus here ({tail})")
            raise MilvusUnavailable(f"the Milvus server did not start: {why}" + (f" ({tail})" if tail else ""))
        self.startup_seconds = time.perf_counter() - t0
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()  # the child stops Milvus and exits
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._sock_dir is not None:
            shutil.rmtree(self._sock_dir, ignore_errors=True)
            self._sock_dir = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_tail(self, n: int = 20) -> list[str]:
        """The last lines the server's launcher printed (for failure messages)."""
        return self._log[-n:]

    def __enter__(self) -> MilvusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
