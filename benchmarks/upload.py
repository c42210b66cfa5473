"""Benchmark upload_to_oss against the sandbox OSS store started in this run (127.0.0.1 only).

(a) Upload a ~300 MB NumPy folder with ``upload_to_oss`` vs the same files sent one by one with
    ``oss2.Bucket.put_object_from_file``; prints both times and the ratio (same store, same run).
(b) Start the upload in a child process, kill it (SIGKILL) at ~50 %, re-run it, print the bytes sent the
    second time as a share of the total (target <= 60 %), then verify every object's CRC64.

Usage: python benchmarks/upload.py [--mb 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 768


def make_numpy_folder(root: Path, mb: int) -> Path:
    """A medium_articles-like NumPy folder of about ``mb`` megabytes (one .npy per field)."""
    rng = np.random.default_rng(0)
    row_bytes = DIM * 4 + 4 * 8 + 3 * 16 * 4
    n = mb * 1_000_000 // row_bytes
    root.mkdir(parents=True, exist_ok=True)
    np.save(root / "id.npy", np.arange(n, dtype=np.int64))
    np.save(root / "title_vector.npy", rng.standard_normal((n, DIM), dtype=np.float32))
    for name in ("reading_time", "claps", "responses"):
        np.save(root / f"{name}.npy", rng.integers(0, 1000, n, dtype=np.int64))
    for name in ("title", "link", "publication"):
        np.save(root / f"{name}.npy", np.array([f"{name}-{i}" for i in range(n)], dtype="<U16"))
    return root


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


_SERVE = """
import json, sys
from zimport_widgets.sandbox.oss_store import OssStore
with OssStore() as st:
    print(json.dumps(dict(endpoint=st.endpoint, bucket=st.bucket, port=st.port,
                          id=st.access_key_id, secret=st.access_key_secret)), flush=True)
    sys.stdin.read()  # serve until the benchmark closes our stdin
