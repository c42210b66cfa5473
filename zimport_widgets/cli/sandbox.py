"""``zimport sandbox``: run the local sandbox (object store, import controller, cluster) in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import signal
import sys
import threading
import time
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sandbox",
        help="run the local sandbox (OSS store + import controller + cluster) until Ctrl-C",
        description=(
            "Start the loopback sandbox: an Aliyun-OSS-dialect object store, the Zilliz import controller "
            "(REST v1 + v2) and a cluster data plane on Milvus Lite or (--engine milvus) a real Milvus server. "
            "Prints `export NAME=value` lines for "
            "the ZILLIZ_*/OSS_* variables and runs until Ctrl-C or SIGTERM."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--data-dir", help="folder for the Milvus Lite database (default: a temporary folder)")
    p.add_argument("--env-file", help="write the export lines to this file once every server answers")
    p.add_argument(
        "--engine", choices=("lite", "milvus"), default="lite",
        help="cluster engine: Milvus Lite (fast; imports checked by this project) or a real Milvus server whose "
             "own bulk insert judges every import (Linux x86_64, `make venv` installs it)",
    )  # fmt: skip
    p.add_argument("--bucket", help="name of the demo bucket (default: random)")
    p.add_argument("--cluster-id", help="cluster id to accept (default: random)")
    p.add_argument(
        "--access-key-id",
        help=f"OSS access key id to accept (default: random); its secret comes from {SECRET_ENV}",
    )
    # secrets never on the command line (any local user can read a process's arguments)
    p.add_argument("--api-key", help=argparse.SUPPRESS)
    p.add_argument("--access-key-secret", help=argparse.SUPPRESS)
    p.epilog = (
        f"Secrets are never taken from the command line: set {API_KEY_ENV} (the API key to accept) and "
        f"{SECRET_ENV} (with --access-key-id) in the environment; by default both are random."
    )
    p.set_defaults(func=run)


#: The environment variables a fixed sandbox API key / OSS secret come from (never argv: process lists).
API_KEY_ENV = "ZIMPORT_SANDBOX_API_KEY"
SECRET_ENV = "ZIMPORT_SANDBOX_ACCESS_KEY_SECRET"
#: The first line of an env file the sandbox writes: whose it is, so that a stale one is recognised.
_ENV_MARK = "# written by zimport sandbox, pid "


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _write_env_file(path: str, lines: list[str]) -> None:
    """Write ``lines`` (mode 0600, whole or not at all), marked with this process's id."""
    from ..private_files import write_private

    write_private(path, f"{_ENV_MARK}{os.getpid()}; removed when it stops\n" + "\n".join(lines) + "\n")


def _clear_stale_env_file(path: str) -> str | None:
    from ..prepare.staging import pid_alive

    """Remove an env file left by a sandbox that was killed; an error line if ``path`` is not ours to take."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"error: cannot read the env file {path}: {exc.strerror}"
    if not first.startswith(_ENV_MARK):
        return f"error: {path} exists and was not written by a sandbox: remove it or choose another --env-file"
    try:
        pid = int(first[len(_ENV_MARK) :].split(";", 1)[0])
    except ValueError:
        pid = 0
    if pid > 0 and pid_alive(pid):
        return f"error: {path} belongs to a sandbox that is still running (pid {pid}): stop it first"
    os.remove(path)
    print(f"# removed {path}, left by a sandbox that did not stop cleanly (pid {pid})", file=sys.stderr)
    return None


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    if not _loopback(args.host):
        print(f"error: the sandbox binds loopback addresses only, not {args.host!r}", file=sys.stderr)
        return 2
    if args.api_key or args.access_key_secret:
        print(
            "error: secrets are not taken from the command line (other users can read it in the process list): "
            f"set {API_KEY_ENV} / {SECRET_ENV} instead",
            file=sys.stderr,
        )
        return 2
    secret = os.environ.get(SECRET_ENV) or None
    if secret and not args.access_key_id:
        print(f"error: {SECRET_ENV} is set but --access-key-id is not: give both or neither", file=sys.stderr)
        return 2
    if args.env_file:
        problem = _clear_stale_env_file(args.env_file)
        if problem:
            print(problem, file=sys.stderr)
            return 2
    from ..sandbox import Sandbox

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    sb = Sandbox(
        host=args.host, data_dir=args.data_dir, bucket=args.bucket, api_key=os.environ.get(API_KEY_ENV) or None,
        engine=args.engine, cluster_id=args.cluster_id, access_key_id=args.access_key_id, access_key_secret=secret,
    )  # fmt: skip
    wrote_env = False
    try:
        try:
            sb.start(wait=False)
            lines = sb.export_lines()
            print("\n".join(lines), flush=True)
            listening = time.perf_counter() - t0
            sb.wait_ready(timeout=300)
        except (OSError, RuntimeError) as exc:
            print(f"error: the sandbox could not start: {exc}", file=sys.stderr)
            return 1
        if args.env_file:
            _write_env_file(args.env_file, lines)
            wrote_env = True
        elapsed = time.perf_counter() - t0
        print(
            f"# sandbox ready in {elapsed:.2f} s (listening after {listening:.2f} s): cluster {sb.cluster_endpoint}, "
            f"controller {sb.controller_url} ({sb.engine.description}), "
            f"OSS {sb.oss_endpoint} bucket {sb.oss_bucket}"
            + (f"; wrote {args.env_file}" if wrote_env else "")
            + ". Ctrl-C to stop.",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sb.stop()
        if wrote_env:
            with contextlib.suppress(OSError):
                os.remove(args.env_file)
        print("# sandbox stopped", file=sys.stderr, flush=True)
    return 0
