"""``zimport upload SOURCE --prefix P``: upload prepared files to OSS and print the object URL last."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "upload",
        help="upload a file, files or a folder to the bucket and print the object URL",
        description="Upload prepared import files to Aliyun OSS, AWS S3 (or an S3-compatible store) or Azure "
        "Blob Storage (parallel, resumable, verified). Unset options come from the provider's variables: "
        "OSS_ENDPOINT, OSS_BUCKET, OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET; S3_BUCKET and the AWS_* ones; "
        "AZURE_STORAGE_CONTAINER and the AZURE_STORAGE_* ones. Without --provider the environment decides "
        "(OSS first). The object URL for the import API is printed last, on stdout.",
    )
    p.add_argument("source", nargs="+", help="a folder, a file, or several files")
    p.add_argument("--prefix", required=True, help="the folder in the bucket, e.g. articles/v1")
    _storage_options(p)
    p.add_argument("--oss-url", action="store_true", help="print the oss:// (S3: s3://) form of the URL")
    p.add_argument("--no-check", action="store_true", help="skip the local check of the import source")
    p.add_argument("--part-size", type=_size, default=None, metavar="BYTES", help="multipart part size (e.g. 8M)")
    p.add_argument("--threads", type=int, default=None, help="parts (and small files) sent at a time")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)

    a = subparsers.add_parser(
        "abort-uploads",
        help="abort unfinished multipart uploads under a prefix (OSS and S3 bill their parts)",
        description="List the multipart uploads under PREFIX that never completed (a killed upload, a lost "
        "checkpoint) and abort those older than --older-than seconds. Settings from the provider's variables "
        "(Azure has none to abort: it drops staged blocks after 7 days).",
    )
    a.add_argument("--prefix", default="", help="only under this folder of the bucket (default: the whole bucket)")
    a.add_argument("--older-than", type=float, default=3600.0, metavar="SECONDS",
                   help="leave uploads younger than this alone: they may be running now (default 3600)")  # fmt: skip
    a.add_argument("--dry-run", action="store_true", help="list them, abort nothing")
    _storage_options(a)
    a.set_defaults(func=run_abort)


def _storage_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", choices=("oss", "s3", "azure"), help="the object store (default: from the env)")
    p.add_argument("--region", help="S3: the bucket's region (default: $AWS_REGION)")
    p.add_argument("--bucket", help="the bucket, or the Azure container (default: the provider's variable)")
    p.add_argument("--endpoint", help="the endpoint, or the Azure account URL (default: the provider's variable)")


def _target(args: argparse.Namespace) -> Any:
    """The bucket the options (else the environment) name: OSS, S3 or Azure credentials."""
    from ..config import AzureCredentials, OssCredentials, S3Credentials
    from ..storage.providers import resolve_storage

    provider = args.provider or ("oss" if args.endpoint or args.bucket else None)
    if provider == "s3":
        return S3Credentials.resolve(args.bucket, region=args.region, endpoint=args.endpoint)
    if provider == "azure":
        return AzureCredentials.resolve(args.bucket, endpoint=args.endpoint)
    if provider == "oss":
        return OssCredentials.resolve(endpoint=args.endpoint, bucket=args.bucket)
    return resolve_storage()


def run_abort(args: argparse.Namespace) -> int:
    from ..storage.cleanup import abort_stale_uploads

    found = abort_stale_uploads(args.prefix, credentials=_target(args), older_than=args.older_than,
                                dry_run=args.dry_run)  # fmt: skip
    for up in found:
        print(str(up))
    verb = "found (dry run)" if args.dry_run else "aborted"
    done = len(found) if args.dry_run else sum(u.aborted for u in found)
    print(f"{done} unfinished multipart upload(s) {verb} under {args.prefix or 'the bucket'!r}", file=sys.stderr)
    return 0


def _size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 8388608 or 8M)")
    return int(float(m.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m.group(2)])


def run(args: argparse.Namespace) -> int:
    from ..config import S3Credentials, UploadConfig
    from ..storage.object_url import UrlForm
    from ..storage.plan import plan_upload
    from ..storage.upload import upload

    source = args.source[0] if len(args.source) == 1 else args.source
    plan_upload(source, args.prefix)  # a missing source is reported before any OSS setting is looked up
    tuning: dict[str, Any] = {}
    if args.part_size:
        tuning["part_size"] = args.part_size
    if args.threads:
        tuning["num_threads"] = tuning["workers"] = args.threads
    target = _target(args)
    scheme: UrlForm = "s3" if isinstance(target, S3Credentials) else "oss"
    result = upload(
        source,
        prefix=args.prefix,
        storage=target,
        config=UploadConfig(**tuning),
        progress=not args.no_progress,
        check=not args.no_check,
        url_form=scheme if args.oss_url else "https",
    )
    print(result._summary(), file=sys.stderr)
    print(result.object_url)
    return 0
