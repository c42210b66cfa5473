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
    c = subparsers.add_parser("convert", help="convert a JSON import file into one .npy file per field")
    c.add_argument("src", help='JSON file: {"rows": [...]} or a list of rows')
    c.add_argument("out", help="output folder for the .npy files (created; must be empty or new)")
    c.add_argument("--schema", metavar="FILE", help="collection schema: REST describe-collection JSON")
    c.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes for a large file (default: 2 from 64 MiB on; 1 = none)")  # fmt: skip
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_cmd_convert)

    k = subparsers.add_parser("check", help="check local import files or folders against the import rules")
    k.add_argument("paths", nargs="+", metavar="PATH", help=".json file, .npy files or a folder of them")
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
    from ..prepare.convert import convert_json_to_numpy

    src = Path(args.src)
    if not src.is_file():
        print(f"error: {src}: no such file", file=sys.stderr)
        return 2
    try:
        schema = _schema(args)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        result = convert_json_to_numpy(src, args.out, schema, progress=not args.quiet, workers=args.workers)
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
