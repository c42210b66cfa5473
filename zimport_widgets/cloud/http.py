"""The HTTP layer of the REST clients: one ``requests`` session, envelope checks, bounded retries for reads.

* Every answer is the REST envelope ``{"code": …, "data": …, "message": …}``; success is code ``0`` (v2,
  Milvus) or ``200`` (v1). Anything else raises :class:`~zimport_widgets.errors.ZillizAPIError`.
* Reads (``idempotent=True``) are retried on 429, 5xx, connection errors and timeouts with exponential
  backoff and jitter, a bounded number of times; ``Retry-After`` is honoured (capped).
* Writes are sent once. :meth:`ApiSession.send` tells the caller whether a failed write may have reached
  the server (:class:`AmbiguousRequestError`) or certainly did not (:class:`RequestNotSent`), so the caller
  can look before it retries.
* Logs name the method, path, status and time only: never bodies, headers or keys. Error messages are
  passed through :func:`~zimport_widgets.errors.redact` with every secret the session knows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from .. import __version__
from ..errors import (
    AmbiguousRequestError,
    DeadlineExceeded,
    RequestNotSent,
    RetryableStatus,
    ZillizAPIError,
    ZillizError,
    ZillizNetworkError,
    redact,
)
from ..retry import RetryPolicy
from ..retry import retry as with_retries

__all__ = ["DEFAULT_TIMEOUT", "SUCCESS_CODES", "ApiSession", "gave_up", "transient"]

log = logging.getLogger("zimport_widgets.http")

#: (connect, read) seconds.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
#: Envelope codes meaning success: 0 (v2, Milvus) and 200 (v1).
SUCCESS_CODES = frozenset({0, 200})
_TOO_LARGE_HINT = "the request is larger than the server accepts (HTTP 413): send fewer files or rows at once"


def transient(exc: Exception) -> bool:
    """A failure worth another try: no answer, or an HTTP 429 / 5xx answer."""
    return isinstance(exc, (RetryableStatus, ZillizNetworkError)) and not isinstance(exc, DeadlineExceeded)


def gave_up(exc: Exception, attempts: int, exhausted: bool) -> BaseException:
    """The error a bounded retry raises at the end: a network error says how many attempts it made."""
    if exhausted and isinstance(exc, ZillizNetworkError):
        return type(exc)(f"{exc.server_message} (gave up after {attempts} attempts)", endpoint=exc.endpoint)
    return exc


def failure_reason(exc: Exception) -> str:
    """For a retry's log line: the HTTP status of an answer, else the kind of network failure."""
    return f"HTTP {exc.status}" if isinstance(exc, RetryableStatus) else type(exc).__name__


def retry_after(exc: Exception) -> float | None:
    return getattr(exc, "retry_after", None)


