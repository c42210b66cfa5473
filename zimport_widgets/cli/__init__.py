"""The ``zimport`` console script. Each subcommand group lives in its own module of this package.

A module listed in ``_GROUPS`` defines ``register(subparsers)``, which adds its subcommands and sets
``func(args) -> int`` on each. Exit codes: 0 valid/done, 1 invalid source or failed job, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import ZImportError

_GROUPS = ("prepare", "sandbox", "upload", "imports")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zimport", description="Prepare, check, upload and import data into Zilliz Cloud."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in _GROUPS:
        try:
            module = importlib.import_module(f"{__name__}.{group}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{group}":
                continue  # that group is not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except ZImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
