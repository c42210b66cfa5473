"""Benchmark upload_to_oss against the sandbox OSS store started in this run (127.0.0.1 only).

(a) Upload a ~300 MB NumPy folder with ``upload_to_oss`` vs the same files sent one by one with
    ``oss2.Bucket.put_object_from_file``; prints both times and the ratio (same store, same run), twice:
    on the raw loopback, and through a second endpoint of the same store that caps each connection at
    ``--link-mbps`` MB/s (a single TCP stream to a cloud region is limited by round-trip time and window,
    which is what parallel parts are for; the loopback has no such limit and the store's CPU is the bottleneck).
(b) Start the upload in a child process, kill it (SIGKILL) at ~50 %, re-run it, print the bytes sent the
    second time as a share of the total (target <= 60 %), then verify every object's CRC64.
(c) The S3 backend (``upload`` with ``S3Credentials``, through the same store's S3 API) on the capped link
    against boto3 itself: ``put_object`` file by file, and boto3's own threaded transfer manager
    (``s3transfer.TransferManager``, its default ``TransferConfig``: 8 MiB parts, 10 threads) sending every
    file at once. Target: >= 1.5x the transfer manager.
(d) The Azure backend against Azurite behind a proxy that caps each connection the same way, against the
    SDK itself: ``upload_blob`` file by file (its default ``max_concurrency=1``) and with
    ``max_concurrency=8`` (its own threaded block upload). Target: >= 1.5x the threaded SDK upload.

The store (moto + the OSS dialect) runs in its own process so it does not share the benchmark's GIL.

Usage: python benchmarks/upload.py [--mb 300] [--rounds 2] [--link-mbps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from zimport_widgets.config import OssCredentials, StorageKeys, UploadConfig

DIM = 768

_SERVE = """
import json, sys, time
from zimport_widgets.sandbox.httpserver import ServerThread
from zimport_widgets.sandbox.oss_dialect import OssDialect
from zimport_widgets.sandbox.oss_store import OssStore

RATE = float(sys.argv[1]) * 1e6  # bytes per second, per connection (request body)

class Paced:
    def __init__(self, stream):
        self.stream, self.start, self.done = stream, time.perf_counter(), 0
    def read(self, n=-1):
        out = []
        while n is None or n < 0 or sum(map(len, out)) < n:
            want = 65536 if n is None or n < 0 else min(65536, n - sum(map(len, out)))
            chunk = self.stream.read(want)
            if not chunk:
                break
            out.append(chunk)
            self.done += len(chunk)
            ahead = self.done / RATE - (time.perf_counter() - self.start)
            if ahead > 0:
                time.sleep(ahead)
        return b"".join(out)
    def __getattr__(self, name):
        return getattr(self.stream, name)

class Throttle:
    def __init__(self, app):
        self.app = app
    def __call__(self, environ, start_response):
        environ["wsgi.input"] = Paced(environ["wsgi.input"])
        return self.app(environ, start_response)

with OssStore() as st:
    slow = ServerThread(Throttle(OssDialect(st)), name="oss-throttled").start()
    print(json.dumps(dict(endpoint=st.endpoint, slow_endpoint=slow.url, bucket=st.bucket,
                          id=st.access_key_id, secret=st.access_key_secret)), flush=True)
    sys.stdin.read()  # serve until the benchmark closes our stdin
    slow.stop()