class ApiSession:
    """A ``requests`` session bound to one API key, with envelope checks and bounded read retries.

    ``secrets`` are extra strings (e.g. storage keys) that must never show up in an error message.
    ``sleep`` is injectable for tests of the backoff schedule.
    """

    def __init__(
        self,
        api_key: str | None,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        secrets: Iterable[str | None] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_key = api_key
        self._secrets = [s for s in (api_key, *secrets) if s]
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session

    def __repr__(self) -> str:
        return f"ApiSession(api_key={'***' if self._api_key else None}, timeout={self.timeout!r})"

    def add_secret(self, secret: str | None) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": f"zimport_widgets/{__version__}",
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if extra:
            headers.update(extra)
        return headers

    # -- one request -----------------------------------------------------------------------------
    def send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> Any:
        """Send one request and return the envelope's ``data``.

        Raises :class:`ZillizAPIError` (an error answer; :class:`RetryableStatus` for 429/5xx),
        :class:`RequestNotSent` or :class:`AmbiguousRequestError`.
        """
        path = urlsplit(url).path or "/"
        endpoint = f"{method} {path}"
        start = time.monotonic()
        try:
            resp = self.session.request(
                method, url, json=json, params=params, headers=self._headers(headers),
                timeout=timeout if timeout is not None else self.timeout,
            )  # fmt: skip
        except requests.exceptions.RequestException as exc:
            elapsed = (time.monotonic() - start) * 1000
            kind = type(exc).__name__
            log.debug("%s failed after %.0f ms: %s", endpoint, elapsed, kind)
            if _not_sent(exc):
                raise RequestNotSent(f"could not connect to {_origin(url)} ({kind})", endpoint=endpoint) from None
            raise AmbiguousRequestError(
                f"no answer from {_origin(url)} ({kind}: {self.redact(_short(exc))})", endpoint=endpoint
            ) from None
        elapsed = (time.monotonic() - start) * 1000
        status = resp.status_code
        try:
            body = resp.json()
        except ValueError:
            body = None
        finally:
            resp.close()
        code = body.get("code") if isinstance(body, dict) else None
        log.debug("%s -> HTTP %s code %s (%.0f ms)", endpoint, status, code, elapsed)
        if status in self.retry.statuses or status in (429, 500, 502, 503, 504):
            message = self._message(body) or f"HTTP {status} {resp.reason or ''}".strip()
            raise RetryableStatus(
                _int(code), message, status=status, endpoint=endpoint,
                retry_after=_retry_after(resp.headers.get("Retry-After")),
            )  # fmt: skip
        if not isinstance(body, dict):
            raise ZillizAPIError(
                None,
                f"the server answered HTTP {status} without a JSON envelope",
                status=status,
                endpoint=endpoint,
                hint=_TOO_LARGE_HINT
                if status == 413
                else "check that the URL is the cluster endpoint / import controller, not a web page",
            )
        icode = _int(code)
        if icode in SUCCESS_CODES and 200 <= status < 300:
            return body.get("data")
        raise ZillizAPIError(
            icode,
            self._message(body) or f"the server answered HTTP {status} with code {code}",
            status=status,
            endpoint=endpoint,
            hint=_TOO_LARGE_HINT if status == 413 else None,
        )

    def _message(self, body: Any) -> str:
        if not isinstance(body, dict):
            return ""
        msg = body.get("message") or body.get("msg") or body.get("reason") or ""
        return self.redact(str(msg))

    # -- with retries ----------------------------------------------------------------------------
    def call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] | None = None,
        deadline: float | None = None,
    ) -> Any:
        """:meth:`send` a read, retrying 429/5xx/network failures per the retry policy (bounded).

        ``deadline`` (a :func:`time.monotonic` value) bounds the whole call, retries and waits included;
        past it :class:`DeadlineExceeded` is raised.
        """
        policy = retry or self.retry

        def once() -> Any:
            this_timeout = timeout if timeout is not None else self.timeout
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceeded(f"{method} {urlsplit(url).path}: out of time", endpoint=method)
                this_timeout = _cap_timeout(this_timeout, remaining)
            return self.send(method, url, json=json, params=params, headers=headers, timeout=this_timeout)

        return with_retries(
            once,
            policy,
            retryable=transient,
            what=f"{method} {urlsplit(url).path}",
            retry_after=retry_after,
            on_failure=gave_up,
            deadline=deadline,
            out_of_time=lambda exc: DeadlineExceeded(
                f"{_server_message(exc)} (no time left to retry)", endpoint=getattr(exc, "endpoint", None)
            ),
            sleep=self._sleep,
            describe=failure_reason,
        )

    def close(self) -> None:
        self.session.close()


def _server_message(exc: Exception) -> str:
    return exc.server_message if isinstance(exc, ZillizError) else str(exc)


def _not_sent(exc: requests.exceptions.RequestException) -> bool:
    """True when the request certainly never reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):  # fmt: skip
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(exc, requests.exceptions.ReadTimeout):
        import urllib3.exceptions as ue

        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        return isinstance(inner, (ue.NewConnectionError, ue.ConnectTimeoutError, ue.NameResolutionError))
    return False


def _cap_timeout(timeout: float | tuple[float, float], remaining: float) -> tuple[float, float]:
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    remaining = max(0.05, remaining)
    return (min(connect, remaining), min(read, remaining))


def _origin(url: str) -> str:
    """``scheme://host[:port]``: never the ``user:key@`` a URL may carry."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc.rpartition('@')[2]}"


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
