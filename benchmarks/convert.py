"""Benchmark: the official JSON → NumPy recipe vs ``convert_json_to_numpy`` (throughput and peak RSS).

Generates sample-shaped JSON files outside the repo (default ~500 MB and ~125 MB, in a temp folder),
then runs each converter in its own subprocess and reads that child's peak RSS from ``os.wait4``.
Prints times, peak RSS and the ratios. Targets: >= 4x the recipe's throughput, peak RSS <= 256 MB,
peak RSS flat across sizes. Usage: ``python benchmarks/convert.py [--size-mb 500] [--small-mb 125]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RECIPE = """
import json, os, sys, numpy
src, out = sys.argv[1], sys.argv[2]
with open(src) as f:
    dataset = json.load(f)
for key in dataset['rows'][0].keys():
    numpy.save(os.path.join(out, f'{key}.npy'), numpy.array([x[key] for x in dataset['rows']]))
"""

OURS = """
import sys
from zimport_widgets.prepare.convert import convert_json_to_numpy
from zimport_widgets.prepare.samples import sample_schema
workers = None if sys.argv[3] == "auto" else int(sys.argv[3])
convert_json_to_numpy(sys.argv[1], sys.argv[2], sample_schema(), progress=False, workers=workers)
"""


def _tree_rss_sampler(pid: int, peak: list[float], stop: threading.Event) -> None:
    """Sum the RSS of ``pid`` and all its descendants every 20 ms; keep the maximum (bytes)."""
    try:
        import psutil
    except ImportError:
        return
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        total = 0
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        peak[0] = max(peak[0], total)
        stop.wait(0.02)


def run(code: str, src: Path, out: Path, *args: str) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of ``python -c code src out *args`` in a fresh child process.

    Peak RSS is the larger of the child's own peak (``wait4``) and the sampled sum over the child
    and its worker processes, so parallel workers are counted together.
    """
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(src), str(out), *args])
    peak, stop = [0.0], threading.Event()
    sampler = threading.Thread(target=_tree_rss_sampler, args=(proc.pid, peak, stop), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"benchmark child failed with exit code {proc.returncode}")
    return elapsed, max(usage.ru_maxrss * 1024, peak[0]) / 2**20  # ru_maxrss is KiB on Linux


def best(repeat: int, code: str, src: Path, out: Path, *args: str) -> tuple[float, float]:
    """The fastest of ``repeat`` runs, with the highest peak RSS seen (a shared machine is noisy)."""
    runs = [run(code, src, out, *args) for _ in range(max(1, repeat))]
    return min(t for t, _ in runs), max(m for _, m in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=500, help="large input size (default 500)")
    parser.add_argument("--small-mb", type=float, default=None, help="small input size (default size/4)")
    parser.add_argument("--workdir", default=None, help="where to write inputs (default: a temp folder)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest counts (default 1)")
    args = parser.parse_args()
    from zimport_widgets.prepare.samples import estimate_rows_for_size, write_sample_json

    small_mb = args.small_mb or args.size_mb / 4
    work = Path(args.workdir or tempfile.mkdtemp(prefix="zimport-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        results = {}
        for label, mb in (("small", small_mb), ("large", args.size_mb)):
            src = work / f"sample_{label}.json"
            t = time.perf_counter()
            write_sample_json(src, estimate_rows_for_size(int(mb * 1e6)), seed=1)
            size = src.stat().st_size / 1e6
            print(f"[{label}] generated {src.name}: {size:.0f} MB in {time.perf_counter() - t:.1f} s", flush=True)
            ours_t, ours_rss = best(args.repeat, OURS, src, work / "out_ours", "auto")
            print(f"[{label}] convert_json_to_numpy: {ours_t:6.1f} s  {size / ours_t:6.1f} MB/s  "
                  f"peak RSS {ours_rss:7.0f} MiB  (workers: auto)", flush=True)  # fmt: skip
            one_t, one_rss = best(args.repeat, OURS, src, work / "out_one", "1")
            print(f"[{label}] convert_json_to_numpy: {one_t:6.1f} s  {size / one_t:6.1f} MB/s  "
                  f"peak RSS {one_rss:7.0f} MiB  (workers=1, one process)", flush=True)  # fmt: skip
            results[label + "-one"] = (size, one_t, one_rss)
            if label == "large":
                rec_t, rec_rss = best(args.repeat, RECIPE, src, work / "out_recipe")
                print(f"[{label}] official recipe:       {rec_t:6.1f} s  {size / rec_t:6.1f} MB/s  "
                      f"peak RSS {rec_rss:7.0f} MiB", flush=True)  # fmt: skip
                results["recipe"] = (rec_t, rec_rss)
            results[label] = (size, ours_t, ours_rss)
            src.unlink()
        size, ours_t, ours_rss = results["large"]
        rec_t, rec_rss = results["recipe"]
        small_size, _, small_rss = results["small"]
        print()
        _, one_t, one_rss = results["large-one"]
        _, _, small_one_rss = results["small-one"]
        print(f"throughput ratio (ours / recipe): {rec_t / ours_t:.2f}x  (one process: {rec_t / one_t:.2f}x; "
              f"target >= 4x; {os.cpu_count()} CPUs)")  # fmt: skip
        print(f"peak RSS: ours {ours_rss:.0f} MiB (one process {one_rss:.0f} MiB), recipe {rec_rss:.0f} MiB: "
              f"{rec_rss / ours_rss:.1f}x less (target <= 256 MiB)")  # fmt: skip
        print(
            f"peak RSS vs size: {small_size:.0f} MB -> {small_rss:.0f} MiB, {size:.0f} MB -> {ours_rss:.0f} MiB "
            f"(one process: {small_one_rss:.0f} -> {one_rss:.0f} MiB), {size / small_size:.1f}x the input"
        )
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
