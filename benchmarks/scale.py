"""Benchmark ``prepare_on_dask``: 1 vs 2 workers, and against the single-process path on the same data.

A sharded sample (``--shards`` JSON Lines files of ``--rows`` medium_articles-like rows, 768-dim vectors) is
converted to Parquet, checked and uploaded to the sandbox OSS store (in its own process, as in
``benchmarks/upload.py``):

* single process: ``convert`` + ``upload`` shard after shard in this process (the path without Dask);
* ``prepare_on_dask`` on an embedded LocalCluster of 1 worker, then of 2 workers (processes).

Prints seconds, MB/s of source, the ratios 2 workers / 1 worker (target >= 1.7x) and 2 workers / single
process, and each worker's peak RSS (VmHWM), which should stay flat as the data grows.

Usage: python benchmarks/scale.py [--shards 8] [--rows 2500]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from upload import StoreProcess

from zimport_widgets import OssCredentials, StorageKeys, UploadConfig, convert, iter_sample_rows, sample_schema, upload


def write_shards(folder: Path, shards: int, rows: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    it = iter_sample_rows(shards * rows)
    for s in range(shards):
        with open(folder / f"part-{s:03d}.jsonl", "w", encoding="utf-8") as f:
            for _ in range(rows):
                f.write(json.dumps(next(it)) + "\n")
    return folder


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--rows", type=int, default=2500)
    args = ap.parse_args()

    from zimport_widgets.distributed import local_cluster, prepare_on_dask

    schema = sample_schema(collection_name="bench")
    with tempfile.TemporaryDirectory(prefix="zimport-bench-scale-") as tmp, StoreProcess(1000.0) as store:
        root = Path(tmp)
        src = write_shards(root / "shards", args.shards, args.rows)
        total = sum(p.stat().st_size for p in src.iterdir())
        target = OssCredentials(store.endpoint, store.bucket, StorageKeys(store.access_key_id, store.access_key_secret))
        cfg = UploadConfig(checkpoint_dir=root / "ck")
        print(f"source: {args.shards} JSON Lines shards, {args.shards * args.rows:,} rows, {total / 1e6:.1f} MB; "
              f"{os.cpu_count()} CPUs; sandbox OSS store in its own process")  # fmt: skip

        t0 = time.perf_counter()
        for i, shard in enumerate(sorted(src.iterdir())):
            out = root / "single" / f"part-{i:05d}"
            out.mkdir(parents=True)
            convert(shard, out, schema, to="parquet", progress=False, workers=1)
            upload(out, prefix=f"single/part-{i:05d}", storage=target, config=cfg, progress=False, schema=schema)
        single = time.perf_counter() - t0
        print(f"single process (convert + upload, shard after shard): {single:.2f} s ({total / single / 1e6:.1f} MB/s)")

        timings: dict[int, float] = {}
        for workers in (1, 2):
            client = local_cluster(workers)
            try:
                client.run(lambda: None)  # the workers are up before the clock starts
                t0 = time.perf_counter()
                res = prepare_on_dask(src, prefix=f"dask{workers}", schema=schema, storage=target, client=client,
                                      manifest=root / f"m{workers}.json", config=cfg, progress=False)  # fmt: skip
                timings[workers] = time.perf_counter() - t0
                peaks = client.run(_peak_rss_mib)
            finally:
                cluster = client.cluster
                client.close()
                cluster.close()
            assert res.rows == args.shards * args.rows
            print(f"prepare_on_dask, {workers} worker(s): {timings[workers]:.2f} s "
                  f"({total / timings[workers] / 1e6:.1f} MB/s); peak RSS per worker: "
                  + ", ".join(f"{v:.0f} MiB" for v in peaks.values()))  # fmt: skip
        ratio = timings[1] / timings[2]
        print(f"speed-up 2 workers / 1 worker = {ratio:.2f}x (target >= 1.7x: {'OK' if ratio >= 1.7 else 'MISSED'}); "
              f"2 workers / single process = {single / timings[2]:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
