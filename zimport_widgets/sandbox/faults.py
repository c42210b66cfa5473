"""Fault injection for the sandbox servers: the next N requests to a route fail, stall or lose their connection.

Off unless asked for. A test arms a fault on ``sb.faults`` (or ``store.faults``) and the matching server
applies it to the next requests::

    sb.faults.error("/v2/vectordb/jobs/import/create", status=500)        # next request answers 500
    sb.faults.error("*", status=429, times=3, service="oss")              # next 3 store requests: 429
    sb.faults.delay("/v1/vector/collections/import/get", seconds=2.0)     # next request waits 2 s first
    sb.faults.drop("/zimport-demo/*", method="PUT", service="oss")        # connection closed, no answer
    sb.faults.fail_jobs("disk full on data node")                         # next import job fails

``route`` is an ``fnmatch`` pattern matched against the request path; ``service`` is ``"oss"``,
``"controller"``, ``"cluster"`` or None (any). ``times=None`` keeps the fault until :meth:`Faults.clear`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault", "Faults", "drop_connection"]

SERVICES = ("oss", "controller", "cluster")


@dataclass
class Fault:
    """One armed fault. ``remaining`` counts down per matching request (None: unlimited)."""

    action: str  # "error" | "delay" | "drop"
    route: str = "*"
    service: str | None = None
    method: str | None = None
    status: int = 500
    seconds: float = 0.0
    remaining: int | None = 1
    hits: int = field(default=0)

    def matches(self, service: str, method: str, path: str) -> bool:
        if self.service is not None and self.service != service:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.route)


class Faults:
    """The faults armed on one sandbox (shared by its servers). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._job_failures: list[str] = []

    def __repr__(self) -> str:
        with self._lock:
            return f"Faults(armed={len(self._faults)}, job_failures={len(self._job_failures)})"

    # -- arming ------------------------------------------------------------------------------------
    def _add(self, fault: Fault) -> Fault:
        if fault.service is not None and fault.service not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES} or None, not {fault.service!r}")
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._faults.append(fault)
        return fault

    def error(
        self, route: str = "*", status: int = 500, *, times: int | None = 1,
        service: str | None = None, method: str | None = None,
    ) -> Fault:  # fmt: skip
        """The next ``times`` matching requests answer HTTP ``status`` (500, 429, 503, ...)."""
        return self._add(Fault("error", route, service, method, status=status, remaining=times))

    def delay(
        self, route: str = "*", seconds: float = 1.0, *, times: int | None = 1,
        service: str | None = None, method: str | None = None,
    ) -> Fault:  # fmt: skip
        """The next ``times`` matching requests wait ``seconds`` before being served normally."""
        return self._add(Fault("delay", route, service, method, seconds=seconds, remaining=times))

    def drop(
        self, route: str = "*", *, times: int | None = 1, service: str | None = None, method: str | None = None
    ) -> Fault:
        """The next ``times`` matching requests get their connection closed without an answer."""
        return self._add(Fault("drop", route, service, method, remaining=times))

    def fail_jobs(self, reason: str, *, times: int = 1) -> None:
        """The next ``times`` import jobs fail with ``reason`` (after being accepted)."""
        with self._lock:
            self._job_failures.extend([reason] * times)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._job_failures.clear()

    # -- used by the servers ----------------------------------------------------------------------
    @property
    def armed(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, service: str, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request, counted down (and removed when used up)."""
        with self._lock:
            if not self._faults:
                return None
            for fault in self._faults:
                if fault.matches(service, method, path):
                    fault.hits += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def take_job_failure(self) -> str | None:
        with self._lock:
            return self._job_failures.pop(0) if self._job_failures else None


def drop_connection(environ: dict[str, Any]) -> None:
    """Shut the client's socket down so it sees the connection drop without any answer."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
