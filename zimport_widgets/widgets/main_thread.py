"""Hand work from a form's worker thread back to the kernel's main thread.

Widget observers read and write other widgets (a finished import refreshes the jobs table, whose
``prepare`` reads the secret inputs). Done on a worker thread, that races the comm messages the main
thread handles. So a worker publishes its result with :func:`call_on_main_thread`: it runs at once on
the main thread, else it is queued and run by the kernel's event loop as soon as the kernel is idle —
or earlier, by :func:`run_pending` when the main thread waits for the form (``form.wait()``), so a cell
that runs the steps one after the other still chains them. Outside a kernel (a script, pytest) there
are no comm messages to race with and the call runs where it is.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["call_on_main_thread", "run_pending"]

_pending: deque[Callable[[], None]] = deque()
_lock = threading.Lock()


def _kernel_loop() -> Any:
    """The running kernel's (tornado) event loop on the main thread, or None outside a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    return getattr(kernel, "io_loop", None)


def call_on_main_thread(fn: Callable[[], None]) -> None:
    """Run ``fn`` on the main thread: now if this is it (or there is no kernel), else queued."""
    loop = None if threading.current_thread() is threading.main_thread() else _kernel_loop()
    if loop is None:
        fn()
        return
    with _lock:
        _pending.append(fn)
    loop.add_callback(run_pending)  # thread-safe: tornado hands it to the main thread's loop


def run_pending() -> None:
    """Run the queued calls, each once, in order (main thread only; a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return
    while True:
        with _lock:
            if not _pending:
                return
            fn = _pending.popleft()
        fn()
