"""The machinery every form shares: the off-main-thread runner, Cancel, inline errors, the embedded
progress bar, "Show code" and secret inputs whose values never stay in the synced widget state.

Design notes (see docs/ecosystem-notes §B4):

* The click handler only reads the widgets (secrets included, once) and starts a worker thread; the
  kernel stays free, so Cancel clicks arrive while the work runs.
* The worker adopts the IPython parent message of the click (``set_thread_parent`` on ipykernel 7,
  ``set_parent`` on 6), and only ever changes widget traits — no ``print``, no ``with output:``.
* Cancel sets a :class:`threading.Event`; the progress callback raises :class:`Cancelled` at its next
  call, which unwinds the core function (the reporter wraps it; :func:`is_cancel` finds it again).
"""

from __future__ import annotations

import html
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import ipywidgets as w
import traitlets

from ..errors import ZImportError, redact
from ..fmt import ERROR_COLOR, OK_COLOR, WARN_COLOR, format_bytes
from .main_thread import call_on_main_thread, run_pending
from .secret_input import SecretInput

__all__ = ["BaseForm", "Cancelled", "SecretInput", "error_html", "is_cancel", "settings_panel"]

#: A progress event (``ConvertProgress``, ``UploadProgress``, ``ImportProgress``).
EventT = TypeVar("EventT")

#: How often (seconds) the bar and label are refreshed at most while work runs.
REFRESH_INTERVAL = 0.1

#: JupyterLab's theme colours (light and dark themes define them), with the light values as fallbacks
#: for front ends without them (VS Code, Voilà's default template).
RED, GREEN, ORANGE = ERROR_COLOR, OK_COLOR, WARN_COLOR
TEXT = "var(--jp-ui-font-color1, #222)"
MUTED = "var(--jp-ui-font-color2, #555)"


class Cancelled(Exception):
    """Raised inside the worker when the user pressed Cancel."""


def is_cancel(exc: BaseException | None) -> bool:
    """True if ``exc`` is, or was caused by, a :class:`Cancelled` (the reporter wraps callback errors)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, Cancelled):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def error_kind(exc: BaseException) -> str:
    """What went wrong, in words a user reads (never an internal class name such as ``ConfigError``)."""
    from ..errors import (
        ConfigError,
        DataFileError,
        ImportJobFailed,
        ImportTimeout,
        LocalFileError,
        SchemaError,
        SourceInvalidError,
        StorageError,
        ZillizError,
    )

    for cls, kind in (
        (ConfigError, "Setting missing or wrong"), (DataFileError, "Problem in the data"),
        (SourceInvalidError, "Problem in the data"), (SchemaError, "Schema problem"),
        (LocalFileError, "File problem"), (StorageError, "Object storage"), (ImportJobFailed, "Import failed"),
        (ImportTimeout, "Still running"), (ZillizError, "Zilliz Cloud API"),
    ):  # fmt: skip
        if isinstance(exc, cls):
            return kind
    return "Unexpected error"


#: The form field for each argument a core hint names ("pass api_key= …"): hints shown in a form talk about
#: the form, not about function arguments.
FIELD_OF_ARGUMENT = {
    "api_key": "API key", "cluster_endpoint": "Cluster endpoint", "controller_url": "Controller URL",
    "cluster_id": "Cluster id", "object_url": "Object URL", "prefix": "Bucket prefix",
    "schema": "Schema", "primary_key": "Primary key",
}  # fmt: skip
_PASS_ARGUMENT = re.compile(r"\bpass (\w+)=")


def form_hint(hint: str) -> str:
    """A core hint in the words of the forms: ``pass api_key=`` becomes ``fill in “API key”``."""
    return _PASS_ARGUMENT.sub(
        lambda m: f"fill in “{FIELD_OF_ARGUMENT[m.group(1)]}”" if m.group(1) in FIELD_OF_ARGUMENT else m.group(0), hint
    )


def error_html(exc: BaseException, secrets: Iterable[str | None] = (), *, note: str = "") -> str:
    """A red box: what kind of problem, its message and its hint (and ``note``); secrets masked; never a
    traceback."""
    secrets = list(secrets)
    if isinstance(exc, ZImportError):
        message, hint = exc.message, exc.hint
    else:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        hint = "this was not expected: run the code from “Show code” in a cell to see the full traceback"
    message = redact(message, secrets)
    body = f"<b class='zimport-error-kind'>{esc(error_kind(exc))}</b>: {esc(message)}"
    if hint:
        body += f"<br><span class='zimport-hint'>Hint: {esc(redact(form_hint(hint), secrets))}</span>"
    if note:
        body += f"<br><span class='zimport-key-origin'>{esc(redact(note, secrets))}</span>"
    return (
        # the text in the theme's own font colour (JupyterLab Dark's red on its panels is below 4.5:1), the
        # red in the bar beside it
        f"<div class='zimport-error' style='color:{TEXT};border-left:4px solid {RED};"
        f"padding:4px 8px;margin:4px 0;white-space:pre-wrap'>{body}</div>"
    )


def note_html(text: str, color: str = GREEN, css: str = "zimport-ok") -> str:
    return f"<div class='{css}' style='color:{color};padding:2px 0'>{text}</div>"


def parent_message() -> Any:
    """The IPython parent message of the current request (the click), or None outside a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    ip = get_ipython()
    getter = getattr(ip, "get_parent", None)
    if getter is None:
        return None
    try:
        return getter()
    except Exception:  # pragma: no cover - defensive: never break a click over output routing
        return None


