"""A quiet, threaded werkzeug server for one WSGI app on 127.0.0.1, run in a daemon thread."""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["ServerThread"]

log = logging.getLogger("zimport_widgets.sandbox")


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log (query strings of signed URLs carry key ids); errors go to debug."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        # request lines can carry pre-signed URLs (OSSAccessKeyId=...): keep only server-side errors
        if type == "error" and message.startswith("Error on request"):
            log.debug("%s: " + message, type, *args)


class ServerThread:
    """Serves ``app`` on ``host:port`` (port 0: a free one) until :meth:`stop`."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, name: str = "server", port_or_any: bool = False
    ) -> None:
        self.app, self.host, self.name = app, host, name
        self._requested_port = port
        self._port_or_any = port_or_any  # the port if it is free, else any free one (a restart's old port)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"the {self.name} server is not running")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> ServerThread:
        if self._server is not None:
            return self
        try:
            server = make_server(
                self.host, self._requested_port, self.app, threaded=True, request_handler=_QuietHandler
            )
        except OSError:
            if not (self._port_or_any and self._requested_port):
                raise
            log.info("port %d is taken; the %s server takes another", self._requested_port, self.name)
            server = make_server(self.host, 0, self.app, threaded=True, request_handler=_QuietHandler)
        server.daemon_threads = True  # type: ignore[attr-defined]  # a ThreadingMixIn server when threaded
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"zimport-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