"""


class StoreProcess:
    """The sandbox OSS store (:class:`OssStore`) in its own process, so the server does not share the
    benchmark's GIL; the key pair comes back through a pipe, never on a command line or the terminal."""

    def __enter__(self) -> StoreProcess:
        import json

        self.proc = subprocess.Popen([sys.executable, "-c", _SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.endpoint, self.bucket, self.port = info["endpoint"], info["bucket"], info["port"]
        self.access_key_id, self.access_key_secret = info["id"], info["secret"]
        return self

    def oss2_bucket(self) -> object:
        import oss2

        return oss2.Bucket(oss2.Auth(self.access_key_id, self.access_key_secret), self.endpoint, self.bucket)

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def child(args: argparse.Namespace) -> int:
    """Run one upload, printing the progress fraction per event (the parent kills us mid-way)."""
    from zimport_widgets.upload import upload_to_oss

    def report(event: object) -> None:
        print(f"{event.bytes_done / event.bytes_total:.4f}", flush=True)  # type: ignore[attr-defined]

    upload_to_oss(args.src, prefix=args.prefix, endpoint=args.endpoint, bucket=args.bucket, progress=report,
                  check=False, checkpoint_dir=args.ckpt)
    print("done", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--prefix", help=argparse.SUPPRESS)
    ap.add_argument("--endpoint", help=argparse.SUPPRESS)
    ap.add_argument("--bucket", help=argparse.SUPPRESS)
    ap.add_argument("--ckpt", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)

    import oss2

    from zimport_widgets.upload import DEFAULT_NUM_THREADS, DEFAULT_PART_SIZE, upload_to_oss, verify_upload

    with tempfile.TemporaryDirectory(prefix="zimport-bench-upload-") as tmp, StoreProcess() as store:
        tmp_path = Path(tmp)
        src = make_numpy_folder(tmp_path / "src", args.mb)
        total = folder_bytes(src)
        files = sorted(p for p in src.iterdir() if p.is_file())
        keys = dict(access_key_id=store.access_key_id, access_key_secret=store.access_key_secret)
        bucket = store.oss2_bucket()
        print(f"source: {len(files)} .npy files, {total / 1e6:.1f} MB; sandbox OSS store (moto + OSS dialect) "
              f"in its own process at {store.endpoint}; {os.cpu_count()} CPUs")
        print(f"ours: part_size={DEFAULT_PART_SIZE // 2**20} MiB, threads={DEFAULT_NUM_THREADS}, CRC64 verified")

        def clear(prefix: str) -> None:
            for obj in oss2.ObjectIterator(bucket, prefix=prefix):
                bucket.delete_object(obj.key)

        # ---- (a) ours vs one-by-one put_object_from_file
        base_times, our_times = [], []
        for r in range(args.rounds):
            t0 = time.perf_counter()
            for f in files:
                bucket.put_object_from_file(f"base{r}/{f.name}", str(f))
            base_times.append(time.perf_counter() - t0)
            clear(f"base{r}/")
            t0 = time.perf_counter()
            res = upload_to_oss(src, prefix=f"ours{r}", endpoint=store.endpoint, bucket=store.bucket,
                                progress=False, check=False, checkpoint_dir=tmp_path / "ck", **keys)
            our_times.append(time.perf_counter() - t0)
            assert res.bytes_uploaded == total and len(res.objects) == len(files)
            clear(f"ours{r}/")
            print(f"  round {r + 1}: put_object_from_file one by one {base_times[-1]:.2f} s, "
                  f"upload_to_oss {our_times[-1]:.2f} s")
        b, o = min(base_times), min(our_times)
        print(f"(a) best of {args.rounds}: baseline {b:.2f} s ({total / b / 1e6:.0f} MB/s), "
              f"upload_to_oss {o:.2f} s ({total / o / 1e6:.0f} MB/s); ratio baseline/ours = {b / o:.2f}x")

        # ---- (b) kill at ~50 %, re-run, share of bytes sent again
        ckpt = tmp_path / "ck-resume"
        env = {**os.environ, "OSS_ACCESS_KEY_ID": store.access_key_id, "OSS_ACCESS_KEY_SECRET": store.access_key_secret}
        cmd = [sys.executable, __file__, "--child", "--src", str(src), "--prefix", "resume",
               "--endpoint", store.endpoint, "--bucket", store.bucket, "--ckpt", str(ckpt)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        killed_at = None
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.strip()
            if line == "done":
                break
            if float(line) >= 0.5:
                proc.send_signal(signal.SIGKILL)
                killed_at = float(line)
                break
        proc.wait()
        if killed_at is None:
            print("(b) the child finished before 50 %: no interruption measured")
            return 1
        visible = sum(1 for _ in oss2.ObjectIterator(bucket, prefix="resume/"))
        print(f"(b) child killed at {killed_at:.1%} of the bytes; objects visible under the prefix: "
              f"{visible} of {len(files)}; checkpoint records: {sum(1 for p in ckpt.rglob('*') if p.is_file())}")
        t0 = time.perf_counter()
        res = upload_to_oss(src, prefix="resume", endpoint=store.endpoint, bucket=store.bucket, progress=False,
                            check=False, checkpoint_dir=ckpt, **keys)
        again = time.perf_counter() - t0
        share = res.bytes_uploaded / res.total_bytes
        print(f"    re-run: {res.bytes_uploaded / 1e6:.1f} MB of {res.total_bytes / 1e6:.1f} MB sent again = "
              f"{share:.1%} of the total (target <= 60 %: {'OK' if share <= 0.6 else 'MISSED'}), "
              f"{len(res.skipped)} objects skipped, {again:.2f} s")
        n = verify_upload(res, **keys)
        print(f"    verified: {n} objects, size and CRC64 equal to the local files")
        return 0 if share <= 0.6 else 1


if __name__ == "__main__":
    sys.exit(main())
