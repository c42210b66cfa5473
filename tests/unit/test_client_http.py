"""The HTTP layer on its own: backoff schedule, bounded retries on a closed port, envelope checks."""

from __future__ import annotations

import socket

import pytest

from zimport_widgets.cloud.http import ApiSession
from zimport_widgets.errors import DeadlineExceeded, RequestNotSent, ZillizNetworkError
from zimport_widgets.retry import RetryPolicy


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


def test_backoff_grows_is_capped_and_jittered():
    p = RetryPolicy(backoff=0.5, max_backoff=4.0, jitter=0.5)
    for retry, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (8, 4.0)]:
        waits = [p.delay(retry) for _ in range(200)]
        assert all(base * 0.5 <= w <= base for w in waits)
        assert len({round(w, 6) for w in waits}) > 50  # jittered, not a fixed schedule
    assert p.delay(1, retry_after=3.0) == 3.0
    assert p.delay(1, retry_after=999) == p.max_retry_after


def test_connection_refused_is_not_sent_and_retried_a_bounded_number_of_times():
    sleeps: list[float] = []
    s = ApiSession("secret-key-abcdef", retry=RetryPolicy(attempts=3, backoff=0.01), sleep=sleeps.append)
    url = f"http://127.0.0.1:{closed_port()}/v1/vector/collections/import/list"
    with pytest.raises(RequestNotSent) as info:
        s.send("GET", url)
    assert "could not connect" in str(info.value)
    with pytest.raises(ZillizNetworkError, match="gave up after 3 attempts") as info:
        s.call("GET", url)
    assert len(sleeps) == 2
    assert "secret-key-abcdef" not in repr(s) and "secret-key-abcdef" not in str(info.value)
    assert info.value.__cause__ is None  # the requests exception (which holds the request) is not chained


def test_deadline_bounds_the_call():
    import time

    s = ApiSession("k-123456", retry=RetryPolicy(attempts=50, backoff=0.2, jitter=0.0))
    url = f"http://127.0.0.1:{closed_port()}/x"
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        s.call("GET", url, deadline=time.monotonic() + 0.5)
    assert time.monotonic() - t0 < 1.5
