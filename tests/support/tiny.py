"""Helpers for the import-client tests: small import sources, and a loopback proxy for two faults the
sandbox cannot make itself: an answer lost *after* the server acted on the request.

The proxy forwards every request unchanged to the real sandbox server behind it, so the jobs, codes and
bodies are the sandbox's own; it only drops or replays answers for the routes it is told to.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

TINY_DIM = 8


def tiny_schema(name: str = "tiny") -> CollectionSchema:
    return CollectionSchema(
        fields=(
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("title", DataType.VARCHAR, max_length=64),
            FieldSchema("vec", DataType.FLOAT_VECTOR, dim=TINY_DIM),
        ),
        collection_name=name,
    )


def write_tiny_numpy(folder: Path, rows: int, *, start: int = 0, seed: int = 0) -> Path:
    """One ``<field>.npy`` per field of :func:`tiny_schema` (``rows`` rows, ids from ``start``)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    np.save(folder / "id.npy", np.arange(start, start + rows, dtype=np.int64))
    np.save(folder / "title.npy", np.array([f"title {i}" for i in range(start, start + rows)]))
    np.save(folder / "vec.npy", rng.random((rows, TINY_DIM), dtype=np.float32))
    return folder


class LossyProxy:
    """A loopback HTTP proxy in front of ``upstream``.

    ``lose_answer(path, times)``: the next ``times`` requests to ``path`` are forwarded (the server acts
    on them) but the client's connection is then closed without an answer.
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.up_host, self.up_port = parts.hostname or "127.0.0.1", parts.port or 80
        self._lose: dict[str, int] = {}
        self._lock = threading.Lock()
        self.forwarded: list[tuple[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = urlsplit(self.path).path
                with proxy._lock:
                    lose = proxy._lose.get(path, 0)
                    if lose:
                        proxy._lose[path] = lose - 1
                conn = http.client.HTTPConnection(proxy.up_host, proxy.up_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status, resp_headers = resp.status, resp.getheaders()
                conn.close()
                with proxy._lock:
                    proxy.forwarded.append((self.command, path))
                if lose:
                    self.close_connection = True  # the server acted; the client never hears of it
                    return
                self._reply(status, resp_headers, data)

            def _reply(self, status: int, headers: Iterable[tuple[str, str]], data: bytes) -> None:
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)  # fmt: skip
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def lose_answer(self, path: str, times: int = 1) -> None:
        with self._lock:
            self._lose[path] = times

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LossyProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
