"""Following one import job: the deadline, tolerated poll failures, the "not registered yet" grace, stalls.

:meth:`ImportClient.wait_for_import <zimport_widgets.cloud.client.ImportClient.wait_for_import>` polls; a
:class:`JobWatch` decides what each answer or failure means, so the waiting stays bounded (pymilvus's
bulk-import helpers poll without end) and every way out is a typed error.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

from ..errors import DeadlineExceeded, ImportJobFailed, ImportTimeout, ZillizAPIError, ZillizError, ZillizNetworkError
from .jobs import ImportProgress, ImportState

__all__ = ["ImportStallWarning", "JobWatch", "describe_failure", "job_not_found"]

log = logging.getLogger("zimport_widgets.cloud")

#: Codes / message fragments meaning "no such job" (transient right after create).
_NOT_FOUND_CODES = {90144}
_NOT_FOUND_WORDS = ("not exist", "not found", "no jobid", "no job")


class ImportStallWarning(UserWarning):
    """An import job has shown no progress for ``stall_after`` seconds."""


class JobWatch:
    """The state of one wait for job ``job_id``; all times are :func:`time.monotonic` seconds."""

    def __init__(
        self, job_id: str, *, timeout: float, stall_after: float, not_found_grace: float, max_poll_failures: int
    ) -> None:
        self.job_id, self.timeout = job_id, timeout
        self.stall_after, self.not_found_grace, self.max_poll_failures = stall_after, not_found_grace, max_poll_failures
        self.start = time.monotonic()
        self.deadline = self.start + max(0.0, timeout)
        self.last: ImportProgress | None = None
        self._last_key: tuple[Any, ...] | None = None
        self._last_change = self.start
        self._stall_warned = False
        self._failures = 0

    def poll(self, get: Callable[[float], ImportProgress]) -> ImportProgress | None:
        """``get(deadline)`` once: its progress, or None for a failure worth polling again."""
        try:
            p = get(self.deadline)
        except DeadlineExceeded:
            raise ImportTimeout(self.job_id, self.timeout, self.last) from None
        except ZillizNetworkError as exc:
            self._failures += 1
            if self._failures > self.max_poll_failures:
                raise
            log.warning("polling job %s failed (%s); will poll again", self.job_id, describe_failure(exc))
            return None
        except ZillizAPIError as exc:
            if not (job_not_found(exc) and time.monotonic() - self.start < self.not_found_grace):
                raise
            log.debug("job %s not found yet; it may not be registered", self.job_id)
            return None
        self._failures = 0
        key = (p.state, round(p.percent, 3), p.imported_rows, tuple(f.percent for f in p.files))
        if key != self._last_key:
            self._last_change, self._stall_warned, self._last_key = time.monotonic(), False, key
        self.last = p
        return p

    def raise_if_failed(self, p: ImportProgress) -> None:
        if p.failed:
            bad = [f for f in p.files if f.state is ImportState.FAILED or f.reason]
            where = f" ({', '.join(f.name for f in bad[:3])})" if bad else ""
            hint = f"fix the source files{where} (zimport check), upload them again and start a new import"
            raise ImportJobFailed(self.job_id, p.reason, p.files, hint=hint)

    def pause(self, interval: float) -> None:
        """Warn once per stall, then sleep until the next poll; past the deadline raise :class:`ImportTimeout`."""
        now = time.monotonic()
        if not self._stall_warned and now - self._last_change >= self.stall_after:
            self._stall_warned = True
            last = self.last
            msg = (
                f"import job {self.job_id} has not moved for {now - self._last_change:.0f} s "
                f"(state {last.phase if last else 'not found'}, {last.percent if last else 0:.0f}%)"
            )
            log.warning(msg)
            warnings.warn(msg, ImportStallWarning, stacklevel=3)
        remaining = self.deadline - now
        if remaining <= 0:
            raise ImportTimeout(self.job_id, self.timeout, self.last)
        time.sleep(min(interval, remaining))


def describe_failure(exc: ZillizError) -> str:
    """A short reason for a log line: the message of a network error, else the code (or HTTP status)."""
    if not isinstance(exc, ZillizAPIError):
        return exc.server_message
    return f"HTTP {exc.status}" if exc.status and exc.code is None else f"code {exc.code}: {exc.server_message}"


def job_not_found(exc: ZillizAPIError) -> bool:
    """Whether the API said it knows no such job (normal for a moment right after the create call)."""
    if exc.code in _NOT_FOUND_CODES:
        return True
    msg = (exc.server_message or "").lower()
    return "job" in msg and any(w in msg for w in _NOT_FOUND_WORDS)
