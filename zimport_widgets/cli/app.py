"""``zimport app``: the import wizard as a standalone Voilà web app on 127.0.0.1, token-protected.

With no ``ZILLIZ_*``/``OSS_*`` variable set, a sandbox runs beside it (as in ``make lab``). One Ctrl-C stops
both and removes the sandbox's temporary data.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "app",
        help="the import wizard as a standalone web app (Voilà) on 127.0.0.1",
        description="Serve the import wizard with Voilà (pip install 'zimport_widgets[app]'). Prints the URL, "
        "with its access token. Uses the ZILLIZ_*/OSS_* variables, or a sandbox when none is set.",
    )
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--theme", choices=("light", "dark"), default="light", help="JupyterLab theme (default: light)")
    p.set_defaults(func=run)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from ..app import NOTEBOOK
    from ..sandbox.process import sandbox_unless_configured, serve_until_interrupted

    if importlib.util.find_spec("voila") is None:
        print("error: zimport app needs Voilà: pip install 'zimport_widgets[app]'", file=sys.stderr)
        return 2
    sandbox, env, data_dir = sandbox_unless_configured("zimport-app-")
    if data_dir is not None:
        print(f"# sandbox running (data in {data_dir})", file=sys.stderr, flush=True)
    conf_dir = Path(tempfile.mkdtemp(prefix="zimport-app-conf-"))  # 0700: the server's token config
    port = args.port or _free_port()
    token = secrets.token_urlsafe(24)
    env["ZIMPORT_APP_TOKEN"] = token  # read by the server's config below, never put on the command line
    cmd = [
        sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
        "--VoilaConfiguration.show_tracebacks=False", f"--theme={args.theme}",
        f"--Voila.config_file_paths={_token_config(conf_dir)}",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/?token={token}"
    print(f"zimport app: {url}", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    code = serve_until_interrupted(cmd, env, sandbox=sandbox, folders=(data_dir, conf_dir))
    print("# zimport app stopped", file=sys.stderr, flush=True)
    return code


def _token_config(folder: Path) -> Path:
    """A Voilà config that takes the token from the environment (so it never shows in the process list)."""
    path = folder / "voila.py"
    path.write_text(
        "import os\nc.Voila.token = os.environ['ZIMPORT_APP_TOKEN']\nc.Voila.ip = '127.0.0.1'\n",
        encoding="utf-8",
    )
    os.chmod(path, 0o600)
    return folder
