"""A tiny JSON-over-HTTP framework shared by the controller and the cluster apps (werkzeug based).

Every answer is the REST envelope (``{"code": …, "data": …}`` or ``{"code": …, "message": …}``, HTTP 200),
authenticated by ``Authorization: Bearer <API key>``; an unknown route answers HTTP 404 ``404 page not found``
(as the real gateways do); injected faults (:mod:`.faults`) apply before anything else.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from ..prepare.json_text import bracket_depth
from ..prepare.rules import MAX_JSON_DEPTH
from .faults import Faults, drop_connection
from .objects import ImportRequestError
from .oss_wire import BodyTooLarge, IncompleteBody, read_body

__all__ = ["AUTH_FAILED_CODE", "AUTH_FAILED_MESSAGE", "Envelope", "RestApp", "jsonable"]

log = logging.getLogger("zimport_widgets.sandbox")

AUTH_FAILED_CODE = 80002
AUTH_FAILED_MESSAGE = (
    "Token not found or unauthorized: The provided token does not exist in our records, or you do not have the "
    "necessary permissions to use this token. Please ensure you have the correct token."
)

Handler = Callable[[Request, Any], "Envelope"]


class Envelope(dict):
    """A response body (a dict) plus the HTTP status to send it with."""

    status: int = 200


def ok(data: Any, code: int = 0, **extra: Any) -> Envelope:
    return Envelope({"code": code, "data": data, **extra})


def error(code: int, message: str) -> Envelope:
    return Envelope({"code": code, "message": message})


def jsonable(value: Any) -> Any:
    """Plain JSON types for numpy scalars/arrays, bytes and nested containers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if hasattr(value, "item") and not isinstance(value, (str, int, float, bool)):
        return value.item()
    return value


class RestApp:
    """Routes ``(method, path)`` to handlers; ``service`` names it for fault injection."""

    bad_json_code = 1801

    def __init__(
        self, service: str, api_key: Callable[[], str], faults: Faults, *, max_body_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self.service, self._api_key, self.faults = service, api_key, faults
        self.max_body_bytes = max_body_bytes
        self.routes: dict[tuple[str, str], Handler] = {}

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method.upper(), path)] = handler

    def authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return hmac.compare_digest(token.strip().encode(), self._api_key().encode())

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        fault = self.faults.take(self.service, request.method, request.path)
        if fault is not None:
            if fault.action == "drop":
                drop_connection(environ)
                return Response(b"", status=500)(environ, start_response)
            if fault.action == "delay":
                time.sleep(fault.seconds)
            elif fault.action == "error":
                answer = {"code": fault.status, "message": f"injected fault: HTTP {fault.status}"}
                resp = Response(json.dumps(answer), status=fault.status, mimetype="application/json")
                if fault.status in (429, 503):
                    resp.headers["Retry-After"] = "1"
                return resp(environ, start_response)
        handler = self.routes.get((request.method, request.path.rstrip("/") or "/"))
        if handler is None:
            return Response("404 page not found", status=404, mimetype="text/plain")(environ, start_response)
        if not self.authorized(request):
            return self._send(error(AUTH_FAILED_CODE, AUTH_FAILED_MESSAGE), environ, start_response)
        body: Any = None
        if request.method == "POST":
            try:
                raw = read_body(environ, self.max_body_bytes)
            except BodyTooLarge as exc:  # refused before it is read, as the real gateways do (HTTP 413)
                too_large = error(413, f"request body too large: {exc.length or 'more than the limit of'} bytes, "
                                       f"the limit is {exc.limit} bytes")  # fmt: skip
                too_large.status = 413
                return self._send(too_large, environ, start_response)
            except IncompleteBody as exc:
                return self._send(error(self.bad_json_code, f"incomplete request body: {exc}"), environ, start_response)
            try:
                if len(raw) > 2 * MAX_JSON_DEPTH and bracket_depth(raw) > MAX_JSON_DEPTH:
                    raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")  # never parsed: no recursion
                body = json.loads(raw) if raw.strip() else {}
            except (ValueError, UnicodeDecodeError) as exc:
                return self._send(
                    error(self.bad_json_code, f"can only accept json format request, error: {exc}"),
                    environ, start_response,
                )  # fmt: skip
            if not isinstance(body, dict):
                return self._send(error(self.bad_json_code, "the request body must be a JSON object"),
                                  environ, start_response)  # fmt: skip
        try:
            result = handler(request, body)
        except ImportRequestError as exc:
            result = error(exc.code, exc.message)
        except Exception as exc:  # report, don't crash the server thread
            log.debug("%s %s failed", request.method, request.path, exc_info=True)
            result = error(65535, f"internal error: {type(exc).__name__}: {exc}")
        return self._send(result, environ, start_response)

    @staticmethod
    def _send(result: Envelope, environ: dict[str, Any], start_response: Any) -> Any:
        payload = json.dumps(jsonable(dict(result)), ensure_ascii=False)
        resp = Response(payload, status=getattr(result, "status", 200), mimetype="application/json")
        return resp(environ, start_response)
