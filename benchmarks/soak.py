"""Soak: the sandbox under N concurrent pollers and M concurrent imports for T seconds (loopback only).

Starts the real ``zimport sandbox`` in a child process, uploads a small NumPy set once, then for ``--seconds``
runs ``--pollers`` threads calling the progress and job-list APIs in a loop and ``--imports`` threads each
starting an import and following it to the end, again and again. Prints p50/p99 latency per call, the
errors seen, the imports completed, and the sandbox's RSS before and after. Baseline, measured in the same
run: the same calls from one idle poller before the load starts; the load's p99 is printed as a ratio of it.
Usage: ``python benchmarks/soak.py [--pollers 8] [--imports 2] [--seconds 20] [--rows 2000]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from zimport_widgets import ImportClient, OssCredentials, upload_to_oss
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

DIM = 16


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_sandbox(tmp: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    env_file = tmp / "sb.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "zimport_widgets", "sandbox", "--env-file", str(env_file), "--data-dir", str(tmp / "d")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not env_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.05)
    env = {}
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            env[name] = value.strip("'\"")
    return proc, env


def schema(name: str) -> CollectionSchema:
    return CollectionSchema(
        fields=(FieldSchema("id", DataType.INT64, is_primary=True), FieldSchema("vec", DataType.FLOAT_VECTOR, dim=DIM)),
        collection_name=name,
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pollers", type=int, default=8)
    ap.add_argument("--imports", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rows", type=int, default=2000)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="zimport-soak-") as td:
        tmp = Path(td)
        proc, env = start_sandbox(tmp)
        try:
            folder = tmp / "np"
            folder.mkdir()
            np.save(folder / "id.npy", np.arange(args.rows, dtype=np.int64))
            np.save(folder / "vec.npy", np.random.default_rng(0).random((args.rows, DIM), dtype=np.float32))
            url = upload_to_oss(folder, prefix="soak/np", credentials=OssCredentials.resolve(env=env),
                                progress=False, schema=schema("x")).object_url  # fmt: skip
            client = ImportClient.from_env(env)
            names = [f"soak_{i}" for i in range(max(1, args.imports))]
            for n in names:
                client.create_collection(n, schema(n))
            first = client.start_import(names[0], url)
            client.wait_for_import(first, progress=False, poll_interval=0.1)

            def calls(c: ImportClient) -> dict[str, object]:
                return {"progress": lambda: c.get_import_progress(first), "list": lambda: c.list_import_jobs()}

            # baseline: one idle poller, same calls
            idle: dict[str, list[float]] = defaultdict(list)
            for _ in range(50):
                for kind, fn in calls(client).items():
                    t0 = time.perf_counter()
                    fn()  # type: ignore[operator]
                    idle[kind].append(time.perf_counter() - t0)

            rss_before = rss_mib(proc.pid)
            stop = time.monotonic() + args.seconds
            lat: dict[str, list[float]] = defaultdict(list)
            errors: dict[str, int] = defaultdict(int)
            done = [0]
            lock = threading.Lock()

            def poller() -> None:
                c = ImportClient.from_env(env)
                while time.monotonic() < stop:
                    for kind, fn in calls(c).items():
                        t0 = time.perf_counter()
                        try:
                            fn()  # type: ignore[operator]
                        except Exception as exc:
                            with lock:
                                errors[f"{kind}: {type(exc).__name__}"] += 1
                            continue
                        with lock:
                            lat[kind].append(time.perf_counter() - t0)

            def importer(name: str) -> None:
                c = ImportClient.from_env(env)
                while time.monotonic() < stop:
                    t0 = time.perf_counter()
                    try:
                        c.wait_for_import(c.start_import(name, url), progress=False, poll_interval=0.1, timeout=300)
                    except Exception as exc:
                        with lock:
                            errors[f"import: {type(exc).__name__}"] += 1
                        continue
                    with lock:
                        lat["import (start to completed)"].append(time.perf_counter() - t0)
                        done[0] += 1

            threads = [threading.Thread(target=poller) for _ in range(args.pollers)]
            threads += [threading.Thread(target=importer, args=(names[i % len(names)],)) for i in range(args.imports)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rss_after = rss_mib(proc.pid)
            rows = sum(client.count_rows(n) for n in names)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)

    print(f"soak: {args.pollers} pollers + {args.imports} imports for {args.seconds:g} s on the sandbox (loopback)")
    for kind, values in sorted(lat.items()):
        base = idle.get(kind)
        ratio = f"  (p99 {percentile(values, 0.99) / percentile(base, 0.99):.1f}x idle)" if base else ""
        print(f"  {kind:<28} n={len(values):>6}  p50 {1000 * statistics.median(values):7.1f} ms  "
              f"p99 {1000 * percentile(values, 0.99):7.1f} ms{ratio}")  # fmt: skip
    for kind, values in sorted(idle.items()):
        print(f"  idle {kind:<23} n={len(values):>6}  p50 {1000 * statistics.median(values):7.1f} ms  "
              f"p99 {1000 * percentile(values, 0.99):7.1f} ms")  # fmt: skip
    print(f"  imports completed: {done[0]} ({rows:,} rows in the collections)")
    print(f"  errors: {dict(errors) if errors else 'none'}")
    print(f"  sandbox RSS: {rss_before:.0f} MiB before the load, {rss_after:.0f} MiB after")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
