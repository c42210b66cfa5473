"""Following import jobs: the deadline, ridden-out poll failures, the "not registered yet" grace, stalls.

:meth:`ImportClient.wait_for_imports <zimport_widgets.cloud.client.ImportClient.wait_for_imports>` polls;
a :class:`JobWatch` decides what each answer or failure means, so the waiting stays bounded (pymilvus's
bulk-import helpers poll without end) and every way out is a typed error. A burst of 429 / 5xx answers
or dropped connections is ridden out for :attr:`WaitOptions.ride_out` seconds (``Retry-After``
honoured): giving up early while the job runs on only invites a re-run, hence a duplicate import.
"""

from __future__ import annotations

import logging
import math
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import (
    ConfigError,
    DeadlineExceeded,
    ImportJobFailed,
    ImportTimeout,
    RetryableStatus,
    ZillizAPIError,
    ZillizError,
    ZillizNetworkError,
)
from .jobs import ImportProgress, ImportState

__all__ = ["ImportStallWarning", "JobWatch", "WaitOptions", "describe_failure", "job_not_found"]

log = logging.getLogger("zimport_widgets.cloud")

#: Codes / message fragments meaning "no such job" (transient right after create).
_NOT_FOUND_CODES = {90144}
_NOT_FOUND_WORDS = ("not exist", "not found", "no jobid", "no job")
#: The longest ``Retry-After`` a poll waits for (longer ones are capped: the deadline still rules).
_MAX_RETRY_AFTER = 120.0


class ImportStallWarning(UserWarning):
    """An import job has shown no progress for ``stall_after`` seconds."""


@dataclass(frozen=True)
class WaitOptions:
    """How long and how patiently :meth:`~zimport_widgets.ImportClient.wait_for_import` follows jobs.

    ``timeout`` bounds the whole wait; ``poll_interval`` is the pause between polls; a warning comes
    after ``stall_after`` seconds without movement; "job not found" is read as "not registered yet"
    during the first ``not_found_grace`` seconds; 429 / 5xx answers and lost connections to the progress
    call are ridden out for ``ride_out`` seconds in a row (``Retry-After`` honoured) before the wait
    gives up (the job keeps running either way).
    """

    timeout: float = 3600.0
    poll_interval: float = 2.0
    stall_after: float = 300.0
    not_found_grace: float = 15.0
    ride_out: float = 300.0

    def __post_init__(self) -> None:
        for name in ("timeout", "poll_interval", "stall_after", "not_found_grace", "ride_out"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a number of seconds >= 0, not {value!r}")

    def with_overrides(self, **values: float | None) -> WaitOptions:
        """These options with every value that is not None replaced."""
        given = {k: v for k, v in values.items() if v is not None}
        unknown = set(given) - set(self.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown wait option(s): {', '.join(sorted(unknown))}")
        return self if not given else type(self)(**{**self.__dict__, **given})


class JobWatch:
    """The state of one wait for job ``job_id``; all times are :func:`time.monotonic` seconds."""

    def __init__(self, job_id: str, options: WaitOptions, *, start: float | None = None) -> None:
        self.job_id, self.options = job_id, options
        self.start = time.monotonic() if start is None else start
        self.deadline = self.start + options.timeout
        self.last: ImportProgress | None = None
        self._last_key: tuple[Any, ...] | None = None
        self._last_change = self.start
        self._stall_warned = False
        self._failing_since: float | None = None
        self._failures = 0
        self._retry_after: float | None = None

    @property
    def timeout(self) -> float:
        return self.options.timeout

    def poll(self, get: Callable[[float], ImportProgress]) -> ImportProgress | None:
        """``get(deadline)`` once: its progress, or None for a failure worth polling again."""
        try:
            p = get(self.deadline)
        except DeadlineExceeded:
            raise ImportTimeout(self.job_id, self.timeout, self.last) from None
        except (ZillizNetworkError, RetryableStatus) as exc:
            self._ride_out(exc)
            return None
        except ZillizAPIError as exc:
            if not (job_not_found(exc) and time.monotonic() - self.start < self.options.not_found_grace):
                raise
            log.debug("job %s not found yet; it may not be registered", self.job_id)
            return None
        self._failing_since, self._failures, self._retry_after = None, 0, None
        key = (p.state, round(p.percent, 3), p.imported_rows, tuple(f.percent for f in p.files))
        if key != self._last_key:
            self._last_change, self._stall_warned, self._last_key = time.monotonic(), False, key
        self.last = p
        return p

    def _ride_out(self, exc: ZillizError) -> None:
        """A transient poll failure: poll again unless failures have lasted longer than ``ride_out``."""
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        self._failures += 1
        lasted = now - self._failing_since
        if lasted > self.options.ride_out:
            exc.hint = (
                f"the progress call kept failing for {lasted:.0f} s ({self._failures} polls); the job "
                f"may still be running: follow it with `zimport status {self.job_id}` (do not start it again)"
            )
            raise exc
        ra = getattr(exc, "retry_after", None)
        self._retry_after = min(float(ra), _MAX_RETRY_AFTER) if ra is not None else None
        log.warning(
            "polling job %s failed (%s); polling again (failing for %.0f s of %.0f s allowed)",
            self.job_id, describe_failure(exc), lasted, self.options.ride_out,
        )  # fmt: skip

    def raise_if_failed(self, p: ImportProgress) -> None:
        if p.failed:
            bad = [f for f in p.files if f.state is ImportState.FAILED or f.reason]
            where = f" ({', '.join(f.name for f in bad[:3])})" if bad else ""
            if server_side(p.reason):  # the files may be fine: do not send the user to edit them
                hint = (f"the failure is on the server's side ({short_reason(p.reason)}): start the import again "
                        "later; if it fails the same way, contact support with the job id")  # fmt: skip
            else:
                hint = f"fix the source files{where} (zimport check), upload them again and start a new import"
            raise ImportJobFailed(self.job_id, p.reason, p.files, hint=hint)

    def wanted_pause(self) -> float:
        """The pause before this job's next poll: the poll interval, or longer if the server asked."""
        return max(self.options.poll_interval, self._retry_after or 0.0)

    def check_time(self) -> float:
        """Warn once per stall; past the deadline raise :class:`ImportTimeout`; the seconds left."""
        now = time.monotonic()
        if not self._stall_warned and now - self._last_change >= self.options.stall_after:
            self._stall_warned = True
            last = self.last
            msg = (
                f"import job {self.job_id} has not moved for {now - self._last_change:.0f} s "
                f"(state {last.phase if last else 'not found'}, {last.percent if last else 0:.0f}%)"
            )
            log.warning(msg)
            warnings.warn(msg, ImportStallWarning, stacklevel=4)
        remaining = self.deadline - now
        if remaining <= 0:
            raise ImportTimeout(self.job_id, self.timeout, self.last)
        return remaining


#: Words of a failure reason that point at the service, not at the data (disk, memory, a stopped node...).
_SERVER_SIDE = re.compile(
    r"disk|quota|out of memory|\boom\b|memory limit|internal error|unavailable|timed? ?out|deadline|"
    r"stopped while|crash|node (?:is )?down|no available|rate limit|too many requests|try again later",
    re.IGNORECASE,
)


def server_side(reason: str) -> bool:
    """Whether a job's failure reason is about the service (retry later) rather than the files."""
    return bool(reason) and _SERVER_SIDE.search(reason) is not None


def short_reason(reason: str) -> str:
    return reason if len(reason) <= 80 else reason[:77] + "..."


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
