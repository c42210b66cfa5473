"""Reporter: the one adapter behind every progress= argument."""

from __future__ import annotations

import threading

import pytest

from zimport_widgets.errors import ProgressCallbackError
from zimport_widgets.progress import Reporter, UploadProgress


def test_callable_gets_every_event_and_position_never_goes_back():
    seen = []
    rep = Reporter(seen.append, total=10)
    for pos in (2, 5, 3, 10):
        rep.update(pos, UploadProgress(pos, 10, 0, 1, "a.npy"))
    assert [e.bytes_done for e in seen] == [2, 5, 3, 10]
    assert rep.position == 10  # 3 did not move it back


def test_threads_updating_at_once_keep_it_monotonic():
    rep = Reporter(False, total=4000)

    def work(start):
        for i in range(start, 4000, 4):
            rep.update(i + 1)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rep.position == 4000


def test_a_raising_callback_is_wrapped_with_its_cause():
    def bad(event):
        raise ValueError("boom")

    with pytest.raises(ProgressCallbackError, match="ValueError: boom") as err:
        Reporter(bad, total=1).update(1, object())
    assert isinstance(err.value.__cause__, ValueError)


def test_tqdm_bar_follows_positions_and_is_left_short_on_failure(capsys):
    rep = Reporter({"file": None, "mininterval": 0}, total=10, desc="t")
    bar = rep.bar
    rep.update(4, postfix="4 rows")
    assert bar.n == 4 and "4 rows" in str(bar)
    rep.update(10)
    rep.close(ok=False)
    assert bar.n < bar.total and rep.bar is None  # a finished count would have ended green


def test_bad_progress_argument_is_a_type_error():
    with pytest.raises(TypeError, match="progress must be"):
        Reporter("yes", total=1)
