"""Benchmark: the official JSON → NumPy recipe vs ``convert_json_to_numpy`` (throughput and peak RSS).

Generates sample-shaped JSON files outside the repo (default ~500 MB and ~125 MB, in a temp folder),
then runs each converter in its own subprocess and reads that child's peak RSS from ``os.wait4``.
Prints times, peak RSS and the ratios. Targets: >= 4x the recipe's throughput, peak RSS <= 256 MB,
peak RSS flat across sizes. Usage: ``python benchmarks/convert.py [--size-mb 500] [--small-mb 125]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
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
from zimport_widgets.convert import convert_json_to_numpy
from zimport_widgets.samples import sample_schema
convert_json_to_numpy(sys.argv[1], sys.argv[2], sample_schema(), progress=False)
"""


def run(code: str, src: Path, out: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of ``python -c code src out`` in a fresh child process."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(src), str(out)])
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"benchmark child failed with exit code {proc.returncode}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=500, help="large input size (default 500)")
    parser.add_argument("--small-mb", type=float, default=None, help="small input size (default size/4)")
    parser.add_argument("--workdir", default=None, help="where to write inputs (default: a temp folder)")
    args = parser.parse_args()
    from zimport_widgets.samples import estimate_rows_for_size, write_sample_json

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
            ours_t, ours_rss = run(OURS, src, work / "out_ours")
            print(f"[{label}] convert_json_to_numpy: {ours_t:6.1f} s  {size / ours_t:6.1f} MB/s  "
                  f"peak RSS {ours_rss:7.0f} MiB", flush=True)  # fmt: skip
            if label == "large":
                rec_t, rec_rss = run(RECIPE, src, work / "out_recipe")
                print(f"[{label}] official recipe:       {rec_t:6.1f} s  {size / rec_t:6.1f} MB/s  "
                      f"peak RSS {rec_rss:7.0f} MiB", flush=True)  # fmt: skip
                results["recipe"] = (rec_t, rec_rss)
            results[label] = (size, ours_t, ours_rss)
            src.unlink()
        size, ours_t, ours_rss = results["large"]
        rec_t, rec_rss = results["recipe"]
        small_size, _, small_rss = results["small"]
        print()
        print(f"throughput ratio (ours / recipe): {rec_t / ours_t:.2f}x   (target >= 4x)")
        print(f"peak RSS ratio (recipe / ours):   {rec_rss / ours_rss:.1f}x   (ours {ours_rss:.0f} MiB, target <= 256)")
        print(f"peak RSS vs size: {small_size:.0f} MB -> {small_rss:.0f} MiB, {size:.0f} MB -> {ours_rss:.0f} MiB "
              f"(growth {ours_rss / small_rss:.2f}x for {size / small_size:.1f}x input)")  # fmt: skip
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
