"""Benchmark: the real Milvus judge — server start-up, one import, and the conformance suite.

Measured in one run, each against a baseline from the same run:
* start-up: ``MilvusServer().start()`` (private network namespace, Unix socket, password set) until it
  answers, warm binary cache and cold (first start, binaries unpacked); baseline: a Milvus Lite open;
* one import of the 5,979-row sample (768-d) through the sandbox: engine "milvus" (Milvus's bulk insert,
  rows loaded and counted) vs engine "lite" (the project's checker + inserts);
* the conformance suite ``tests/integration/test_real_milvus.py`` (wall time, cases per second).
Usage: ``python benchmarks/real_milvus.py [--runs 3] [--no-suite]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
ROOT = Path(__file__).resolve().parents[1]


def time_lite_open(tmp: str, i: int) -> float:
    code = "import sys\nfrom pymilvus import MilvusClient\nMilvusClient(sys.argv[1]).list_collections()"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-W", "ignore", "-c", code, os.path.join(tmp, f"lite{i}.db")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - t0


def time_server(tmp: str, i: int, *, cold: bool) -> float:
    from zimport_widgets.sandbox.milvus_server import MILVUS_VERSION, MilvusServer

    if cold:  # the unpacked binaries live in a per-user cache: move it aside for a first start
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zimport_widgets"
        shutil.rmtree(cache / f"milvus-{MILVUS_VERSION}", ignore_errors=True)
    server = MilvusServer(os.path.join(tmp, f"server{i}"))
    t0 = time.perf_counter()
    server.start()
    try:
        from pymilvus import MilvusClient

        MilvusClient(uri=server.uri, token=server.token).list_collections()
        return time.perf_counter() - t0
    finally:
        server.stop()


def time_import(engine: str, tmp: str) -> tuple[float, int]:
    from zimport_widgets import ImportClient, convert_json_to_numpy, upload_to_oss
    from zimport_widgets.prepare.samples import sample_schema, write_sample_json
    from zimport_widgets.sandbox import Sandbox

    src = Path(tmp) / "sample.json"
    if not src.exists():
        write_sample_json(src, 5979)
    out = Path(tmp) / f"npy-{engine}"
    schema = sample_schema()
    convert_json_to_numpy(src, out, schema, progress=False)
    with Sandbox(data_dir=os.path.join(tmp, f"sb-{engine}"), engine=engine) as sb:
        os.environ.update(sb.env())
        with ImportClient() as client:
            client.create_collection("medium_articles", schema)
            up = upload_to_oss(out, prefix=f"bench/{engine}/", progress=False)
            t0 = time.perf_counter()
            job = client.start_import("medium_articles", up.object_url)
            client.wait_for_import(job.job_id, progress=False, poll_interval=0.2)
            rows = client.count_rows("medium_articles")
            return time.perf_counter() - t0, rows


def time_suite() -> tuple[float, str]:
    t0 = time.perf_counter()
    suite = "tests/integration/test_real_milvus.py"
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", suite],
                         cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    last = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else res.stderr[-200:]
    return time.perf_counter() - t0, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-suite", action="store_true", help="skip the conformance-suite timing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zimport-bench-milvus-") as tmp:
        lite = statistics.median(time_lite_open(tmp, i) for i in range(args.runs))
        cold = time_server(tmp, 99, cold=True)
        warm = [time_server(tmp, i, cold=False) for i in range(args.runs)]
        w = statistics.median(warm)
        print(f"baseline: Milvus Lite open, fresh interpreter       median {lite:.2f} s")
        print(f"real Milvus server ready (warm binary cache)        median {w:.2f} s  ratio {w / lite:.2f}x  "
              f"runs {[round(x, 2) for x in warm]}")  # fmt: skip
        print(f"real Milvus server ready (cold: binaries unpacked)         {cold:.2f} s  ratio {cold / lite:.2f}x")
        lite_import, lite_rows = time_import("lite", tmp)
        real_import, real_rows = time_import("milvus", tmp)
        print(f"baseline: import 5,979 x 768-d rows, engine lite         {lite_import:.2f} s ({lite_rows:,} rows)")
        print(f"import 5,979 x 768-d rows, engine milvus (bulk insert)   {real_import:.2f} s ({real_rows:,} rows)  "
              f"ratio {real_import / lite_import:.2f}x")  # fmt: skip
    if not args.no_suite:
        seconds, last = time_suite()
        sys.path.insert(0, str(ROOT))
        from tests.support.milvus_corpus import CASES

        print(
            f"conformance suite tests/integration/test_real_milvus.py: {seconds:.1f} s wall ({last}); "
            f"{len(CASES)} corpus cases, {seconds / len(CASES):.2f} s per case including start-up"
        )
    print(f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
