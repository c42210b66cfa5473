"""Progress adapters: every long operation takes ``progress=`` and reports through :class:`Reporter`.

``progress`` may be

* ``True``  – a ``tqdm.auto`` bar (a widget in Jupyter, text in a terminal), imported lazily;
* ``False`` / ``None`` – silent;
* a ``dict`` – a ``tqdm.auto`` bar with these extra keyword arguments (e.g. ``{"leave": False}``);
* a callable – called with each event, a small frozen dataclass (one of the ``*Progress`` classes).

The reporter is thread-safe, never moves a bar backwards, turns it red (``danger``) when closed
unfinished, and wraps an exception raised by a user's callback in :class:`ProgressCallbackError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ProgressCallbackError

__all__ = ["ConvertProgress", "ProgressArg", "Reporter", "UploadProgress"]

ProgressArg = bool | None | dict | Callable[[Any], Any]


@dataclass(frozen=True)
class ConvertProgress:
    """JSON → NumPy conversion: rows written so far and input bytes read of the total."""

    rows_done: int
    bytes_done: int
    bytes_total: int
    file: str = ""

    @property
    def fraction(self) -> float:
        return self.bytes_done / self.bytes_total if self.bytes_total else 0.0


@dataclass(frozen=True)
class UploadProgress:
    """Upload to OSS: bytes and files done, of the totals, and the file being sent."""

    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    current_file: str = ""

    @property
    def fraction(self) -> float:
        return self.bytes_done / self.bytes_total if self.bytes_total else 1.0


class Reporter:
    """Feeds one progress target from absolute positions.

    ``update(position, event=..., postfix=...)`` moves the bar to ``position`` (never backwards)
    and hands ``event`` to a callable target. ``close(ok)`` finishes the bar (red when not ok).
    Use it as a context manager: an exception closes the bar red.
    """

    def __init__(
        self,
        progress: ProgressArg,
        *,
        total: float | None,
        desc: str = "",
        unit: str = "it",
        unit_scale: bool = False,
        unit_divisor: int = 1000,
    ) -> None:
        self._lock = threading.Lock()
        self._callback: Callable[[Any], Any] | None = None
        self._bar = None
        self.position: float = 0
        self.total = total
        if progress is True or isinstance(progress, dict):
            from tqdm.auto import tqdm  # lazy: importing it pulls in IPython machinery

            kwargs = dict(total=total, desc=desc, unit=unit, unit_scale=unit_scale, unit_divisor=unit_divisor)
            if isinstance(progress, dict):
                kwargs.update(progress)
            self._bar = tqdm(**kwargs)
        elif callable(progress):
            self._callback = progress
        elif progress not in (False, None):
            raise TypeError(f"progress must be True, False, a dict or a callable, not {type(progress).__name__}")

    @property
    def bar(self) -> Any:
        """The tqdm bar, if any (for embedding its ``container`` in a form)."""
        return self._bar

    def update(self, position: float, event: Any = None, *, postfix: str | None = None) -> None:
        with self._lock:
            if position > self.position:
                if self._bar is not None:
                    self._bar.update(position - self.position)
                self.position = position
            if self._bar is not None and postfix is not None:
                self._bar.set_postfix_str(postfix, refresh=False)
            if self._callback is not None and event is not None:
                try:
                    self._callback(event)
                except Exception as exc:
                    raise ProgressCallbackError(
                        f"the progress callback raised {type(exc).__name__}: {exc}",
                        hint="fix the callback passed as progress=",
                    ) from exc

    def describe(self, text: str) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.set_description_str(text, refresh=True)

    def close(self, ok: bool = True) -> None:
        with self._lock:
            bar, self._bar = self._bar, None
        if bar is None:
            return
        if not ok:
            try:
                bar.colour = "red"
                if hasattr(bar, "disp"):
                    bar.disp(bar_style="danger")
            except Exception:
                pass
            # tqdm.notebook turns the bar red on close() when n < total; a finished count stays green,
            # so keep the count short of the total on failure.
            if bar.total is not None and bar.n >= bar.total:
                bar.n = max(0, bar.total - 1e-9) if isinstance(bar.total, float) else max(0, bar.total - 1)
        bar.close()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(ok=exc_type is None)