def adopt_parent(parent: Any) -> Callable[[], None]:
    """Make this thread's output and messages belong to ``parent``; returns an undo function."""
    if not parent:
        return lambda: None
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None:
        return lambda: None
    set_thread = getattr(ip, "set_thread_parent", None)  # ipykernel >= 7: this thread only
    if set_thread is not None:
        tokens = set_thread(parent)
        return lambda: ip.reset_thread_parent(tokens)
    setter = getattr(ip, "set_parent", None)  # ipykernel 6
    if setter is not None:
        setter(parent)
    return lambda: None


def text(description: str, value: str = "", placeholder: str = "", width: str = "620px") -> w.Text:
    box = w.Text(
        value=value or "",
        description=description,
        placeholder=placeholder,
        style={"description_width": "150px"},
        layout=w.Layout(width=width),
    )
    return box


class BaseForm(w.VBox):
    """A form: fields, a run button, Cancel, "Show code", an embedded progress bar, result and error areas.

    Subclasses set ``title``/``run_label``, build their fields in ``__init__`` (passing them to
    ``super().__init__(fields)``) and implement :meth:`prepare` (main thread: read the widgets, return the
    work as ``fn(form) -> result``), :meth:`show_result` and :meth:`code`.
    """

    title = "Form"
    run_label = "Run"
    run_icon = "play"
    css = "zimport-form"
    has_progress = True
    #: False for quick calls (a refresh, a create): no Cancel button that could do nothing.
    cancellable = True

    #: The last successful result (observe it to chain forms); not synced to the browser.
    result = traitlets.Any(None, allow_none=True)
    #: The last error (None after a success); not synced.
    error = traitlets.Any(None, allow_none=True)
    #: True while the worker runs; not synced.
    running = traitlets.Bool(False)

    def __init__(self, fields: list[w.Widget], *, description: str = "") -> None:
        self.header = w.HTML(
            f"<h4 style='margin:4px 0'>{esc(self.title)}</h4>"
            + (f"<div style='color:{MUTED}'>{description}</div>" if description else "")
        )
        self.run_button = w.Button(description=self.run_label, button_style="primary", icon=self.run_icon)
        self.run_button.add_class("zimport-run")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        self.cancel_button.add_class("zimport-cancel")
        if not self.cancellable:
            self.cancel_button.layout.display = "none"
        self.code_button = w.ToggleButton(description="Show code", icon="code", value=False)
        self.code_button.add_class("zimport-show-code")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=100.0, description="", layout=w.Layout(width="420px"))
        self.progress.add_class("zimport-progress")
        self.progress_label = w.HTML("")
        self.progress_label.add_class("zimport-progress-label")
        self.progress_row = w.HBox([self.progress, self.progress_label])
        self.progress_row.layout.display = "none"
        self.status = w.HTML("")
        self.status.add_class("zimport-status")
        self.output = w.HTML("")
        self.output.add_class("zimport-result")
        self.code_view = w.HTML("")
        self.code_view.add_class("zimport-code")
        self.code_view.layout.display = "none"
        self.target_note = w.HTML("")
        self.target_note.add_class("zimport-target-note")
        self.target_note.layout.display = "none"
        #: Checks run in the worker before the work (the wizard's "does the target exist?"); each may raise.
        self.preflight: list[Callable[[], None]] = []
        self.fields = w.VBox(list(fields))
        super().__init__(
            [
                self.header,
                self.target_note,
                self.fields,
                w.HBox([self.run_button, self.cancel_button, self.code_button]),
                self.progress_row,
                self.status,
                self.output,
                self.code_view,
            ]
        )
        self.add_class(self.css)
        self.add_class("zimport-form")
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._done.set()
        self._secrets: list[str | None] = []
        self._last_result: Any = None
        self._last_refresh = 0.0
        self._rate_start: tuple[float, float] | None = None
        self._lock = threading.Lock()
        self.run_button.on_click(self._on_run)
        self.cancel_button.on_click(self._on_cancel)
        self.code_button.observe(self._on_code_toggle, "value")

    # ----------------------------------------------------------------- subclass hooks
    def prepare(self) -> Callable[[BaseForm], Any]:
        """Main thread: read and validate the widgets; return the work to run in the worker."""
        raise NotImplementedError

    def show_result(self, result: Any) -> None:
        """Worker thread: render ``result`` (set ``self.output.value`` / ``self.status.value``)."""
        html_repr = getattr(result, "_repr_html_", None)
        self.output.value = html_repr() if html_repr else f"<pre>{esc(result)}</pre>"

    def code(self) -> str:
        """The equivalent script call for the current field values, secrets as environment lookups."""
        return ""

    def secrets(self) -> list[str | None]:
        """Secret values to mask in any message this form shows (read without clearing)."""
        return []

    def rate_text(self, done: float, total: float | None, unit: str = "B", *, show_rate: bool = True) -> str:
        """`` · 12.3 MiB/s · 0:05 left`` as tqdm shows it: the rate since this run's first event (a resumed
        upload's bytes already there do not count), and the time left at that rate."""
        now = time.monotonic()
        if self._rate_start is None:
            self._rate_start = (now, done)
            return ""
        t0, d0 = self._rate_start
        elapsed, moved = now - t0, done - d0
        if elapsed < 0.2 or moved <= 0:
            return ""
        rate = moved / elapsed
        text = "" if not show_rate else f" · {format_bytes(rate)}/s" if unit == "B" else f" · {rate:,.0f} {unit}/s"
        if total and done < total:
            left = int((total - done) / rate)
            text += f" · {left // 60}:{left % 60:02d} left"
        return text

    def set_target(self, collection: str) -> None:
        """Show the collection this step works for under its title (the wizard's one target)."""
        shown = f"collection <code class='zimport-target-shown'>{esc(collection)}</code>" if collection else None
        self.target_note.value = f"<div style='margin:0 0 4px 0'>→ {shown or 'no target collection chosen yet'}</div>"
        self.target_note.layout.display = ""

    # ----------------------------------------------------------------- public API
    def run(self) -> None:
        """Same as clicking the run button."""
        self._on_run(self.run_button)

    def cancel(self) -> None:
        """Same as clicking Cancel."""
        self._on_cancel(self.cancel_button)

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the current run ends (for scripts and tests); returns :attr:`result`."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self.title}: still running after {timeout} s")
        run_pending()  # on the main thread: publish the result now, so the next step sees it
        return self._last_result

    def _publish(self, result: Any) -> None:
        """Main thread: set :attr:`result`, which runs the observers that chain the forms; an observer's
        error is shown in this form (as the work's errors are), never lost in the kernel's log."""
        try:
            self.result = result
        except Exception as exc:
            self._fail(exc)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if Cancel was pressed (call it between steps of the work)."""
        if self._cancel.is_set():
            raise Cancelled("cancelled")

    def progress_callback(self, render: Callable[[EventT], tuple[float | None, str]]) -> Callable[[EventT], None]:
        """A ``progress=`` callable for the core functions: checks Cancel, then draws ``render(event)``.

        ``render`` takes the core's event type and returns ``(fraction 0..1 or None to keep the bar, label
        html)``; redraws are throttled to :data:`REFRESH_INTERVAL` except for the final one.
        """

        def callback(event: EventT) -> None:
            self.check_cancelled()
            fraction, label = render(event)
            self.set_progress(fraction, label)

        return callback

    def set_progress(self, fraction: float | None, label: str = "", *, force: bool = False) -> None:
        """Move the embedded bar to ``fraction`` (0..1) and set its label (thread-safe, throttled)."""
        now = time.monotonic()
        final = fraction is not None and fraction >= 1.0
        with self._lock:
            if not (force or final) and now - self._last_refresh < REFRESH_INTERVAL:
                return
            self._last_refresh = now
        if fraction is not None:
            self.progress.value = max(0.0, min(100.0, round(fraction * 100.0, 2)))
        if label:
            self.progress_label.value = label

    # ----------------------------------------------------------------- machinery
    def _on_run(self, _button: Any = None) -> None:
        if self.running:
            return
        self.status.value = ""
        self.error = None
        try:
            work = self.prepare()
        except Exception as exc:
            self._fail(exc)
            return
        self._secrets = [s for s in self.secrets() if s]
        self._cancel.clear()
        self._done.clear()
        self.running = True
        self.run_button.disabled = True
        self.cancel_button.disabled = False
        if self.has_progress:
            self.progress_row.layout.display = ""
            self.progress.bar_style = ""
            self.progress.value = 0.0
            self.progress_label.value = "starting…"
        self.output.value = ""
        self._last_refresh = 0.0
        self._rate_start = None
        parent = parent_message()
        self._thread = threading.Thread(
            target=self._work, args=(work, parent), name=f"zimport-{type(self).__name__}", daemon=True
        )
        self._thread.start()

    def _work(self, work: Callable[[BaseForm], Any], parent: Any) -> None:
        undo = adopt_parent(parent)
        try:
            try:
                for check in self.preflight:
                    check()
                result = work(self)
            except BaseException as exc:
                if is_cancel(exc) or (self._cancel.is_set() and not isinstance(exc, ZImportError)):
                    self._cancelled()
                else:
                    self._fail(exc)
                return
            try:
                if self.has_progress:
                    self.progress.bar_style = "success"
                self.show_result(result)
                self._last_result = result
                call_on_main_thread(lambda: self._publish(result))  # observers read other widgets
            except Exception as exc:
                self._fail(exc)
        finally:
            self.running = False
            self.run_button.disabled = False
            self.cancel_button.disabled = True
            self._settle_label()
            if self.code_button.value:
                self._render_code()
            self._done.set()
            undo()

    def _settle_label(self) -> None:
        """A step that ended never keeps a label of work in progress ("cancelling…", "reading the schema…")."""
        label = self.progress_label.value
        if not self.has_progress or not label.rstrip().endswith("…"):
            return
        if isinstance(self.error, Cancelled):
            self.progress_label.value = "cancelled"
        elif self.error is not None:
            self.progress_label.value = "failed"
        else:
            self.progress_label.value = label.rstrip().removesuffix("…").rstrip(" ·") or "done"

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        if self.has_progress and self.running:
            self.progress.bar_style = "danger"
            if self.progress.value < 2.0:  # a bar failed at 0 % would be invisible: show it, red, labelled
                self.progress.value = 100.0
                self.progress_label.value = "failed before any progress"
        self.status.value = error_html(exc, [*self._secrets, *self.secrets()], note=self._key_origin(exc))

    def _key_origin(self, exc: BaseException) -> str:
        """For a refused key: which field (typed, or the environment) the key in use came from."""
        from ..errors import StorageAuthError, ZillizAPIError

        conn = self if hasattr(self, "api_key") else getattr(self, "connection", None)
        oss = self if hasattr(self, "access_key_secret") else getattr(self, "oss", None)
        if isinstance(exc, StorageAuthError) and oss is not None:
            return (f"The OSS key in use: id from {oss.access_key_id.origin()}, "
                    f"secret from {oss.access_key_secret.origin()}.")  # fmt: skip
        if (
            isinstance(exc, ZillizAPIError) and conn is not None
            and (exc.code in (80002, 21119, 1800) or exc.status in (401, 403))
        ):  # fmt: skip
            return f"The API key in use came from {conn.api_key.origin()}."
        return ""

    def _cancelled(self) -> None:
        self.error = Cancelled("cancelled")
        if self.has_progress:
            self.progress.bar_style = "warning"
        self.status.value = note_html(
            "Cancelled: the local work stopped. Anything already sent to the server stays there.",
            ORANGE,
            "zimport-cancelled",
        )

    def _on_cancel(self, _button: Any = None) -> None:
        if self.running:
            self._cancel.set()
            self.cancel_button.disabled = True
            self.progress_label.value = "cancelling…"

    def _on_code_toggle(self, change: dict) -> None:
        if change["new"]:
            self._render_code()
            self.code_view.layout.display = ""
            self.code_button.description = "Hide code"
        else:
            self.code_view.layout.display = "none"
            self.code_button.description = "Show code"

    def _render_code(self) -> None:
        try:
            source = self.code()
        except Exception as exc:  # pragma: no cover - code generation must never break the form
            source = f"# could not build the code: {type(exc).__name__}"
        source = redact(source, self.secrets())
        self.code_view.value = (
            "<pre style='background:#f6f8fa;padding:6px;border:1px solid #ddd;white-space:pre-wrap'>"
            f"{esc(source)}</pre>"
        )

    def watch_code(self, *widgets: w.Widget) -> None:
        """Re-render the shown code when any of ``widgets`` changes value."""
        for widget in widgets:
            widget.observe(self._code_changed, "value")

    def _code_changed(self, _change: dict) -> None:
        if self.code_button.value:
            self._render_code()


def settings_panel(*panes: tuple[w.Widget, str], open_if_missing: tuple[str, ...] = ()) -> w.Accordion:
    """An accordion holding settings forms; opened when one of ``open_if_missing`` env variables is unset."""
    acc = w.Accordion(children=[p for p, _ in panes])
    for i, (_, title) in enumerate(panes):
        acc.set_title(i, title)
    acc.selected_index = 0 if any(not os.environ.get(n) for n in open_if_missing) else None
    return acc


def py_str(value: str | None) -> str:
    """A Python literal for a plain (non-secret) string argument."""
    return repr(value) if value else "None"


def env_expr(name: str) -> str:
    """The code a user writes to read a secret: from the environment, never pasted."""
    return f"os.environ[{name!r}]"
