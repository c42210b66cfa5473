"""Runs inside a private network namespace (see ``milvus_server``): Milvus, and a Unix socket into it.

argv: DATA_DIR SERVER_PACKAGE_DIR SOCKET_PATH (in a folder only this user may open); stdin: the new
root password, then nothing until the parent goes (EOF stops everything). Prints ``READY <seconds>``
or ``FAILED <reason>``, and ``EXITED <code>`` if the server process ends by itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_PR_SET_PDEATHSIG = 1
_COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, _SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def _only_loopback() -> bool:
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def _die_with_parent() -> None:  # for the Go process: it ends when this launcher ends, however that happens
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _binaries(milvus_mod, data_dir: Path) -> None:
    """Unpack the server's binaries once per user (a shared cache), linked into ``data_dir/bin``."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zimport_widgets"
    cache = cache / f"milvus-{milvus_mod.__version__}"
    cache.mkdir(parents=True, exist_ok=True)
    os.chmod(cache, 0o700)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        milvus_mod._initialize_data_files(str(cache))  # skips files whose checksum it has already
    link = data_dir / "bin"
    if not link.exists():
        link.symlink_to(cache / "bin", target_is_directory=True)


def _pump(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            data = a.recv(1 << 16)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def main() -> int:
    data_dir, package, path = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    password = sys.stdin.readline().strip()
    t0 = time.perf_counter()
    try:
        _loopback_up()
        if not _only_loopback():
            print("FAILED the network namespace has interfaces besides loopback", flush=True)
            return 2
        sys.path.insert(0, package)
        import subprocess

        import milvus

        _binaries(milvus, data_dir)
        server = milvus.MilvusServer(milvus.MilvusServerConfig(data_dir=str(data_dir)), wait_for_started=False)
        server.set_base_dir(str(data_dir))
        for c in _COMPONENTS:
            server.config.set(f"{c}.ip", "127.0.0.1")
        server.config.set("authorization_enabled", True)
        real_popen = subprocess.Popen
        milvus.subprocess.Popen = lambda *a, **k: real_popen(*a, preexec_fn=_die_with_parent, **k)  # type: ignore[call-overload]
        server.start()
    except Exception as exc:
        print(f"FAILED {type(exc).__name__}: {exc}", flush=True)
        return 2

    stopping = threading.Event()

    def stop(*_: object) -> None:
        if not stopping.is_set():
            stopping.set()
            with contextlib.suppress(Exception):
                server.stop()
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.wait_started(timeout=150_000)
        from pymilvus import MilvusClient

        port = server.listen_port
        try:  # started again on the same data: the password was replaced then
            MilvusClient(uri=f"http://127.0.0.1:{port}", token=f"root:{password}").close()
        except Exception:
            client = MilvusClient(uri=f"http://127.0.0.1:{port}", token="root:Milvus")
            client.update_password("root", "Milvus", password)
            client.close()
        path.parent.mkdir(mode=0o700, exist_ok=True)
        os.chmod(path.parent, 0o700)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        os.chmod(path, 0o600)
        listener.listen(64)
    except Exception as exc:
        print(f"FAILED {type(exc).__name__}: {exc}", flush=True)
        stop()
        return 2

    def watch_parent() -> None:
        sys.stdin.read()  # EOF: our parent went away
        stop()

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    proc = server.server_proc

    def watch_server() -> None:  # a panic in the server (e.g. on a malformed .npy header) ends the Go process
        code = proc.wait()
        if not stopping.is_set():
            print(f"EXITED {code}", flush=True)

    threading.Thread(target=watch_server, name="server-watch", daemon=True).start()
    print(f"READY {time.perf_counter() - t0:.2f}", flush=True)
    while not stopping.is_set():
        conn, _ = listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", port))
        except OSError:
            conn.close()
            continue
        threading.Thread(target=_pump, args=(conn, upstream), daemon=True).start()
        threading.Thread(target=_pump, args=(upstream, conn), daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
