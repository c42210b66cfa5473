"""``zimport import | status | jobs | verify``: start an import, follow it, list jobs, check the result.

Settings come from the ``ZILLIZ_*`` and ``OSS_*`` variables (never from the command line, so keys stay
out of shell history and process lists); ``--api-version`` picks v1 (default), v2 or self-hosted Milvus.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ..cloud.client import API_VERSIONS, ImportClient
from ..cloud.jobs import ImportProgress

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("import", help="start an import job (keys from OSS_ACCESS_KEY_ID/SECRET)")
    p.add_argument("--collection", required=True, help="target collection")
    p.add_argument("--object-url", required=True, help="object URL that `zimport upload` printed")
    p.add_argument("--partition", default=None)
    p.add_argument("--wait", action="store_true", help="follow the job to the end with a progress bar")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait with --wait (default 3600)")
    p.add_argument("--poll-interval", type=float, default=2.0)
    p.add_argument(
        "--ride-out", type=float, default=300.0,
        help="seconds of failing progress calls (429, 5xx, no answer) to ride out with --wait (default 300)",
    )  # fmt: skip
    p.add_argument(
        "--lost-answer-wait", type=float, default=60.0,
        help="seconds to watch the job list for the job when the create call's answer is lost (default 60)",
    )  # fmt: skip
    _common(p)
    p.set_defaults(func=_cmd_import)

    s = subparsers.add_parser("status", help="show the progress of an import job")
    s.add_argument("job_id")
    s.add_argument("--json", action="store_true", help="print the normalised progress as JSON")
    _common(s)
    s.set_defaults(func=_cmd_status)

    j = subparsers.add_parser("jobs", help="list import jobs of the cluster")
    j.add_argument("--collection", default=None)
    j.add_argument("--json", action="store_true")
    _common(j)
    j.set_defaults(func=_cmd_jobs)

    v = subparsers.add_parser("verify", help="row count and one sample search of a collection")
    v.add_argument("--collection", required=True)
    v.add_argument("--expect", type=int, default=None, help="expected row count (exit 1 if different)")
    _common(v)
    v.set_defaults(func=_cmd_verify)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--api-version", choices=API_VERSIONS, default="v1", help="import API flavour (default v1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _client(args: argparse.Namespace) -> ImportClient:
    return ImportClient(api_version=args.api_version)


def _cmd_import(args: argparse.Namespace) -> int:
    client = ImportClient(api_version=args.api_version, lost_answer_wait=args.lost_answer_wait)
    job = client.start_import(args.collection, args.object_url, partition=args.partition)
    note = " (recovered from the job list after a lost answer)" if job.recovered else ""
    print(f"started import job {job.job_id} into {job.collection}{note}")
    if not args.wait:
        print(f"follow it with: zimport status {job.job_id}")
        return 0
    final = client.wait_for_import(
        job, progress=not args.quiet, timeout=args.timeout, poll_interval=args.poll_interval, ride_out=args.ride_out
    )
    print(str(final))
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    p = _client(args).get_import_progress(args.job_id)
    if args.json:
        print(json.dumps(_progress_dict(p), indent=2))
    else:
        print(str(p))
        for f in p.files:
            line = f"  {f.name}: {f.state.value} {f.percent:.0f}%"
            print(line + (f" - {f.reason}" if f.reason else ""))
    return 1 if p.failed else 0


def _cmd_jobs(args: argparse.Namespace) -> int:
    jobs = _client(args).list_import_jobs(args.collection)
    if args.json:
        print(json.dumps([{**asdict(j), "state": j.state.value, "started_at": _iso(j.started_at)} for j in jobs],
                         indent=2))  # fmt: skip
        return 0
    if not jobs:
        print("no import jobs")
        return 0
    width = max(len(j.job_id) for j in jobs)
    print(f"{'JOB ID':<{width}}  {'STATE':<10} {'STARTED (UTC, here)':<19}  COLLECTION")
    for j in jobs:
        started = j.started_at.strftime("%Y-%m-%d %H:%M:%S") if j.started_at else "-"
        print(f"{j.job_id:<{width}}  {j.state.value:<10} {started:<19}  {j.collection or ''}")
    return 0


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _cmd_verify(args: argparse.Namespace) -> int:
    result = _client(args).verify(args.collection, expected_rows=args.expect)
    print(str(result))
    if result.search is not None:
        for h in result.search.hits:
            print(f"  id={h.id} distance={h.distance:.4f}")
    return 0 if result.ok else 1


def _progress_dict(p: ImportProgress) -> dict[str, Any]:
    d = asdict(p)
    d["state"] = p.state.value
    for f in d["files"]:
        f["state"] = f["state"].value
    return d
