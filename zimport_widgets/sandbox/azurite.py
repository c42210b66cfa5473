"""Azurite (Microsoft's Azure Storage emulator, from npm) as the sandbox's Azure Blob Storage, on 127.0.0.1.

It runs as a child process on a free port with one random account and key (given through the environment,
never on the command line), shared-key authentication on, telemetry off, its data in a private folder
removed at stop. ``make venv`` installs it into ``.venv/azurite``; ``ZIMPORT_AZURITE`` names another
``azurite-blob`` executable.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..private_files import private_dir

__all__ = ["Azurite", "AzuriteUnavailable", "azurite_command"]

_LISTENING = re.compile(r"listens on (http://127\.0\.0\.1:(\d+))")


class AzuriteUnavailable(RuntimeError):
    """Azurite (or Node.js) is not installed here: the message says how to install it."""


def azurite_command() -> str:
    """The ``azurite-blob`` executable: ``$ZIMPORT_AZURITE``, the project's ``.venv/azurite``, else ``PATH``."""
    override = os.environ.get("ZIMPORT_AZURITE")
    if override:
        return override
    root = Path(__file__).resolve().parents[2]
    local = root / ".venv" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    found = shutil.which("azurite-blob")
    if found:
        return found
    raise AzuriteUnavailable(
        "Azurite is not installed: run `make venv` (npm install --prefix .venv/azurite azurite), or set "
        "ZIMPORT_AZURITE to an azurite-blob executable (needs Node.js: apt-get install nodejs npm)"
    )


class Azurite:
    """One Azurite blob service; use it as a context manager. ``account``/``key`` are random per start."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the sandbox's Azurite listens on loopback only")
        self.host = host
        self.account = "zimport" + secrets.token_hex(4)
        self.key = base64.b64encode(secrets.token_bytes(32)).decode()
        self._proc: subprocess.Popen[str] | None = None
        self._dir: str | None = None
        self.endpoint = ""

    def __repr__(self) -> str:
        return f"Azurite(endpoint={self.endpoint or 'stopped'!r}, account={self.account!r})"

    @property
    def account_url(self) -> str:
        """``http://127.0.0.1:PORT/<account>``: the account URL the SDK takes for Azurite."""
        return f"{self.endpoint}/{self.account}"

    def start(self, timeout: float = 60.0) -> Azurite:
        command = azurite_command()
        self._dir = str(private_dir(tempfile.mkdtemp(prefix="zimport-azurite-")))
        env = {**os.environ, "AZURITE_ACCOUNTS": f"{self.account}:{self.key}"}
        self._proc = subprocess.Popen(
            [command, "--blobHost", self.host, "--blobPort", "0", "--location", self._dir, "--disableTelemetry",
             "--skipApiVersionCheck", "--disableProductStyleUrl"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True,
        )  # fmt: skip
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        found: list[str] = []

        def read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                lines.append(line)
                m = _LISTENING.search(line)
                if m and not found:
                    found.append(m.group(1))

        threading.Thread(target=read, name="zimport-azurite-log", daemon=True).start()
        while not found:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AzuriteUnavailable("Azurite did not start: " + "".join(lines[-5:]).strip())
            time.sleep(0.05)
        self.endpoint = found[0]
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def create_container(self, name: str) -> None:
        """Make ``name`` (private) with the account key."""
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient(
            self.account_url, credential={"account_name": self.account, "account_key": self.key}
        )
        service.create_container(name)

    def env(self, container: str) -> dict[str, str]:
        """The Azure CLI's variables for ``container`` here (the connection string carries the account URL)."""
        return {
            "AZURE_STORAGE_CONTAINER": container,
            "AZURE_STORAGE_CONNECTION_STRING": (
                f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
                f"BlobEndpoint={self.account_url};"
            ),
        }