"""


class StoreProcess:
    """The sandbox OSS store in its own process, with a plain and a per-connection-throttled endpoint.
    The key pair comes back through a pipe, never on a command line or the terminal."""

    def __init__(self, link_mbps: float) -> None:
        self.link_mbps = link_mbps

    def __enter__(self) -> StoreProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(self.link_mbps)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.endpoint, self.slow_endpoint, self.bucket = info["endpoint"], info["slow_endpoint"], info["bucket"]
        self.access_key_id, self.access_key_secret = info["id"], info["secret"]
        return self

    def oss2_bucket(self, endpoint: str | None = None) -> Any:
        import oss2

        auth = oss2.Auth(self.access_key_id, self.access_key_secret)
        return oss2.Bucket(auth, endpoint or self.endpoint, self.bucket)

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


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


def child(args: argparse.Namespace) -> int:
    """Run one upload, printing the progress fraction per event (the parent kills us mid-way)."""
    from zimport_widgets.storage.upload import upload_to_oss

    def report(event: Any) -> None:
        print(f"{event.bytes_done / event.bytes_total:.4f}", flush=True)

    upload_to_oss(
        args.src,
        prefix=args.prefix,
        credentials=OssCredentials.resolve(endpoint=args.endpoint, bucket=args.bucket),
        config=UploadConfig(checkpoint_dir=args.ckpt),
        progress=report,
        check=False,
    )
    print("done", flush=True)
    return 0


def compare(
    store: StoreProcess, endpoint: str, src: Path, rounds: int, tag: str, ckpt: Path, **options: Any
) -> tuple[float, float]:
    """Best-of-``rounds`` seconds for one-by-one put_object_from_file and for upload_to_oss."""
    import oss2

    from zimport_widgets.storage.upload import upload_to_oss

    bucket = store.oss2_bucket(endpoint)
    files = sorted(p for p in src.iterdir() if p.is_file())
    total = sum(f.stat().st_size for f in files)

    def clear(prefix: str) -> None:
        for obj in oss2.ObjectIterator(store.oss2_bucket(), prefix=prefix):
            store.oss2_bucket().delete_object(obj.key)

    base, ours = [], []
    for r in range(rounds):
        t0 = time.perf_counter()
        for f in files:
            bucket.put_object_from_file(f"{tag}-base{r}/{f.name}", str(f))
        base.append(time.perf_counter() - t0)
        clear(f"{tag}-base{r}/")
        t0 = time.perf_counter()
        res = upload_to_oss(
            src,
            prefix=f"{tag}-ours{r}",
            credentials=OssCredentials(
                endpoint, store.bucket, StorageKeys(store.access_key_id, store.access_key_secret)
            ),
            config=UploadConfig(checkpoint_dir=ckpt, **options),
            progress=False,
            check=False,
        )
        ours.append(time.perf_counter() - t0)
        assert res.bytes_uploaded == total and len(res.objects) == len(files)
        clear(f"{tag}-ours{r}/")
        print(f"    round {r + 1}: put_object_from_file one by one {base[-1]:.2f} s, upload_to_oss {ours[-1]:.2f} s")
    return min(base), min(ours)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--link-mbps", type=float, default=10.0, help="per-connection cap of the throttled endpoint")
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

    from zimport_widgets.storage.upload import upload_to_oss, verify_upload

    defaults = UploadConfig()

    with tempfile.TemporaryDirectory(prefix="zimport-bench-upload-") as tmp, StoreProcess(args.link_mbps) as store:
        tmp_path = Path(tmp)
        src = make_numpy_folder(tmp_path / "src", args.mb)
        files = sorted(p for p in src.iterdir() if p.is_file())
        total = sum(f.stat().st_size for f in files)
        keys = StorageKeys(store.access_key_id, store.access_key_secret)
        largest = max(f.stat().st_size for f in files)
        print(
            f"source: {len(files)} .npy files, {total / 1e6:.1f} MB (largest {largest / 1e6:.0f} MB); "
            f"sandbox OSS store in its own process; {os.cpu_count()} CPUs"
        )
        print(
            f"upload_to_oss defaults: part_size={defaults.part_size // 2**20} MiB, threads={defaults.num_threads}, "
            "CRC64 verified, final listing"
        )

        # ---- (a) ours vs one-by-one put_object_from_file
        print("(a) loopback, no link limit:")
        b, o = compare(store, store.endpoint, src, args.rounds, "raw", tmp_path / "ck")
        print(
            f"    best of {args.rounds}: baseline {b:.2f} s ({total / b / 1e6:.0f} MB/s), upload_to_oss {o:.2f} s "
            f"({total / o / 1e6:.0f} MB/s); speed-up baseline/ours = {b / o:.2f}x"
        )
        print("(a) loopback, upload_to_oss with multipart_threshold above the largest file (single PUTs only):")
        b1, o1 = compare(store, store.endpoint, src, 1, "single", tmp_path / "ck", multipart_threshold=largest + 1)
        print(
            f"    baseline {b1:.2f} s, upload_to_oss {o1:.2f} s; speed-up baseline/ours = {b1 / o1:.2f}x "
            "(the gap to the line above is the sandbox store's multipart completion: moto reads the parts "
            "back from its temporary files and writes the joined object)"
        )
        print(f"(a) link capped at {args.link_mbps:g} MB/s per connection:")
        b2, o2 = compare(store, store.slow_endpoint, src, 1, "slow", tmp_path / "ck")
        print(
            f"    baseline {b2:.2f} s ({total / b2 / 1e6:.0f} MB/s), upload_to_oss {o2:.2f} s "
            f"({total / o2 / 1e6:.0f} MB/s); speed-up baseline/ours = {b2 / o2:.2f}x"
        )

        # ---- (b) kill at ~50 %, re-run, share of bytes sent again
        ckpt = tmp_path / "ck-resume"
        env = {**os.environ, "OSS_ACCESS_KEY_ID": store.access_key_id, "OSS_ACCESS_KEY_SECRET": store.access_key_secret}
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--src",
            str(src),
            "--prefix",
            "resume",
            "--endpoint",
            store.endpoint,
            "--bucket",
            store.bucket,
            "--ckpt",
            str(ckpt),
        ]
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
        visible = sum(1 for _ in oss2.ObjectIterator(store.oss2_bucket(), prefix="resume/"))
        print(
            f"(b) child killed (SIGKILL) at {killed_at:.1%} of the bytes; objects visible under the prefix: "
            f"{visible} of {len(files)} (the large file's multipart upload stays invisible); "
            f"checkpoint records: {sum(1 for p in ckpt.rglob('*') if p.is_file())}"
        )
        t0 = time.perf_counter()
        res = upload_to_oss(
            src,
            prefix="resume",
            credentials=OssCredentials(store.endpoint, store.bucket, keys),
            config=UploadConfig(checkpoint_dir=ckpt),
            progress=False,
            check=False,
        )
        again = time.perf_counter() - t0
        share = res.bytes_uploaded / res.total_bytes
        print(
            f"    re-run: {res.bytes_uploaded / 1e6:.1f} MB of {res.total_bytes / 1e6:.1f} MB sent again = "
            f"{share:.1%} of the total (target <= 60 %: {'OK' if share <= 0.6 else 'MISSED'}), "
            f"{len(res.skipped)} objects skipped, {again:.2f} s"
        )
        n = verify_upload(res, keys)
        print(f"    verified: {n} objects, size and CRC64 (HEAD) equal to the local files")
        compare_s3(store, src, args.link_mbps, tmp_path / "ck-s3")  # a speed target: printed, as in convert.py
        compare_azure(src, args.link_mbps)
        return 0 if share <= 0.6 else 1


_PROXY = """
import http.client, sys, time
from werkzeug.serving import run_simple
RATE, PORT = float(sys.argv[1]) * 1e6, int(sys.argv[2])
def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream, body, start = environ["wsgi.input"], [], time.perf_counter()
    done = 0
    while done < length:
        chunk = stream.read(min(65536, length - done))
        if not chunk:
            break
        body.append(chunk); done += len(chunk)
        ahead = done / RATE - (time.perf_counter() - start)
        if ahead > 0:
            time.sleep(ahead)
    headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    for k in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(k):
            headers[k.replace("_", "-")] = environ[k]
    path = environ.get("RAW_URI") or environ["PATH_INFO"]
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    conn.request(environ["REQUEST_METHOD"], path, body=b"".join(body), headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    start_response(f"{resp.status} {resp.reason}", [(k, v) for k, v in resp.getheaders()
                   if k.lower() not in ("transfer-encoding", "connection", "keep-alive")])
    return [data]
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
print(port, flush=True)
run_simple("127.0.0.1", port, app, threaded=True)
"""


def compare_azure(src: Path, link_mbps: float) -> float:
    """(d): the Azure backend vs azure-storage-blob's own upload_blob, through a capped proxy to Azurite."""
    from azure.storage.blob import BlobServiceClient

    from zimport_widgets import AzureCredentials, upload
    from zimport_widgets.sandbox.azurite import Azurite

    files = sorted(p for p in src.iterdir() if p.is_file())
    total = sum(f.stat().st_size for f in files)
    with Azurite() as az:
        az.create_container("bench")
        port = int(az.endpoint.rsplit(":", 1)[1])
        proxy = subprocess.Popen([sys.executable, "-c", _PROXY, str(link_mbps), str(port)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        try:
            assert proxy.stdout is not None
            account_url = f"http://127.0.0.1:{int(proxy.stdout.readline())}/{az.account}"
            service = BlobServiceClient(account_url, credential={"account_name": az.account, "account_key": az.key})
            container = service.get_container_client("bench")
            print(f"(d) Azure Blob Storage (Azurite), link capped at {link_mbps:g} MB/s per connection:")
            times = {}
            for label, threads in (("one by one", 1), ("max_concurrency=8", 8)):
                t0 = time.perf_counter()
                for f in files:
                    with open(f, "rb") as body:
                        container.upload_blob(f"sdk-{threads}/{f.name}", body, overwrite=True,
                                              max_concurrency=threads)  # fmt: skip
                times[label] = time.perf_counter() - t0
            t0 = time.perf_counter()
            res = upload(src, prefix="ours", progress=False, check=False,
                         storage=AzureCredentials("bench", StorageKeys(az.account, az.key), account_url))  # fmt: skip
            ours = time.perf_counter() - t0
            assert res.bytes_uploaded == total
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
    ratio = times["max_concurrency=8"] / ours
    print("    " + ", ".join(f"upload_blob {k} {v:.2f} s ({total / v / 1e6:.0f} MB/s)" for k, v in times.items())
          + f", upload (Azure backend) {ours:.2f} s ({total / ours / 1e6:.0f} MB/s)")  # fmt: skip
    verdict = "OK" if ratio >= 1.5 else "MISSED"
    print(f"    speed-up: vs one by one {times['one by one'] / ours:.2f}x, vs max_concurrency=8 {ratio:.2f}x "
          f"(target >= 1.5x: {verdict}); ours sets and checks every object's MD5")  # fmt: skip
    return ratio


def compare_s3(store: StoreProcess, src: Path, link_mbps: float, ckpt: Path) -> float:
    """(c): seconds for boto3 one by one, boto3's TransferManager and ours, on the capped link; our ratio."""
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from s3transfer.manager import TransferManager

    from zimport_widgets import S3Credentials, upload

    endpoint = store.slow_endpoint
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="cn-hangzhou", aws_access_key_id=store.access_key_id,
        aws_secret_access_key=store.access_key_secret,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=16,
                      request_checksum_calculation="when_required"),
    )  # fmt: skip
    files = sorted(p for p in src.iterdir() if p.is_file())
    total = sum(f.stat().st_size for f in files)
    print(f"(c) S3 API of the same store, link capped at {link_mbps:g} MB/s per connection:")
    t0 = time.perf_counter()
    for f in files:
        with open(f, "rb") as body:
            client.put_object(Bucket=store.bucket, Key=f"s3-base/{f.name}", Body=body)
    one_by_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    with TransferManager(client, TransferConfig()) as manager:
        futures = [manager.upload(str(f), store.bucket, f"s3-tm/{f.name}") for f in files]
        for fu in futures:
            fu.result()
    managed = time.perf_counter() - t0
    storage = S3Credentials(store.bucket, StorageKeys(store.access_key_id, store.access_key_secret), "cn-hangzhou",
                            endpoint)  # fmt: skip
    t0 = time.perf_counter()
    res = upload(src, prefix="s3-ours", progress=False, check=False, config=UploadConfig(checkpoint_dir=ckpt),
                 storage=storage)  # fmt: skip
    ours = time.perf_counter() - t0
    assert res.bytes_uploaded == total and all(o.verified for o in res.objects)
    t0 = time.perf_counter()
    upload(src, prefix="s3-ours10", progress=False, check=False, storage=storage,
           config=UploadConfig(checkpoint_dir=ckpt, num_threads=10))  # fmt: skip
    ours10 = time.perf_counter() - t0
    print(f"    upload (S3 backend) with num_threads=10, the transfer manager's concurrency: {ours10:.2f} s "
          f"({total / ours10 / 1e6:.0f} MB/s), {managed / ours10:.2f}x the transfer manager")  # fmt: skip
    ratio = managed / ours
    print(
        f"    boto3 put_object one by one {one_by_one:.2f} s ({total / one_by_one / 1e6:.0f} MB/s), "
        f"boto3 TransferManager {managed:.2f} s ({total / managed / 1e6:.0f} MB/s), "
        f"upload (S3 backend) {ours:.2f} s ({total / ours / 1e6:.0f} MB/s)"
    )
    print(
        f"    speed-up: vs one by one {one_by_one / ours:.2f}x, vs the transfer manager {ratio:.2f}x "
        f"(target >= 1.5x: {'OK' if ratio >= 1.5 else 'MISSED'}); ours verifies every object's ETag"
    )
    return ratio


if __name__ == "__main__":
    sys.exit(main())
