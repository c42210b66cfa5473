"""Benchmark: how fast ``zimport sandbox`` comes up (target: everything answers within 3 s).

Runs the real command ``python -m zimport_widgets sandbox --env-file F`` N times and measures, from process
start, the first ``export`` line (servers listening) and the env file (store, controller and cluster with
Milvus Lite all answering). Baseline, measured in the same run: a bare Milvus Lite open in a fresh interpreter
(``python -c "MilvusClient('x.db')"``), the floor any sandbox on Milvus Lite pays. Prints times and ratios.
Usage: ``python benchmarks/sandbox_start.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

BASELINE = """
import sys, warnings
warnings.simplefilter("ignore")
from pymilvus import MilvusClient
MilvusClient(sys.argv[1]).list_collections()
"""


def time_baseline(tmp: str, i: int) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", BASELINE, os.path.join(tmp, f"base{i}.db")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - t0


def time_sandbox(tmp: str, i: int) -> tuple[float, float]:
    env_file = os.path.join(tmp, f"sb{i}.env")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zimport_widgets", "sandbox", "--env-file", env_file,
         "--data-dir", os.path.join(tmp, f"data{i}")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        listening = time.perf_counter() - t0
        while not os.path.exists(env_file):
            if proc.poll() is not None:
                raise RuntimeError("zimport sandbox exited early")
            time.sleep(0.01)
        ready = time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return listening, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zimport-bench-") as tmp:
        base = [time_baseline(tmp, i) for i in range(args.runs)]
        runs = [time_sandbox(tmp, i) for i in range(args.runs)]
    listen = statistics.median(r[0] for r in runs)
    ready = statistics.median(r[1] for r in runs)
    b = statistics.median(base)
    print(f"baseline (bare Milvus Lite open, fresh interpreter): median {b:.2f} s  runs {[round(x, 2) for x in base]}")
    print(f"zimport sandbox listening (first export line):       median {listen:.2f} s  ratio {listen / b:.2f}x")
    print(f"zimport sandbox ready (env file, all answer):        median {ready:.2f} s  ratio {ready / b:.2f}x  "
          f"runs {[round(r[1], 2) for r in runs]}")  # fmt: skip
    print(f"target: ready <= 3.0 s -> {'met' if ready <= 3.0 else 'NOT met'} (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
