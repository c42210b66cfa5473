"""The ``zimport`` console script. Each subcommand group lives in its own module of this package.

A module listed in ``_GROUPS`` defines ``register(subparsers)``, which adds its subcommands and sets
``func(args) -> int`` on each. Exit codes: 0 valid/done, 1 invalid source, failed job or a file that cannot be
read or written, 2 usage error, 70 an internal error (a bug: ``ZIMPORT_DEBUG=1`` shows its traceback). Every
failure is one ``error:`` line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence

from ..errors import LocalFileError, ZImportError, redact

_GROUPS = ("prepare", "sandbox", "upload", "imports", "app")
#: What an unexpected error's text must never show: the keys in the environment, and signed-URL credentials.
_SECRET_VARIABLES = ("ZILLIZ_API_KEY", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SECURITY_TOKEN")
_SIGNED = re.compile(r"((?:Credential|OSSAccessKeyId|Signature|security-token)=)[^/&\s'\",]+")


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
    except OSError as exc:  # a local file the command touched (or a socket): one line, naming it
        print(f"error: {LocalFileError.from_os_error(exc)}", file=sys.stderr)
        return 1
    except MemoryError:
        print("error: out of memory (the input needs more memory than this machine allows)", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line here; ZIMPORT_DEBUG=1 shows the traceback
        if os.environ.get("ZIMPORT_DEBUG"):
            raise
        text = redact(f"{type(exc).__name__}: {exc}", [os.environ.get(v) for v in _SECRET_VARIABLES])
        text = _SIGNED.sub(r"\1***", text)
        print(f"error: internal error ({text}); run again with ZIMPORT_DEBUG=1 for the "
              "traceback and report it", file=sys.stderr)  # fmt: skip
        return 70


if __name__ == "__main__":
    sys.exit(main())
