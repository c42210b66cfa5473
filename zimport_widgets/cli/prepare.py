"""``zimport convert | check``: prepare and check import files locally.

Exit codes: 0 valid / converted, 1 invalid source (bad value, failed check), 2 usage error
(missing path, unreadable schema file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import DataFileError, SchemaError
from ..schema import CollectionSchema, load_schema

__all__ = ["register"]


def register(subparsers: Any) -> None:
    c = subparsers.add_parser(
        "convert",
        help="convert a source (JSON, JSON Lines, CSV, Parquet, NumPy folder) "
        "into import files: Parquet (default) or one .npy per field",
    )
    c.add_argument("src", help='.json ({"rows": [...]}), .jsonl, .csv, .tsv, .parquet, or a folder of .parquet/.npy')
    c.add_argument("out", help="Parquet: a file or folder; NumPy: the folder for the .npy files (empty or new)")
    c.add_argument(
        "--to", choices=("parquet", "numpy", "json"), default="parquet", help="output format (default parquet)"
    )
    c.add_argument("--schema", metavar="FILE", help="collection schema: REST describe-collection JSON")
    c.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes for a large JSON file (default: 2 from 64 MiB on; 1 = none)",
    )
    c.add_argument(
        "--max-file-mb",
        type=int,
        default=None,
        metavar="MB",
        help="cut Parquet output into files of at most MB MiB (default: 10 GiB, Zilliz's limit)",
    )
    c.add_argument("--sep", default=",", help="CSV: the cell separator (default ,)")
    c.add_argument("--nullkey", default="", help="CSV: the text of a null cell (default: empty)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_cmd_convert)

    k = subparsers.add_parser("check", help="check local import files or folders against the import rules")
    k.add_argument("paths", nargs="+", metavar="PATH", help="import files (.json .jsonl .csv .parquet .npy) or folders")
    k.add_argument("--schema", metavar="FILE", help="collection schema: REST describe-collection JSON")
    k.add_argument("--json", action="store_true", help="print the report as JSON")
    k.set_defaults(func=_cmd_check)


class _UsageError(Exception):
    pass


def _schema(args: argparse.Namespace) -> CollectionSchema | None:
    if not args.schema:
        return None
    try:
        return load_schema(args.schema)
    except SchemaError as exc:
        raise _UsageError(f"--schema: {exc}") from None


def _cmd_convert(args: argparse.Namespace) -> int:
    from ..prepare.convert_any import convert

    src = Path(args.src)
    if not src.exists():
        print(f"error: {src}: no such file or folder", file=sys.stderr)
        return 2
    try:
        schema = _schema(args)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        max_bytes = args.max_file_mb << 20 if args.max_file_mb else None
        result = convert(
            src,
            args.out,
            schema,
            to=args.to,
            progress=not args.quiet,
            workers=args.workers,
            max_file_bytes=max_bytes,
            sep=args.sep,
            nullkey=args.nullkey,
        )
    except (DataFileError, SchemaError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(repr(result))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from ..prepare.checks import check_import_source

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        schema = _schema(args)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = check_import_source(args.paths, schema)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(repr(report))
    return 0 if report.ok else 1
