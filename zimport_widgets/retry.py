"""The one retry loop: bounded attempts, exponential backoff with jitter, ``Retry-After``, a deadline.

The REST session (reads), the import create call (which looks for its job before it sends again), the
data-plane writes (which check whether they took effect) and the object-store calls all retry through
:func:`retry`; they differ only in what is retryable and what a final failure becomes.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Recovered", "RetryPolicy", "retry"]

log = logging.getLogger("zimport_widgets.retry")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter.

    Try ``attempts`` times in all; before retry *n* (1-based) sleep
    ``min(max_backoff, backoff * 2**(n-1))`` scaled by a random factor in ``[1 - jitter, 1]``, and at
    least a server's ``Retry-After`` (capped at ``max_retry_after``).
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 30.0
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        base = min(self.max_backoff, self.backoff * (2 ** max(0, retry - 1)))
        wait = base * (1.0 - self.jitter * random.random())
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


@dataclass(frozen=True)
class Recovered(Generic[T]):
    """Returned by a ``recover`` hook: the failed call took effect after all; ``value`` is its result."""

    value: T


def retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    retryable: Callable[[Exception], bool],
    what: str = "call",
    retry_after: Callable[[Exception], float | None] | None = None,
    recover: Callable[[Exception], Recovered[T] | None] | None = None,
    on_failure: Callable[[Exception, int, bool], BaseException] | None = None,
    deadline: float | None = None,
    out_of_time: Callable[[Exception], BaseException] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    describe: Callable[[Exception], str] = lambda exc: type(exc).__name__,
) -> T:
    """Call ``fn`` until it returns, at most ``policy.attempts`` times.

    After a failure ``exc`` for which ``retryable(exc)`` holds, ``recover(exc)`` may say the call took
    effect anyway (a lost answer to a write: look before sending again). A final failure raises
    ``on_failure(exc, attempts, exhausted)`` (default: ``exc`` itself); a wait that would pass
    ``deadline`` (a :func:`time.monotonic` value) raises ``out_of_time(exc)`` instead of sleeping. Each
    retry is logged (INFO) with ``describe(exc)``: never a message that could carry a secret.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            can_retry = retryable(exc)
            if can_retry and recover is not None:
                found = recover(exc)
                if found is not None:
                    return found.value
            if not can_retry or attempt >= policy.attempts:
                if on_failure is None:
                    raise
                raise on_failure(exc, attempt, can_retry) from None
            wait = policy.delay(attempt, retry_after(exc) if retry_after is not None else None)
            if deadline is not None and time.monotonic() + wait >= deadline:
                if out_of_time is None:
                    raise
                raise out_of_time(exc) from None
            log.info("%s failed (%s); retry %d/%d in %.2f s", what, describe(exc), attempt, policy.attempts - 1, wait)
            sleep(wait)
